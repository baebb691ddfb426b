//! The report: rows and checks, the table on stdout and report.json.

use serde_json::{json, Value};

use super::cpu::PerRequest;
use super::load::Load;
use super::processes::Service;
use super::scenarios::{Target, LOGIN_STORM};

pub struct Row {
    pub name: String,
    /// The backend of the services measured (none for the ceiling and raw argon2).
    pub backend: Option<&'static str>,
    pub load: Load,
    pub ratio: f64,
    /// CPU per request of the services and of the database server, when measured.
    pub cpu: Option<PerRequest>,
    /// Requests per second as a share of the same scenario's on the small database.
    pub of_small: Option<f64>,
    pub target: String,
    pub met: Option<bool>,
    /// The row of the small database this one is judged against, and by how much it may fall.
    pub within: Option<(&'static str, f64)>,
}

impl Row {
    /// A scenario's row: its requests per second as a share of the ceiling's, judged by
    /// `target`.
    pub fn new(name: &str, load: Load, ceiling_rps: f64, target: Target) -> Row {
        let ratio = load.rps / ceiling_rps;
        let within = match target {
            Target::Within(small, factor) => Some((small, factor)),
            _ => None,
        };
        let (target, met) = match target {
            Target::None => (String::new(), None),
            Target::Ratio(t) => (format!("ratio >= {t:.2}"), Some(ratio >= t)),
            Target::P99Below(ms) => (format!("p99 < {ms:.0} ms"), Some(load.p99_ms < ms)),
            Target::Within(_, _) => (String::new(), None),
        };
        Row {
            name: name.into(),
            backend: None,
            load,
            ratio,
            cpu: None,
            of_small: None,
            target,
            met,
            within,
        }
    }

    pub fn on(mut self, backend: &'static str) -> Row {
        self.backend = Some(backend);
        self
    }
}

/// Judges the rows whose target is a share of another row's (the same scenario on the small
/// database): that row is the one of the same backend with the name the target gives.
pub fn judge_against_small(rows: &mut [Row]) {
    for i in 0..rows.len() {
        let Some((small, factor)) = rows[i].within else {
            continue;
        };
        let small_rps = rows
            .iter()
            .find(|r| r.name == small && r.backend == rows[i].backend)
            .map_or(f64::NAN, |r| r.load.rps);
        let share = rows[i].load.rps / small_rps;
        let row = &mut rows[i];
        row.of_small = Some(share);
        row.target = format!(">= 1/{factor} x small: {share:.2}");
        row.met = Some(share * factor >= 1.0);
    }
}

/// A figure of a process rather than of a scenario (memory, start-up).
pub struct Check {
    pub name: String,
    pub backend: &'static str,
    pub value: f64,
    pub unit: &'static str,
    pub target: String,
    pub met: bool,
}

/// The services' memory after setup (for information), their peak memory and their start-up.
pub fn process_checks(
    backend: &'static str,
    services: &[Service],
    setup_rss_kib: &[u64],
) -> Vec<Check> {
    let mut checks = Vec::new();
    for (service, setup_kib) in services.iter().zip(setup_rss_kib) {
        checks.push(Check {
            backend,
            name: format!("{} peak RSS after setup", service.name),
            value: *setup_kib as f64 / 1024.0,
            unit: "MiB",
            target: "(info)".into(),
            met: true,
        });
    }
    for service in services {
        let kib = service.peak_rss_kib().unwrap_or(0);
        let mib = kib as f64 / 1024.0;
        checks.push(Check {
            backend,
            name: format!("{} peak RSS (VmHWM)", service.name),
            value: mib,
            unit: "MiB",
            target: "< 30 MB".into(),
            met: kib > 0 && (kib as f64 * 1024.0) < 30_000_000.0,
        });
    }
    for service in services {
        let ms = service.ready.as_secs_f64() * 1000.0;
        checks.push(Check {
            backend,
            name: format!("{} exec to /ready 200", service.name),
            value: ms,
            unit: "ms",
            target: "< 200 ms".into(),
            met: ms < 200.0,
        });
    }
    checks
}

const JOURNEY_NOTE: &str = "goose drives the journey: each goose user is one session running register, login, list beers, add beer x3 (three different SKUs) and checkout in order, with a fresh account per iteration; a request is an error when its status differs from the expected one (200, 200, 200, 201, 200) and the session's remaining steps are skipped; step rows count requests per second, the complete-sessions row counts successful checkouts per second with p50/p99 of the whole journey; argon2 dominates: two hashes per journey (register and login)";

const CPU_NOTE: &str = "services_cpu_us: user and system CPU time of every service process of the backend (users, beers, orders and the scenario's own instance) per request, from /proc/<pid>/stat around the scenario; db_cpu_us: the same for the PostgreSQL server's processes (the postmaster and its children), when the server is the bench's own cluster; both in units of 10 ms, so short runs are coarse";

/// Everything one run measured.
pub struct Report {
    pub seconds: u64,
    pub concurrency: u64,
    pub smoke: bool,
    pub backends: Vec<&'static str>,
    pub ceiling_rps: f64,
    pub argon2_verify_per_s: f64,
    pub rows: Vec<Row>,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn print_table(&self) {
        let verdict = |met: Option<bool>| match met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "",
        };
        let ms = |x: f64| {
            if x.is_finite() {
                format!("{x:.2}")
            } else {
                "-".into()
            }
        };
        let us = |x: Option<f64>| x.map_or("-".into(), |x| format!("{x:.0}"));
        println!();
        println!(
            "{:<8} {:<36} {:>10} {:>8} {:>8} {:>6} {:>6} {:>6} {:>6}  {:<32}",
            "backend",
            "scenario",
            "req/s",
            "p50 ms",
            "p99 ms",
            "errors",
            "ratio",
            "svc us",
            "db us",
            "target"
        );
        for r in &self.rows {
            println!(
                "{:<8} {:<36} {:>10.1} {:>8} {:>8} {:>6} {:>6.3} {:>6} {:>6}  {:<32} {}",
                r.backend.unwrap_or("-"),
                r.name,
                r.load.rps,
                ms(r.load.p50_ms),
                ms(r.load.p99_ms),
                r.load.errors,
                r.ratio,
                us(r.cpu.map(|c| c.services_us)),
                us(r.cpu.and_then(|c| c.server_us)),
                r.target,
                verdict(r.met)
            );
        }
        for r in self.rows.iter().filter(|r| !r.load.error_kinds.is_empty()) {
            println!(
                "  errors in {} ({}): {}",
                r.name,
                r.backend.unwrap_or("-"),
                r.load.error_kinds.join(", ")
            );
        }
        println!();
        for c in &self.checks {
            let info = c.target.starts_with('(');
            println!(
                "{:<8} {:<36} {:>10.1} {:<4} {:<10} {}",
                c.backend,
                c.name,
                c.value,
                c.unit,
                c.target,
                if info { "" } else { verdict(Some(c.met)) }
            );
        }
    }

    /// report.json's content.
    pub fn to_json(&self) -> Value {
        json!({
            "seconds": self.seconds,
            "concurrency": self.concurrency,
            "smoke": self.smoke,
            "backends": self.backends,
            "ceiling_rps": self.ceiling_rps,
            "argon2_verify_per_s": self.argon2_verify_per_s,
            "journey_note": JOURNEY_NOTE,
            "cpu_note": CPU_NOTE,
            "scenarios": self.rows.iter().map(|r| json!({
                "scenario": r.name,
                "backend": r.backend,
                "rps": finite(r.load.rps),
                "p50_ms": finite(r.load.p50_ms),
                "p99_ms": finite(r.load.p99_ms),
                "errors": r.load.errors,
                "requests": r.load.total,
                "error_kinds": r.load.error_kinds,
                "ratio": finite(r.ratio),
                "ratio_to_small": r.of_small.map(finite),
                "services_cpu_us": r.cpu.map(|c| finite(c.services_us)),
                "db_cpu_us": r.cpu.and_then(|c| c.server_us).map(finite),
                "target": if r.target.is_empty() { Value::Null } else { json!(r.target) },
                "met": r.met,
            })).collect::<Vec<_>>(),
            "checks": self.checks.iter().map(|c| json!({
                "scenario": c.name,
                "backend": c.backend,
                "value": finite(c.value),
                "unit": c.unit,
                "target": c.target,
                "met": c.met,
            })).collect::<Vec<_>>(),
        })
    }

    /// The rows with failed requests, but the login storm's: the per-username throttle may
    /// rightly answer 429 when several of its random picks hit one account.
    pub fn failed_rows(&self) -> Vec<String> {
        self.rows
            .iter()
            .filter(|r| r.load.errors > 0 && r.name != LOGIN_STORM)
            .map(|r| format!("{} ({})", r.name, r.backend.unwrap_or("-")))
            .collect()
    }
}

fn finite(x: f64) -> Value {
    if x.is_finite() {
        json!((x * 1000.0).round() / 1000.0)
    } else {
        Value::Null
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(rps: f64, p99_ms: f64) -> Load {
        Load {
            rps,
            p99_ms,
            ..Load::default()
        }
    }

    #[test]
    fn targets_are_judged_and_written_as_before() {
        let cases = [
            (Target::None, load(50.0, 1.0), "", None),
            (
                Target::Ratio(0.60),
                load(60.0, 1.0),
                "ratio >= 0.60",
                Some(true),
            ),
            (
                Target::Ratio(0.25),
                load(20.0, 1.0),
                "ratio >= 0.25",
                Some(false),
            ),
            (
                Target::P99Below(100.0),
                load(1.0, 99.9),
                "p99 < 100 ms",
                Some(true),
            ),
            (
                Target::P99Below(20.0),
                load(1.0, 20.0),
                "p99 < 20 ms",
                Some(false),
            ),
        ];
        for (target, load, text, met) in cases {
            let row = Row::new("scenario", load, 100.0, target);
            assert_eq!((row.target.as_str(), row.met), (text, met));
        }
    }

    #[test]
    fn a_large_row_is_judged_against_the_small_row_of_its_own_backend() {
        let small =
            |rps, backend| Row::new("small", load(rps, 1.0), 100.0, Target::None).on(backend);
        let large = |rps, backend| {
            Row::new("large", load(rps, 1.0), 100.0, Target::Within("small", 1.5)).on(backend)
        };
        let mut rows = vec![
            small(30.0, "sqlite"),
            large(20.0, "sqlite"),
            small(12.0, "postgres"),
            large(6.0, "postgres"),
        ];
        judge_against_small(&mut rows);
        let judged: Vec<_> = rows
            .iter()
            .map(|r| (r.of_small.map(|x| (x * 100.0).round()), r.met))
            .collect();
        assert_eq!(
            judged,
            [
                (None, None),
                (Some(67.0), Some(true)),
                (None, None),
                (Some(50.0), Some(false)),
            ]
        );
        assert_eq!(rows[3].target, ">= 1/1.5 x small: 0.50");
    }

    #[test]
    fn figures_are_rounded_to_thousandths_and_missing_ones_are_null() {
        assert_eq!(finite(1.23456), json!(1.235));
        assert_eq!(finite(f64::NAN), Value::Null);
        assert_eq!(finite(f64::INFINITY), Value::Null);
    }
}
