//! `tasks test`: every test, on both backends, with one command.

use shared::scratch::POSTGRES_VARIABLE;

use tasks::pg::{cluster_dir, Cluster};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Set to 1 to skip the PostgreSQL run (it is never skipped silently).
pub const SKIP_POSTGRES_VARIABLE: &str = "TRIO_SKIP_POSTGRES";

pub fn run(extra: &[String]) -> Result<(), BoxError> {
    println!("== tests on SQLite (the whole workspace)");
    cargo_test(&["--workspace"], extra, None)?;

    if shared::config::var(SKIP_POSTGRES_VARIABLE).as_deref() == Some("1") {
        println!("== PostgreSQL run SKIPPED because {SKIP_POSTGRES_VARIABLE}=1");
        return Ok(());
    }
    println!("== tests on PostgreSQL (the whole workspace again, on a throwaway cluster)");
    let cluster = Cluster::at(cluster_dir().with_file_name("pg-test"));
    cluster.stop()?;
    cluster.start().map_err(|e| {
        format!("cannot start PostgreSQL for the tests: {e}\n(set {SKIP_POSTGRES_VARIABLE}=1 to run on SQLite only)")
    })?;
    let url = cluster.url("postgres").ok_or("the cluster has no port")?;
    let outcome = cargo_test(&["--workspace"], extra, Some(&url));
    let stopped = cluster.stop();
    outcome?;
    stopped
}

fn cargo_test(packages: &[&str], extra: &[String], postgres: Option<&str>) -> Result<(), BoxError> {
    let mut command = shared::cargo::command();
    command.arg("test").args(packages).args(extra);
    match postgres {
        Some(url) => command.env(POSTGRES_VARIABLE, url),
        None => command.env_remove(POSTGRES_VARIABLE),
    };
    let status = command.status()?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo test {} failed ({status})", packages.join(" ")).into())
    }
}
