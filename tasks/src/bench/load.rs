//! The load: `oha` runs and what they measured, and the slow clients held beside one of them.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::BoxError;

/// What one scenario measured.
#[derive(Clone, Debug, Default)]
pub struct Load {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: u64,
    pub total: u64,
    /// What the errors were: status codes and oha's error messages, with counts.
    pub error_kinds: Vec<String>,
}

impl Load {
    /// A rate measured without requests: no latency, no errors.
    pub fn rate(rps: f64) -> Load {
        Load {
            rps,
            p50_ms: f64::NAN,
            p99_ms: f64::NAN,
            ..Load::default()
        }
    }
}

/// The oha invocation shared by every scenario.
pub struct Oha {
    pub exe: PathBuf,
    pub seconds: u64,
    pub concurrency: u64,
}

impl Oha {
    /// Runs oha against `url` for the bench's duration, with `extra` arguments (method,
    /// headers, bodies, rate).
    pub async fn run(&self, concurrency: u64, url: &str, extra: &[&str]) -> Result<Load, BoxError> {
        let output = tokio::process::Command::new(&self.exe)
            .args([
                "-z",
                &format!("{}s", self.seconds),
                "-c",
                &concurrency.to_string(),
                "--no-tui",
                "--output-format",
                "json",
                "-w",
            ])
            .args(extra)
            .arg(url)
            .stdin(Stdio::null())
            .output()
            .await?;
        if !output.status.success() {
            return Err(format!(
                "oha failed on {url}: {}",
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
        parse_oha(&output.stdout)
    }
}

/// Reads oha's JSON summary: any 2xx is a success, any other status or failure an error.
fn parse_oha(stdout: &[u8]) -> Result<Load, BoxError> {
    let v: Value = serde_json::from_slice(stdout)
        .map_err(|e| format!("oha's JSON output is unreadable: {e}"))?;
    let num = |v: &Value| -> f64 {
        v.as_f64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .or_else(|| v.to_string().parse().ok())
            .unwrap_or(f64::NAN)
    };
    let mut ok = 0;
    let mut errors = 0;
    let mut error_kinds = Vec::new();
    if let Some(codes) = v["statusCodeDistribution"].as_object() {
        for (code, n) in codes {
            let n = num(n) as u64;
            if code.starts_with('2') {
                ok += n;
            } else {
                errors += n;
                error_kinds.push(format!("{code} x{n}"));
            }
        }
    }
    if let Some(failures) = v["errorDistribution"].as_object() {
        for (what, n) in failures {
            // Requests cut off by the end of the run are not failures of the server.
            if !what.contains("deadline") {
                errors += num(n) as u64;
                error_kinds.push(format!("{what} x{}", num(n) as u64));
            }
        }
    }
    Ok(Load {
        rps: num(&v["summary"]["requestsPerSec"]),
        p50_ms: num(&v["latencyPercentiles"]["p50"]) * 1000.0,
        p99_ms: num(&v["latencyPercentiles"]["p99"]) * 1000.0,
        errors,
        total: ok + errors,
        error_kinds,
    })
}

/// A slowloris client: `count` connections, each sending a request head a byte every 2 s and
/// never finishing it; when the server closes one, a new one takes its place.
pub struct SlowClients {
    tasks: tokio::task::JoinSet<()>,
    held: Arc<AtomicU64>,
    opened: Arc<AtomicU64>,
}

impl SlowClients {
    /// Opens the connections and returns once all of them are open (or after 30 s).
    pub async fn hold(url: &str, count: usize) -> Result<SlowClients, BoxError> {
        let addr: std::net::SocketAddr = url.trim_start_matches("http://").parse()?;
        let held = Arc::new(AtomicU64::new(0));
        let opened = Arc::new(AtomicU64::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..count {
            let (held, opened) = (held.clone(), opened.clone());
            tasks.spawn(async move {
                loop {
                    let Ok(stream) = tokio::net::TcpStream::connect(addr).await else {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    };
                    held.fetch_add(1, Ordering::Relaxed);
                    opened.fetch_add(1, Ordering::Relaxed);
                    Self::trickle(stream).await;
                    held.fetch_sub(1, Ordering::Relaxed);
                }
            });
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while held.load(Ordering::Relaxed) < count as u64 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(SlowClients {
            tasks,
            held,
            opened,
        })
    }

    /// Sends a head that never ends, a byte every 2 s, until the server closes the connection.
    async fn trickle(stream: tokio::net::TcpStream) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        const START: &[u8] = b"GET /api/beers/123456 HTTP/1.1\r\nHost: 127.0.0.1\r\n";
        const MORE: &[u8] = b"X-Slow: 1\r\n";
        let (mut reader, mut writer) = stream.into_split();
        let closed = async move {
            let mut buf = [0u8; 256];
            while let Ok(n) = reader.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        };
        let send = async move {
            for byte in START.iter().chain(MORE.iter().cycle()) {
                if writer.write_all(&[*byte]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        };
        tokio::select! {
            _ = closed => {}
            _ = send => {}
        }
    }

    /// Closes every connection; returns how many were held at that moment and how many were
    /// opened in all.
    pub fn stop(mut self) -> (u64, u64) {
        let counts = (
            self.held.load(Ordering::Relaxed),
            self.opened.load(Ordering::Relaxed),
        );
        self.tasks.abort_all();
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::parse_oha;

    #[test]
    fn any_2xx_is_a_success_and_the_end_of_the_run_is_not_an_error() {
        let oha = br#"{
            "summary": {"requestsPerSec": 1234.5},
            "latencyPercentiles": {"p50": 0.001, "p99": 0.0025},
            "statusCodeDistribution": {"200": 90, "201": 5, "429": 3},
            "errorDistribution": {"deadline has elapsed": 32, "connection reset": 2}
        }"#;
        let load = parse_oha(oha).unwrap();
        assert_eq!(load.rps, 1234.5);
        assert!((load.p50_ms - 1.0).abs() < 1e-9, "{}", load.p50_ms);
        assert!((load.p99_ms - 2.5).abs() < 1e-9, "{}", load.p99_ms);
        assert_eq!(load.errors, 5);
        assert_eq!(load.total, 100);
        assert_eq!(load.error_kinds, ["429 x3", "connection reset x2"]);
    }

    #[test]
    fn a_run_without_answers_has_no_latency() {
        let load = parse_oha(br#"{"summary": {"requestsPerSec": 0}}"#).unwrap();
        assert_eq!((load.rps, load.errors, load.total), (0.0, 0, 0));
        assert!(load.p50_ms.is_nan() && load.p99_ms.is_nan());
    }

    #[test]
    fn output_that_is_not_json_is_refused() {
        assert!(parse_oha(b"Error: connection refused").is_err());
    }
}
