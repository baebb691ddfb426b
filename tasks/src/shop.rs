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

/// `tasks edge`: nginx on `port` in front of the trio on its configured ports (started
/// separately, e.g. by `tasks serve`) and a same-origin shell of its own; until Ctrl-C or
/// SIGTERM. nginx's files live under `target/edge`.
pub async fn edge(port: u16) -> Result<(), crate::BoxError> {
    let settings = Settings::from_env()?;
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
    let prefix = crate::pg::cluster_dir().with_file_name("edge");
    std::fs::create_dir_all(&prefix)?;
    let upstreams = tasks::edge::Upstreams {
        edge_port: port,
        users: format!("127.0.0.1:{}", settings.users_port),
        beers: format!("127.0.0.1:{}", settings.beers_port),
        orders: format!("127.0.0.1:{}", settings.orders_port),
        storefront: format!("127.0.0.1:{shell_port}"),
    };
    let mut edge = tokio::task::spawn_blocking(move || {
        tasks::edge::Edge::start(&prefix, &upstreams, tasks::edge::Logs::Terminal)
    })
    .await??;
    println!(
        "[tasks] the edge is on {} (users :{}, beers :{}, orders :{}; start them with `tasks serve`) — Ctrl-C stops it",
        edge.url, settings.users_port, settings.beers_port, settings.orders_port
    );
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
    tokio::task::spawn_blocking(move || edge.stop()).await?;
    stop.notify();
    task.await??;
    Ok(())
}
