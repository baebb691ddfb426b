//! `tasks bench`: the trio measured side by side with the limit of the stack, in one run.
//!
//! The ceiling is a Rocket instance inside this process with one route answering a constant
//! beer-sized JSON; every scenario runs against it and the services with the same load
//! generator (`oha`) at the same duration and concurrency, so every figure is a ratio.
//! The user journey, a scripted multi-step session that oha cannot express, is driven by
//! goose instead, at the same duration with one goose user per unit of concurrency, from a
//! package of its own outside the workspace that runs as a child process.
//! The services run as child processes (the release binaries next to this one) on free
//! ports, once per backend: on fresh SQLite files under `target/bench/run/sqlite`, and on
//! fresh databases of a PostgreSQL server (a throwaway cluster under `target/bench/pg`, or
//! the server `--postgres-url` names).

mod backend;
mod cpu;
mod journey;
mod large;
mod load;
mod processes;
mod report;
mod scenarios;
mod setup;

use std::path::Path;

pub use backend::Choice as Backends;
use backend::{Databases, Kind};
use large::Sizes;
use load::Oha;
use processes::{free_port, Launcher};
use report::{Check, Report, Row};
use scenarios::{Process, Target, TOKEN_CACHE_MS};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub struct Options {
    pub seconds: u64,
    pub concurrency: u64,
    pub smoke: bool,
    pub backends: Backends,
    /// A PostgreSQL server to bench on instead of a throwaway cluster.
    pub postgres_url: Option<String>,
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
    let ceiling = scenarios::ceiling();
    println!("running: {}", ceiling.running);
    let ceiling_load = oha
        .run(concurrency, &format!("{ceiling_url}{}", ceiling.path), &[])
        .await?;
    let ceiling_rps = ceiling_load.rps;
    let mut rows = vec![Row::new(
        &ceiling.name,
        ceiling_load,
        ceiling_rps,
        Target::None,
    )];
    let argon2 = scenarios::raw_argon2(&oha, ceiling_rps).await?;
    rows.extend(argon2.rows);

    let sizes = Sizes::new(options.smoke);
    let mut checks = Vec::new();
    let kinds = options.backends.kinds();
    for kind in &kinds {
        let dir = run_dir.join(kind.name());
        std::fs::create_dir_all(&dir)?;
        let databases = match kind {
            Kind::Sqlite => Databases::sqlite(&dir)?,
            Kind::Postgres => Databases::postgres(&bench_dir, options.postgres_url.as_deref())?,
        };
        println!("bench: on {}", kind.name());
        let measured = on_backend(
            &databases,
            &BackendRun {
                exe: &exe,
                bin_dir,
                run_dir: &dir,
                journey_exe: &journey_exe,
                oha: &oha,
                seconds,
                concurrency,
                sizes,
                ceiling_rps,
                argon2_rate: argon2.argon2_verify_per_s,
            },
        )
        .await?;
        rows.extend(measured.0);
        checks.extend(measured.1);
    }
    // The ceiling once more: how far the machine itself drifted while the backends ran.
    println!("running: ceiling, again");
    let again = oha
        .run(concurrency, &format!("{ceiling_url}{}", ceiling.path), &[])
        .await?;
    rows.push(Row::new(
        "  ceiling again, at the end",
        again,
        ceiling_rps,
        Target::None,
    ));
    ceiling_shutdown.notify();
    report::judge_against_small(&mut rows);

    let report = Report {
        seconds,
        concurrency,
        smoke: options.smoke,
        backends: kinds.iter().map(|k| k.name()).collect(),
        ceiling_rps,
        argon2_verify_per_s: argon2.argon2_verify_per_s,
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

/// What every backend's part of a run shares.
struct BackendRun<'a> {
    exe: &'a Path,
    bin_dir: &'a Path,
    run_dir: &'a Path,
    journey_exe: &'a Path,
    oha: &'a Oha,
    seconds: u64,
    concurrency: u64,
    sizes: Sizes,
    ceiling_rps: f64,
    argon2_rate: f64,
}

/// Every scenario on one backend: its databases made fresh, the services started on them and
/// the data written; answers the rows and the checks.
async fn on_backend(
    databases: &Databases,
    run: &BackendRun<'_>,
) -> Result<(Vec<Row>, Vec<Check>), BoxError> {
    let backend = databases.kind.name();
    let (oha, concurrency, sizes) = (run.oha, run.concurrency, run.sizes);
    databases.create(&["users", "beers", "orders", "beers_large", "orders_large"])?;

    // The services, one after the other, each timed from exec to its first 200 on /ready.
    let ports = (free_port()?, free_port()?, free_port()?);
    let launcher = Launcher::new(
        run.bin_dir,
        run.run_dir,
        databases.locator.clone(),
        ports.0,
        ports.1,
    );
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

    let data = setup::seed(run.exe, &launcher, &users, &beers, &orders, concurrency).await?;
    let auth = format!("Authorization: {}", data.token);
    large::add_past_orders(&databases.locator.url("orders"), large::SMALL_HISTORY)?;

    // The large databases, each with a service of its own beside the small one's.
    println!(
        "bench: writing {} beers and {} past orders",
        sizes.beers, sizes.past_orders
    );
    let beers_large = launcher
        .start_on("beers", "beers-large", "beers_large", free_port()?, &[])
        .await?;
    large::add_beers(&databases.locator.url("beers_large"), sizes.beers)?;
    let orders_large = launcher
        .start_on("orders", "orders-large", "orders_large", free_port()?, &[])
        .await?;
    launcher
        .http
        .put(format!("{}/api/orders/current", orders_large.url))
        .header("Authorization", &data.token)
        .form(&[("sku", &*setup::FIRST_SKU.to_string()), ("quantity", "1")])
        .send()
        .await?
        .error_for_status()?;
    large::add_past_orders(&databases.locator.url("orders_large"), sizes.past_orders)?;

    let services = [users, beers, orders];
    let [users, beers, orders] = &services;

    // Peak memory after setup, before any load: tells setup's share of the final peak.
    let setup_rss: Vec<u64> = services
        .iter()
        .map(|s| s.peak_rss_kib().unwrap_or(0))
        .collect();

    let mut rows: Vec<Row> = Vec::new();
    for scenario in scenarios::table(databases.kind, sizes) {
        println!("running: {} ({backend})", scenario.running);
        let args = scenario.prepare(run.run_dir, &auth)?;
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let path = &scenario.path;
        let target = match scenario.process {
            Process::Ceiling => None,
            Process::Beers => Some(beers),
            Process::Orders => Some(orders),
            Process::OrdersWithTokenCache => {
                Some(cached_orders.as_ref().ok_or("orders-cached was stopped")?)
            }
            Process::BeersLarge => Some(&beers_large),
            Process::OrdersLarge => Some(&orders_large),
            // Started for this scenario alone.
            Process::BeersBesideSlowClients => None,
        };
        let mut pids: Vec<u32> = services.iter().map(|s| s.pid()).collect();
        pids.extend(target.map(|t| t.pid()));
        let before = cpu::snapshot(&pids, databases.postmaster);
        let load = match target {
            Some(service) => {
                oha.run(concurrency, &format!("{}{path}", service.url), &args)
                    .await?
            }
            None => scenarios::beside_slow_clients(oha, &launcher, path, &args).await?,
        };
        let after = cpu::snapshot(&pids, databases.postmaster);
        let cpu = match scenario.process {
            // The slow-clients instance is gone by now: its CPU was not counted.
            Process::BeersBesideSlowClients => None,
            _ => before.per_request(&after, load.total),
        };
        let mut row = Row::new(&scenario.name, load, run.ceiling_rps, scenario.target).on(backend);
        row.cpu = cpu;
        rows.push(row);
        if scenario.process == Process::OrdersWithTokenCache {
            cached_orders = None;
        }
    }
    drop(beers_large);
    drop(orders_large);

    let logins = scenarios::logins(
        oha,
        &users.url,
        run.run_dir,
        &data.login_bodies,
        run.ceiling_rps,
        run.argon2_rate,
    )
    .await?;
    rows.extend(logins.into_iter().map(|r| r.on(backend)));

    // The journey: each goose user is one customer session running the five steps in order,
    // with a fresh account per iteration.
    println!("running: journey (goose, one session per user) ({backend})");
    let journey = journey::run(
        run.journey_exe,
        &users.url,
        &beers.url,
        &orders.url,
        run.seconds,
        concurrency,
    )
    .await?;
    for (name, load) in journey {
        rows.push(Row::new(&name, load, run.ceiling_rps, Target::None).on(backend));
    }

    // Memory and start-up.
    let checks = report::process_checks(backend, &services, &setup_rss);
    Ok((rows, checks))
}
