//! What every brewery service needs the same way. No business rules of any one service live here.

pub mod auth;
pub mod clients;
pub mod config;
pub mod db;
pub mod dto;
pub mod error;
pub mod input;
pub mod ops;
pub mod paging;
pub mod request;
pub mod scratch;
pub mod startup;
pub mod telemetry;
pub mod time;

pub use error::{ApiError, FieldErrors};
pub use input::{Fields, QueryFields};
