//! The scenarios: the oha ones as a table, run in its order, and the logins, which are
//! measured against users' own hasher rather than the ceiling.

use std::path::Path;
use std::time::{Duration, Instant};

use super::backend::Kind;
use super::large::{Sizes, HISTORY_PAGE, LARGE_FIRST_SKU};
use super::load::{Load, Oha, SlowClients};
use super::processes::{free_port, Launcher};
use super::report::Row;
use super::setup::{BEERS, FIRST_SKU, USER};
use super::BoxError;

/// Connections the slow-clients scenario holds open beside the load.
pub const SLOW_CLIENTS: usize = 2_000;
/// The token cache of the second orders instance (`TOKEN_CACHE_MS`).
pub const TOKEN_CACHE_MS: u64 = 1000;
/// The login storm's row, the one scenario whose 429s are expected.
pub const LOGIN_STORM: &str = "POST /api/users/login";
const FORM: &str = "application/x-www-form-urlencoded";

/// The process a scenario's requests go to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Process {
    /// The bare Rocket route inside the bench.
    Ceiling,
    Beers,
    /// A second beers on the same database, started for the scenario, that takes the slow
    /// clients, so their buffers (about 17 KiB a connection) stay out of the first one's peak
    /// memory.
    BeersBesideSlowClients,
    Orders,
    /// A second orders on the same database with `TOKEN_CACHE_MS`; stopped after its scenario.
    OrdersWithTokenCache,
    /// beers on the large catalogue.
    BeersLarge,
    /// orders on the database where the customer has many past orders.
    OrdersLarge,
}

/// What a row must show to meet its target.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    None,
    /// Requests per second, as a share of the ceiling's, at least this.
    Ratio(f64),
    /// The 99th percentile of latency below this many milliseconds.
    P99Below(f64),
    /// Requests per second at least the named row's (the same scenario on the small database,
    /// same backend) divided by this.
    Within(&'static str, f64),
}

/// Form bodies, one a line, in a file of the run folder; oha sends one of them per request.
pub struct Bodies {
    pub file: &'static str,
    pub lines: String,
}

/// One oha scenario.
pub struct Scenario {
    /// Its row in the table and in report.json.
    pub name: String,
    /// What the progress line says while it runs.
    pub running: String,
    pub process: Process,
    pub method: &'static str,
    pub path: String,
    pub bodies: Option<Bodies>,
    /// Whether the requests carry the customer's token.
    pub token: bool,
    pub target: Target,
}

pub const BEER_BY_SKU: &str = "GET /api/beers/{sku}";
pub const LAST_PAGE: &str = "GET /api/beers/ (last 20 of 100)";
pub const CURRENT_ORDER: &str = "GET /api/orders/current";
pub const HISTORY: &str = "GET /api/orders/ (newest 20 of 20)";
/// The large database's rows must reach the small one's divided by this.
pub const LARGE_WITHIN: f64 = 1.5;

fn get(name: &str, process: Process, path: &str, token: bool, target: Target) -> Scenario {
    Scenario {
        name: name.into(),
        running: name.into(),
        process,
        method: "GET",
        path: path.into(),
        bodies: None,
        token,
        target,
    }
}

/// The ceiling's scenario, run once, first: every ratio is to it.
pub fn ceiling() -> Scenario {
    Scenario {
        running: "ceiling".into(),
        ..get(
            "ceiling (rocket, constant JSON)",
            Process::Ceiling,
            &format!("/api/beers/{FIRST_SKU}"),
            false,
            Target::None,
        )
    }
}

/// Every oha scenario of one backend, in the order they run, with that backend's targets
/// and the large databases' sizes.
pub fn table(backend: Kind, sizes: Sizes) -> Vec<Scenario> {
    let beer = format!("/api/beers/{FIRST_SKU}");
    let (beer_target, current_target) = match backend {
        Kind::Sqlite => (0.60, 0.25),
        Kind::Postgres => (0.45, 0.14),
    };
    let history = format!("/api/orders/?limit={HISTORY_PAGE}");
    let large = |name: String, process, path: String, token, small| Scenario {
        running: format!("{} (large database)", name.trim()),
        ..get(
            &name,
            process,
            &path,
            token,
            Target::Within(small, LARGE_WITHIN),
        )
    };
    vec![
        get(
            BEER_BY_SKU,
            Process::Beers,
            &beer,
            false,
            Target::Ratio(beer_target),
        ),
        Scenario {
            running: format!("GET /api/beers/{{sku}} beside {SLOW_CLIENTS} slow clients"),
            ..get(
                &format!("  same, {SLOW_CLIENTS} slow clients held"),
                Process::BeersBesideSlowClients,
                &beer,
                false,
                Target::P99Below(100.0),
            )
        },
        get(
            "GET /api/beers/ (100 beers)",
            Process::Beers,
            "/api/beers/",
            false,
            Target::None,
        ),
        get(
            LAST_PAGE,
            Process::Beers,
            &format!("/api/beers/?limit=20&offset={}", BEERS - 20),
            false,
            Target::None,
        ),
        get(
            CURRENT_ORDER,
            Process::Orders,
            "/api/orders/current",
            true,
            Target::Ratio(current_target),
        ),
        Scenario {
            running: "GET /api/orders/current with the token cache".into(),
            ..get(
                &format!("  same, TOKEN_CACHE_MS={TOKEN_CACHE_MS}"),
                Process::OrdersWithTokenCache,
                "/api/orders/current",
                true,
                Target::Ratio(current_target),
            )
        },
        get(HISTORY, Process::Orders, &history, true, Target::None),
        large(
            format!("  by SKU, {} beers", sizes.beers),
            Process::BeersLarge,
            format!("/api/beers/{}", LARGE_FIRST_SKU + sizes.beers / 2),
            false,
            BEER_BY_SKU,
        ),
        large(
            format!("  last 20 of {} beers", sizes.beers),
            Process::BeersLarge,
            format!("/api/beers/?limit=20&offset={}", sizes.beers - 20),
            false,
            LAST_PAGE,
        ),
        large(
            format!("  current order, {} past orders", sizes.past_orders),
            Process::OrdersLarge,
            "/api/orders/current".into(),
            true,
            CURRENT_ORDER,
        ),
        large(
            format!("  newest 20 of {} past orders", sizes.past_orders),
            Process::OrdersLarge,
            history.clone(),
            true,
            HISTORY,
        ),
        // One line per beer, so no order line reaches its limit of 10000 during the run.
        Scenario {
            method: "PUT",
            bodies: Some(Bodies {
                file: "put-bodies.txt",
                lines: (0..BEERS)
                    .map(|i| format!("sku={}&quantity=1\n", FIRST_SKU + i))
                    .collect(),
            }),
            ..get(
                "PUT /api/orders/current",
                Process::Orders,
                "/api/orders/current",
                true,
                Target::None,
            )
        },
    ]
}

impl Scenario {
    /// Writes the bodies' file to `run_dir`, if any, and answers oha's arguments for this
    /// scenario's requests: the method, the bodies and the customer's token (`auth`, a whole
    /// header).
    pub fn prepare(&self, run_dir: &Path, auth: &str) -> Result<Vec<String>, BoxError> {
        let mut args = vec!["-m".to_owned(), self.method.to_owned()];
        if let Some(bodies) = &self.bodies {
            let file = run_dir.join(bodies.file);
            std::fs::write(&file, &bodies.lines)?;
            args.extend(["-T".into(), FORM.into(), "-Z".into()]);
            args.push(file.display().to_string());
        }
        if self.token {
            args.extend(["-H".into(), auth.to_owned()]);
        }
        Ok(args)
    }
}

/// The scenario at `path` on a second beers, beside `SLOW_CLIENTS` slow clients.
pub async fn beside_slow_clients(
    oha: &Oha,
    launcher: &Launcher,
    path: &str,
    args: &[&str],
) -> Result<Load, BoxError> {
    let slow_beers = launcher
        .start("beers", "beers-slow-clients", free_port()?, &[])
        .await?;
    // The bench raises its own open-files limit for the slow clients' sockets, as the
    // services raise theirs.
    shared::startup::raise_open_files_limit();
    let slow = SlowClients::hold(&slow_beers.url, SLOW_CLIENTS).await?;
    let load = oha
        .run(oha.concurrency, &format!("{}{path}", slow_beers.url), args)
        .await?;
    let (held, opened) = slow.stop();
    drop(slow_beers);
    println!(
        "  slow clients: {held} held at the end, {opened} connections opened in all (the \
         service closes each within CLIENT_READ_TIMEOUT_SECS and the client opens another)"
    );
    Ok(load)
}

/// What the logins measured: their rows, and the raw argon2 rate they are judged by.
pub struct Logins {
    pub rows: Vec<Row>,
    pub argon2_verify_per_s: f64,
}

/// Raw argon2 at the configured parameters, one thread per core, in this process.
pub async fn raw_argon2(oha: &Oha, ceiling_rps: f64) -> Result<Logins, BoxError> {
    println!("running: raw argon2 verify");
    let argon2_rate = argon2_rate(Duration::from_secs(oha.seconds)).await?;
    Ok(Logins {
        rows: vec![Row::new(
            "argon2 verify, raw (in-process)",
            Load::rate(argon2_rate),
            ceiling_rps,
            Target::None,
        )],
        argon2_verify_per_s: argon2_rate,
    })
}

/// Logins saturating users (one of `login_bodies` per request), with `/health` asked beside
/// them, judged against the raw argon2 rate.
pub async fn logins(
    oha: &Oha,
    users_url: &str,
    run_dir: &Path,
    login_bodies: &str,
    ceiling_rps: f64,
    argon2_rate: f64,
) -> Result<Vec<Row>, BoxError> {
    println!("running: POST /api/users/login with GET /health beside it");
    let bodies = run_dir.join("login-bodies.txt");
    std::fs::write(&bodies, login_bodies)?;
    let bodies = bodies.display().to_string();
    let login_args = ["-m", "POST", "-T", FORM, "-Z", &bodies];
    // /health is probed at 200 requests/s, so the probe does not take the CPU from argon2.
    let login_url = format!("{users_url}/api/users/login");
    let health_url = format!("{users_url}/health");
    let (login_load, health_load) = tokio::join!(
        oha.run(oha.concurrency, &login_url, &login_args),
        oha.run(2, &health_url, &["-q", "200"]),
    );
    let (login_load, health_load) = (login_load?, health_load?);
    // Only successful logins count against the argon2 rate.
    let login_ok_rps = if login_load.total > 0 {
        login_load.rps * (login_load.total - login_load.errors) as f64 / login_load.total as f64
    } else {
        0.0
    };
    let login_ratio = login_ok_rps / argon2_rate;
    let rows = vec![
        Row {
            target: format!(">= 0.85 x argon2 {argon2_rate:.0}/s: 2xx {login_ratio:.2}"),
            met: Some(login_ratio >= 0.85),
            ..Row::new(LOGIN_STORM, login_load, ceiling_rps, Target::None)
        },
        Row::new(
            "GET /health (users, during logins)",
            health_load,
            ceiling_rps,
            Target::P99Below(20.0),
        ),
    ];
    Ok(rows)
}

/// Verifications per second of `users`' own hasher, one thread per core, for `duration`.
async fn argon2_rate(duration: Duration) -> Result<f64, BoxError> {
    let hasher = users::domain::PasswordHasher::default();
    let stored = hasher.hash(USER.2)?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let stored = stored.clone();
            tokio::task::spawn_blocking(move || {
                let hasher = users::domain::PasswordHasher::default();
                let mut n = 0u64;
                let start = Instant::now();
                while start.elapsed() < duration {
                    if hasher.verify(USER.2, Some(&stored)) {
                        n += 1;
                    }
                }
                n
            })
        })
        .collect();
    let mut total = 0;
    for h in handles {
        total += h.await?;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_keeps_the_report_rows_in_their_order() {
        let sizes = Sizes {
            beers: 1000,
            past_orders: 50,
        };
        let names: Vec<String> = table(Kind::Postgres, sizes)
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(
            names,
            [
                "GET /api/beers/{sku}",
                "  same, 2000 slow clients held",
                "GET /api/beers/ (100 beers)",
                "GET /api/beers/ (last 20 of 100)",
                "GET /api/orders/current",
                "  same, TOKEN_CACHE_MS=1000",
                "GET /api/orders/ (newest 20 of 20)",
                "  by SKU, 1000 beers",
                "  last 20 of 1000 beers",
                "  current order, 50 past orders",
                "  newest 20 of 50 past orders",
                "PUT /api/orders/current",
            ]
        );
    }

    #[test]
    fn every_large_row_is_judged_against_a_small_row_of_the_table() {
        for kind in [Kind::Sqlite, Kind::Postgres] {
            let scenarios = table(kind, Sizes::new(false));
            for scenario in &scenarios {
                if let Target::Within(small, _) = scenario.target {
                    assert!(
                        scenarios.iter().any(|s| s.name == small),
                        "{}: no row {small}",
                        scenario.name
                    );
                }
            }
        }
    }

    #[test]
    fn only_orders_scenarios_carry_the_token() {
        for scenario in table(Kind::Sqlite, Sizes::new(true)) {
            let orders = matches!(
                scenario.process,
                Process::Orders | Process::OrdersWithTokenCache | Process::OrdersLarge
            );
            assert_eq!(scenario.token, orders, "{}", scenario.name);
        }
    }
}
