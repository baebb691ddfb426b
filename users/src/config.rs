//! What only the users service is configured with; where it listens and its database are
//! read as for every service (`shared::config::ServiceSettings`).

use std::time::Duration;

use shared::config::{parse_var, ConfigError};

use crate::domain::LoginThrottle;

#[derive(Debug, Clone)]
pub struct Config {
    /// How long a token lives after login (`USERS_TOKEN_TTL`, seconds, default 86400).
    pub token_ttl: Duration,
    /// Failed-login limits: `USERS_LOGIN_WINDOW_SECS` (900), `USERS_LOGIN_MAX_FAILURES` (5 per
    /// username), `USERS_LOGIN_MAX_FAILURES_PER_CLIENT` (20 per client address),
    /// `USERS_LOGIN_MAX_FAILURES_PER_KNOWN_CLIENT` (5 on an account from an address its owner
    /// logged in from within `USERS_LOGIN_KNOWN_CLIENT_DAYS`, 90).
    pub login_throttle: LoginThrottle,
    /// How many argon2 runs at once (`USERS_HASHING_CONCURRENCY`, default: the number of CPU
    /// cores); each holds 19 MiB, so this bounds the memory a flood of logins can take, and
    /// more than one per core only makes each login slower.
    pub hashing_concurrency: usize,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let ttl: u64 = parse_var("USERS_TOKEN_TTL", 86_400)?;
        if ttl == 0 {
            return Err(ConfigError(
                "USERS_TOKEN_TTL must be at least 1 second".into(),
            ));
        }
        let hashing_concurrency = parse_var(
            "USERS_HASHING_CONCURRENCY",
            std::thread::available_parallelism().map_or(1, |n| n.get()),
        )?;
        if hashing_concurrency == 0 {
            return Err(ConfigError(
                "USERS_HASHING_CONCURRENCY must be at least 1".into(),
            ));
        }
        let defaults = LoginThrottle::default();
        let window: u64 = parse_var("USERS_LOGIN_WINDOW_SECS", defaults.window.as_secs())?;
        let known_days: u64 = parse_var(
            "USERS_LOGIN_KNOWN_CLIENT_DAYS",
            defaults.known_client_for.as_secs() / 86_400,
        )?;
        Ok(Config {
            token_ttl: Duration::from_secs(ttl),
            hashing_concurrency,
            login_throttle: LoginThrottle {
                window: Duration::from_secs(window),
                per_username: parse_var("USERS_LOGIN_MAX_FAILURES", defaults.per_username)?,
                per_client: parse_var("USERS_LOGIN_MAX_FAILURES_PER_CLIENT", defaults.per_client)?,
                per_known_client: parse_var(
                    "USERS_LOGIN_MAX_FAILURES_PER_KNOWN_CLIENT",
                    defaults.per_known_client,
                )?,
                known_client_for: Duration::from_secs(known_days.saturating_mul(86_400)),
            },
        })
    }
}
