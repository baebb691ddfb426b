//! The databases of a run: SQLite files in the run folder, or databases of their own on a
//! PostgreSQL server (the throwaway cluster of `tasks pg`, or a server the bench is given),
//! made fresh for every run.

use std::path::{Path, PathBuf};

use diesel::{Connection, PgConnection, RunQueryDsl};
use tasks::pg::{create_database, Cluster};

use super::BoxError;

/// Which backends a run measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Choice {
    Sqlite,
    Postgres,
    Both,
}

impl Choice {
    pub fn kinds(self) -> Vec<Kind> {
        match self {
            Choice::Sqlite => vec![Kind::Sqlite],
            Choice::Postgres => vec![Kind::Postgres],
            Choice::Both => vec![Kind::Sqlite, Kind::Postgres],
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Sqlite => "sqlite",
            Kind::Postgres => "postgres",
        }
    }
}

/// Where one backend's databases are; a cluster started for the run is stopped and removed
/// when this is dropped.
pub struct Databases {
    pub kind: Kind,
    pub locator: Locator,
    cluster: Option<Cluster>,
    /// The postmaster's process id, when the server is a cluster of this run (for its CPU).
    pub postmaster: Option<u32>,
}

/// The prefix of every database the bench makes on a PostgreSQL server.
const PREFIX: &str = "trio_bench_";

impl Databases {
    /// SQLite files in `dir`.
    pub fn sqlite(dir: &Path) -> Result<Databases, BoxError> {
        let dir = dir.to_owned();
        Ok(Databases {
            kind: Kind::Sqlite,
            locator: Locator {
                sqlite_dir: dir,
                server: None,
            },
            cluster: None,
            postmaster: None,
        })
    }

    /// A fresh throwaway cluster under `bench_dir/pg` (as `tasks pg start` makes one), or,
    /// with `server`, that server (a URL without a database; its role must be allowed to
    /// create databases).
    pub fn postgres(bench_dir: &Path, server: Option<&str>) -> Result<Databases, BoxError> {
        let (server, cluster, postmaster) = match server {
            Some(url) => (url.trim_end_matches('/').to_owned(), None, None),
            None => {
                let cluster = Cluster::at(bench_dir.join("pg"));
                cluster.stop()?;
                println!("bench: starting a throwaway PostgreSQL cluster");
                cluster.start()?;
                let url = cluster.url("postgres").ok_or("the cluster has no port")?;
                let server = url.trim_end_matches("/postgres").to_owned();
                let postmaster = cluster.postmaster_pid();
                (server, Some(cluster), postmaster)
            }
        };
        Ok(Databases {
            kind: Kind::Postgres,
            locator: Locator {
                sqlite_dir: PathBuf::new(),
                server: Some(server),
            },
            cluster,
            postmaster,
        })
    }

    /// Makes `names` fresh (on PostgreSQL, dropped and created again).
    pub fn create(&self, names: &[&str]) -> Result<(), BoxError> {
        match &self.locator.server {
            None => {
                for name in names {
                    let _ = std::fs::remove_file(self.locator.url(name));
                }
            }
            Some(server) => {
                let mut admin = PgConnection::establish(&format!("{server}/postgres"))?;
                for name in names {
                    diesel::sql_query(format!(
                        "DROP DATABASE IF EXISTS \"{PREFIX}{name}\" WITH (FORCE)"
                    ))
                    .execute(&mut admin)?;
                    create_database(&mut admin, &format!("{PREFIX}{name}"))?;
                }
            }
        }
        Ok(())
    }
}

/// Where a backend's databases are, by name.
#[derive(Clone)]
pub struct Locator {
    sqlite_dir: PathBuf,
    /// The server's URL without a database, e.g. `postgres://brewery@127.0.0.1:5432`.
    server: Option<String>,
}

impl Locator {
    /// The URL (or SQLite path) of the database `name`.
    pub fn url(&self, name: &str) -> String {
        match &self.server {
            None => self
                .sqlite_dir
                .join(format!("{name}.db"))
                .display()
                .to_string(),
            Some(server) => format!("{server}/{PREFIX}{name}"),
        }
    }
}

impl Drop for Databases {
    fn drop(&mut self) {
        if let Some(cluster) = &self.cluster {
            if let Err(e) = cluster.stop() {
                eprintln!("bench: could not stop the PostgreSQL cluster: {e}");
            }
        }
    }
}
