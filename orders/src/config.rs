//! The orders service's settings, from the environment.

use shared::config::{ConfigError, ServiceSettings, UpstreamSettings};

#[derive(Debug, Clone)]
pub struct Settings {
    pub service: ServiceSettings,
    /// Where users (token checks) and beers (existence and prices) are.
    pub upstream: UpstreamSettings,
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Settings {
            service: ServiceSettings::from_env("orders", 5003)?,
            upstream: UpstreamSettings::from_env()?,
        })
    }
}

impl AsRef<ServiceSettings> for Settings {
    fn as_ref(&self) -> &ServiceSettings {
        &self.service
    }
}
