//! The services as real processes, for what only a process can show: signals, crashes.

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// One service binary running as a child process.
pub struct ServiceProcess {
    pub url: String,
    child: Option<Child>,
}

/// The workspace's build of `name`, building it first if this test run has not.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("a target folder")
        .to_path_buf();
    let path = profile_dir.join(name);
    // The same selection as `cargo test --workspace` and CI's other builds (`--workspace
    // --bins`): a narrower one (`-p users`) unifies dependency features differently and
    // compiles a second copy of half the dependencies.
    let mut command = shared::cargo::command();
    command.args(["build", "--quiet", "--workspace", "--bins"]);
    if profile_dir.file_name().is_some_and(|dir| dir == "release") {
        command.arg("--release");
    }
    let status = command.status().expect("cargo runs");
    assert!(status.success(), "building {name}");
    path
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl ServiceProcess {
    /// Starts `name` with `env` and waits until it answers `/health`; its output is dropped.
    pub async fn start(name: &str, port: u16, env: &[(&str, String)]) -> ServiceProcess {
        Self::start_logging_to(name, port, env, None).await
    }

    /// Like `start`, writing the service's log (stderr) to `log`.
    pub async fn start_logging_to(
        name: &str,
        port: u16,
        env: &[(&str, String)],
        log: Option<&std::path::Path>,
    ) -> ServiceProcess {
        Self::start_limited(name, port, env, log, None).await
    }

    /// Like `start_logging_to`, the process starting with `open_files` as its (soft, hard)
    /// limit on open files, as a system that gives services few descriptors would start it.
    pub async fn start_limited(
        name: &str,
        port: u16,
        env: &[(&str, String)],
        log: Option<&std::path::Path>,
        open_files: Option<(u64, u64)>,
    ) -> ServiceProcess {
        let prefix = name.to_uppercase();
        let mut command = Command::new(binary(name));
        if let Some((soft, hard)) = open_files {
            use std::os::unix::process::CommandExt;
            // SAFETY: between fork and exec the closure makes one system call and allocates nothing.
            unsafe {
                command.pre_exec(move || {
                    nix::sys::resource::setrlimit(
                        nix::sys::resource::Resource::RLIMIT_NOFILE,
                        soft,
                        hard,
                    )
                    .map_err(std::io::Error::from)
                });
            }
        }
        command
            .env(format!("{prefix}_PORT"), port.to_string())
            .env(format!("{prefix}_ADDRESS"), "127.0.0.1")
            .envs(env.iter().map(|(k, v)| (*k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(match log {
                Some(path) => Stdio::from(std::fs::File::create(path).expect("a log file")),
                None => Stdio::null(),
            });
        let process = ServiceProcess {
            url: format!("http://127.0.0.1:{port}"),
            child: Some(command.spawn().expect("the service starts")),
        };
        let http = reqwest::Client::new();
        for _ in 0..200 {
            if http
                .get(format!("{}/health", process.url))
                .send()
                .await
                .is_ok()
            {
                return process;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{name} did not come up on {}", process.url);
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process is still running (it has not exited or been killed).
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    pub fn signal(&self, signal: Signal) {
        if let Some(child) = &self.child {
            kill(Pid::from_raw(child.id() as i32), signal).expect("the signal is sent");
        }
    }

    /// Waits for the process to end (blocking briefly on a worker thread).
    pub async fn wait(mut self) -> ExitStatus {
        let mut child = self.child.take().expect("a running process");
        tokio::task::spawn_blocking(move || child.wait().expect("the process ends"))
            .await
            .expect("waiting runs")
    }
}

/// A process a failed test leaves behind is killed, not left running.
impl Drop for ServiceProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
