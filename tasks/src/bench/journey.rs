//! The journey: customers registering, logging in, filling an order and checking out, over
//! and over, which oha cannot script. goose drives it from a package of its own (`journey/`,
//! outside the workspace, so that goose's reqwest features stay out of the services' build);
//! the bench builds it, runs it as a child process and reads its rows from its stdout.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;

use super::load::Load;
use super::processes::cargo_build;
use super::setup::{BEERS, FIRST_SKU};
use super::BoxError;

/// Under `cargo run`, builds the journey with its own lock file, in the profile of the
/// binaries in `bin_dir` and into the same target folder, so that its binary lands beside
/// them; run as a plain binary, uses the one found there. Answers its path.
pub fn build(bin_dir: &Path) -> Result<PathBuf, BoxError> {
    let target_dir = bin_dir.parent().ok_or("no target folder")?;
    let tasks = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = tasks.parent().unwrap_or(tasks).join("journey/Cargo.toml");
    cargo_build(
        bin_dir,
        "the journey (cargo build --manifest-path journey/Cargo.toml --locked)",
        [
            "--manifest-path".as_ref(),
            manifest.as_os_str(),
            "--locked".as_ref(),
            "--target-dir".as_ref(),
            target_dir.as_os_str(),
        ],
    )?;
    let exe = bin_dir.join("journey");
    if !exe.is_file() {
        return Err(format!(
            "{} is missing: build it with `cargo build --release --manifest-path \
             journey/Cargo.toml --locked --target-dir target`",
            exe.display()
        )
        .into());
    }
    Ok(exe)
}

/// Runs the journey (`exe`) against the trio for `seconds`, one goose user per unit of
/// concurrency, and answers its rows: each step, then whole journeys.
pub async fn run(
    exe: &Path,
    users_url: &str,
    beers_url: &str,
    orders_url: &str,
    seconds: u64,
    concurrency: u64,
) -> Result<Vec<(String, Load)>, BoxError> {
    let output = tokio::process::Command::new(exe)
        .args(["--users-url", users_url])
        .args(["--beers-url", beers_url])
        .args(["--orders-url", orders_url])
        .args(["--seconds", &seconds.to_string()])
        .args(["--concurrency", &concurrency.to_string()])
        .args(["--first-sku", &FIRST_SKU.to_string()])
        .args(["--skus", &BEERS.to_string()])
        .stdin(Stdio::null())
        .output()
        .await?;
    if !output.status.success() {
        return Err(format!(
            "the journey failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    parse_rows(&output.stdout)
}

/// Reads the journey's `{"rows": [...]}`; each row has the report's field names, with `null`
/// for a figure it could not measure.
fn parse_rows(stdout: &[u8]) -> Result<Vec<(String, Load)>, BoxError> {
    let v: Value = serde_json::from_slice(stdout)
        .map_err(|e| format!("the journey's output is unreadable: {e}"))?;
    let rows = v["rows"].as_array().ok_or("the journey answered no rows")?;
    rows.iter()
        .map(|row| {
            let name = row["scenario"]
                .as_str()
                .ok_or("a journey row has no name")?;
            let figure = |key: &str| row[key].as_f64().unwrap_or(f64::NAN);
            let count = |key: &str| {
                row[key]
                    .as_u64()
                    .ok_or_else(|| format!("the journey's row {name:?} has no {key}"))
            };
            let error_kinds = row["error_kinds"]
                .as_array()
                .map(|kinds| {
                    kinds
                        .iter()
                        .filter_map(|k| k.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let load = Load {
                rps: figure("rps"),
                p50_ms: figure("p50_ms"),
                p99_ms: figure("p99_ms"),
                errors: count("errors")?,
                total: count("requests")?,
                error_kinds,
            };
            Ok((name.to_owned(), load))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::parse_rows;

    #[test]
    fn the_journey_rows_are_read_with_unmeasured_figures_as_nan() {
        let stdout = br#"{"rows":[
            {"scenario":"journey 1 register","rps":42.5,"p50_ms":380.0,"p99_ms":490.0,
             "errors":2,"requests":87,"error_kinds":["409 x2"]},
            {"scenario":"journey (complete sessions)","rps":0.0,"p50_ms":null,"p99_ms":null,
             "errors":0,"requests":0,"error_kinds":[]}
        ]}"#;
        let rows = parse_rows(stdout).unwrap();
        assert_eq!(rows.len(), 2);
        let (name, load) = &rows[0];
        assert_eq!(name, "journey 1 register");
        assert_eq!((load.rps, load.p50_ms, load.p99_ms), (42.5, 380.0, 490.0));
        assert_eq!((load.errors, load.total), (2, 87));
        assert_eq!(load.error_kinds, ["409 x2"]);
        let (name, load) = &rows[1];
        assert_eq!(name, "journey (complete sessions)");
        assert!(load.p50_ms.is_nan() && load.p99_ms.is_nan());
    }

    #[test]
    fn a_row_without_its_counts_is_refused() {
        let stdout = br#"{"rows":[{"scenario":"journey 2 login","rps":1.0}]}"#;
        assert!(parse_rows(stdout).is_err());
    }

    #[test]
    fn output_that_is_not_the_rows_is_refused() {
        assert!(parse_rows(b"").is_err());
        assert!(parse_rows(br#"{"steps":[]}"#).is_err());
    }
}
