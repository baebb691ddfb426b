//! `tasks serve`: the three services as child processes of this one, their output prefixed by
//! name, and the storefront's shell in this process; Ctrl-C (or SIGTERM) stops them all, and
//! one dying stops the others. Also what every service run by `tasks` trusts by default.

use std::process::{ExitCode, Stdio};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use shared::config::{LOCAL_EDGE_SOURCE, TRUSTED_PROXIES_VARIABLE};

const SERVICES: [&str; 3] = ["users", "beers", "orders"];

/// A service served by `tasks` (`tasks serve`, `tasks users serve` …) believes the forwarded
/// client address of `tasks edge`, which connects from [`LOCAL_EDGE_SOURCE`], and of nobody
/// else, unless `TRUSTED_PROXIES` says otherwise (empty counts as unset, as for every
/// setting). The binaries themselves trust no one by default. Call before any thread starts:
/// it sets the variable for this process and the services it starts.
pub fn trust_the_local_edge_unless_told() {
    if shared::config::var(TRUSTED_PROXIES_VARIABLE).is_none() {
        std::env::set_var(TRUSTED_PROXIES_VARIABLE, LOCAL_EDGE_SOURCE.to_string());
    }
}

pub fn run() -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve_all()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve_all() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let exe = std::env::current_exe()?;
    let (exited_tx, mut exited_rx) = mpsc::unbounded_channel();
    let mut pids = Vec::new();
    for name in SERVICES {
        let mut child = Command::new(&exe)
            .args([name, "serve"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        if let Some(pid) = child.id() {
            pids.push(Pid::from_raw(pid as i32));
        }
        if let Some(out) = child.stdout.take() {
            tokio::spawn(prefix_lines(name, out));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(prefix_lines(name, err));
        }
        let exited_tx = exited_tx.clone();
        tokio::spawn(async move {
            let status = child.wait().await;
            let _ = exited_tx.send((name, status));
        });
    }
    let shop = crate::shop::Settings::from_env()?;
    let shop_url = shop.url();
    let shop_server = storefront::rocket(shop.address, shop.port, shop.apis_beside_the_services())
        .ignite()
        .await?;
    let shop_stop = shop_server.shutdown();
    let mut shop_task = tokio::spawn(shop_server.launch());
    println!(
        "[tasks] serving users :{}, beers :{}, orders :{}, the storefront on {shop_url} — Ctrl-C stops all",
        port("USERS_PORT", 5001),
        port("BEERS_PORT", 5002),
        port("ORDERS_PORT", 5003)
    );

    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut failed = false;
    let mut failed_shop = false;
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
        Some((name, status)) = exited_rx.recv() => {
            eprintln!("[tasks] {name} exited ({}); stopping the others", describe(status));
            failed = true;
        }
        stopped = &mut shop_task => {
            let why = match stopped {
                Ok(Ok(_)) => "it stopped".to_owned(),
                Ok(Err(error)) => error.to_string(),
                Err(error) => error.to_string(),
            };
            eprintln!("[tasks] the storefront on {shop_url} failed ({why}); stopping the services");
            failed_shop = true;
        }
    }
    shop_stop.notify();
    // A terminal's Ctrl-C reaches the children too; a signal sent to this process alone does
    // not, so pass it on. Each service then finishes its in-flight requests and exits.
    for pid in &pids {
        let _ = kill(*pid, Signal::SIGTERM);
    }
    let mut remaining = SERVICES.len() - usize::from(failed);
    while remaining > 0 {
        match exited_rx.recv().await {
            Some((name, status)) => {
                println!("[tasks] {name} stopped ({})", describe(status));
                remaining -= 1;
            }
            None => break,
        }
    }
    Ok(if failed || failed_shop {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn port(variable: &str, default: u16) -> u16 {
    shared::config::parse_var(variable, default).unwrap_or(default)
}

fn describe(status: std::io::Result<std::process::ExitStatus>) -> String {
    match status {
        Ok(status) => status.to_string(),
        Err(error) => error.to_string(),
    }
}

async fn prefix_lines(name: &'static str, stream: impl AsyncRead + Unpin) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        println!("[{name:<6}] {line}");
    }
}
