//! The test harness: the three services on real ports (port 0, so tests run in parallel), each
//! with its own fresh SQLite file, talking real HTTP to each other. Nothing is faked.

use std::net::IpAddr;
use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use rocket::fairing::AdHoc;
use rocket::{Build, Rocket};
use serde_json::{json, Value};
use shared::config::{ServiceSettings, UpstreamSettings};
use shared::db::{DatabaseUrl, Pool, PoolSettings};
use shared::scratch::TestDatabase;
use tempfile::TempDir;

pub mod browser;
pub mod client;
pub mod process;

pub use client::{Api, Caller, Client};

pub use reqwest;
pub use serde_json;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One running service: where it answers and how to stop it.
pub struct Service {
    pub url: String,
    pub port: u16,
    pub pool: Pool,
    shutdown: rocket::Shutdown,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Service {
    /// Stops the service gracefully and waits until it has let go of its port.
    /// Stopping a stopped service does nothing.
    pub async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            self.shutdown.clone().notify();
            let _ = task.await;
        }
    }
}

/// Knobs a test may turn; everything else is as in production.
#[derive(Debug, Clone)]
pub struct Options {
    pub token_ttl: Duration,
    pub upstream_timeout: Duration,
    pub login_throttle: users::domain::LoginThrottle,
    /// `TOKEN_CACHE_MS` of beers and orders (zero: ask users every time, the default).
    pub token_cache: Duration,
    /// `*_DB_TIMEOUT_MS` of every service.
    pub db_timeout: Duration,
    /// `CORS_ALLOWED_ORIGINS` of all three (`None`: the default, the shell on port 5000).
    pub cors_allowed_origins: Option<String>,
    /// `TRUSTED_PROXIES` of all three (default: none, as in production).
    pub trusted_proxies: shared::client::TrustedProxies,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            token_ttl: Duration::from_secs(86_400),
            upstream_timeout: Duration::from_secs(2),
            login_throttle: users::domain::LoginThrottle::default(),
            token_cache: Duration::ZERO,
            db_timeout: PoolSettings::default().connection_timeout,
            cors_allowed_origins: None,
            trusted_proxies: shared::client::TrustedProxies::none(),
        }
    }
}

pub use shared::scratch::POSTGRES_VARIABLE as POSTGRES_URL_VARIABLE;

/// Where one test's three services keep their data: SQLite files in the test's temporary
/// folder, or, when `TRIO_TEST_POSTGRES_URL` is set, fresh PostgreSQL databases that are
/// dropped with this value (so also when a test fails).
#[derive(Debug)]
pub struct Databases {
    pub users: TestDatabase,
    pub beers: TestDatabase,
    pub orders: TestDatabase,
}

impl Databases {
    pub fn fresh(dir: &TempDir) -> Result<Self, BoxError> {
        Ok(Databases {
            users: TestDatabase::create("users", dir.path())?,
            beers: TestDatabase::create("beers", dir.path())?,
            orders: TestDatabase::create("orders", dir.path())?,
        })
    }
}

/// The three services, started in dependency order, each on its own database.
pub struct Trio {
    pub users: Service,
    pub beers: Service,
    pub orders: Service,
    pub options: Options,
    pub databases: Databases,
    pub http: reqwest::Client,
    pub dir: TempDir,
}

fn localhost() -> IpAddr {
    IpAddr::from([127, 0, 0, 1])
}

fn service_settings(database: &DatabaseUrl, options: &Options, port: u16) -> ServiceSettings {
    ServiceSettings {
        address: localhost(),
        port,
        database_url: database.clone(),
        pool: PoolSettings {
            connection_timeout: options.db_timeout,
            ..PoolSettings::default()
        },
        client_read_timeout: shared::config::DEFAULT_CLIENT_READ_TIMEOUT,
        trusted_proxies: options.trusted_proxies.clone(),
    }
}

/// The service as configured, with the test's own allowed origins when it has any.
fn configured(rocket: Rocket<Build>, options: &Options) -> Rocket<Build> {
    match &options.cors_allowed_origins {
        Some(origins) => {
            let figment = rocket
                .figment()
                .clone()
                .merge((shared::cors::FIGMENT_KEY, origins.as_str()));
            rocket.configure(figment)
        }
        None => rocket,
    }
}

/// Launches a built Rocket on its configured port and returns once it listens.
pub async fn launch(rocket: Rocket<Build>, pool: Pool) -> Result<Service, BoxError> {
    let (port_tx, port_rx) = tokio::sync::oneshot::channel();
    let rocket = rocket.attach(AdHoc::on_liftoff("report port", move |rocket| {
        Box::pin(async move {
            let _ = port_tx.send(rocket.config().port);
        })
    }));
    let rocket = rocket.ignite().await?;
    let shutdown = rocket.shutdown();
    let task = tokio::spawn(async move {
        if let Err(error) = rocket.launch().await {
            eprintln!("service stopped with an error: {error}");
        }
    });
    let port = port_rx.await?;
    Ok(Service {
        url: format!("http://127.0.0.1:{port}"),
        port,
        pool,
        shutdown,
        task: Some(task),
    })
}

impl Trio {
    pub async fn start() -> Trio {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> Trio {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let databases = Databases::fresh(&dir).expect("fresh databases");
        Self::start_on(options, databases, dir).await
    }

    /// The trio on databases the test made itself (a private server, a small filesystem).
    pub async fn start_on(options: Options, databases: Databases, dir: TempDir) -> Trio {
        let users = start_users(&databases, &options, 0)
            .await
            .expect("users starts");
        let beers = start_beers(&databases, &options, &users.url, 0)
            .await
            .expect("beers starts");
        let orders = start_orders(&databases, &options, &users.url, &beers.url, 0)
            .await
            .expect("orders starts");
        Trio {
            users,
            beers,
            orders,
            options,
            databases,
            http: reqwest::Client::new(),
            dir,
        }
    }

    /// Stops users and starts it again on the same port and database.
    pub async fn restart_users(&mut self) {
        self.users.stop().await;
        self.users = start_users(&self.databases, &self.options, self.users.port)
            .await
            .expect("users restarts");
    }

    /// Stops orders and starts it again on the same port and database.
    pub async fn restart_orders(&mut self) {
        self.orders.stop().await;
        self.orders = start_orders(
            &self.databases,
            &self.options,
            &self.users.url,
            &self.beers.url,
            self.orders.port,
        )
        .await
        .expect("orders restarts");
    }

    pub fn users(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.users.url))
    }

    pub fn beers(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.beers.url))
    }

    pub fn orders(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.orders.url))
    }

    /// Registers a fresh account with a unique name and logs it in.
    pub async fn customer(&self) -> Account {
        let username = unique("user");
        let password = "Secret123".to_owned();
        let response = self
            .users(Method::POST, "/api/users/register")
            .form(&[
                ("username", username.as_str()),
                ("mail", &format!("{username}@example.com")),
                ("first_name", "Test"),
                ("last_name", "Customer"),
                ("password", &password),
            ])
            .send()
            .await
            .expect("register answers");
        assert_eq!(response.status(), StatusCode::OK, "registering {username}");
        let user = response.json::<Value>().await.expect("a user");
        let token = self.login(&username, &password).await;
        Account {
            id: user["id"].as_i64().expect("an id"),
            username,
            token,
        }
    }

    /// An administrator, made the way `tasks users create-admin` makes one.
    pub async fn admin(&self) -> Account {
        let username = unique("admin");
        let pool = self.users.pool.clone();
        let name = username.clone();
        let (user, _) = users::create_admin(
            &pool,
            &name,
            &format!("{name}@example.com"),
            "Admin1234",
            users::Existing::Refuse,
        )
        .await
        .expect("create_admin succeeds");
        let token = self.login(&username, "Admin1234").await;
        Account {
            id: user.id,
            username,
            token,
        }
    }

    pub async fn login(&self, username: &str, password: &str) -> String {
        let response = self
            .users(Method::POST, "/api/users/login")
            .form(&[("username", username), ("password", password)])
            .send()
            .await
            .expect("login answers");
        assert_eq!(response.status(), StatusCode::OK, "login of {username}");
        let body: Value = response.json().await.expect("a token body");
        body["token"].as_str().expect("a token").to_owned()
    }

    /// Adds the reference catalogue, the way `tasks beers seed` does.
    pub async fn seed_beers(&self) {
        let pool = self.beers.pool.clone();
        tokio::task::spawn_blocking(move || beers::seed(&pool))
            .await
            .expect("seed runs")
            .expect("seed succeeds");
    }

    /// Creates a beer through the API as an administrator; returns its SKU.
    pub async fn create_beer(&self, admin: &Account, price: &str) -> String {
        let sku = unique_sku();
        let response = self
            .beers(Method::POST, "/api/beers")
            .header("Authorization", &admin.token)
            .form(&[
                ("sku", sku.as_str()),
                ("name", "Test beer"),
                ("price", price),
            ])
            .send()
            .await
            .expect("create answers");
        assert_eq!(response.status(), StatusCode::CREATED, "creating {sku}");
        sku
    }

    pub async fn stop(mut self) {
        self.orders.stop().await;
        self.beers.stop().await;
        self.users.stop().await;
        // Dropping the PostgreSQL databases blocks; keep it off the async workers.
        let databases = self.databases;
        let _ = tokio::task::spawn_blocking(move || drop(databases)).await;
    }
}

/// Starts one service the way its binary does ([`shared::service`]), on `database`, with
/// the test's options; `port` 0 takes a free one.
pub async fn start<S: shared::service::Service>(
    database: &TestDatabase,
    options: &Options,
    port: u16,
    config: S::Config,
) -> Result<Service, BoxError> {
    let settings = shared::service::Settings::<S> {
        service: service_settings(&database.url, options, port),
        config,
    };
    let pool = {
        let service = settings.service.clone();
        tokio::task::spawn_blocking(move || shared::service::connect::<S>(&service)).await??
    };
    launch(
        configured(shared::service::rocket(&settings, pool.clone())?, options),
        pool,
    )
    .await
}

pub async fn start_users(
    databases: &Databases,
    options: &Options,
    port: u16,
) -> Result<Service, BoxError> {
    let config = users::Config {
        token_ttl: options.token_ttl,
        login_throttle: options.login_throttle,
        hashing_concurrency: 4,
    };
    start::<users::Users>(&databases.users, options, port, config).await
}

fn upstream(options: &Options, users_url: &str, beers_url: &str) -> UpstreamSettings {
    UpstreamSettings {
        users_url: users_url.to_owned(),
        beers_url: beers_url.to_owned(),
        timeout: options.upstream_timeout,
        max_connections: 32,
        token_cache: options.token_cache,
    }
}

pub async fn start_beers(
    databases: &Databases,
    options: &Options,
    users_url: &str,
    port: u16,
) -> Result<Service, BoxError> {
    let config = upstream(options, users_url, "");
    start::<beers::Beers>(&databases.beers, options, port, config).await
}

pub async fn start_orders(
    databases: &Databases,
    options: &Options,
    users_url: &str,
    beers_url: &str,
    port: u16,
) -> Result<Service, BoxError> {
    let config = upstream(options, users_url, beers_url);
    start::<orders::Orders>(&databases.orders, options, port, config).await
}

/// A logged-in account.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub token: String,
}

/// An HTTP client whose connections come from `source`: a client of its own to the services,
/// as Linux lets a process bind any address of 127.0.0.0/8 without configuring it.
pub fn http_from(source: IpAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(source)
        .build()
        .expect("an HTTP client")
}

/// `127.0.0.<n>`: a distinct local client address (not 1, every other test's, nor 80, the
/// local edge's).
pub fn loopback(n: u8) -> IpAddr {
    assert!(n != 1 && n != 80, "127.0.0.{n} is taken");
    IpAddr::from([127, 0, 0, n])
}

/// A name no other test uses.
pub fn unique(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}_{}", &id[..12])
}

pub fn unique_sku() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("T-{}", &id[..16])
}

/// Status and JSON body of a response (JSON `null` when the body is not JSON).
pub async fn status_and_json(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(json!(null)))
}

/// Sends and returns status and JSON body.
pub async fn call(request: RequestBuilder) -> (StatusCode, Value) {
    status_and_json(request.send().await.expect("the service answers")).await
}

/// An address that accepts connections and then never says a word, as a hung process would.
/// Stop it by aborting the task.
pub async fn silent_address() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (url, task)
}

/// An address that answers every connection with the same raw bytes, as a broken or
/// misconfigured peer would (a 5xx page, a body that is not what was asked for).
/// Stop it by aborting the task.
pub async fn broken_address(answer: &'static str) -> (String, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    let task = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (url, task)
}
