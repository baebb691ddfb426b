//! The beers service's settings, from the environment.

use shared::config::{ConfigError, ServiceSettings, UpstreamSettings};

#[derive(Debug, Clone)]
pub struct Settings {
    /// `BEERS_ADDRESS`, `BEERS_PORT`, `BEERS_DATABASE_URL`, `BEERS_DB_POOL_SIZE`, `BEERS_DB_TIMEOUT_MS`.
    pub service: ServiceSettings,
    /// Where the users service checks tokens (`USERS_URL`), and how long to wait for it.
    pub upstream: UpstreamSettings,
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Settings {
            service: ServiceSettings::from_env("beers", 5002)?,
            upstream: UpstreamSettings::from_env()?,
        })
    }
}

impl AsRef<ServiceSettings> for Settings {
    fn as_ref(&self) -> &ServiceSettings {
        &self.service
    }
}
