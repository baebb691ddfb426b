//! The black-box suite as one test binary, a module per area: one link when the harness or a
//! test changes, instead of one per file. Run one area with
//! `cargo test -p trio-tests --test trio -- users::`.
//!
//! Its tests run in parallel threads of one process, so none may change what the process
//! shares: environment, limits, the current folder. `full_disk` mounts a tmpfs, but on a folder
//! of its own, and `processes` signals only the children it started. Four suites are binaries
//! of their own, which cargo runs one after another, each with nothing beside it:
//! `slow_clients` (raises the process's open-files limit and holds thousands of its sockets),
//! `storefront` (Chromium), `database_faults` (a private PostgreSQL stopped under load) and
//! `retries_under_faults` (orders killed and a private PostgreSQL restarted, over and over);
//! each says why at its top.

mod beers;
mod conventions;
mod cors;
mod edge;
mod fragments;
mod full_disk;
mod idempotency;
mod neighbours;
mod orders;
mod processes;
mod readiness;
mod replicas;
mod schemas;
mod sessions;
mod storage;
mod throttling;
mod token_cache;
mod users;
