//! How a service binary starts: `.env`, logging, settings, then serve; errors end the process.

use std::future::Future;
use std::process::ExitCode;

/// Runs a service's `serve` with settings from the environment; prints why it could not.
pub async fn main<S, E, F, Fut>(service: &str, settings: Result<S, E>, serve: F) -> ExitCode
where
    E: std::fmt::Display,
    F: FnOnce(S) -> Fut,
    Fut: Future<Output = Result<(), Box<dyn std::error::Error + Send + Sync>>>,
{
    // The binaries take no arguments: everything is configured by the environment.
    if let Some(argument) = std::env::args().nth(1) {
        println!(
            "{service}: serves the {service} service; configured by environment variables \
             (see .env.example), it takes no arguments. `tasks {service} --help` lists the tasks."
        );
        let asked_for_help = matches!(argument.as_str(), "-h" | "--help" | "help");
        return if asked_for_help {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(2)
        };
    }
    let settings = match settings {
        Ok(settings) => settings,
        Err(error) => {
            tracing::error!(%error, "{service}: bad configuration");
            eprintln!("{service}: bad configuration: {error}");
            return ExitCode::from(2);
        }
    };
    match serve(settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "{service} stopped");
            eprintln!("{service}: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Reads `.env` and installs logging; call first thing in every binary.
pub fn prepare() {
    crate::config::load_dotenv();
    crate::telemetry::init();
}
