//! The orders service: each user's open order and past orders.

pub mod domain;
mod error;
mod routes;
pub mod store;

use rocket::{Build, Rocket};
use shared::clients::{BeersClient, UsersClient};
use shared::config::{ConfigError, UpstreamSettings};
use shared::service::{BoxError, Service};
use utoipa::OpenApi;

pub use error::Error;

/// The orders service, as [`shared::service`] runs it.
pub struct Orders;

/// `ORDERS_ADDRESS`, `ORDERS_PORT`, `ORDERS_DATABASE_URL`, …, and where users and beers are.
pub type Settings = shared::service::Settings<Orders>;

impl Service for Orders {
    const NAME: &'static str = "orders";
    const DEFAULT_PORT: u16 = 5003;
    const SQLITE_MIGRATIONS: diesel_migrations::EmbeddedMigrations = store::SQLITE_MIGRATIONS;
    const POSTGRES_MIGRATIONS: diesel_migrations::EmbeddedMigrations = store::POSTGRES_MIGRATIONS;

    /// Where users (token checks) and beers (existence and prices) are.
    type Config = UpstreamSettings;

    fn config_from_env() -> Result<UpstreamSettings, ConfigError> {
        UpstreamSettings::from_env()
    }

    fn openapi() -> utoipa::openapi::OpenApi {
        routes::ApiDoc::openapi()
    }

    fn mount(
        rocket: Rocket<Build>,
        upstream: &UpstreamSettings,
    ) -> Result<Rocket<Build>, BoxError> {
        // One HTTP client for both neighbours, so their connections share one pool.
        let http = shared::clients::http_client(upstream)?;
        Ok(rocket
            .manage(UsersClient::new(http.clone(), upstream))
            .manage(BeersClient::new(http, upstream))
            .mount("/", routes::routes()))
    }
}
