//! The JSON shapes that cross service boundaries: a user as users answers it, a beer as beers does.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An account. Never carries a password hash or a token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub is_admin: bool,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2026-11-22T10:00:00Z")]
    pub time_registered: DateTime<Utc>,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2026-11-22T10:00:00Z")]
    pub time_modified: DateTime<Utc>,
}

/// A beer of the catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Beer {
    pub id: i64,
    pub name: String,
    pub sku: String,
    /// A decimal string with exactly two places.
    #[schema(value_type = String, example = "2.50")]
    pub price: Decimal,
    pub image: Option<String>,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2026-11-22T10:00:00Z")]
    pub time_created: DateTime<Utc>,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2026-11-22T10:00:00Z")]
    pub time_modified: DateTime<Utc>,
}

/// `{"message": ...}` for successes that only say what happened.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Message {
    pub message: String,
}
