//! The users service's settings, from the environment.

use std::time::Duration;

use shared::config::{parse_var, ConfigError, ServiceSettings};

#[derive(Debug, Clone)]
pub struct Settings {
    pub service: ServiceSettings,
    /// How long a token lives after login (`USERS_TOKEN_TTL`, seconds, default 86400).
    pub token_ttl: Duration,
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        let ttl: u64 = parse_var("USERS_TOKEN_TTL", 86_400)?;
        if ttl == 0 {
            return Err(ConfigError(
                "USERS_TOKEN_TTL must be at least 1 second".into(),
            ));
        }
        Ok(Settings {
            service: ServiceSettings::from_env("users", 5001)?,
            token_ttl: Duration::from_secs(ttl),
        })
    }
}
