//! The storefront's settings, and `tasks storefront`: the shell page alone.

use std::net::IpAddr;

use shared::config::{parse_var, ConfigError};
use storefront::{ApiBase, Apis};

/// Where the shell listens (`STOREFRONT_ADDRESS`, `STOREFRONT_PORT`) and the services' ports
/// (`USERS_PORT`, `BEERS_PORT`, `ORDERS_PORT`), which its page calls.
pub struct Settings {
    pub address: IpAddr,
    pub port: u16,
    pub users_port: u16,
    pub beers_port: u16,
    pub orders_port: u16,
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Settings {
            address: parse_var("STOREFRONT_ADDRESS", IpAddr::from([127, 0, 0, 1]))?,
            port: parse_var("STOREFRONT_PORT", 5000)?,
            users_port: parse_var("USERS_PORT", 5001)?,
            beers_port: parse_var("BEERS_PORT", 5002)?,
            orders_port: parse_var("ORDERS_PORT", 5003)?,
        })
    }

    /// The page calls each service on the host it was itself asked under, at the service's port.
    pub fn apis_beside_the_services(&self) -> Apis {
        Apis {
            users: ApiBase::Port(self.users_port),
            beers: ApiBase::Port(self.beers_port),
            orders: ApiBase::Port(self.orders_port),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}:{}", self.address, self.port)
    }
}

/// Serves the shell until Ctrl-C or SIGTERM. `same_origin`: behind the edge, whose one origin
/// routes `/api/<service>/` and `/ui/` to the services.
pub async fn serve(same_origin: bool) -> Result<(), crate::BoxError> {
    let settings = Settings::from_env()?;
    let apis = if same_origin {
        Apis::same_origin()
    } else {
        settings.apis_beside_the_services()
    };
    let server = storefront::rocket(settings.address, settings.port, apis)
        .ignite()
        .await?;
    let stop = server.shutdown();
    let task = tokio::spawn(server.launch());
    println!("[tasks] the storefront is on {}", settings.url());
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
    stop.notify();
    task.await??;
    Ok(())
}

/// Where `tasks edge` listens and what it serves with.
pub struct EdgeOptions {
    pub address: IpAddr,
    pub port: u16,
    pub http_port: u16,
    /// A certificate and key of one's own, instead of the one made under `target/edge/tls`.
    pub tls: Option<tasks::edge::Tls>,
}

/// `target/edge`, beside the other tasks' folders.
pub fn edge_dir() -> std::path::PathBuf {
    crate::pg::cluster_dir().with_file_name("edge")
}

/// `tasks edge`: nginx on `options` in front of the trio on its configured ports (started
/// separately, e.g. by `tasks serve`) and a same-origin shell of its own; until Ctrl-C,
/// SIGTERM, or nginx's exit (an error). nginx's files live under `target/edge/<port>`, the
/// certificate it makes under `target/edge/tls`.
pub async fn edge(options: EdgeOptions) -> Result<(), crate::BoxError> {
    let settings = Settings::from_env()?;
    let dir = edge_dir();
    let prefix = dir.join(options.port.to_string());
    let tls = match options.tls {
        Some(tls) => tls,
        None => tasks::edge::LocalCertificate::ensure(&dir.join("tls"))?.tls(),
    };
    // The shell on a free loopback port, known once it listens.
    let (port_tx, port_rx) = tokio::sync::oneshot::channel();
    let server = storefront::rocket([127, 0, 0, 1].into(), 0, Apis::same_origin())
        .attach(rocket::fairing::AdHoc::on_liftoff("port", move |rocket| {
            Box::pin(async move {
                let _ = port_tx.send(rocket.config().port);
            })
        }))
        .ignite()
        .await?;
    let stop = server.shutdown();
    let task = tokio::spawn(server.launch());
    let shell_port = port_rx.await?;
    let service = |port: u16| format!("127.0.0.1:{port}");
    let config = tasks::edge::Config {
        address: options.address,
        https_port: options.port,
        http_port: options.http_port,
        tls: tls.clone(),
        proxy_bind: Some(shared::config::LOCAL_EDGE_SOURCE.into()),
        upstreams: tasks::edge::Upstreams {
            users: service(settings.users_port),
            beers: service(settings.beers_port),
            orders: service(settings.orders_port),
            storefront: service(shell_port),
        },
    };
    let started = tokio::task::spawn_blocking(move || {
        tasks::edge::Edge::start(&prefix, &config, tasks::edge::Logs::Terminal)
    })
    .await?;
    let mut edge = match started {
        Ok(edge) => edge,
        Err(error) => {
            stop.notify();
            let _ = task.await;
            return Err(error);
        }
    };
    println!(
        "[tasks] the edge is on {} ({} redirects there; users :{}, beers :{}, orders :{}; start them with `tasks serve`) — Ctrl-C stops it",
        edge.url, edge.http_url, settings.users_port, settings.beers_port, settings.orders_port
    );
    println!(
        "[tasks] its certificate: {} (trust it with e.g. `curl --cacert {}`)",
        tls.cert.display(),
        tls.cert.with_file_name("ca.pem").display()
    );
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut check = tokio::time::interval(std::time::Duration::from_millis(250));
    let exited = loop {
        tokio::select! {
            _ = interrupt.recv() => break None,
            _ = terminate.recv() => break None,
            _ = check.tick() => {
                if let Some(status) = edge.exited() {
                    break Some(status);
                }
            }
        }
    };
    tokio::task::spawn_blocking(move || edge.stop()).await?;
    stop.notify();
    task.await??;
    match exited {
        Some(status) => Err(format!("nginx exited ({status}); the edge is down").into()),
        None => Ok(()),
    }
}
