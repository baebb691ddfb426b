//! What goose measured, as the bench's rows: one per step and one for whole journeys.

use std::collections::BTreeMap;
use std::time::Duration;

use goose::metrics::{GooseMetrics, GooseRequestMetricAggregate};
use serde_json::{json, Value};

use crate::steps::{CHECKOUT, STEPS};

/// goose's metrics, and the durations of the completed journeys, shortest first.
pub struct Measured {
    metrics: GooseMetrics,
    completed: Vec<Duration>,
}

/// One row as `tasks bench` reads it; a figure that could not be measured is `null`.
pub struct Row {
    scenario: &'static str,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    requests: u64,
    error_kinds: Vec<String>,
}

impl Row {
    /// The row with the report's field names.
    pub fn to_json(&self) -> Value {
        let figure = |x: f64| if x.is_finite() { json!(x) } else { Value::Null };
        json!({
            "scenario": self.scenario,
            "rps": figure(self.rps),
            "p50_ms": figure(self.p50_ms),
            "p99_ms": figure(self.p99_ms),
            "errors": self.errors,
            "requests": self.requests,
            "error_kinds": self.error_kinds,
        })
    }
}

impl Measured {
    pub fn new(metrics: GooseMetrics, completed: Vec<Duration>) -> Self {
        Measured { metrics, completed }
    }

    fn aggregate(&self, name: &str) -> Option<&GooseRequestMetricAggregate> {
        self.metrics.requests.values().find(|a| a.path == name)
    }

    /// The requests of one step: all of them per second, their latency, the failed ones.
    pub fn step(&self, name: &'static str, expected: u16, seconds: u64) -> Row {
        let Some(a) = self.aggregate(name) else {
            return Row {
                scenario: name,
                rps: 0.0,
                p50_ms: f64::NAN,
                p99_ms: f64::NAN,
                errors: 0,
                requests: 0,
                error_kinds: Vec::new(),
            };
        };
        let total = (a.success_count + a.fail_count) as u64;
        let mut error_kinds = Vec::new();
        let mut explained = 0;
        let mut codes: Vec<_> = a.status_code_counts.iter().collect();
        codes.sort();
        for (&code, &n) in codes {
            if code != expected {
                explained += n;
                if code == 0 {
                    error_kinds.push(format!("no response x{n}"));
                } else {
                    error_kinds.push(format!("{code} x{n}"));
                }
            }
        }
        if a.fail_count > explained {
            error_kinds.push(format!(
                "{expected} with a bad body x{}",
                a.fail_count - explained
            ));
        }
        Row {
            scenario: name,
            rps: total as f64 / seconds as f64,
            p50_ms: percentile_ms(&a.raw_data.times, 0.50),
            p99_ms: percentile_ms(&a.raw_data.times, 0.99),
            errors: a.fail_count as u64,
            requests: total,
            error_kinds,
        }
    }

    /// Whole journeys: successful checkouts per second, the time of one iteration, and
    /// the journeys a failed step cut short.
    pub fn complete(&self, seconds: u64) -> Row {
        let done = self.aggregate(CHECKOUT).map_or(0, |a| a.success_count) as u64;
        let failed: u64 = STEPS
            .iter()
            .filter_map(|(name, _)| self.aggregate(name))
            .map(|a| a.fail_count as u64)
            .sum();
        let quantile_ms = |q: f64| {
            let rank = ((q * self.completed.len() as f64).ceil() as usize).max(1);
            self.completed
                .get(rank - 1)
                .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
        };
        Row {
            scenario: "journey (complete sessions)",
            rps: done as f64 / seconds as f64,
            p50_ms: quantile_ms(0.50),
            p99_ms: quantile_ms(0.99),
            errors: failed,
            requests: done + failed,
            error_kinds: Vec::new(),
        }
    }
}

/// The `q` quantile of goose's response times, kept as counts per (rounded) millisecond.
fn percentile_ms(times: &BTreeMap<usize, usize>, q: f64) -> f64 {
    let n: usize = times.values().sum();
    let rank = ((q * n as f64).ceil() as usize).max(1);
    let mut seen = 0;
    for (&ms, &count) in times {
        seen += count;
        if seen >= rank {
            return ms as f64;
        }
    }
    f64::NAN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_read_from_counts_per_millisecond() {
        let times = BTreeMap::from([(1, 50), (2, 49), (40, 1)]);
        for (q, expected) in [
            (0.0, 1.0),
            (0.50, 1.0),
            (0.51, 2.0),
            (0.99, 2.0),
            (1.0, 40.0),
        ] {
            assert_eq!(percentile_ms(&times, q), expected, "q = {q}");
        }
    }

    #[test]
    fn no_times_have_no_percentile() {
        assert!(percentile_ms(&BTreeMap::new(), 0.5).is_nan());
    }

    #[test]
    fn figures_that_were_not_measured_are_written_as_null() {
        let row = Row {
            scenario: "journey 3 list beers",
            rps: 0.0,
            p50_ms: f64::NAN,
            p99_ms: f64::NAN,
            errors: 0,
            requests: 0,
            error_kinds: Vec::new(),
        };
        let written = row.to_json();
        assert_eq!(written["p50_ms"], Value::Null);
        assert_eq!(written["rps"], json!(0.0));
    }
}
