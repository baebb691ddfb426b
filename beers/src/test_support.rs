//! Throwaway databases for unit tests: SQLite files, or PostgreSQL ones when asked for.

use std::sync::atomic::{AtomicU32, Ordering};

use diesel::{Connection, PgConnection, RunQueryDsl};
use shared::db::{DatabaseUrl, Pool, PoolSettings};
use tempfile::TempDir;

use crate::store::{POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};

/// The same variable the black-box suite reads, so one setting runs both on PostgreSQL.
const POSTGRES_URL_VARIABLE: &str = "TRIO_TEST_POSTGRES_URL";

/// A SQLite file in a temporary folder or, when `TRIO_TEST_POSTGRES_URL` names a PostgreSQL
/// admin URL, a fresh database there that is dropped with this value.
pub struct TestDatabase {
    pub url: DatabaseUrl,
    _dir: TempDir,
    /// The admin URL and the name of the PostgreSQL database to drop afterwards.
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    pub fn fresh() -> TestDatabase {
        let dir = tempfile::tempdir().unwrap();
        let Ok(admin_url) = std::env::var(POSTGRES_URL_VARIABLE) else {
            return TestDatabase {
                url: DatabaseUrl::Sqlite(dir.path().join("beers.db")),
                _dir: dir,
                postgres: None,
            };
        };
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "beers_unit_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = PgConnection::establish(&admin_url).unwrap();
        diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut admin)
            .unwrap();
        diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .unwrap();
        let base = admin_url.rsplit_once('/').map_or(&*admin_url, |(b, _)| b);
        TestDatabase {
            url: DatabaseUrl::Postgres(format!("{base}/{name}")),
            _dir: dir,
            postgres: Some((admin_url, name)),
        }
    }

    /// A migrated pool on this database.
    pub fn pool(&self) -> Pool {
        shared::db::connect(
            &self.url,
            &PoolSettings::default(),
            SQLITE_MIGRATIONS,
            POSTGRES_MIGRATIONS,
        )
        .unwrap()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = &self.postgres {
            if let Ok(mut admin) = PgConnection::establish(admin_url) {
                let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                let _ = diesel::sql_query(drop).execute(&mut admin);
            }
        }
    }
}
