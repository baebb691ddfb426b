//! Storage plumbing: one connection type for SQLite and PostgreSQL, the pool, migrations,
//! write transactions and running Diesel on the blocking pool.

use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{ManageConnection, R2D2Connection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};

/// A connection to whichever backend the URL named.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Runs `$body` with `$c` bound to the backend's own connection (`PgConnection` or
/// `SqliteConnection`), for reads on hot paths. Through [`AnyConnection`], Diesel writes the
/// SQL text of every query again to look its prepared statement up; on the backend's own
/// connection a query of a fixed shape is found by its type, so only its values are bound
/// (in `POST /api/users/check_token` the SQL writing was a tenth of the process's CPU).
///
/// ```ignore
/// let row = shared::on_backend!(conn, |c| table.filter(...).first::<Row>(c).optional())?;
/// ```
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::AnyConnection::Postgresql($c) => $body,
            $crate::db::AnyConnection::Sqlite($c) => $body,
        }
    };
}

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConnection = r2d2::PooledConnection<Manager>;

/// Which database a `*_DATABASE_URL` points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    /// `postgres://` or `postgresql://` selects PostgreSQL; `sqlite://PATH` or a plain path SQLite.
    pub fn parse(url: &str) -> Self {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            DatabaseUrl::Postgres(url.to_owned())
        } else {
            let path = url.strip_prefix("sqlite://").unwrap_or(url);
            DatabaseUrl::Sqlite(PathBuf::from(path))
        }
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self, DatabaseUrl::Sqlite(_))
    }

    /// The URL as a `*_DATABASE_URL` value, password included (`Display` hides it).
    pub fn to_setting(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => url.clone(),
        }
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatabaseUrl::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            // Never print a password that may be in the URL.
            DatabaseUrl::Postgres(url) => match url.rsplit_once('@') {
                Some((_, host)) => write!(f, "postgres://…@{host}"),
                None => f.write_str(url),
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("no database connection: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("migrations failed: {0}")]
    Migration(String),
    #[error("database task failed: {0}")]
    Task(String),
}

impl DbError {
    /// Whether the database could not be used at all (no connection within the pool's
    /// timeout, or the server closed it): a 503 for the client, as `/ready` would say.
    pub fn is_unavailable(&self) -> bool {
        use diesel::result::{DatabaseErrorKind, Error};
        matches!(
            self,
            DbError::Pool(_)
                | DbError::Connect(_)
                | DbError::Query(Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _))
        )
    }

    /// The text of a unique-constraint violation (names the index or column), if this is one.
    pub fn unique_violation(&self) -> Option<String> {
        use diesel::result::{DatabaseErrorKind, Error};
        match self {
            DbError::Query(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info)) => {
                Some(format!(
                    "{} {}",
                    info.constraint_name().unwrap_or_default(),
                    info.message()
                ))
            }
            _ => None,
        }
    }
}

/// Opens connections for the pool, picking the backend by the URL so that a failure keeps
/// its real message (the derived `establish` would try both and report neither).
#[derive(Debug, Clone)]
pub struct Manager {
    url: DatabaseUrl,
    statement_timeout: Option<Duration>,
}

impl Manager {
    pub fn new(url: DatabaseUrl, statement_timeout: Option<Duration>) -> Self {
        Manager {
            url,
            statement_timeout,
        }
    }
}

/// SQLite settings applied to every pooled connection. WAL lets readers work beside the one
/// writer; `synchronous=FULL` makes every acknowledged commit survive power loss, not only a
/// crash of the process; the busy timeout makes writers wait rather than fail.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;";

impl ManageConnection for Manager {
    type Connection = AnyConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<AnyConnection, Self::Error> {
        use diesel::r2d2::Error;
        match &self.url {
            DatabaseUrl::Postgres(url) => {
                let mut conn =
                    diesel::PgConnection::establish(url).map_err(Error::ConnectionError)?;
                if let Some(limit) = self.statement_timeout {
                    conn.batch_execute(&format!("SET statement_timeout = {}", limit.as_millis()))
                        .map_err(Error::QueryError)?;
                }
                Ok(AnyConnection::Postgresql(conn))
            }
            DatabaseUrl::Sqlite(path) => {
                let path = path.to_string_lossy();
                let mut conn =
                    diesel::SqliteConnection::establish(&path).map_err(Error::ConnectionError)?;
                conn.batch_execute(SQLITE_PRAGMAS)
                    .map_err(Error::QueryError)?;
                Ok(AnyConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut AnyConnection) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// Pool settings; see each service's configuration for the environment names.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Connections in the pool.
    pub max_size: u32,
    /// How long a request waits for a free connection (and a new one to open).
    pub connection_timeout: Duration,
    /// PostgreSQL's `statement_timeout` for every statement; `None` for no limit. SQLite has
    /// no equivalent: its busy timeout bounds the wait for the write lock instead.
    pub statement_timeout: Option<Duration>,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            max_size: 8,
            connection_timeout: Duration::from_secs(5),
            statement_timeout: Some(Duration::from_secs(30)),
        }
    }
}

impl PoolSettings {
    /// The defaults for a backend. SQLite work is CPU-bound and has one writer, so beyond one
    /// connection per core the extra threads only wait and wake (a point read cost 35 µs of CPU
    /// with 8 connections on two cores, 22 µs with 2); PostgreSQL work mostly waits on the
    /// network, so it keeps 8.
    pub fn for_url(url: &DatabaseUrl) -> Self {
        let defaults = PoolSettings::default();
        match url {
            DatabaseUrl::Sqlite(_) => PoolSettings {
                max_size: std::thread::available_parallelism()
                    .map_or(2, |n| n.get().clamp(2, 8) as u32),
                ..defaults
            },
            DatabaseUrl::Postgres(_) => defaults,
        }
    }
}

/// Makes the pool (creating a SQLite file's folder if needed) and applies pending migrations.
pub fn connect(
    url: &DatabaseUrl,
    settings: &PoolSettings,
    sqlite_migrations: EmbeddedMigrations,
    postgres_migrations: EmbeddedMigrations,
) -> Result<Pool, DbError> {
    if let DatabaseUrl::Sqlite(path) = url {
        create_parent_folder(path)?;
    }
    let manager = Manager::new(url.clone(), settings.statement_timeout);
    // One direct connection first: a wrong URL fails at once with the server's own words,
    // not after the pool's timeout.
    let mut first = manager
        .connect()
        .map_err(|e| DbError::Connect(e.to_string()))?;
    run_migrations(&mut first, sqlite_migrations, postgres_migrations)?;
    drop(first);
    Ok(r2d2::Pool::builder()
        .max_size(settings.max_size)
        .min_idle(Some(1))
        // No `SELECT 1` before every use: it doubled the work of a point read. A connection
        // the server dropped fails its next query once (`DbError::is_unavailable`, a 503) and
        // is then replaced.
        .test_on_check_out(false)
        .connection_timeout(settings.connection_timeout)
        // Failures reach the caller (and its log) through `pool.get()`; r2d2's own handler
        // would log each retry again.
        .error_handler(Box::new(r2d2::NopErrorHandler))
        .build_unchecked(manager))
}

fn create_parent_folder(path: &Path) -> Result<(), DbError> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => std::fs::create_dir_all(parent)
            .map_err(|e| DbError::Connect(format!("cannot create {}: {e}", parent.display()))),
        _ => Ok(()),
    }
}

pub fn run_migrations(
    conn: &mut AnyConnection,
    sqlite_migrations: EmbeddedMigrations,
    postgres_migrations: EmbeddedMigrations,
) -> Result<(), DbError> {
    let result = match conn {
        AnyConnection::Sqlite(c) => c.run_pending_migrations(sqlite_migrations).map(|_| ()),
        AnyConnection::Postgresql(c) => c.run_pending_migrations(postgres_migrations).map(|_| ()),
    };
    result.map_err(|e| DbError::Migration(e.to_string()))
}

/// Runs `work` inside a transaction that writes. On SQLite it starts with `BEGIN IMMEDIATE`,
/// taking the write lock up front: a deferred transaction that reads and then writes can
/// fail with `database is locked` when another writer got there first.
pub fn write_transaction<T, E>(
    conn: &mut AnyConnection,
    work: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    let AnyConnection::Sqlite(sqlite) = conn else {
        return conn.transaction(work);
    };
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    let outcome = work(conn);
    let AnyConnection::Sqlite(sqlite) = conn else {
        unreachable!("the connection cannot change backend inside a transaction")
    };
    match outcome {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(sqlite)?;
            Ok(value)
        }
        Err(error) => {
            AnsiTransactionManager::rollback_transaction(sqlite)?;
            Err(error)
        }
    }
}

/// Runs Diesel work on Rocket's blocking pool with a pooled connection.
pub async fn run<T, E, F>(pool: &Pool, work: F) -> Result<T, E>
where
    F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<DbError> + Send + 'static,
{
    let pool = pool.clone();
    rocket::tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().map_err(DbError::from)?;
        work(&mut conn)
    })
    .await
    .map_err(|e| E::from(DbError::Task(e.to_string())))?
}

/// Whether the database answers a trivial query now.
pub async fn ping(pool: &Pool) -> Result<(), DbError> {
    run(pool, |conn| {
        conn.batch_execute("SELECT 1").map_err(DbError::from)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_picks_the_backend() {
        let cases = [
            ("data/users.db", DatabaseUrl::Sqlite("data/users.db".into())),
            (
                "sqlite:///tmp/x.db",
                DatabaseUrl::Sqlite("/tmp/x.db".into()),
            ),
            (
                "postgres://u@h/db",
                DatabaseUrl::Postgres("postgres://u@h/db".into()),
            ),
            (
                "postgresql://h/db",
                DatabaseUrl::Postgres("postgresql://h/db".into()),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(DatabaseUrl::parse(text), expected, "{text}");
        }
    }

    #[test]
    fn a_displayed_url_hides_the_password() {
        let url = DatabaseUrl::parse("postgres://user:secret@db:5432/users");
        assert_eq!(url.to_string(), "postgres://…@db:5432/users");
    }
}
