//! Test databases: fresh and empty, removed when dropped — for tests and benchmarks. Built
//! only with the `dev-tools` feature, which only tasks, the tests and the services'
//! dev-dependencies turn on; no service calls it.

use std::path::Path;

use diesel::{Connection, RunQueryDsl};

use crate::db::{DatabaseUrl, DbError, Pool, PoolSettings};
use crate::service::Service;

/// Names a PostgreSQL admin URL (`postgres://user@host:port/postgres`). When it is set,
/// scratch databases are made on that server instead of as SQLite files.
pub const POSTGRES_VARIABLE: &str = "TRIO_TEST_POSTGRES_URL";

/// A fresh database: a SQLite file in a folder the caller owns, or a new PostgreSQL database
/// that is dropped (with any connections still open to it) when this value is.
#[derive(Debug)]
pub struct TestDatabase {
    pub url: DatabaseUrl,
    /// The admin URL and the database's name, on PostgreSQL.
    postgres: Option<(String, String)>,
    /// The SQLite file's folder, when the database made its own ([`TestDatabase::fresh`]).
    folder: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// A new database for `purpose` in a temporary folder of its own, removed with it.
    pub fn fresh(purpose: &str) -> Result<Self, DbError> {
        let folder = tempfile::tempdir().map_err(|e| DbError::Connect(e.to_string()))?;
        let mut database = Self::create(purpose, folder.path())?;
        database.folder = Some(folder);
        Ok(database)
    }

    /// A pool on this database with the migrations of service `S` applied.
    pub fn migrated<S: Service>(&self) -> Result<Pool, DbError> {
        crate::db::connect(
            &self.url,
            &PoolSettings::default(),
            S::SQLITE_MIGRATIONS,
            S::POSTGRES_MIGRATIONS,
        )
    }

    /// A new database for `purpose` (a short identifier such as `users`).
    pub fn create(purpose: &str, sqlite_folder: &Path) -> Result<Self, DbError> {
        match crate::config::var(POSTGRES_VARIABLE) {
            Some(admin_url) => Self::create_on(purpose, &admin_url),
            None => Ok(TestDatabase {
                url: DatabaseUrl::Sqlite(sqlite_folder.join(format!("{purpose}.db"))),
                postgres: None,
                folder: None,
            }),
        }
    }

    /// A new PostgreSQL database for `purpose` on the server of `admin_url`.
    pub fn create_on(purpose: &str, admin_url: &str) -> Result<Self, DbError> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let name = format!("scratch_{purpose}_{}", &id[..12]);
        let mut admin = diesel::PgConnection::establish(admin_url)
            .map_err(|e| DbError::Connect(e.to_string()))?;
        diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(&mut admin)?;
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url, |(base, _)| base);
        Ok(TestDatabase {
            url: DatabaseUrl::Postgres(format!("{base}/{name}")),
            postgres: Some((admin_url.to_owned(), name)),
            folder: None,
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = &self.postgres {
            if let Ok(mut admin) = diesel::PgConnection::establish(admin_url) {
                let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                let _ = diesel::sql_query(drop).execute(&mut admin);
            }
        }
    }
}
