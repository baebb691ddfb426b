//! Settings from the environment (a `.env` file is read first when present).

use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use crate::client::TrustedProxies;
use crate::db::{DatabaseUrl, PoolSettings};

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Reads `.env` from the working folder if there is one; real environment variables win.
pub fn load_dotenv() {
    let _ = dotenvy::dotenv();
}

/// A variable's value, treating empty as unset.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A typed variable with a default, or an error that names the variable and the bad value.
pub fn parse_var<T: FromStr>(name: &str, default: T) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match var(name) {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse()
            .map_err(|e| ConfigError(format!("{name}={text:?} is not valid: {e}"))),
    }
}

/// What every service is configured with: where it listens and where its database is.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    pub address: IpAddr,
    pub port: u16,
    pub database_url: DatabaseUrl,
    pub pool: PoolSettings,
    /// How long a client may take to send a request's head, and then its body
    /// (`CLIENT_READ_TIMEOUT_SECS`); see [`DEFAULT_CLIENT_READ_TIMEOUT`].
    pub client_read_timeout: Duration,
    /// The proxies whose `X-Forwarded-For` names the client (`TRUSTED_PROXIES`, comma-separated
    /// CIDRs or addresses; empty by default: no forwarded header is believed).
    pub trusted_proxies: TrustedProxies,
}

/// Long enough for a phone on a bad link to send a 64 KiB body (6.4 KB/s), short enough that a
/// client holding connections open without finishing its requests loses them within seconds.
pub const DEFAULT_CLIENT_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The loopback address `tasks edge` connects to the services from (nginx's `proxy_bind`), and
/// the one proxy `tasks serve` trusts by default (`TRUSTED_PROXIES`): a forwarded address is
/// believed only from the local edge, never from another local client.
pub const LOCAL_EDGE_SOURCE: std::net::Ipv4Addr = std::net::Ipv4Addr::new(127, 0, 0, 80);

impl ServiceSettings {
    /// Reads `<SERVICE>_ADDRESS`, `<SERVICE>_PORT`, `<SERVICE>_DATABASE_URL`,
    /// `<SERVICE>_DB_POOL_SIZE`, `<SERVICE>_DB_TIMEOUT_MS`,
    /// `<SERVICE>_DB_STATEMENT_TIMEOUT_MS` (0 for no limit), `CLIENT_READ_TIMEOUT_SECS` and
    /// `TRUSTED_PROXIES`.
    pub fn from_env(service: &str, default_port: u16) -> Result<Self, ConfigError> {
        let prefix = service.to_uppercase();
        let database_url =
            var(&format!("{prefix}_DATABASE_URL")).unwrap_or_else(|| format!("data/{service}.db"));
        let defaults = PoolSettings::for_url(&DatabaseUrl::parse(&database_url));

        let pool_size: u32 = parse_var(&format!("{prefix}_DB_POOL_SIZE"), defaults.max_size)?;
        if pool_size == 0 {
            return Err(ConfigError(format!(
                "{prefix}_DB_POOL_SIZE must be at least 1"
            )));
        }
        let timeout_ms: u64 = parse_var(
            &format!("{prefix}_DB_TIMEOUT_MS"),
            defaults.connection_timeout.as_millis() as u64,
        )?;
        let default_statement_ms = defaults
            .statement_timeout
            .map_or(0, |limit| limit.as_millis() as u64);
        let statement_ms: u64 = parse_var(
            &format!("{prefix}_DB_STATEMENT_TIMEOUT_MS"),
            default_statement_ms,
        )?;
        let database_url = DatabaseUrl::from_setting(&database_url)
            .map_err(|problem| ConfigError(format!("{prefix}_DATABASE_URL {problem}")))?;
        let client_read_secs: u64 = parse_var(
            "CLIENT_READ_TIMEOUT_SECS",
            DEFAULT_CLIENT_READ_TIMEOUT.as_secs(),
        )?;
        if client_read_secs == 0 {
            return Err(ConfigError(
                "CLIENT_READ_TIMEOUT_SECS must be at least 1".into(),
            ));
        }
        Ok(ServiceSettings {
            address: parse_var(&format!("{prefix}_ADDRESS"), IpAddr::from([127, 0, 0, 1]))?,
            port: parse_var(&format!("{prefix}_PORT"), default_port)?,
            database_url,
            pool: PoolSettings {
                max_size: pool_size,
                connection_timeout: Duration::from_millis(timeout_ms.max(1)),
                statement_timeout: (statement_ms > 0).then(|| Duration::from_millis(statement_ms)),
            },
            client_read_timeout: Duration::from_secs(client_read_secs),
            trusted_proxies: trusted_proxies_from_env()?,
        })
    }

    /// Rocket's configuration: our address and port, Rocket's own logging off (we log each
    /// request ourselves, once, with its request id), the deadline for a request's head
    /// (`header_read_timeout`, which our patched Rocket reads; see vendor/rocket/PATCH.md), and
    /// the origins allowed to call the service from a browser (`CORS_ALLOWED_ORIGINS`, see
    /// `cors`).
    pub fn figment(&self) -> rocket::figment::Figment {
        rocket::Config::figment()
            .merge((
                crate::cors::FIGMENT_KEY,
                crate::cors::CorsPolicy::from_env().origins().join(","),
            ))
            .merge(("address", self.address))
            .merge(("port", self.port))
            .merge((
                crate::input::HEAD_TIMEOUT_KEY,
                self.client_read_timeout.as_secs().max(1),
            ))
            .merge(("log_level", rocket::config::LogLevel::Off))
            .merge(("cli_colors", false))
            .merge(("ident", "brewery"))
    }
}

/// `TRUSTED_PROXIES`, empty when unset.
pub fn trusted_proxies_from_env() -> Result<TrustedProxies, ConfigError> {
    trusted_proxies_setting(var(TRUSTED_PROXIES_VARIABLE).as_deref())
}

fn trusted_proxies_setting(value: Option<&str>) -> Result<TrustedProxies, ConfigError> {
    match value {
        None => Ok(TrustedProxies::none()),
        Some(text) => TrustedProxies::parse(text)
            .map_err(|problem| ConfigError(format!("{TRUSTED_PROXIES_VARIABLE}: {problem}"))),
    }
}

pub const TRUSTED_PROXIES_VARIABLE: &str = "TRUSTED_PROXIES";

/// Where the neighbours are and how long to wait for them.
#[derive(Debug, Clone)]
pub struct UpstreamSettings {
    pub users_url: String,
    pub beers_url: String,
    pub timeout: Duration,
    /// Calls to each neighbour in flight at once (so also connections to it); more wait for a
    /// free one within `timeout`.
    pub max_connections: usize,
    /// How long beers and orders trust users' answer that a token is valid
    /// (`TOKEN_CACHE_MS`); zero asks users on every request.
    pub token_cache: Duration,
}

impl UpstreamSettings {
    /// Reads `USERS_URL`, `BEERS_URL`, `UPSTREAM_TIMEOUT_MS`, `UPSTREAM_MAX_CONNECTIONS` and
    /// `TOKEN_CACHE_MS`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let timeout_ms: u64 = parse_var("UPSTREAM_TIMEOUT_MS", 2000)?;
        if timeout_ms == 0 {
            return Err(ConfigError("UPSTREAM_TIMEOUT_MS must be at least 1".into()));
        }
        let max_connections: usize = parse_var("UPSTREAM_MAX_CONNECTIONS", 32)?;
        if max_connections == 0 {
            return Err(ConfigError(
                "UPSTREAM_MAX_CONNECTIONS must be at least 1".into(),
            ));
        }
        Ok(UpstreamSettings {
            users_url: neighbour_url("users", 5001)?,
            beers_url: neighbour_url("beers", 5002)?,
            timeout: Duration::from_millis(timeout_ms),
            max_connections,
            token_cache: Duration::from_millis(parse_var("TOKEN_CACHE_MS", 0)?),
        })
    }
}

/// `<SERVICE>_URL`, or else where that service listens by the same environment
/// (`<SERVICE>_ADDRESS` and `<SERVICE>_PORT`), so that moving a service to another port in
/// `.env` does not leave its callers asking the old one.
fn neighbour_url(service: &str, default_port: u16) -> Result<String, ConfigError> {
    let prefix = service.to_uppercase();
    if let Some(url) = var(&format!("{prefix}_URL")) {
        return Ok(url.trim().trim_end_matches('/').to_owned());
    }
    let port: u16 = parse_var(&format!("{prefix}_PORT"), default_port)?;
    let address: IpAddr = parse_var(&format!("{prefix}_ADDRESS"), IpAddr::from([127, 0, 0, 1]))?;
    // A service bound to every interface is reached on loopback from the same host.
    let host = match address {
        IpAddr::V4(v4) if v4.is_unspecified() => "127.0.0.1".to_owned(),
        IpAddr::V6(v6) if v6.is_unspecified() => "[::1]".to_owned(),
        IpAddr::V6(v6) => format!("[{v6}]"),
        IpAddr::V4(v4) => v4.to_string(),
    };
    Ok(format!("http://{host}:{port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_neighbour_url_follows_its_port_unless_set() {
        // Names no other test uses: the environment is shared by the process.
        std::env::set_var("NEIGHBOURCHECK_PORT", "6101");
        std::env::set_var("NEIGHBOURCHECK_ADDRESS", "0.0.0.0");
        assert_eq!(
            neighbour_url("neighbourcheck", 1).unwrap(),
            "http://127.0.0.1:6101"
        );
        std::env::set_var("NEIGHBOURCHECK_URL", "http://users.internal:80/");
        assert_eq!(
            neighbour_url("neighbourcheck", 1).unwrap(),
            "http://users.internal:80"
        );
    }

    #[test]
    fn trusted_proxies_are_read_and_a_bad_entry_names_the_variable() {
        let trusted = trusted_proxies_setting(Some("10.0.0.0/8, 127.0.0.80")).unwrap();
        assert!(trusted.contains("10.2.3.4".parse().unwrap()));
        assert!(!trusted.contains("127.0.0.1".parse().unwrap()));
        let error = trusted_proxies_setting(Some("10.0.0.0/8,edge")).unwrap_err();
        assert!(error.0.starts_with("TRUSTED_PROXIES"), "{error}");
        assert!(error.0.contains("\"edge\""), "{error}");
        assert!(trusted_proxies_setting(None).unwrap().is_empty());
    }

    #[test]
    fn an_unknown_database_scheme_is_refused_not_taken_for_a_file() {
        // A service name no other test uses, as the environment is shared by the process.
        std::env::set_var("SCHEMECHECK_DATABASE_URL", "postgress://db/users");
        let error = ServiceSettings::from_env("schemecheck", 1).unwrap_err();
        assert!(error.0.contains("postgress://"), "{error}");
        std::env::set_var("SCHEMECHECK_DATABASE_URL", "sqlite://data/x.db");
        let settings = ServiceSettings::from_env("schemecheck", 1).unwrap();
        assert_eq!(
            settings.database_url,
            DatabaseUrl::Sqlite("data/x.db".into())
        );
    }
}
