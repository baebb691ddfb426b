//! CPU time per request, read from `/proc/<pid>/stat` around a scenario: of the services'
//! processes, and of the PostgreSQL server's (the postmaster and its children, one a
//! connection), when the server is a cluster of this run.

use std::collections::HashMap;

/// Linux reports process times in `/proc` in units of USER_HZ, 100 a second on every
/// architecture.
const TICKS_PER_SECOND: f64 = 100.0;

/// The fields of `/proc/<pid>/stat` after the name (which is in parentheses and may hold
/// spaces): the state is the first.
fn fields(stat: &str) -> Option<Vec<&str>> {
    Some(
        stat.get(stat.rfind(')')? + 2..)?
            .split_whitespace()
            .collect(),
    )
}

/// User and system time in a `/proc/<pid>/stat` line (all the process's threads), in ticks.
fn parse_ticks(stat: &str) -> Option<u64> {
    let fields = fields(stat)?;
    // Fields 14 and 15 of the whole line (utime, stime) are 12 and 13 here.
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

fn ticks(pid: u32) -> Option<u64> {
    parse_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    fields(&stat)?.get(1)?.parse().ok()
}

/// `postmaster` and its children.
fn server_processes(postmaster: u32) -> Vec<u32> {
    let mut pids = vec![postmaster];
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            if let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) {
                if parent(pid) == Some(postmaster) {
                    pids.push(pid);
                }
            }
        }
    }
    pids
}

/// CPU ticks of a set of processes at one moment.
pub struct Snapshot {
    services: u64,
    server: Option<HashMap<u32, u64>>,
}

/// Takes a snapshot of `services` and of the server under `postmaster`, if any.
pub fn snapshot(services: &[u32], postmaster: Option<u32>) -> Snapshot {
    Snapshot {
        services: services.iter().filter_map(|p| ticks(*p)).sum(),
        server: postmaster.map(|pm| {
            server_processes(pm)
                .into_iter()
                .filter_map(|p| Some((p, ticks(p)?)))
                .collect()
        }),
    }
}

/// CPU per request between two snapshots, in microseconds: the services', the server's.
#[derive(Clone, Copy, Debug, Default)]
pub struct PerRequest {
    pub services_us: f64,
    pub server_us: Option<f64>,
}

impl Snapshot {
    /// From this snapshot to `later`, over `requests` requests.
    pub fn per_request(&self, later: &Snapshot, requests: u64) -> Option<PerRequest> {
        if requests == 0 {
            return None;
        }
        let us = |ticks: u64| ticks as f64 / TICKS_PER_SECOND * 1e6 / requests as f64;
        let server = match (&self.server, &later.server) {
            (Some(before), Some(after)) => Some(
                after
                    .iter()
                    .map(|(pid, t)| t.saturating_sub(*before.get(pid).unwrap_or(&0)))
                    .sum(),
            ),
            _ => None,
        };
        Some(PerRequest {
            services_us: us(later.services.saturating_sub(self.services)),
            server_us: server.map(us),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_and_system_time_are_read_after_a_name_with_spaces() {
        let stat = "4242 (postgres: brewery) S 4200 4200 4200 0 -1 4194560 1 0 0 0 \
                    731 269 0 0 20 0 1 0 100 1000 10 18446744073709551615";
        assert_eq!(parse_ticks(stat), Some(1000));
        assert_eq!(fields(stat).and_then(|f| f.get(1).copied()), Some("4200"));
    }

    #[test]
    fn this_process_has_a_time_and_a_parent() {
        let me = std::process::id();
        assert!(ticks(me).is_some());
        assert_eq!(parent(me), Some(nix::unistd::getppid().as_raw() as u32));
    }
}
