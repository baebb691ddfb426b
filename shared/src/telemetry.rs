//! Logging: `tracing` for our lines and Rocket's (through the `log` bridge); human-readable by
//! default, JSON lines with `LOG_FORMAT=json`, filtered by `RUST_LOG` (default `info`).

use tracing_subscriber::EnvFilter;

/// Installs the subscriber once per process; later calls (tests start many services) are no-ops.
pub fn init() {
    // Rocket's own lines carry no request id; ours say the same with it (one line per
    // request, errors with their cause), and `shared::ops` logs start and stop.
    // An empty `RUST_LOG` (as `.env.example` has it) means the default, not "errors only".
    const DEFAULT: &str = "info,rocket=off,_=off,hyper=warn";
    let filter = crate::config::var("RUST_LOG")
        .and_then(|directives| EnvFilter::try_new(directives).ok())
        .unwrap_or_else(|| EnvFilter::new(DEFAULT));
    let json = crate::config::var("LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
