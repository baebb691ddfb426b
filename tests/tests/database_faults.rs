//! The database goes away and comes back (PostgreSQL): the server crashes and restarts while
//! requests flow, stops for ten seconds, or kills every connection of the services. During the
//! outage every request gets a prompt 503 (never a 500, never a hang past the pool timeout);
//! within 2 s of the server accepting connections again every request succeeds, with no
//! restart of a service; no acknowledged write is lost. The trio runs on a private cluster
//! (restarting the suite's shared one would break every other test), on the PostgreSQL pass
//! of `tasks test`.
//!
//! A test binary of its own, not a module of `trio`: it bounds every answer's time by the pool
//! timeout plus 1.5 s while its server stops and starts, and with the rest of the suite
//! running beside it those bounds would measure the machine's load, not the services.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::{Connection, RunQueryDsl};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use shared::scratch::{TestDatabase, POSTGRES_VARIABLE};
use tasks::pg::Cluster;
use trio_tests::{call, unique_sku, Account, Api, Databases, Options, Trio};

/// How long a request may wait for a database connection in these tests.
const DB_TIMEOUT: Duration = Duration::from_millis(1000);
/// What a request may take beyond its waits before it counts as a hang: a busy machine's
/// scheduling, never the database's.
const SLACK: Duration = Duration::from_millis(1500);
/// How soon after the server accepts connections again every request must succeed.
const RECOVERY: Duration = Duration::from_secs(2);

/// A cluster of this test's own, removed when dropped.
struct PrivateServer(Cluster);

impl PrivateServer {
    fn start() -> PrivateServer {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let dir = tasks::pg::cluster_dir().with_file_name(format!("pg-faults-{}", &id[..8]));
        let cluster = Cluster::at(dir);
        cluster
            .start()
            .expect("a private PostgreSQL cluster starts");
        PrivateServer(cluster)
    }

    fn admin_url(&self) -> String {
        self.0.url("postgres").expect("the cluster has a port")
    }

    /// Kills the server's connections to these databases, as an administrator or a failover
    /// would; returns how many it killed.
    fn terminate_connections(&self, databases: &[String]) -> usize {
        let mut admin = diesel::PgConnection::establish(&self.admin_url()).unwrap();
        let names = databases
            .iter()
            .map(|name| format!("'{name}'"))
            .collect::<Vec<_>>()
            .join(", ");
        #[derive(diesel::QueryableByName)]
        struct Killed {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            #[allow(dead_code)]
            killed: bool,
        }
        diesel::sql_query(format!(
            "SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity \
             WHERE datname IN ({names}) AND pid <> pg_backend_pid()"
        ))
        .load::<Killed>(&mut admin)
        .unwrap()
        .len()
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let _ = self.0.stop();
    }
}

fn database_name(database: &TestDatabase) -> String {
    let url = database.url.to_setting();
    url.rsplit('/').next().unwrap().to_owned()
}

/// What the load saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    what: &'static str,
    started: Instant,
    took: Duration,
    status: StatusCode,
    body: Value,
    /// For an add to the order or a new beer: what was written.
    wrote: Option<String>,
}

/// Requests of every kind against all three services, from a few clients at once, until
/// stopped; a customer reads and adds to their order, an administrator adds beers.
struct Load {
    seen: Arc<Mutex<Vec<Seen>>>,
    running: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(trio: &Arc<Trio>, customer: &Account, admin: &Account) -> Load {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let running = Arc::new(AtomicBool::new(true));
        let tasks = (0..4)
            .map(|worker| {
                let (trio, seen, running) = (trio.clone(), seen.clone(), running.clone());
                let (customer, admin) = (customer.clone(), admin.clone());
                tokio::spawn(async move {
                    let mut round = worker;
                    while running.load(Ordering::Relaxed) {
                        let record = one_request(&trio, &customer, &admin, round).await;
                        seen.lock().unwrap().push(record);
                        round += 1;
                    }
                })
            })
            .collect();
        Load {
            seen,
            running,
            tasks,
        }
    }

    async fn stop(self) -> Vec<Seen> {
        self.running.store(false, Ordering::Relaxed);
        for task in self.tasks {
            task.await.unwrap();
        }
        Arc::try_unwrap(self.seen).unwrap().into_inner().unwrap()
    }
}

async fn one_request(trio: &Trio, customer: &Account, admin: &Account, round: usize) -> Seen {
    let started = Instant::now();
    let mut wrote = None;
    // Requests, not calls: each is sent below with a deadline, and one that gets no answer at
    // all fails the test naming what it was.
    let (what, request) = match round % 6 {
        0 => (
            "users check_token",
            trio.users(Method::POST, "/api/users/check_token")
                .form(&[("token", customer.token.as_str())]),
        ),
        1 => ("beers by sku", trio.beers(Method::GET, "/api/beers/123456")),
        2 => (
            "orders current",
            trio.orders_as(customer, Method::GET, "/api/orders/current"),
        ),
        3 => {
            wrote = Some("123456".to_owned());
            (
                "orders add",
                trio.orders_as(customer, Method::PUT, "/api/orders/current")
                    .form(&[("sku", "123456"), ("quantity", "1")]),
            )
        }
        4 => {
            let sku = unique_sku();
            wrote = Some(sku.clone());
            (
                "beers create",
                trio.beers_as(admin, Method::POST, "/api/beers/").form(&[
                    ("sku", sku.as_str()),
                    ("name", "Fault"),
                    ("price", "1.00"),
                ]),
            )
        }
        _ => (
            "users login",
            trio.users(Method::POST, "/api/users/login").form(&[
                ("username", customer.username.as_str()),
                ("password", "Secret123"),
            ]),
        ),
    };
    let (status, body) = match request.timeout(Duration::from_secs(30)).send().await {
        Ok(response) => trio_tests::status_and_json(response).await,
        Err(error) => panic!("{what}: no answer at all: {error}"),
    };
    Seen {
        what,
        started,
        took: started.elapsed(),
        status,
        body,
        wrote,
    }
}

/// The longest a request of this kind may take while the database is away: its own wait for a
/// connection, and a second one where it has two (orders and a new beer ask users about the
/// token first; a login records the attempt, then checks the password, then writes again).
fn bound(what: &str) -> Duration {
    let waits = match what {
        "users check_token" | "beers by sku" => 1,
        _ => 2,
    };
    DB_TIMEOUT * waits + SLACK
}

/// Every answer is a success or a JSON 503, none took longer than its bound, and every
/// request sent `RECOVERY` after `back` succeeded. Returns how long after `back` the last
/// failure was sent (or zero).
fn check(phase: &str, seen: &[Seen], back: Instant) -> Duration {
    assert!(!seen.is_empty(), "{phase}: the load sent requests");
    let mut last_failure = Duration::ZERO;
    for s in seen {
        let ok = s.status.is_success();
        assert!(
            ok || s.status == StatusCode::SERVICE_UNAVAILABLE,
            "{phase}: {} answered {} {}",
            s.what,
            s.status,
            s.body
        );
        if !ok {
            assert!(
                s.body["message"].is_string(),
                "{phase}: a 503 of {} says why in JSON: {}",
                s.what,
                s.body
            );
            last_failure = last_failure.max(s.started.saturating_duration_since(back));
        }
        assert!(
            s.took <= bound(s.what),
            "{phase}: {} took {:?} (status {})",
            s.what,
            s.took,
            s.status
        );
        if s.started >= back + RECOVERY {
            assert!(
                ok,
                "{phase}: {} sent {:?} after the server was back answered {} {}",
                s.what,
                s.started - back,
                s.status,
                s.body
            );
        }
    }
    let after = seen.iter().filter(|s| s.started >= back + RECOVERY).count();
    assert!(
        after >= 10,
        "{phase}: {after} requests after recovery prove little"
    );
    last_failure
}

fn count(seen: &[Seen], what: &str, status: impl Fn(StatusCode) -> bool) -> usize {
    seen.iter()
        .filter(|s| s.what == what && status(s.status))
        .count()
}

async fn until_ready(trio: &Trio) -> Duration {
    let start = Instant::now();
    for url in [&trio.users.url, &trio.beers.url, &trio.orders.url] {
        loop {
            let (status, _) = call(trio.http.get(format!("{url}/ready"))).await;
            if status == StatusCode::OK {
                break;
            }
            assert!(start.elapsed() < RECOVERY, "{url} not ready again in time");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_trio_rides_out_database_restarts_outages_and_killed_connections() {
    if std::env::var(POSTGRES_VARIABLE).is_err() {
        eprintln!("runs on the PostgreSQL pass of `tasks test` ({POSTGRES_VARIABLE} is not set)");
        return;
    }
    let server = tokio::task::spawn_blocking(PrivateServer::start)
        .await
        .unwrap();
    let admin_url = server.admin_url();
    let databases = tokio::task::spawn_blocking(move || Databases {
        users: TestDatabase::create_on("users", &admin_url).unwrap(),
        beers: TestDatabase::create_on("beers", &admin_url).unwrap(),
        orders: TestDatabase::create_on("orders", &admin_url).unwrap(),
    })
    .await
    .unwrap();
    let names = [
        database_name(&databases.users),
        database_name(&databases.beers),
        database_name(&databases.orders),
    ];
    let options = Options {
        db_timeout: DB_TIMEOUT,
        // Logins are part of the load; an attempt whose forgetting the outage cut off stays
        // counted as a failure, and the default limit would soon lock the customer out.
        login_throttle: users::domain::LoginThrottle {
            per_username: 100_000,
            per_client: 100_000,
            per_known_client: 100_000,
            ..Default::default()
        },
        ..Options::default()
    };
    let trio = Trio::start_on(options, databases, tempfile::tempdir().unwrap()).await;
    trio.seed_beers().await;
    let customer = trio.customer().await;
    let admin = trio.admin().await;
    let trio = Arc::new(trio);
    let server = Arc::new(server);
    let mut all = Vec::new();

    // 1. A crash and restart (`pg_ctl stop -m immediate`, then start) while requests flow.
    let load = Load::start(&trio, &customer, &admin);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let s = server.clone();
    tokio::task::spawn_blocking(move || {
        s.0.halt("immediate").unwrap();
        s.0.resume().unwrap();
    })
    .await
    .unwrap();
    let back = Instant::now();
    tokio::time::sleep(RECOVERY + Duration::from_secs(1)).await;
    let seen = load.stop().await;
    let last = check("restart", &seen, back);
    eprintln!(
        "restart: {} requests, {} failed, the last failure sent {last:?} after the server was back",
        seen.len(),
        seen.iter().filter(|s| !s.status.is_success()).count()
    );
    all.extend(seen);

    // 2. Stopped for 10 s, then started: 503s and /ready 503 throughout, then all well.
    let s = server.clone();
    tokio::task::spawn_blocking(move || s.0.halt("fast").unwrap())
        .await
        .unwrap();
    let load = Load::start(&trio, &customer, &admin);
    let down = Instant::now();
    while down.elapsed() < Duration::from_secs(10) {
        for url in [&trio.users.url, &trio.beers.url, &trio.orders.url] {
            let (status, body) = call(trio.http.get(format!("{url}/ready"))).await;
            assert_eq!(
                status,
                StatusCode::SERVICE_UNAVAILABLE,
                "{url}/ready: {body}"
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let resuming = Instant::now();
    let s = server.clone();
    tokio::task::spawn_blocking(move || s.0.resume().unwrap())
        .await
        .unwrap();
    let back = Instant::now();
    let ready_after = until_ready(&trio).await;
    tokio::time::sleep(RECOVERY + Duration::from_secs(1)).await;
    let seen = load.stop().await;
    // (`pg_ctl start -w` notices a little after the server that it accepts connections.)
    let during = seen
        .iter()
        .filter(|s| s.started + s.took < resuming)
        .count();
    assert!(during > 0, "requests were answered during the outage");
    for s in seen.iter().filter(|s| s.started + s.took < resuming) {
        assert_eq!(
            s.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{} while the server was down: {}",
            s.what,
            s.body
        );
    }
    let last = check("outage", &seen, back);
    let slowest = seen
        .iter()
        .filter(|s| s.started + s.took < resuming)
        .map(|s| s.took)
        .max()
        .unwrap_or_default();
    eprintln!(
        "10 s outage: {during} requests during it, all 503, the slowest in {slowest:?}; /ready \
         200 {ready_after:?} after the server was back; the last failure sent {last:?} after"
    );
    all.extend(seen);

    // 3. Every connection of the three databases killed: nothing fails afterwards, because no
    //    dead connection is handed out twice and the first finder retries on a new one.
    let s = server.clone();
    let killed = tokio::task::spawn_blocking(move || s.terminate_connections(&names))
        .await
        .unwrap();
    assert!(killed > 0, "the services had connections to kill");
    let load = Load::start(&trio, &customer, &admin);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let seen = load.stop().await;
    for s in &seen {
        assert!(
            s.status.is_success(),
            "after {killed} connections were killed, {} answered {} {}",
            s.what,
            s.status,
            s.body
        );
    }
    eprintln!(
        "killed connections: {killed} killed, then {} requests, none failed",
        seen.len()
    );
    all.extend(seen);

    // No acknowledged write was lost: each added beer is there, and the order holds at least
    // every acknowledged add (and no more than were sent: a 503 whose commit outcome was
    // unknown may or may not have been kept).
    for s in all
        .iter()
        .filter(|s| s.what == "beers create" && s.status.is_success())
    {
        let sku = s.wrote.as_deref().unwrap();
        let (status, _) = trio.beer(sku).await;
        assert_eq!(status, StatusCode::OK, "acknowledged beer {sku} is kept");
    }
    let acknowledged = count(&all, "orders add", |s| s == StatusCode::CREATED);
    let refused = count(&all, "orders add", |s| s == StatusCode::SERVICE_UNAVAILABLE);
    let (status, order) = trio.current_order(&customer).await;
    assert_eq!(status, StatusCode::OK);
    let kept = order["beers"][0]["quantity"].as_u64().unwrap_or(0) as usize;
    assert!(
        kept >= acknowledged && kept <= acknowledged + refused,
        "{acknowledged} adds acknowledged, {refused} refused, {kept} kept"
    );
    let trio = Arc::try_unwrap(trio).ok().expect("the load is over");
    trio.stop().await;
}
