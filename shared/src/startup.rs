//! What a service process needs before it serves: `.env`, logging, its runtime, its file limit.

use std::future::Future;
use std::time::Duration;

use crate::db::PoolSettings;

/// Reads `.env` and installs logging; call first thing in every binary.
pub fn prepare() {
    crate::config::load_dotenv();
    crate::telemetry::init();
}

/// The runtime a service runs on: one async worker per core, and at most as many blocking
/// threads as the database pool has connections. Diesel work is the only thing on the
/// blocking pool and each piece holds a connection, so more threads would only park waiting
/// for one: every request would then pay for waking a thread, and every parked thread keeps
/// memory (see docs/PERFORMANCE.md for what this changed).
pub fn runtime(pool: &PoolSettings) -> std::io::Result<rocket::tokio::runtime::Runtime> {
    rocket::tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("rocket-worker-thread")
        .max_blocking_threads(pool.max_size.max(1) as usize)
        .build()
}

/// Runs `work` to completion on a service's runtime (see [`runtime`]). As Rocket's own
/// `launch` does, tasks still running after a graceful shutdown get half a second, not forever.
pub fn run<F: Future>(pool: &PoolSettings, work: F) -> std::io::Result<F::Output> {
    raise_open_files_limit();
    let runtime = runtime(pool)?;
    let outcome = runtime.block_on(work);
    runtime.shutdown_timeout(Duration::from_millis(500));
    Ok(outcome)
}

/// Raises the soft limit on open files to the hard one and logs both, once. Every connection
/// is a descriptor, and the soft limit is often 1,024 where the hard one is far higher; at the
/// limit the server cannot accept (Rocket retries every 250 ms until a descriptor is free).
pub fn raise_open_files_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok(limits) => limits,
        Err(error) => {
            tracing::warn!(%error, "cannot read the open files limit");
            return;
        }
    };
    if soft >= hard {
        tracing::info!(soft, hard, "open files limit: {soft} (the hard limit)");
        return;
    }
    match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
        Ok(()) => tracing::info!(
            soft = hard,
            hard,
            was = soft,
            "open files limit raised from {soft} to the hard limit, {hard}"
        ),
        Err(error) => tracing::warn!(
            %error,
            soft,
            hard,
            "open files limit stays at {soft}: cannot raise it to the hard limit {hard}"
        ),
    }
}
