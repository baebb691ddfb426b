//! What every brewery service needs the same way. No business rules of any one service live here.

pub mod auth;
#[cfg(feature = "dev-tools")]
pub mod cargo;
pub mod client;
pub mod clients;
pub mod config;
pub mod cors;
pub mod db;
pub mod dto;
pub mod error;
pub mod headers;
pub mod idempotency;
pub mod input;
pub mod money;
pub mod ops;
pub mod paging;
pub mod request;
#[cfg(feature = "dev-tools")]
pub mod scratch;
pub mod service;
pub mod sku;
pub mod startup;
pub mod telemetry;
pub mod text;
pub mod time;
pub mod ui;

pub use error::{ApiError, FieldErrors};
pub use input::{Fields, QueryFields};
pub use money::Money;
pub use sku::Sku;

/// mimalloc for every binary that links shared (the three services, tasks, the tests).
/// users: it hands the 19 MiB argon2 blocks back to the system after each hash, where glibc's
/// allocator kept them in per-thread arenas and grew the process to gigabytes under a login
/// storm. All: allocation was 15 % of a catalogue read's CPU under glibc (docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
