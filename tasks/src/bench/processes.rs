//! The processes of a run: the service binaries brought up to date and started on free
//! ports, the ceiling inside this process, and the load generator found or installed.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rocket::http::ContentType;

use super::backend::Locator;
use super::BoxError;

/// A beer as `GET /api/beers/<sku>` answers it.
const BEER_JSON: &str = r#"{"id":1,"name":"Бургаско","sku":"123456","price":"1.19","image":null,"time_created":"2026-11-25T08:48:19Z","time_modified":"2026-11-25T08:48:19Z"}"#;

#[rocket::get("/api/beers/<_sku>")]
fn ceiling_beer(_sku: &str) -> (ContentType, &'static str) {
    (ContentType::JSON, BEER_JSON)
}

/// The ceiling: Rocket itself, in this process, one constant route. Answers its URL and the
/// handle that stops it.
pub async fn start_ceiling() -> Result<(String, rocket::Shutdown), BoxError> {
    let port = free_port()?;
    let config = rocket::Config {
        port,
        address: std::net::Ipv4Addr::LOCALHOST.into(),
        log_level: rocket::config::LogLevel::Off,
        ..rocket::Config::release_default()
    };
    let ceiling = rocket::custom(config)
        .mount("/", rocket::routes![ceiling_beer])
        .ignite()
        .await?;
    let shutdown = ceiling.shutdown();
    tokio::spawn(ceiling.launch());
    Ok((format!("http://127.0.0.1:{port}"), shutdown))
}

/// Under `cargo run`, brings the service binaries beside tasks up to date with the same
/// profile, so the bench never measures a stale build (and works on a fresh clone). Run as
/// a plain binary (no cargo around), it uses the binaries as they are.
pub fn build_services(bin_dir: &Path) -> Result<(), BoxError> {
    cargo_build(
        bin_dir,
        "the services (cargo build --workspace --bins)",
        ["--workspace", "--bins"],
    )
}

/// Under `cargo run`, runs `cargo build --quiet` with `args` in the profile of the binaries
/// in `bin_dir` (`--release` when it is `release/`), saying so first. Run as a plain binary,
/// it builds nothing.
pub fn cargo_build<I, S>(bin_dir: &Path, what: &str, args: I) -> Result<(), BoxError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    if std::env::var_os("CARGO").is_none() {
        return Ok(());
    }
    let mut command = shared::cargo::command();
    command.args(["build", "--quiet"]).args(args);
    if bin_dir.file_name().is_some_and(|dir| dir == "release") {
        command.arg("--release");
    }
    println!("bench: building {what}");
    if command.status()?.success() {
        Ok(())
    } else {
        Err(format!("building {what} failed").into())
    }
}

/// The oha release the bench installs when none is found: pinned, and built from its own
/// lock file, so a fresh machine gets the same load generator as the figures in the README.
const OHA_VERSION: &str = "1.16.0";

/// `oha` on PATH or in ~/.cargo/bin, else installed with cargo.
pub fn find_or_install_oha() -> Result<PathBuf, BoxError> {
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("oha")).collect())
        .unwrap_or_default();
    let cargo_bin = std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo/bin/oha"));
    candidates.extend(cargo_bin.clone());
    if let Some(found) = candidates.into_iter().find(|p| p.is_file()) {
        return Ok(found);
    }
    println!(
        "oha not found: installing it with `cargo install oha --version {OHA_VERSION} --locked`"
    );
    let status = shared::cargo::command()
        .args(["install", "oha", "--version", OHA_VERSION, "--locked"])
        .status()?;
    match cargo_bin {
        Some(path) if status.success() && path.is_file() => Ok(path),
        _ => Err("could not install oha".into()),
    }
}

pub fn free_port() -> Result<u16, BoxError> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// One service binary running as a child of this process; killed (by its PID) when dropped.
pub struct Service {
    pub name: &'static str,
    pub port: u16,
    pub url: String,
    child: Child,
    /// From exec to its first 200 on `/ready`.
    pub ready: Duration,
}

impl Service {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the service binaries of one run: from `bin_dir`, with their logs in `run_dir` and
/// their databases where `databases` says, each told where users and beers listen.
pub struct Launcher {
    pub http: reqwest::Client,
    bin_dir: PathBuf,
    run_dir: PathBuf,
    databases: Locator,
    users_url: String,
    beers_url: String,
}

impl Launcher {
    pub fn new(
        bin_dir: &Path,
        run_dir: &Path,
        databases: Locator,
        users_port: u16,
        beers_port: u16,
    ) -> Launcher {
        Launcher {
            http: reqwest::Client::new(),
            bin_dir: bin_dir.to_owned(),
            run_dir: run_dir.to_owned(),
            databases,
            users_url: format!("http://127.0.0.1:{users_port}"),
            beers_url: format!("http://127.0.0.1:{beers_port}"),
        }
    }

    /// The environment of the service `binary` (users, beers, orders) on `port`: loopback,
    /// the database `database`, where its neighbours listen, no per-client limit on failed
    /// logins, and no per-request log line.
    pub fn env(&self, binary: &str, database: &str, port: u16) -> Vec<(String, String)> {
        let prefix = binary.to_uppercase();
        vec![
            (format!("{prefix}_PORT"), port.to_string()),
            (format!("{prefix}_ADDRESS"), "127.0.0.1".into()),
            (
                format!("{prefix}_DATABASE_URL"),
                self.databases.url(database),
            ),
            ("USERS_URL".into(), self.users_url.clone()),
            ("BEERS_URL".into(), self.beers_url.clone()),
            ("USERS_LOGIN_MAX_FAILURES_PER_CLIENT".into(), "0".into()),
            ("RUST_LOG".into(), "warn".into()),
        ]
    }

    /// Starts `binary` as the instance `name` on `port` on its own database (the one named
    /// after it), with `extra_env` beside its usual environment, and waits for its first 200
    /// on `/ready`, timing it from exec.
    pub async fn start(
        &self,
        binary: &'static str,
        name: &'static str,
        port: u16,
        extra_env: &[(&str, String)],
    ) -> Result<Service, BoxError> {
        self.start_on(binary, name, binary, port, extra_env).await
    }

    /// As [`Self::start`], on the database `database`.
    pub async fn start_on(
        &self,
        binary: &'static str,
        name: &'static str,
        database: &str,
        port: u16,
        extra_env: &[(&str, String)],
    ) -> Result<Service, BoxError> {
        let log = std::fs::File::create(self.run_dir.join(format!("{name}.log")))?;
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let child = Command::new(self.bin_dir.join(binary))
            .envs(self.env(binary, database, port))
            .envs(extra_env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        let mut service = Service {
            name,
            port,
            url,
            child,
            ready: Duration::ZERO,
        };
        loop {
            if let Ok(r) = self.http.get(format!("{}/ready", service.url)).send().await {
                if r.status() == reqwest::StatusCode::OK {
                    break;
                }
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err(format!("{name} was not ready within 30 s").into());
            }
            if let Ok(Some(status)) = service.child.try_wait() {
                return Err(format!(
                    "{name} exited ({status}); see its log in {}",
                    self.run_dir.display()
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        service.ready = started.elapsed();
        Ok(service)
    }
}
