//! Password hashing on threads of its own, for the handlers that register and log in.

use std::sync::{Arc, Mutex};

use crate::domain::PasswordHasher;
use crate::error::Error;

type Job = Box<dyn FnOnce(&PasswordHasher) + Send>;

/// argon2 on `limit` threads of its own. Each run holds 19 MiB, so a flood of sign-ups or
/// logins queues here instead of exhausting memory; and because the same few threads do all
/// the hashing, the allocator's per-thread caches of those 19 MiB blocks stay few (on the
/// shared blocking pool, every one of its hundreds of threads kept one: gigabytes under a
/// login storm).
pub struct Hashing {
    jobs: Mutex<std::sync::mpsc::Sender<Job>>,
}

impl Hashing {
    pub fn new(limit: usize) -> Self {
        let (sender, receiver) = std::sync::mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..limit.max(1) {
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || {
                    let hasher = PasswordHasher::default();
                    loop {
                        // Take one job and let go of the lock before running it.
                        let job = match receiver.lock() {
                            Ok(jobs) => jobs.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(&hasher),
                            Err(_) => return, // the service is gone
                        }
                    }
                });
            if let Err(error) = spawned {
                tracing::error!(%error, "cannot start a password hashing thread");
            }
        }
        Hashing {
            jobs: Mutex::new(sender),
        }
    }

    pub async fn hash(&self, password: String) -> Result<String, Error> {
        self.run(move |hasher| hasher.hash(&password))
            .await?
            .map_err(Error::Hashing)
    }

    /// See `PasswordHasher::verify`: `None` verifies against a dummy hash.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, Error> {
        self.run(move |hasher| hasher.verify(&password, stored.as_deref()))
            .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&PasswordHasher) -> T + Send + 'static,
    ) -> Result<T, Error> {
        let (done, result) = rocket::tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |hasher| {
            let _ = done.send(work(hasher));
        });
        self.jobs
            .lock()
            .map_err(|_| Error::Task("the hashing queue is poisoned".into()))?
            .send(job)
            .map_err(|_| Error::Task("no hashing thread is running".into()))?;
        result
            .await
            .map_err(|_| Error::Task("a hashing thread stopped".into()))
    }
}
