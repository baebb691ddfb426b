//! `tasks pg start|stop|status`: a throwaway local PostgreSQL cluster under `target/pg`, on
//! loopback and a free port, with one database per service.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use diesel::{Connection, PgConnection, RunQueryDsl};
use nix::unistd::{Uid, User};

pub const SERVICES: [&str; 3] = ["users", "beers", "orders"];
const SUPERUSER: &str = "brewery";

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The cluster's folder: `target/pg` in the workspace (or `$CARGO_TARGET_DIR/pg`).
pub fn cluster_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let tasks = Path::new(env!("CARGO_MANIFEST_DIR"));
            tasks.parent().unwrap_or(tasks).join("target")
        });
    target.join("pg")
}

pub struct Cluster {
    dir: PathBuf,
}

impl Cluster {
    pub fn at(dir: PathBuf) -> Self {
        Cluster { dir }
    }

    /// Where the server's own files live (data, socket, log): the cluster's folder, except as
    /// root. Then the server runs as `postgres`, which cannot enter a clone under a private
    /// folder (`/root`, a `mktemp -d`), so they go to a folder of their own under the system's
    /// temporary folder, named after the cluster's folder.
    fn server_dir(&self) -> PathBuf {
        if !Uid::effective().is_root() {
            return self.dir.clone();
        }
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.dir.hash(&mut hasher);
        std::env::temp_dir().join(format!("brewery-trio-pg-{:016x}", hasher.finish()))
    }

    fn data(&self) -> PathBuf {
        self.server_dir().join("data")
    }

    fn port_file(&self) -> PathBuf {
        self.dir.join("port")
    }

    pub fn port(&self) -> Option<u16> {
        std::fs::read_to_string(self.port_file())
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// `postgres://brewery@127.0.0.1:PORT/<database>`.
    pub fn url(&self, database: &str) -> Option<String> {
        self.port()
            .map(|port| format!("postgres://{SUPERUSER}@127.0.0.1:{port}/{database}"))
    }

    /// The server's process id (the first line of `postmaster.pid`), while it runs.
    pub fn postmaster_pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.data().join("postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    pub fn is_running(&self) -> bool {
        self.data().join("postmaster.pid").exists()
            && self
                .pg_ctl(&["status", "-D", &self.data().to_string_lossy()])
                .map(|o| o.status.success())
                .unwrap_or(false)
    }

    /// Makes the cluster if there is none, starts it, and creates the service databases.
    pub fn start(&self) -> Result<(), BoxError> {
        if self.is_running() {
            return Ok(());
        }
        let initdb = server_binary("initdb")?;
        std::fs::create_dir_all(&self.dir)?;
        let owner = server_user()?;
        if let Some(user) = &owner {
            let server_dir = self.server_dir();
            std::fs::create_dir_all(&server_dir)?;
            std::fs::set_permissions(&server_dir, std::fs::Permissions::from_mode(0o700))?;
            nix::unistd::chown(&server_dir, Some(user.uid), Some(user.gid))?;
        }
        if !self.data().join("PG_VERSION").exists() {
            let data = self.data().to_string_lossy().into_owned();
            let output = as_user(
                &owner,
                &initdb,
                &[
                    "-D",
                    &data,
                    "-U",
                    SUPERUSER,
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-locale",
                ],
            )?;
            if !output.status.success() {
                return Err(
                    format!("initdb failed: {}", String::from_utf8_lossy(&output.stderr)).into(),
                );
            }
        }
        let port = free_port()?;
        self.start_server(port)?;
        std::fs::write(self.port_file(), port.to_string())?;
        let mut admin = PgConnection::establish(&self.url("postgres").ok_or("no port")?)?;
        for service in SERVICES {
            create_database(&mut admin, service)?;
        }
        Ok(())
    }

    /// Starts the server of a cluster that exists, on `port`.
    fn start_server(&self, port: u16) -> Result<(), BoxError> {
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.server_dir().display()
        );
        let log = self.server_dir().join("server.log");
        let output = self.pg_ctl(&[
            "start",
            "-w",
            "-D",
            &self.data().to_string_lossy(),
            "-l",
            &log.to_string_lossy(),
            "-o",
            &options,
        ])?;
        if !output.status.success() {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(format!(
                "pg_ctl start failed: {}{log}",
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
        Ok(())
    }

    /// Stops the server the way `mode` says (`smart`, `fast` or `immediate`, which is a crash
    /// as far as clients can tell) and keeps the cluster, for [`Self::resume`].
    pub fn halt(&self, mode: &str) -> Result<(), BoxError> {
        let output = self.pg_ctl(&[
            "stop",
            "-w",
            "-m",
            mode,
            "-D",
            &self.data().to_string_lossy(),
        ])?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "pg_ctl stop failed: {}",
                String::from_utf8_lossy(&output.stderr)
            )
            .into())
        }
    }

    /// Starts a halted server again on its port; returns once it accepts connections.
    pub fn resume(&self) -> Result<(), BoxError> {
        self.start_server(self.port().ok_or("the cluster has no port")?)
    }

    /// Stops the server and removes the cluster's folder.
    pub fn stop(&self) -> Result<(), BoxError> {
        if self.is_running() {
            let output =
                self.pg_ctl(&["stop", "-m", "fast", "-D", &self.data().to_string_lossy()])?;
            if !output.status.success() {
                return Err(format!(
                    "pg_ctl stop failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                )
                .into());
            }
        }
        for dir in [self.server_dir(), self.dir.clone()] {
            if dir.exists() {
                std::fs::remove_dir_all(&dir)?;
            }
        }
        Ok(())
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<std::process::Output, BoxError> {
        as_user(&server_user()?, &server_binary("pg_ctl")?, args)
    }
}

/// Creates a database unless it exists.
pub fn create_database(admin: &mut PgConnection, name: &str) -> Result<(), BoxError> {
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let found: Found = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM pg_database WHERE datname = '{name}'"
    ))
    .get_result(admin)?;
    if found.n == 0 {
        diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(admin)?;
    }
    Ok(())
}

/// PostgreSQL refuses to run as root; as root, run it as the `postgres` account (or `nobody`).
fn server_user() -> Result<Option<User>, BoxError> {
    if !Uid::effective().is_root() {
        return Ok(None);
    }
    for name in ["postgres", "nobody"] {
        if let Some(user) = User::from_name(name)? {
            return Ok(Some(user));
        }
    }
    Err("running as root, and there is no unprivileged `postgres` or `nobody` account to run the server as".into())
}

fn as_user(
    user: &Option<User>,
    program: &Path,
    args: &[&str],
) -> Result<std::process::Output, BoxError> {
    let output = match user {
        Some(user) => Command::new("runuser")
            .args(["-u", &user.name, "--"])
            .arg(program)
            .args(args)
            .output()?,
        None => Command::new(program).args(args).output()?,
    };
    Ok(output)
}

/// A server program from PATH or Debian's `/usr/lib/postgresql/<version>/bin`.
fn server_binary(name: &str) -> Result<PathBuf, BoxError> {
    let on_path = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(name))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let mut versioned: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dirs| {
            dirs.flatten()
                .map(|d| d.path().join("bin").join(name))
                .collect()
        })
        .unwrap_or_default();
    versioned.sort();
    versioned.reverse();
    on_path
        .into_iter()
        .chain(versioned)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!(
                "the PostgreSQL server program `{name}` was not found; install it with \
                 `apt-get install postgresql` (Debian/Ubuntu) and try again"
            )
            .into()
        })
}

fn free_port() -> Result<u16, BoxError> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Prints where the cluster runs and the URLs to export; whether it runs.
pub fn print_status(cluster: &Cluster) -> bool {
    let running = cluster.is_running();
    if running {
        println!(
            "PostgreSQL is running in {}; use it with:",
            cluster.dir.display()
        );
        for service in SERVICES {
            if let Some(url) = cluster.url(service) {
                println!("export {}_DATABASE_URL={url}", service.to_uppercase());
            }
        }
    } else {
        println!("PostgreSQL is not running (start it with `cargo run -p tasks -- pg start`)");
    }
    running
}
