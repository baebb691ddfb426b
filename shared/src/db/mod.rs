//! Storage plumbing: one connection type for SQLite and PostgreSQL, the pool, migrations,
//! write transactions, running Diesel on the blocking pool, and what a failure means.

use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};

mod pool;
pub use pool::{Pool, PoolState, PooledConnection};

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

    /// A `*_DATABASE_URL` as a person may have typed it: a file path, `sqlite://PATH`, or a
    /// `postgres://`/`postgresql://` URL. Anything that looks like a URL or a host but is
    /// none of these (`postgress://db`, `postgres:/db`, `localhost:5432/users`) is refused,
    /// where it would otherwise become a SQLite file of that name.
    pub fn from_setting(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let hint = "(use a file path, sqlite://PATH or postgres://user@host:port/database)";
        if let Some((scheme, _)) = text.split_once("://") {
            if !["sqlite", "postgres", "postgresql"].contains(&scheme) {
                return Err(format!("has the unknown scheme {scheme}:// {hint}"));
            }
        } else if let Some((head, _)) = text.split_once(':') {
            let scheme_like = !head.is_empty()
                && !head.contains('/')
                && head
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
            if scheme_like {
                return Err(format!(
                    "{text:?} is neither a file path nor a URL with a known scheme {hint}"
                ));
            }
        }
        if text.is_empty() {
            return Err(format!("is empty {hint}"));
        }
        Ok(Self::parse(text))
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
    #[error("no database connection was free within {} ms", .0.as_millis())]
    Busy(Duration),
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("query failed: {0}")]
    Query(#[from] diesel::result::Error),
    /// The `COMMIT` of a write transaction failed: nothing was written, unless the connection
    /// broke while it ran (then nobody knows; see [`DbError::outcome_unknown`]).
    #[error("commit failed: {0}")]
    Commit(diesel::result::Error),
    #[error("migrations failed: {0}")]
    Migration(String),
    #[error("database task failed: {0}")]
    Task(String),
}

/// A condition of the database rather than of one request: it lasts until the database
/// recovers, so it is answered with a 5xx that says so and logged once, not per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outage {
    /// No connection could be had or kept (server down or restarting, connections killed,
    /// pool exhausted, lock or statement timeout): 503.
    Unavailable,
    /// The database's disk (or quota) is full: writes fail, reads work: 507.
    DiskFull,
}

impl DbError {
    /// The lasting condition behind this failure, if it is one (see [`Outage`]).
    pub fn outage(&self) -> Option<Outage> {
        use diesel::result::{DatabaseErrorKind, Error};
        let error = match self {
            DbError::Busy(_) | DbError::Connect(_) => return Some(Outage::Unavailable),
            DbError::Query(error) | DbError::Commit(error) => innermost(error),
            DbError::Migration(_) | DbError::Task(_) => return None,
        };
        let Error::DatabaseError(kind, info) = error else {
            return None;
        };
        if matches!(
            kind,
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand
        ) {
            return Some(Outage::Unavailable);
        }
        let message = info.message();
        let says = |words: &[&str]| words.iter().any(|w| message.contains(w));
        if says(&[
            "database or disk is full", // SQLite: SQLITE_FULL
            "No space left on device",  // PostgreSQL: disk_full (53100)
            "Disk quota exceeded",      // either, on a quota
        ]) {
            Some(Outage::DiskFull)
        } else if says(&[
            "database is locked",     // SQLite: the busy timeout ran out
            "disk I/O error",         // SQLite: SQLITE_IOERR
            "statement timeout",      // PostgreSQL: statement_timeout
            "terminating connection", // PostgreSQL: the server is shutting down
            "server closed the connection",
        ]) {
            Some(Outage::Unavailable)
        } else {
            None
        }
    }

    /// Whether the database could not be used at all (no connection, or it broke): a 503
    /// for the client, as `/ready` would say.
    pub fn is_unavailable(&self) -> bool {
        self.outage() == Some(Outage::Unavailable)
    }

    /// Whether the connection itself failed (the server closed it, or libpq has no connection
    /// any more), as opposed to a statement that failed on a working connection.
    pub fn is_connection_failure(&self) -> bool {
        use diesel::result::{DatabaseErrorKind, Error};
        match self {
            DbError::Query(error) | DbError::Commit(error) => matches!(
                innermost(error),
                Error::DatabaseError(
                    DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                    _
                )
            ),
            _ => false,
        }
    }

    /// Whether a write may or may not have been kept: its `COMMIT` was sent and the connection
    /// broke before the answer came. Such a request is never retried, and never a success.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, DbError::Commit(_)) && self.is_connection_failure()
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

/// The error that started it: a failed `COMMIT` whose rollback failed too is about the commit.
fn innermost(error: &diesel::result::Error) -> &diesel::result::Error {
    match error {
        diesel::result::Error::RollbackErrorOnCommit { commit_error, .. } => commit_error,
        other => other,
    }
}

/// A service's error type, as far as the storage layer needs to see into it: which failures
/// are the database's, so that [`run`] can tell a lost connection from a refused request.
pub trait StoreError: From<DbError> {
    fn as_db_error(&self) -> Option<&DbError>;
}

impl StoreError for DbError {
    fn as_db_error(&self) -> Option<&DbError> {
        Some(self)
    }
}

/// Opens connections, picking the backend by the URL so that a failure keeps its real
/// message (Diesel's derived `establish` would try both and report neither).
#[derive(Debug, Clone)]
pub struct Manager {
    url: DatabaseUrl,
    statement_timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
}

impl Manager {
    pub fn new(url: DatabaseUrl, statement_timeout: Option<Duration>) -> Self {
        Manager {
            url,
            statement_timeout,
            connect_timeout: None,
        }
    }

    /// Gives up opening a PostgreSQL connection after `limit` (libpq's `connect_timeout`,
    /// in whole seconds and at least 2, unless the URL sets one): without it a server that
    /// accepts TCP but never answers would hold a request past the pool's timeout.
    pub fn with_connect_timeout(mut self, limit: Duration) -> Self {
        self.connect_timeout = Some(limit);
        self
    }

    fn postgres_url<'a>(&self, url: &'a str) -> std::borrow::Cow<'a, str> {
        match self.connect_timeout {
            Some(limit) if !url.contains("connect_timeout=") => {
                let seconds = limit.as_millis().div_ceil(1000).max(2);
                let separator = if url.contains('?') { '&' } else { '?' };
                format!("{url}{separator}connect_timeout={seconds}").into()
            }
            _ => url.into(),
        }
    }

    /// A new connection with the service's settings applied.
    pub fn connect(&self) -> Result<AnyConnection, DbError> {
        let failed = |e: &dyn std::fmt::Display| DbError::Connect(e.to_string());
        match &self.url {
            DatabaseUrl::Postgres(url) => {
                let mut conn = diesel::PgConnection::establish(&self.postgres_url(url))
                    .map_err(|e| failed(&e))?;
                if let Some(limit) = self.statement_timeout {
                    conn.batch_execute(&format!("SET statement_timeout = {}", limit.as_millis()))
                        .map_err(|e| failed(&e))?;
                }
                Ok(AnyConnection::Postgresql(conn))
            }
            DatabaseUrl::Sqlite(path) => {
                let path = path.to_string_lossy();
                let mut conn =
                    diesel::SqliteConnection::establish(&path).map_err(|e| failed(&e))?;
                conn.batch_execute(SQLITE_PRAGMAS).map_err(|e| failed(&e))?;
                Ok(AnyConnection::Sqlite(conn))
            }
        }
    }
}

/// SQLite settings applied to every connection. WAL lets readers work beside the one
/// writer; `synchronous=FULL` makes every acknowledged commit survive power loss, not only a
/// crash of the process; the busy timeout makes writers wait rather than fail.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;";

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
    let manager = Manager::new(url.clone(), settings.statement_timeout)
        .with_connect_timeout(settings.connection_timeout);
    // One direct connection first: a wrong URL fails at once with the server's own words.
    let mut first = manager.connect()?;
    run_migrations(&mut first, sqlite_migrations, postgres_migrations)?;
    let pool = Pool::new(manager, settings.max_size, settings.connection_timeout);
    pool.adopt(first);
    Ok(pool)
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

thread_local! {
    /// Whether the work [`Pool::run_blocking`] runs on this thread committed a write
    /// transaction: a success that proves writes are kept again after a full disk.
    static COMMITTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `work` inside a transaction that writes, and checks its `COMMIT`: every write goes
/// through here, because SQLite hands out a `RETURNING` row before an autocommit statement
/// commits, and a commit that then fails (a full disk) would go unseen. A failed `COMMIT` is
/// [`DbError::Commit`]. On SQLite the transaction starts with `BEGIN IMMEDIATE`, taking the
/// write lock up front: a deferred transaction that reads and then writes can fail with
/// `database is locked` when another writer got there first.
///
/// Called inside another write transaction, `work` joins it: it commits or rolls back with
/// the outer one (whose work must then fail when this one does). That is how a write and the
/// stored answer of its `Idempotency-Key` share one transaction (`shared::idempotency`).
pub fn write_transaction<T, E>(
    conn: &mut AnyConnection,
    work: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<DbError>,
{
    if in_transaction(conn).map_err(DbError::Query)? {
        return work(conn);
    }
    let begin = match conn {
        AnyConnection::Sqlite(_) => "BEGIN IMMEDIATE",
        AnyConnection::Postgresql(_) => "BEGIN",
    };
    on_backend!(conn, |c| AnsiTransactionManager::begin_transaction_sql(
        c, begin
    ))
    .map_err(DbError::Query)?;
    match work(conn) {
        Ok(value) => {
            on_backend!(conn, |c| AnsiTransactionManager::commit_transaction(c))
                .map_err(DbError::Commit)?;
            COMMITTED.with(|committed| committed.set(true));
            Ok(value)
        }
        Err(error) => {
            // A rollback that fails leaves the transaction manager in error, and the pool
            // then closes the connection; the work's own error is the one worth reporting.
            let _ = on_backend!(conn, |c| AnsiTransactionManager::rollback_transaction(c));
            Err(error)
        }
    }
}

/// Whether a transaction is open on the connection.
fn in_transaction(conn: &mut AnyConnection) -> diesel::QueryResult<bool> {
    let depth = on_backend!(conn, |c| {
        <AnsiTransactionManager as TransactionManager<_>>::transaction_manager_status_mut(c)
            .transaction_depth()
    })?;
    Ok(depth.is_some())
}

/// Runs Diesel work on Rocket's blocking pool with a pooled connection (see
/// [`Pool::run_blocking`]: on a connection found dead, work that cannot have been kept runs
/// once more on another connection, so it must be safe to call twice).
pub async fn run<T, E, F>(pool: &Pool, work: F) -> Result<T, E>
where
    F: FnMut(&mut AnyConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: StoreError + Send + 'static,
{
    let pool = pool.clone();
    rocket::tokio::task::spawn_blocking(move || pool.run_blocking(work))
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

/// Logs a storage failure of a request once: a lasting condition ([`Outage`]) when it starts
/// (and [`Pool::run_blocking`] logs when it ends), anything else every time, as it happens.
pub fn log_failure(req: &rocket::Request<'_>, error: &DbError) {
    let request_id = crate::request::RequestId::of(req);
    let Some(outage) = error.outage() else {
        tracing::error!(request_id = %request_id.0, %error, "storage failed");
        return;
    };
    let starts = req
        .rocket()
        .state::<Pool>()
        .is_none_or(|pool| pool.outage_starts(outage));
    if starts {
        tracing::error!(
            request_id = %request_id.0,
            %error,
            "{}; requests that need it are refused until it recovers (not logged again for each)",
            outage.describe()
        );
    } else {
        tracing::debug!(request_id = %request_id.0, %error, "storage failed");
    }
}

impl Outage {
    /// A sentence for the log.
    pub fn describe(self) -> &'static str {
        match self {
            Outage::Unavailable => "the database does not answer",
            Outage::DiskFull => "the database's disk is full: writes fail, reads work",
        }
    }
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
    fn a_postgres_url_gets_a_connect_timeout_unless_it_has_one() {
        let manager = |url: &str| {
            Manager::new(DatabaseUrl::parse(url), None)
                .with_connect_timeout(Duration::from_millis(2500))
        };
        let cases = [
            ("postgres://h/db", "postgres://h/db?connect_timeout=3"),
            (
                "postgres://h/db?sslmode=require",
                "postgres://h/db?sslmode=require&connect_timeout=3",
            ),
            (
                "postgres://h/db?connect_timeout=9",
                "postgres://h/db?connect_timeout=9",
            ),
        ];
        for (url, expected) in cases {
            assert_eq!(manager(url).postgres_url(url), expected, "{url}");
        }
        let short = Manager::new(DatabaseUrl::parse("postgres://h/db"), None)
            .with_connect_timeout(Duration::from_millis(300));
        assert_eq!(
            short.postgres_url("postgres://h/db"),
            "postgres://h/db?connect_timeout=2",
            "libpq's least useful value"
        );
    }

    #[test]
    fn each_failure_is_sorted_into_its_outage_or_none() {
        use diesel::result::{DatabaseErrorKind as Kind, Error};
        let db = |kind, message: &str| Error::DatabaseError(kind, Box::new(message.to_owned()));
        let cases = [
            (
                DbError::Busy(Duration::from_secs(1)),
                Some(Outage::Unavailable),
            ),
            (
                DbError::Connect("refused".into()),
                Some(Outage::Unavailable),
            ),
            (
                DbError::Query(db(Kind::UnableToSendCommand, "no connection to the server")),
                Some(Outage::Unavailable),
            ),
            (
                DbError::Commit(db(Kind::Unknown, "database or disk is full")),
                Some(Outage::DiskFull),
            ),
            (
                DbError::Commit(Error::RollbackErrorOnCommit {
                    rollback_error: Box::new(db(Kind::Unknown, "no transaction is active")),
                    commit_error: Box::new(db(Kind::Unknown, "database or disk is full")),
                }),
                Some(Outage::DiskFull),
            ),
            (
                DbError::Query(db(
                    Kind::Unknown,
                    "could not extend file \"base/1/2\": No space left on device",
                )),
                Some(Outage::DiskFull),
            ),
            (
                DbError::Query(db(Kind::Unknown, "database is locked")),
                Some(Outage::Unavailable),
            ),
            (
                DbError::Query(db(Kind::UniqueViolation, "duplicate key")),
                None,
            ),
            (DbError::Query(Error::NotFound), None),
            (DbError::Task("panicked".into()), None),
        ];
        for (error, expected) in cases {
            assert_eq!(error.outage(), expected, "{error}");
        }
        let lost_commit = DbError::Commit(db(Kind::ClosedConnection, "server closed"));
        assert!(lost_commit.outcome_unknown());
        let full_commit = DbError::Commit(db(Kind::Unknown, "database or disk is full"));
        assert!(!full_commit.outcome_unknown(), "SQLite rolled it back");
    }

    #[test]
    fn a_setting_that_is_neither_a_path_nor_a_known_url_is_refused() {
        for bad in [
            "postgres:/broken",
            "localhost:5432/users",
            "postgress://db/users",
            "mysql://db/users",
        ] {
            assert!(DatabaseUrl::from_setting(bad).is_err(), "{bad}");
        }
        for good in [
            "data/users.db",
            "./data/a:b.db",
            "/var/lib/trio/users.db",
            "sqlite://data/users.db",
            "postgres://u@h:5432/users",
            "postgresql://h/users",
        ] {
            assert!(DatabaseUrl::from_setting(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn a_displayed_url_hides_the_password() {
        let url = DatabaseUrl::parse("postgres://user:secret@db:5432/users");
        assert_eq!(url.to_string(), "postgres://…@db:5432/users");
    }
}
