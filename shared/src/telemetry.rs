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
    // A bad LOG_FORMAT is refused when the settings are read (see `LogFormat::from_env`); the
    // logger comes first, so until then it writes text.
    let json = LogFormat::from_env().is_ok_and(|format| format == LogFormat::Json);
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

/// `LOG_FORMAT`: `text` (the default, also when empty) or `json`, in any case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    pub fn from_env() -> Result<Self, crate::config::ConfigError> {
        Self::from_setting(crate::config::var("LOG_FORMAT"))
    }

    fn from_setting(value: Option<String>) -> Result<Self, crate::config::ConfigError> {
        match value.filter(|value| !value.trim().is_empty()) {
            None => Ok(LogFormat::Text),
            Some(value) => match value.trim().to_ascii_lowercase().as_str() {
                "text" => Ok(LogFormat::Text),
                "json" => Ok(LogFormat::Json),
                _ => Err(crate::config::ConfigError(format!(
                    "LOG_FORMAT must be text or json (not {value:?})"
                ))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_format_is_text_or_json_and_nothing_else() {
        for (value, expected) in [
            ("", Some(LogFormat::Text)),
            ("text", Some(LogFormat::Text)),
            ("JSON", Some(LogFormat::Json)),
            (" json ", Some(LogFormat::Json)),
            ("xml", None),
            ("jsonl", None),
        ] {
            let format = LogFormat::from_setting(Some(value.into()));
            assert_eq!(format.ok(), expected, "{value:?}");
        }
    }
}
