//! The shape every service has. A service says what is its own — its name and port, its
//! migrations, its settings beyond the common ones, its state and routes — and this module does
//! the rest the same way for all: read the settings, connect and migrate, build the Rocket with
//! the shared conventions, serve, and end the process with a clear message.
//!
//! The three binaries, `tasks <service> serve|setup` and the tests' harness all go through
//! [`connect`], [`rocket`] and [`serve`], so a fourth service is its domain, store and routes
//! plus one `impl Service`.

use std::process::ExitCode;

use diesel_migrations::EmbeddedMigrations;
use rocket::{Build, Rocket};

use crate::config::{ConfigError, ServiceSettings};
use crate::db::{DbError, Pool};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What makes a service this service; everything else is shared.
pub trait Service: 'static {
    /// Lower case; names its variables (`USERS_PORT`) and its log lines.
    const NAME: &'static str;
    /// Where it listens unless `<NAME>_PORT` says otherwise.
    const DEFAULT_PORT: u16;
    const SQLITE_MIGRATIONS: EmbeddedMigrations;
    const POSTGRES_MIGRATIONS: EmbeddedMigrations;

    /// What only this service is configured with.
    type Config: Clone + Send + Sync + 'static;

    /// Reads [`Service::Config`] from the environment.
    fn config_from_env() -> Result<Self::Config, ConfigError>;

    /// Its OpenAPI document (the operations endpoints are added to it).
    fn openapi() -> utoipa::openapi::OpenApi;

    /// Its own state and routes, on a Rocket that already has the configuration and the pool.
    fn mount(rocket: Rocket<Build>, config: &Self::Config) -> Result<Rocket<Build>, BoxError>;
}

/// A service's settings: the ones every service has, and its own.
pub struct Settings<S: Service> {
    /// `<NAME>_ADDRESS`, `<NAME>_PORT`, `<NAME>_DATABASE_URL`, the pool, the client deadline.
    pub service: ServiceSettings,
    pub config: S::Config,
}

impl<S: Service> Clone for Settings<S> {
    fn clone(&self) -> Self {
        Settings {
            service: self.service.clone(),
            config: self.config.clone(),
        }
    }
}

impl<S: Service> std::fmt::Debug for Settings<S>
where
    S::Config: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("service", &self.service)
            .field("config", &self.config)
            .finish()
    }
}

impl<S: Service> Settings<S> {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Settings {
            service: ServiceSettings::from_env(S::NAME, S::DEFAULT_PORT)?,
            config: S::config_from_env()?,
        })
    }
}

/// Opens the service's pool and applies its pending migrations (blocking).
pub fn connect<S: Service>(service: &ServiceSettings) -> Result<Pool, DbError> {
    crate::db::connect(
        &service.database_url,
        &service.pool,
        S::SQLITE_MIGRATIONS,
        S::POSTGRES_MIGRATIONS,
    )
}

/// The service, wired: configuration and pool, its own state and routes, then the conventions
/// every service shares (request ids, errors, CORS, metrics, operations endpoints, security
/// headers on every answer).
pub fn rocket<S: Service>(settings: &Settings<S>, pool: Pool) -> Result<Rocket<Build>, BoxError> {
    let rocket = rocket::custom(settings.service.figment())
        .manage(pool)
        .manage(settings.service.trusted_proxies.clone());
    let rocket = S::mount(rocket, &settings.config)?;
    let rocket = crate::ops::stage(rocket, S::NAME, S::openapi());
    Ok(rocket.attach(crate::headers::SecurityHeaders))
}

/// Connects, migrates and serves until shut down.
pub async fn serve<S: Service>(settings: Settings<S>) -> Result<(), BoxError> {
    let pool = {
        let service = settings.service.clone();
        rocket::tokio::task::spawn_blocking(move || connect::<S>(&service)).await??
    };
    rocket(&settings, pool)?.launch().await?;
    Ok(())
}

/// Connects with the settings of the environment and applies pending migrations; for the
/// one-off tasks (`setup`, `seed`, `create-admin`). Blocking. Bad configuration is a
/// [`ConfigError`] (which `tasks` ends with exit code 2, as [`run`] does).
pub fn open<S: Service>() -> Result<(Settings<S>, Pool), BoxError> {
    let settings = Settings::<S>::from_env()
        .map_err(|e| ConfigError(format!("{}: bad configuration: {e}", S::NAME)))?;
    let pool = connect::<S>(&settings.service)?;
    Ok((settings, pool))
}

/// `tasks <service> setup`: applies pending migrations, then says where the database is.
pub fn setup<S: Service>() -> Result<(), BoxError> {
    let (settings, _) = open::<S>()?;
    println!(
        "{}: database at {} is up to date",
        S::NAME,
        settings.service.database_url
    );
    Ok(())
}

/// Exit code of a process that could not start because of its configuration.
pub const BAD_CONFIGURATION: u8 = 2;

/// The whole life of a service process, for its binary and for `tasks <service> serve`:
/// settings from the environment, then [`serve`] on the service's runtime. Every way it can
/// end is said on stderr and in the exit code ([`BAD_CONFIGURATION`] for bad configuration).
pub fn run<S: Service>() -> ExitCode {
    let name = S::NAME;
    let settings = match Settings::<S>::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            tracing::error!(%error, "{name}: bad configuration");
            eprintln!("{name}: bad configuration: {error}");
            return ExitCode::from(BAD_CONFIGURATION);
        }
    };
    let service = settings.service.clone();
    let outcome = match crate::startup::run(&service.pool, serve(settings)) {
        Ok(outcome) => outcome,
        Err(error) => {
            eprintln!("{name}: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Rocket says only "binding failed: Address already in use"; say whose and where.
            let error = if error.to_string().contains("binding failed") {
                format!(
                    "cannot listen on {}:{} (is another process using the port? set {}_PORT): {error}",
                    service.address,
                    service.port,
                    name.to_uppercase()
                )
            } else {
                error.to_string()
            };
            tracing::error!(%error, "{name} stopped");
            eprintln!("{name}: {error}");
            ExitCode::FAILURE
        }
    }
}

/// A service binary's `main`: `.env` and logging, then [`run`]. The binaries take no
/// arguments; everything is configured by the environment.
pub fn main<S: Service>() -> ExitCode {
    crate::startup::prepare();
    let name = S::NAME;
    if let Some(argument) = std::env::args().nth(1) {
        println!(
            "{name}: serves the {name} service; configured by environment variables \
             (see .env.example), it takes no arguments. `tasks {name} --help` lists the tasks."
        );
        let asked_for_help = matches!(argument.as_str(), "-h" | "--help" | "help");
        return if asked_for_help {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(2)
        };
    }
    run::<S>()
}
