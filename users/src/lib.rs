//! The users service: accounts, passwords, sessions (tokens) and roles.

mod accounts;
mod audit;
pub mod config;
pub mod domain;
mod error;
mod hashing;
mod routes;
pub mod store;

use std::time::Duration;

use rocket::{Build, Rocket};
use shared::config::ConfigError;
use shared::service::{BoxError, Service};
use utoipa::OpenApi;

pub use accounts::{create_admin, AdminOutcome, Existing};
pub use config::Config;
pub use error::Error;

/// The users service, as [`shared::service`] runs it.
pub struct Users;

/// `USERS_ADDRESS`, `USERS_PORT`, `USERS_DATABASE_URL`, …, and the users service's own
/// [`Config`].
pub type Settings = shared::service::Settings<Users>;

/// How long tokens live; managed state for the login handler.
pub struct TokenPolicy {
    pub ttl: Duration,
}

impl Service for Users {
    const NAME: &'static str = "users";
    const DEFAULT_PORT: u16 = 5001;
    const SQLITE_MIGRATIONS: diesel_migrations::EmbeddedMigrations = store::SQLITE_MIGRATIONS;
    const POSTGRES_MIGRATIONS: diesel_migrations::EmbeddedMigrations = store::POSTGRES_MIGRATIONS;

    type Config = Config;

    fn config_from_env() -> Result<Config, ConfigError> {
        Config::from_env()
    }

    fn openapi() -> utoipa::openapi::OpenApi {
        routes::ApiDoc::openapi()
    }

    fn mount(rocket: Rocket<Build>, config: &Config) -> Result<Rocket<Build>, BoxError> {
        let audit = audit::AuditCounter::new();
        Ok(rocket
            .manage(shared::ops::ServiceCounters(vec![audit.counter().clone()]))
            .manage(audit)
            .manage(hashing::Hashing::new(config.hashing_concurrency))
            .manage(TokenPolicy {
                ttl: config.token_ttl,
            })
            .manage(config.login_throttle)
            .mount("/", routes::routes()))
    }
}
