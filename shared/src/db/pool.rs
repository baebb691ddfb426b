//! The connection pool: a fixed number of connections, opened on demand by the request that
//! needs one, and never handing out a connection that is known or suspected to be dead.
//!
//! Why not r2d2: a database restart left r2d2 handing out dead PostgreSQL connections for as
//! long as the process lived (it only drops a connection whose transaction manager is
//! broken, and libpq's "no connection to the server" does not break it), and r2d2 opens
//! connections on its own threads with a back-off of up to half the checkout timeout, so a
//! request during an outage waited the whole timeout and recovery lagged by seconds. Here:
//!
//! - a request that finds no idle connection opens one itself, so while the server is down it
//!   learns so at once (`Connection refused`: a prompt 503) and the first request after the
//!   server is back gets a fresh connection;
//! - a connection that failed at the connection level is dropped when it comes back, never
//!   pooled again, and every other connection opened before that moment is checked with a
//!   trivial query before its next use (the failure's *epoch*), so one failure after a restart
//!   clears every dead connection; the check costs nothing while nothing fails (one atomic
//!   load per checkout, where r2d2's `test_on_check_out` cost a round trip per request).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::r2d2::R2D2Connection;

use super::{AnyConnection, DbError, Manager, Outage, StoreError, COMMITTED};

/// A pool of connections to one database; cheap to clone (all clones share it).
#[derive(Clone)]
pub struct Pool(Arc<Shared>);

struct Shared {
    manager: Manager,
    max_size: u32,
    timeout: Duration,
    slots: Mutex<Slots>,
    returned: Condvar,
    /// Raised each time a connection is found dead: an idle connection last known good at an
    /// older epoch is checked before it is handed out.
    epoch: AtomicU64,
    /// Lasting conditions already logged (see [`super::log_failure`]), until they end.
    unavailable: AtomicBool,
    disk_full: AtomicBool,
}

struct Slots {
    idle: Vec<Idle>,
    /// Connections that exist or are being opened, idle ones included.
    open: u32,
}

struct Idle {
    conn: AnyConnection,
    checked: u64,
}

/// How many connections the pool has and how many of them are idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    pub connections: u32,
    pub idle_connections: u32,
}

impl Pool {
    /// A pool of at most `max_size` connections; a request waits at most `timeout` for one.
    /// Nothing is opened until a connection is asked for.
    pub fn new(manager: Manager, max_size: u32, timeout: Duration) -> Self {
        Pool(Arc::new(Shared {
            manager,
            max_size: max_size.max(1),
            timeout,
            slots: Mutex::new(Slots {
                idle: Vec::new(),
                open: 0,
            }),
            returned: Condvar::new(),
            epoch: AtomicU64::new(0),
            unavailable: AtomicBool::new(false),
            disk_full: AtomicBool::new(false),
        }))
    }

    /// Puts a connection opened elsewhere (the one that ran the migrations) into the pool.
    pub(super) fn adopt(&self, conn: AnyConnection) {
        let mut slots = self.slots();
        if slots.open < self.0.max_size {
            slots.open += 1;
            slots.idle.push(Idle {
                conn,
                checked: self.0.epoch.load(Ordering::Acquire),
            });
        }
    }

    /// A connection: an idle one, else a new one if the pool has room, else the first one
    /// returned within the timeout. Opening fails at once with the server's own words.
    pub fn get(&self) -> Result<PooledConnection, DbError> {
        let deadline = Instant::now() + self.0.timeout;
        loop {
            let Some(idle) = self.idle_or_room(deadline)? else {
                return self.open();
            };
            let epoch = self.0.epoch.load(Ordering::Acquire);
            let mut conn = PooledConnection {
                conn: Some(idle.conn),
                checked: idle.checked,
                lost: false,
                pool: self.clone(),
            };
            if conn.checked >= epoch {
                return Ok(conn);
            }
            // Another connection failed since this one was last known good: the server may
            // have restarted under both. Ask before handing it out.
            if conn.batch_execute("SELECT 1").is_ok() {
                conn.checked = epoch;
                return Ok(conn);
            }
            conn.lost = true;
        }
    }

    /// Runs `work` with a connection, on this thread. When the work fails because its
    /// connection turns out to be dead (a restarted server, a killed backend), the connection
    /// is dropped, and the work runs once more on another one, unless some of it was or may
    /// have been kept (it committed a transaction, or its `COMMIT` was under way): a dead
    /// connection found by a request is not that request's failure, so the first request
    /// after a restart succeeds, and nothing is written twice.
    pub fn run_blocking<T, E: StoreError>(
        &self,
        mut work: impl FnMut(&mut AnyConnection) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut retried = false;
        loop {
            let mut conn = self.get()?;
            COMMITTED.with(|committed| committed.set(false));
            let error = match work(&mut conn) {
                Ok(value) => {
                    self.works_again(COMMITTED.with(|committed| committed.get()));
                    return Ok(value);
                }
                Err(error) => error,
            };
            let Some(failure) = error.as_db_error() else {
                return Err(error);
            };
            let lost = failure.is_connection_failure()
                || (matches!(failure, DbError::Query(_) | DbError::Commit(_)) && !conn.answers());
            if !lost {
                return Err(error);
            }
            conn.mark_lost();
            // Not again if part of the work was kept already (it committed a transaction
            // before failing) or may have been (its COMMIT was under way).
            let kept_something = COMMITTED.with(|committed| committed.get());
            if retried || kept_something || failure.outcome_unknown() {
                return Err(error);
            }
            retried = true;
        }
    }

    /// Whether `outage` starts now (it was not under way): it is then worth a log line.
    pub fn outage_starts(&self, outage: Outage) -> bool {
        !self.flag(outage).swap(true, Ordering::AcqRel)
    }

    /// A success ends an outage of the database's answering; only a kept write ends a full disk.
    fn works_again(&self, wrote: bool) {
        if self.0.unavailable.load(Ordering::Relaxed)
            && self.0.unavailable.swap(false, Ordering::AcqRel)
        {
            tracing::warn!("the database answers again");
        }
        if wrote
            && self.0.disk_full.load(Ordering::Relaxed)
            && self.0.disk_full.swap(false, Ordering::AcqRel)
        {
            tracing::warn!("writes are kept again: the database's disk has room");
        }
    }

    fn flag(&self, outage: Outage) -> &AtomicBool {
        match outage {
            Outage::Unavailable => &self.0.unavailable,
            Outage::DiskFull => &self.0.disk_full,
        }
    }

    /// The database this pool connects to (its `Display` hides a password).
    pub fn database(&self) -> &super::DatabaseUrl {
        &self.0.manager.url
    }

    /// How many connections exist and how many are idle.
    pub fn state(&self) -> PoolState {
        let slots = self.slots();
        PoolState {
            connections: slots.open,
            idle_connections: slots.idle.len() as u32,
        }
    }

    /// Waits for an idle connection or for room to open one (`None`: room was reserved).
    fn idle_or_room(&self, deadline: Instant) -> Result<Option<Idle>, DbError> {
        let mut slots = self.slots();
        loop {
            if let Some(idle) = slots.idle.pop() {
                return Ok(Some(idle));
            }
            if slots.open < self.0.max_size {
                slots.open += 1;
                return Ok(None);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(DbError::Busy(self.0.timeout));
            }
            slots = match self.0.returned.wait_timeout(slots, deadline - now) {
                Ok((slots, _)) => slots,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    /// Opens a connection into a slot reserved by [`Self::idle_or_room`].
    fn open(&self) -> Result<PooledConnection, DbError> {
        let checked = self.0.epoch.load(Ordering::Acquire);
        match self.0.manager.connect() {
            Ok(conn) => Ok(PooledConnection {
                conn: Some(conn),
                checked,
                lost: false,
                pool: self.clone(),
            }),
            Err(error) => {
                self.release_slot();
                Err(DbError::Connect(error.to_string()))
            }
        }
    }

    fn release_slot(&self) {
        let mut slots = self.slots();
        slots.open = slots.open.saturating_sub(1);
        drop(slots);
        self.0.returned.notify_one();
    }

    fn slots(&self) -> MutexGuard<'_, Slots> {
        // The lock guards two plain fields that every path leaves consistent.
        self.0
            .slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A connection out of the pool; it goes back when dropped, unless it was lost.
pub struct PooledConnection {
    conn: Option<AnyConnection>,
    checked: u64,
    lost: bool,
    pool: Pool,
}

impl PooledConnection {
    /// Marks the connection as failed at the connection level: it is closed when dropped, and
    /// every idle connection older than this moment is checked before its next use.
    pub fn mark_lost(&mut self) {
        if !self.lost {
            self.lost = true;
            self.pool.0.epoch.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Whether the connection still answers a trivial query.
    pub fn answers(&mut self) -> bool {
        self.batch_execute("SELECT 1").is_ok()
    }
}

impl std::ops::Deref for PooledConnection {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        self.conn.as_ref().expect("present until dropped")
    }
}

impl std::ops::DerefMut for PooledConnection {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        self.conn.as_mut().expect("present until dropped")
    }
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        // A transaction left open or a transaction manager in error (a failed rollback) makes
        // the connection unfit for the next request as surely as a dead socket.
        let unfit = self.lost || std::thread::panicking() || conn.is_broken();
        if unfit {
            drop(conn);
            self.pool.release_slot();
            return;
        }
        let mut slots = self.pool.slots();
        slots.idle.push(Idle {
            conn,
            checked: self.checked,
        });
        drop(slots);
        self.pool.0.returned.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use diesel::result::{DatabaseErrorKind, Error};

    use super::*;
    use crate::db::DatabaseUrl;

    fn sqlite_pool(dir: &tempfile::TempDir, max_size: u32) -> Pool {
        let url = DatabaseUrl::Sqlite(dir.path().join("pool.db"));
        Pool::new(
            Manager::new(url, None),
            max_size,
            Duration::from_millis(100),
        )
    }

    fn closed(commit: bool) -> DbError {
        let error = Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection,
            Box::new("server closed the connection unexpectedly".to_owned()),
        );
        if commit {
            DbError::Commit(error)
        } else {
            DbError::Query(error)
        }
    }

    #[test]
    fn a_lost_connection_is_closed_not_pooled() {
        let dir = tempfile::tempdir().unwrap();
        let pool = sqlite_pool(&dir, 2);
        let mut conn = pool.get().unwrap();
        conn.mark_lost();
        drop(conn);
        assert_eq!(pool.state().connections, 0);
        drop(pool.get().unwrap());
        assert_eq!(
            pool.state(),
            PoolState {
                connections: 1,
                idle_connections: 1
            }
        );
    }

    #[test]
    fn with_every_connection_in_use_a_request_gives_up_at_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let pool = sqlite_pool(&dir, 1);
        let held = pool.get().unwrap();
        assert!(matches!(pool.get().err(), Some(DbError::Busy(_))));
        drop(held);
        assert!(pool.get().is_ok(), "the returned connection is handed out");
    }

    #[test]
    fn work_whose_connection_died_runs_once_more_unless_its_commit_was_under_way() {
        let dir = tempfile::tempdir().unwrap();
        let pool = sqlite_pool(&dir, 2);
        for (error, runs, succeeds) in [(false, 2, true), (true, 1, false)] {
            let calls = Cell::new(0);
            let outcome = pool.run_blocking(|_| {
                calls.set(calls.get() + 1);
                if calls.get() == 1 {
                    Err(closed(error))
                } else {
                    Ok(())
                }
            });
            assert_eq!(calls.get(), runs, "commit under way: {error}");
            assert_eq!(outcome.is_ok(), succeeds);
        }
        let calls = Cell::new(0);
        let outcome: Result<(), DbError> = pool.run_blocking(|_| {
            calls.set(calls.get() + 1);
            Err(closed(false))
        });
        assert!(outcome.is_err());
        assert_eq!(calls.get(), 2, "once more, not for ever");
    }

    #[test]
    fn work_that_committed_before_its_connection_died_is_not_run_again() {
        let dir = tempfile::tempdir().unwrap();
        let pool = sqlite_pool(&dir, 2);
        let calls = Cell::new(0);
        let outcome: Result<(), DbError> = pool.run_blocking(|conn| {
            calls.set(calls.get() + 1);
            crate::db::write_transaction(conn, |_| Ok::<_, DbError>(()))?;
            Err(closed(false))
        });
        assert!(outcome.is_err());
        assert_eq!(
            calls.get(),
            1,
            "its first transaction is kept; no second one"
        );
    }

    #[test]
    fn after_a_lost_connection_the_others_are_checked_before_use() {
        let dir = tempfile::tempdir().unwrap();
        let pool = sqlite_pool(&dir, 2);
        let (a, b) = (pool.get().unwrap(), pool.get().unwrap());
        let epoch = pool.0.epoch.load(Ordering::Acquire);
        drop(a);
        let mut b = b;
        b.mark_lost();
        drop(b);
        assert_eq!(pool.0.epoch.load(Ordering::Acquire), epoch + 1);
        let checked = pool.get().unwrap();
        assert_eq!(checked.checked, epoch + 1, "checked, and known good now");
    }
}
