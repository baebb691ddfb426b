//! `tasks bench`: the trio measured side by side with the limit of the stack, in one run.
//!
//! The ceiling is a Rocket instance inside this process with one route answering a constant
//! beer-sized JSON; every scenario runs against it and the services with the same load
//! generator (`oha`) at the same duration and concurrency, so every figure is a ratio.
//! The user journey, a scripted multi-step session that oha cannot express, is driven by
//! goose instead, at the same duration with one goose user per unit of concurrency, from a
//! package of its own outside the workspace that runs as a child process.
//! The services run as child processes (the release binaries next to this one) on free
//! ports, each on a fresh SQLite file under `target/bench/run`.

mod journey;
mod load;
mod processes;
mod report;
mod scenarios;
mod setup;

use load::Oha;
use processes::{free_port, Launcher};
use report::{Report, Row};
use scenarios::{Process, Target, TOKEN_CACHE_MS};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub struct Options {
    pub seconds: u64,
    pub concurrency: u64,
    pub smoke: bool,
}

pub fn run(options: Options) -> Result<(), BoxError> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(bench(options))
}

async fn bench(options: Options) -> Result<(), BoxError> {
    let seconds = if options.smoke {
        1
    } else {
        options.seconds.max(1)
    };
    let concurrency = options.concurrency.max(1);
    let exe = std::env::current_exe()?;
    let bin_dir = exe.parent().ok_or("no folder for the tasks binary")?;
    let target_dir = bin_dir.parent().ok_or("no target folder")?;
    let bench_dir = target_dir.join("bench");
    let run_dir = bench_dir.join("run");
    let _ = std::fs::remove_dir_all(&run_dir);
    std::fs::create_dir_all(&run_dir)?;
    processes::build_services(bin_dir)?;
    let journey_exe = journey::build(bin_dir)?;
    for name in ["users", "beers", "orders"] {
        if !bin_dir.join(name).is_file() {
            return Err(format!(
                "{} is missing: build it with `cargo build --release --workspace --bins`",
                bin_dir.join(name).display()
            )
            .into());
        }
    }
    let oha = Oha {
        exe: processes::find_or_install_oha()?,
        seconds,
        concurrency,
    };
    println!(
        "bench: {seconds} s per scenario, concurrency {concurrency}, load by {}",
        oha.exe.display()
    );

    let (ceiling_url, ceiling_shutdown) = processes::start_ceiling().await?;

    // The services, one after the other, each timed from exec to its first 200 on /ready.
    let ports = (free_port()?, free_port()?, free_port()?);
    let launcher = Launcher::new(bin_dir, &run_dir, ports.0, ports.1);
    let users = launcher.start("users", "users", ports.0, &[]).await?;
    let beers = launcher.start("beers", "beers", ports.1, &[]).await?;
    let orders = launcher.start("orders", "orders", ports.2, &[]).await?;
    // A second orders on the same database with the opt-in token cache, for one scenario.
    let token_cache = [("TOKEN_CACHE_MS", TOKEN_CACHE_MS.to_string())];
    let mut cached_orders = Some(
        launcher
            .start("orders", "orders-cached", free_port()?, &token_cache)
            .await?,
    );

    let data = setup::seed(&exe, &launcher, &users, &beers, &orders, concurrency).await?;
    let auth = format!("Authorization: {}", data.token);
    let services = [users, beers, orders];
    let [users, beers, orders] = &services;

    // Peak memory after setup, before any load: tells setup's share of the final peak.
    let setup_rss: Vec<u64> = services
        .iter()
        .map(|s| s.peak_rss_kib().unwrap_or(0))
        .collect();

    let mut rows: Vec<Row> = Vec::new();
    let mut ceiling_rps = f64::NAN;
    for scenario in scenarios::table() {
        println!("running: {}", scenario.running);
        let args = scenario.prepare(&run_dir, &auth)?;
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let path = &scenario.path;
        let base = match scenario.process {
            Process::Ceiling => Some(&ceiling_url),
            Process::Beers => Some(&beers.url),
            Process::Orders => Some(&orders.url),
            Process::OrdersWithTokenCache => {
                let cached = cached_orders.as_ref().ok_or("orders-cached was stopped")?;
                Some(&cached.url)
            }
            // Started for this scenario alone.
            Process::BeersBesideSlowClients => None,
        };
        let load = match base {
            Some(base) => {
                oha.run(concurrency, &format!("{base}{path}"), &args)
                    .await?
            }
            None => scenarios::beside_slow_clients(&oha, &launcher, path, &args).await?,
        };
        if scenario.process == Process::Ceiling {
            ceiling_rps = load.rps;
        }
        rows.push(Row::new(&scenario.name, load, ceiling_rps, scenario.target));
        if scenario.process == Process::OrdersWithTokenCache {
            cached_orders = None;
        }
    }

    let logins =
        scenarios::logins(&oha, &users.url, &run_dir, &data.login_bodies, ceiling_rps).await?;
    rows.extend(logins.rows);

    // The journey: each goose user is one customer session running the five steps in order,
    // with a fresh account per iteration.
    println!("running: journey (goose, one session per user)");
    let journey = journey::run(
        &journey_exe,
        &users.url,
        &beers.url,
        &orders.url,
        seconds,
        concurrency,
    )
    .await?;
    for (name, load) in journey {
        rows.push(Row::new(&name, load, ceiling_rps, Target::None));
    }

    // Memory and start-up.
    let checks = report::process_checks(&services, &setup_rss);
    ceiling_shutdown.notify();
    drop(services);

    let report = Report {
        seconds,
        concurrency,
        smoke: options.smoke,
        ceiling_rps,
        argon2_verify_per_s: logins.argon2_verify_per_s,
        rows,
        checks,
    };
    report.print_table();
    std::fs::create_dir_all(&bench_dir)?;
    let report_path = bench_dir.join("report.json");
    std::fs::write(
        &report_path,
        serde_json::to_string_pretty(&report.to_json())?,
    )?;
    println!("report: {}", report_path.display());
    // The smoke run in CI is there to catch a harness that no longer measures what it says:
    // any failed request fails it, but the login storm's 429s.
    let failed = report.failed_rows();
    if options.smoke && !failed.is_empty() {
        return Err(format!("smoke bench: failed requests in {}", failed.join(", ")).into());
    }
    Ok(())
}
