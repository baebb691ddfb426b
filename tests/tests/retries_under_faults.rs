//! Retries with `Idempotency-Key` under faults: a client makes a few hundred intended writes
//! (beer creates, adds, removals, checkouts), retrying each with its own key until it gets an
//! answer that is not a 503 or a transport error, while a proxy in front of orders drops about
//! one answer in ten, orders is SIGKILLed and started again, and (on the PostgreSQL pass) the
//! database server restarts with `-m immediate`. Afterwards the state is exactly what was
//! intended. The same retries without keys add twice, which shows the test can fail.
//!
//! A test binary of its own, not a module of `trio`: it restarts a private PostgreSQL cluster
//! and kills a service process over and over, and runs long; beside the rest of the suite it
//! would only slow both.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};
use shared::scratch::{TestDatabase, POSTGRES_VARIABLE};
use tasks::pg::Cluster;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Mutex;
use trio_tests::process::{free_port, ServiceProcess};
use trio_tests::{unique, unique_sku, Account, Api, Client, Databases, Options, Trio};

const KEY: &str = "Idempotency-Key";

/// A TCP proxy in front of a service that forwards every request and, on every `drop_every`-th
/// connection, drops the answer once it starts to arrive: the request was handled, the client
/// never learns how. Clients send one request per connection (no pooled connections).
struct LossyProxy {
    url: String,
    dropped: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl LossyProxy {
    async fn start(upstream_port: u16, drop_every: usize) -> LossyProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let dropped = Arc::new(AtomicUsize::new(0));
        let counted = dropped.clone();
        let task = tokio::spawn(async move {
            let mut connections = 0usize;
            while let Ok((client, _)) = listener.accept().await {
                connections += 1;
                let lose = connections.is_multiple_of(drop_every);
                let dropped = counted.clone();
                tokio::spawn(async move {
                    let Ok(upstream) =
                        tokio::net::TcpStream::connect(("127.0.0.1", upstream_port)).await
                    else {
                        return; // the service is down: the client sees a closed connection
                    };
                    let (mut client_read, mut client_write) = client.into_split();
                    let (mut upstream_read, mut upstream_write) = upstream.into_split();
                    let forward = tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut client_read, &mut upstream_write).await;
                        let _ = upstream_write.shutdown().await;
                    });
                    if lose {
                        let mut first = [0u8; 1];
                        if matches!(upstream_read.read(&mut first).await, Ok(1)) {
                            dropped.fetch_add(1, Ordering::SeqCst);
                        }
                    } else {
                        let _ = tokio::io::copy(&mut upstream_read, &mut client_write).await;
                    }
                    forward.abort();
                });
            }
        });
        LossyProxy { url, dropped, task }
    }
}

/// What a retrying client learnt of one intended write.
#[derive(Debug, Default)]
struct Tally {
    sent: AtomicUsize,
    lost: AtomicUsize,
    unavailable: AtomicUsize,
    busy: AtomicUsize,
    replayed: AtomicUsize,
    /// Intended writes that got their answer.
    answered: AtomicUsize,
}

/// Sends the request until it gets an answer that is not a transport error, a 503 or a 409
/// "still running" (with `Retry-After`); with `key`, every attempt carries it.
async fn until_answered(
    request: impl Fn() -> RequestBuilder,
    key: Option<&str>,
    tally: &Tally,
) -> (StatusCode, Value) {
    for _ in 0..2_000 {
        let mut attempt = request();
        if let Some(key) = key {
            attempt = attempt.header(KEY, key);
        }
        tally.sent.fetch_add(1, Ordering::Relaxed);
        let response = match attempt.send().await {
            Ok(response) => response,
            Err(_) => {
                tally.lost.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let status = response.status();
        let busy = status == StatusCode::CONFLICT && response.headers().contains_key("retry-after");
        let replayed = response.headers().contains_key("idempotency-replayed");
        let Ok(text) = response.text().await else {
            tally.lost.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        if status == StatusCode::SERVICE_UNAVAILABLE {
            tally.unavailable.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        if busy {
            tally.busy.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        if replayed {
            tally.replayed.fetch_add(1, Ordering::Relaxed);
        }
        tally.answered.fetch_add(1, Ordering::SeqCst);
        return (status, serde_json::from_str(&text).unwrap_or(Value::Null));
    }
    panic!("no answer after 2000 attempts");
}

/// A client that opens a connection per request, so the proxy sees each one on its own.
fn unpooled() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// A PostgreSQL cluster of this test's own, removed when dropped.
struct PrivateServer(Cluster);

impl PrivateServer {
    fn start() -> PrivateServer {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let dir = tasks::pg::cluster_dir().with_file_name(format!("pg-retries-{}", &id[..8]));
        let cluster = Cluster::at(dir);
        cluster
            .start()
            .expect("a private PostgreSQL cluster starts");
        PrivateServer(cluster)
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let _ = self.0.stop();
    }
}

/// The orders process behind the proxy, started again after each kill.
struct OrdersProcess {
    port: u16,
    env: Vec<(&'static str, String)>,
    process: Option<ServiceProcess>,
}

impl OrdersProcess {
    async fn start(port: u16, env: Vec<(&'static str, String)>) -> OrdersProcess {
        let process = ServiceProcess::start("orders", port, &env).await;
        OrdersProcess {
            port,
            env,
            process: Some(process),
        }
    }

    async fn kill_and_restart(&mut self) {
        if let Some(process) = self.process.take() {
            process.signal(Signal::SIGKILL);
            process.wait().await;
        }
        self.process = Some(ServiceProcess::start("orders", self.port, &self.env).await);
    }

    async fn stop(&mut self) {
        if let Some(process) = self.process.take() {
            process.signal(Signal::SIGKILL);
            process.wait().await;
        }
    }
}

/// A small deterministic generator, so a failure can be replayed.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, sides: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % sides
    }
}

/// One customer's intended writes and what they should leave behind.
#[derive(Debug, Default)]
struct Intended {
    cart: BTreeMap<String, i64>,
    /// The total of each checkout, in cents, oldest first.
    checkouts: Vec<i64>,
}

fn cents(price: &str) -> i64 {
    let (whole, fraction) = price.split_once('.').unwrap();
    whole.parse::<i64>().unwrap() * 100 + fraction.parse::<i64>().unwrap()
}

async fn customer_writes(
    orders: Client,
    customer: Account,
    prices: Arc<BTreeMap<String, i64>>,
    operations: usize,
    seed: u64,
    tally: Arc<Tally>,
) -> Intended {
    let skus: Vec<&String> = prices.keys().collect();
    let mut dice = Dice(seed);
    let mut intended = Intended::default();
    for _ in 0..operations {
        let key = unique("op");
        let roll = dice.roll(10);
        if roll < 6 || intended.cart.is_empty() {
            let sku = skus[dice.roll(skus.len() as u64) as usize].clone();
            let quantity = (dice.roll(3) + 1).to_string();
            let (status, body) = until_answered(
                || {
                    orders
                        .orders_as(&customer, Method::PUT, "/api/orders/current")
                        .form(&[("sku", sku.as_str()), ("quantity", quantity.as_str())])
                },
                Some(&key),
                &tally,
            )
            .await;
            assert_eq!(status, StatusCode::CREATED, "add {sku}: {body}");
            *intended.cart.entry(sku).or_default() += quantity.parse::<i64>().unwrap();
        } else if roll < 8 {
            let in_cart: Vec<&String> = intended.cart.keys().collect();
            let sku = in_cart[dice.roll(in_cart.len() as u64) as usize].clone();
            let (status, body) = until_answered(
                || {
                    orders
                        .orders_as(&customer, Method::DELETE, "/api/orders/current")
                        .form(&[("sku", sku.as_str())])
                },
                Some(&key),
                &tally,
            )
            .await;
            assert_eq!(status, StatusCode::NO_CONTENT, "remove {sku}: {body}");
            intended.cart.remove(&sku);
        } else {
            let (status, body) = until_answered(
                || orders.orders_as(&customer, Method::POST, "/api/orders/checkout"),
                Some(&key),
                &tally,
            )
            .await;
            assert_eq!(status, StatusCode::OK, "checkout: {body}");
            let total: i64 = intended
                .cart
                .iter()
                .map(|(sku, quantity)| prices[sku] * quantity)
                .sum();
            assert_eq!(cents(body["total"].as_str().unwrap()), total, "{body}");
            intended.checkouts.push(total);
            intended.cart.clear();
        }
    }
    intended
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idempotency_keys_keep_every_intended_write_exactly_once_under_faults() {
    let dir = tempfile::tempdir().unwrap();
    let on_postgres = std::env::var(POSTGRES_VARIABLE).is_ok();
    let server = if on_postgres {
        Some(Arc::new(
            tokio::task::spawn_blocking(PrivateServer::start)
                .await
                .unwrap(),
        ))
    } else {
        None
    };
    let databases = match &server {
        Some(server) => {
            let admin_url = server.0.url("postgres").unwrap();
            tokio::task::spawn_blocking(move || Databases {
                users: TestDatabase::create_on("users", &admin_url).unwrap(),
                beers: TestDatabase::create_on("beers", &admin_url).unwrap(),
                orders: TestDatabase::create_on("orders", &admin_url).unwrap(),
            })
            .await
            .unwrap()
        }
        None => Databases::fresh(&dir).unwrap(),
    };
    let options = Options {
        db_timeout: Duration::from_millis(1000),
        ..Options::default()
    };
    let users = trio_tests::start_users(&databases, &options, 0)
        .await
        .unwrap();
    let beers = trio_tests::start_beers(&databases, &options, &users.url, 0)
        .await
        .unwrap();
    let orders_port = free_port();
    let env = vec![
        ("ORDERS_DATABASE_URL", databases.orders.url.to_setting()),
        ("ORDERS_DB_TIMEOUT_MS", "1000".to_owned()),
        ("USERS_URL", users.url.clone()),
        ("BEERS_URL", beers.url.clone()),
    ];
    let orders = Arc::new(Mutex::new(OrdersProcess::start(orders_port, env).await));
    let proxy = LossyProxy::start(orders_port, 10).await;

    // Accounts and the seeded catalogue, made before any fault.
    let setup = Client::new(&users.url, &beers.url, &proxy.url);
    let beers_pool = beers.pool.clone();
    tokio::task::spawn_blocking(move || beers::seed(&beers_pool))
        .await
        .unwrap()
        .unwrap();
    let mut customers = Vec::new();
    for _ in 0..3 {
        customers.push(register_and_login(&setup).await);
    }
    let admin = {
        let name = unique("admin");
        users::create_admin(
            &users.pool,
            &name,
            &format!("{name}@example.com"),
            "Admin1234",
            users::Existing::Refuse,
        )
        .await
        .unwrap();
        let (_, body) = setup.try_login(&name, "Admin1234").await;
        Account {
            id: 0,
            username: name,
            token: body["token"].as_str().unwrap().to_owned(),
        }
    };

    // The faults, paced by the writes (not by time, so a fast or slow machine sees the same
    // number): after every 30 answered writes, from the 10th on, a database crash and restart
    // (`-m immediate`; PostgreSQL only, every other fault there), or a SIGKILL of orders and
    // its start again. Counted are the faults that began while writes were still being made.
    let tally = Arc::new(Tally::default());
    let done = Arc::new(AtomicBool::new(false));
    let faults = {
        let (done, orders, server, tally) =
            (done.clone(), orders.clone(), server.clone(), tally.clone());
        tokio::spawn(async move {
            let (mut restarts, mut kills) = (0, 0);
            for (n, threshold) in (10..230).step_by(30).enumerate() {
                while tally.answered.load(Ordering::SeqCst) < threshold {
                    if done.load(Ordering::SeqCst) {
                        return (restarts, kills);
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                match &server {
                    Some(server) if n % 2 == 0 => {
                        let server = server.clone();
                        tokio::task::spawn_blocking(move || {
                            server.0.halt("immediate").unwrap();
                            server.0.resume().unwrap();
                        })
                        .await
                        .unwrap();
                        restarts += 1;
                    }
                    _ => {
                        orders.lock().await.kill_and_restart().await;
                        kills += 1;
                    }
                }
            }
            (restarts, kills)
        })
    };

    let http = unpooled();
    let beers_url = beers.url.clone();

    // 1. The administrator adds beers, each create retried with its own key.
    let mut prices: BTreeMap<String, i64> = [("123456", 119), ("123457", 200), ("123458", 150)]
        .into_iter()
        .map(|(sku, cents)| (sku.to_owned(), cents))
        .collect();
    let mut created = Vec::new();
    for n in 0..20 {
        let sku = unique_sku();
        let price = format!("{}.{:02}", 1 + n % 5, 5 * n % 100);
        let key = unique("create");
        let (status, body) = until_answered(
            || {
                http.post(format!("{beers_url}/api/beers/"))
                    .header("Authorization", &admin.token)
                    .form(&[("sku", sku.as_str()), ("name", "Chaos"), ("price", &price)])
            },
            Some(&key),
            &tally,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "create {sku}: {body}");
        prices.insert(sku.clone(), cents(&price));
        created.push(sku);
    }

    // 2. Three customers at once add, remove and check out through the lossy proxy.
    let prices = Arc::new(prices);
    let orders_client = Client {
        http: http.clone(),
        ..Client::new(&users.url, &beers.url, &proxy.url)
    };
    let operations = 70;
    let writers: Vec<_> = customers
        .iter()
        .enumerate()
        .map(|(n, customer)| {
            tokio::spawn(customer_writes(
                orders_client.clone(),
                customer.clone(),
                prices.clone(),
                operations,
                n as u64 + 1,
                tally.clone(),
            ))
        })
        .collect();
    let mut intended = Vec::new();
    for writer in writers {
        intended.push(writer.await.unwrap());
    }
    done.store(true, Ordering::SeqCst);
    let (restarts, kills) = faults.await.unwrap();

    // 3. The state is exactly what was intended, read straight from the services.
    let direct = Client::new(
        &users.url,
        &beers.url,
        &format!("http://127.0.0.1:{orders_port}"),
    );
    let (status, found) = direct
        .beer_list(
            &created
                .iter()
                .map(|s| format!("sku={s}"))
                .collect::<Vec<_>>()
                .join("&"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        found.as_array().unwrap().len(),
        created.len(),
        "every beer, once"
    );
    let mut checkouts = 0;
    for (customer, intended) in customers.iter().zip(&intended) {
        let (status, order) = direct.current_order(customer).await;
        assert_eq!(status, StatusCode::OK, "{order}");
        let cart: BTreeMap<String, i64> = order["beers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|line| {
                (
                    line["sku"].as_str().unwrap().to_owned(),
                    line["quantity"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(cart, intended.cart, "{}'s cart", customer.username);
        let (status, list) = direct.order_list(customer, "limit=1000").await;
        assert_eq!(status, StatusCode::OK);
        let mut closed: Vec<(i64, i64)> = list
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["is_open"] == json!(false))
            .map(|o| {
                (
                    o["id"].as_i64().unwrap(),
                    cents(o["total"].as_str().unwrap()),
                )
            })
            .collect();
        closed.sort();
        let totals: Vec<i64> = closed.into_iter().map(|(_, total)| total).collect();
        assert_eq!(
            totals, intended.checkouts,
            "{}'s closed orders",
            customer.username
        );
        checkouts += totals.len();
    }

    let dropped = proxy.dropped.load(Ordering::SeqCst);
    eprintln!(
        "{} intended writes ({} beer creates, {checkouts} checkouts) on {}: {} requests sent, \
         {dropped} answers dropped by the proxy, {} transport errors, {} 503s, {} 409s while a \
         key was in flight, {} replays; orders killed {kills} times, the database restarted \
         {restarts} times",
        created.len() + customers.len() * operations,
        created.len(),
        if on_postgres { "PostgreSQL" } else { "SQLite" },
        tally.sent.load(Ordering::SeqCst),
        tally.lost.load(Ordering::SeqCst),
        tally.unavailable.load(Ordering::SeqCst),
        tally.busy.load(Ordering::SeqCst),
        tally.replayed.load(Ordering::SeqCst),
    );
    assert!(dropped > 0, "the proxy dropped answers");
    assert!(kills >= 2, "orders was killed while writes were made");
    assert!(
        !on_postgres || restarts >= 2,
        "the database restarted while writes were made"
    );
    assert!(
        tally.replayed.load(Ordering::SeqCst) > 0,
        "some retries were answered with the kept write's answer"
    );

    proxy.task.abort();
    orders.lock().await.stop().await;
    let (mut users, mut beers) = (users, beers);
    beers.stop().await;
    users.stop().await;
    let _ = tokio::task::spawn_blocking(move || drop(databases)).await;
    drop(server);
}

async fn register_and_login(client: &Client) -> Account {
    let username = unique("chaos");
    let (status, user) = client
        .register([
            ("username", username.as_str()),
            ("mail", &format!("{username}@example.com")),
            ("first_name", "Chaos"),
            ("last_name", "Client"),
            ("password", "Secret123"),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    let (_, body) = client.try_login(&username, "Secret123").await;
    Account {
        id: user["id"].as_i64().unwrap(),
        username,
        token: body["token"].as_str().unwrap().to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_idempotency_keys_a_lost_answer_retried_adds_twice() {
    let trio = Trio::start().await;
    trio.seed_beers().await;
    let proxy = LossyProxy::start(trio.orders.port, 3).await;
    let tally = Tally::default();
    let http = unpooled();
    let add = |customer: &Account| {
        let (http, url, token) = (http.clone(), proxy.url.clone(), customer.token.clone());
        move || {
            http.put(format!("{url}/api/orders/current"))
                .header("Authorization", &token)
                .form(&[("sku", "123456"), ("quantity", "1")])
        }
    };
    let (without, with) = (trio.customer().await, trio.customer().await);
    for _ in 0..30 {
        let (status, _) = until_answered(add(&without), None, &tally).await;
        assert_eq!(status, StatusCode::CREATED);
        let key = unique("add");
        let (status, _) = until_answered(add(&with), Some(&key), &tally).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let quantity = |order: Value| order["beers"][0]["quantity"].as_i64().unwrap();
    let without_keys = quantity(trio.current_order(&without).await.1);
    let with_keys = quantity(trio.current_order(&with).await.1);
    eprintln!(
        "30 intended adds of 1, every third answer dropped: {without_keys} in the cart without \
         keys, {with_keys} with keys"
    );
    assert!(
        without_keys > 30,
        "a retried add whose answer was lost is added again without a key"
    );
    assert_eq!(with_keys, 30, "with a key every add is kept exactly once");
    proxy.task.abort();
    trio.stop().await;
}
