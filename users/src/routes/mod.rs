//! The users API: registration, login, logout, existence and token checks.

mod accounts;
mod sessions;

use rocket::tokio::sync::Semaphore;
use rocket::Route;
use shared::ops::TokenAuth;
use utoipa::OpenApi;

use crate::domain::PasswordHasher;
use crate::error::Error;

/// argon2 on the blocking pool, at most `limit` at once: each run holds 19 MiB, so a flood of
/// sign-ups or logins queues here instead of exhausting memory.
pub struct Hashing {
    hasher: PasswordHasher,
    slots: Semaphore,
}

impl Hashing {
    pub fn new(limit: usize) -> Self {
        Hashing {
            hasher: PasswordHasher::default(),
            slots: Semaphore::new(limit.max(1)),
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
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|e| Error::Task(e.to_string()))?;
        let hasher = self.hasher.clone();
        Ok(rocket::tokio::task::spawn_blocking(move || work(&hasher)).await?)
    }
}

pub fn routes() -> Vec<Route> {
    rocket::routes![
        accounts::register,
        accounts::exists,
        sessions::login,
        sessions::logout,
        sessions::check_token,
    ]
}

#[derive(OpenApi)]
#[openapi(
    info(title = "users", description = "Accounts, passwords, sessions (tokens) and roles of the brewery trio."),
    paths(
        accounts::register,
        accounts::exists,
        sessions::login,
        sessions::logout,
        sessions::check_token,
    ),
    components(schemas(
        shared::dto::User,
        shared::error::ErrorBody,
        accounts::Registration,
        sessions::Credentials,
        sessions::TokenField,
        sessions::TokenBody,
    )),
    modifiers(&TokenAuth),
    tags((name = "users", description = "Accounts and sessions"))
)]
pub struct ApiDoc;
