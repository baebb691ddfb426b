//! Throwaway databases for unit tests: SQLite files, or PostgreSQL ones when
//! `TRIO_TEST_POSTGRES_URL` names a server.

use shared::db::{DatabaseUrl, Pool, PoolSettings};
use shared::scratch::ScratchDatabase;
use tempfile::TempDir;

use crate::store::{POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};

pub struct TestDatabase {
    pub url: DatabaseUrl,
    _database: ScratchDatabase,
    _dir: TempDir,
}

impl TestDatabase {
    pub fn fresh() -> TestDatabase {
        let dir = tempfile::tempdir().unwrap();
        let database = ScratchDatabase::create("beers", dir.path()).unwrap();
        TestDatabase {
            url: database.url.clone(),
            _database: database,
            _dir: dir,
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
