//! The journey: customers registering, logging in, filling an order and checking out, over
//! and over, driven by goose (oha cannot script a session); one row per step and one for
//! whole journeys.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use goose::config::GooseConfiguration;
use goose::goose::GooseResponse;
use goose::metrics::GooseRequestMetricAggregate;
use goose::prelude::*;
use serde_json::Value;

use super::load::Load;
use super::setup::{BEERS, FIRST_SKU};
use super::BoxError;

/// Runs the journey against the trio for `seconds`, one goose user per unit of concurrency,
/// and answers its rows: each step, then whole journeys.
pub async fn run(
    users_url: &str,
    beers_url: &str,
    orders_url: &str,
    seconds: u64,
    concurrency: u64,
) -> Result<Vec<(String, Load)>, BoxError> {
    let urls = JourneyUrls {
        users: users_url.into(),
        beers: beers_url.into(),
        orders: orders_url.into(),
        completed: Mutex::new(Vec::new()),
    };
    let measured = journey(urls, seconds, concurrency).await?;
    let mut rows: Vec<(String, Load)> = JOURNEY_STEPS
        .iter()
        .map(|&(name, expected)| (name.to_owned(), measured.step(name, expected, seconds)))
        .collect();
    rows.push((
        "journey (complete sessions)".into(),
        measured.complete(seconds),
    ));
    Ok(rows)
}

/// The journey's requests as goose names them, with the status each must answer.
const REGISTER: &str = "journey 1 register";
const LOGIN: &str = "journey 2 login";
const LIST_BEERS: &str = "journey 3 list beers";
const ADD_BEER: &str = "journey 4 add beer";
const CHECKOUT: &str = "journey 5 checkout";
const JOURNEY_STEPS: [(&str, u16); 5] = [
    (REGISTER, 200),
    (LOGIN, 200),
    (LIST_BEERS, 200),
    (ADD_BEER, 201),
    (CHECKOUT, 200),
];
const JOURNEY_PASSWORD: &str = "Journey12345";

/// What the journey's goose users share: where their requests go, and the durations of the
/// journeys they completed. The services listen on different ports, so every request names
/// its absolute URL (goose sends a URL that has a host as it is).
struct JourneyUrls {
    users: String,
    beers: String,
    orders: String,
    /// How long each journey that ended in a successful checkout took, register to checkout.
    /// Measured here because goose 0.18 files scenario times of 501 ms and more under keys
    /// a tenth of their value (800 ms under 80), which read as milliseconds are wrong.
    completed: Mutex<Vec<Duration>>,
}

/// One goose user's session: the customer of the current iteration.
struct Session {
    username: String,
    /// The token login answered; sent as `Authorization` from then on.
    token: Option<String>,
    /// A step failed: the rest of this iteration's journey is skipped.
    failed: bool,
    /// The catalogue index the three additions start from.
    first_beer: u32,
    /// When this journey's first request was sent.
    started: Instant,
}

/// Runs the journey with goose for `seconds`, one goose user per unit of concurrency.
async fn journey(
    urls: JourneyUrls,
    seconds: u64,
    concurrency: u64,
) -> Result<JourneyMetrics, BoxError> {
    let urls = Arc::new(urls);
    // One transaction per step, in sequence, so a user told to stop at the end of the run
    // finishes at most one request, not a whole journey.
    let step = |sequence: usize,
                name: &str,
                run: fn(&mut GooseUser, Arc<JourneyUrls>) -> StepFuture<'_>| {
        let urls = urls.clone();
        Transaction::new(Arc::new(move |user| run(user, urls.clone())))
            .set_sequence(sequence)
            .set_name(name)
    };
    let scenario = Scenario::new("journey")
        .register_transaction(step(1, "register", |u, urls| Box::pin(register(u, urls))))
        .register_transaction(step(2, "login", |u, urls| Box::pin(login(u, urls))))
        .register_transaction(step(3, "list beers", |u, urls| {
            Box::pin(list_beers(u, urls))
        }))
        .register_transaction(step(4, "add beer 1", |u, urls| {
            Box::pin(add_beer(u, urls, 0))
        }))
        .register_transaction(step(5, "add beer 2", |u, urls| {
            Box::pin(add_beer(u, urls, 1))
        }))
        .register_transaction(step(6, "add beer 3", |u, urls| {
            Box::pin(add_beer(u, urls, 2))
        }))
        .register_transaction(step(7, "checkout", |u, urls| Box::pin(checkout(u, urls))));
    // All users start within a quarter of a second; goose resets its metrics once they have,
    // and then runs for `seconds`.
    let hatch_rate = (concurrency * 4).to_string();
    let metrics = GooseAttack::initialize_with_config(GooseConfiguration::default())?
        .register_scenario(scenario)
        .set_default(GooseDefault::Host, urls.users.as_str())?
        .set_default(GooseDefault::Users, concurrency as usize)?
        .set_default(GooseDefault::HatchRate, hatch_rate.as_str())?
        .set_default(GooseDefault::RunTime, seconds as usize)?
        .set_default(GooseDefault::Quiet, 1)?
        .set_default(GooseDefault::NoPrintMetrics, true)?
        .set_default(GooseDefault::NoErrorSummary, true)?
        .set_default(GooseDefault::NoTelnet, true)?
        .set_default(GooseDefault::NoWebSocket, true)?
        .execute()
        .await?;
    let mut completed = std::mem::take(&mut *lock(&urls.completed));
    completed.sort();
    Ok(JourneyMetrics(metrics, completed))
}

type StepFuture<'r> = Pin<Box<dyn Future<Output = TransactionResult> + Send + 'r>>;

/// Sends one form request as the step `name`, failed unless it answers `expected`.
async fn send_form(
    user: &mut GooseUser,
    method: GooseMethod,
    url: &str,
    name: &str,
    expected: u16,
    form: &[(&str, &str)],
) -> Result<GooseResponse, Box<TransactionError>> {
    let mut builder = user.get_request_builder(&method, url)?;
    if !form.is_empty() {
        builder = builder.form(form);
    }
    if let Some(token) = user
        .get_session_data::<Session>()
        .and_then(|s| s.token.as_deref())
    {
        builder = builder.header("Authorization", token);
    }
    let request = GooseRequest::builder()
        .method(method)
        .path(url)
        .name(name)
        .expect_status_code(expected)
        .set_request_builder(builder)
        .build();
    let response = user.request(request).await?;
    if !response.request.success {
        if let Some(session) = user.get_session_data_mut::<Session>() {
            session.failed = true;
        }
    }
    Ok(response)
}

/// Whether this iteration's journey is still going.
fn going(user: &GooseUser) -> bool {
    user.get_session_data::<Session>()
        .is_some_and(|s| !s.failed)
}

async fn register(user: &mut GooseUser, urls: Arc<JourneyUrls>) -> TransactionResult {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let user_index = user.weighted_users_index;
    let iteration = user.get_iterations();
    let username = format!(
        "j{user_index}_{iteration}_{}",
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mail = format!("{username}@example.com");
    user.set_session_data(Session {
        username: username.clone(),
        token: None,
        failed: false,
        first_beer: ((user_index * 37 + iteration * 11) % BEERS as usize) as u32,
        started: Instant::now(),
    });
    send_form(
        user,
        GooseMethod::Post,
        &format!("{}/api/users/register", urls.users),
        REGISTER,
        200,
        &[
            ("username", &username),
            ("mail", &mail),
            ("first_name", "Jo"),
            ("last_name", "Urney"),
            ("password", JOURNEY_PASSWORD),
        ],
    )
    .await?;
    Ok(())
}

async fn login(user: &mut GooseUser, urls: Arc<JourneyUrls>) -> TransactionResult {
    if !going(user) {
        return Ok(());
    }
    let username = user
        .get_session_data_unchecked::<Session>()
        .username
        .clone();
    let mut response = send_form(
        user,
        GooseMethod::Post,
        &format!("{}/api/users/login", urls.users),
        LOGIN,
        200,
        &[("username", &username), ("password", JOURNEY_PASSWORD)],
    )
    .await?;
    if !response.request.success {
        return Ok(());
    }
    let token = match response.response {
        Ok(r) => r
            .json::<Value>()
            .await
            .ok()
            .and_then(|body| body["token"].as_str().map(str::to_owned)),
        Err(_) => None,
    };
    match token {
        Some(token) => {
            user.get_session_data_unchecked_mut::<Session>().token = Some(token);
            Ok(())
        }
        None => {
            user.get_session_data_unchecked_mut::<Session>().failed = true;
            user.set_failure("login answered no token", &mut response.request, None, None)
        }
    }
}

async fn list_beers(user: &mut GooseUser, urls: Arc<JourneyUrls>) -> TransactionResult {
    if going(user) {
        let url = format!("{}/api/beers", urls.beers);
        send_form(user, GooseMethod::Get, &url, LIST_BEERS, 200, &[]).await?;
    }
    Ok(())
}

/// Adds the `k`th of three different beers to the customer's open order.
async fn add_beer(user: &mut GooseUser, urls: Arc<JourneyUrls>, k: u32) -> TransactionResult {
    if going(user) {
        let first = user.get_session_data_unchecked::<Session>().first_beer;
        let sku = (FIRST_SKU + (first + 33 * k) % BEERS).to_string();
        let url = format!("{}/api/orders/current", urls.orders);
        let form = [("sku", sku.as_str()), ("quantity", "1")];
        send_form(user, GooseMethod::Put, &url, ADD_BEER, 201, &form).await?;
    }
    Ok(())
}

async fn checkout(user: &mut GooseUser, urls: Arc<JourneyUrls>) -> TransactionResult {
    if going(user) {
        let url = format!("{}/api/orders/checkout", urls.orders);
        let response = send_form(user, GooseMethod::Post, &url, CHECKOUT, 200, &[]).await?;
        if response.request.success {
            let started = user.get_session_data_unchecked::<Session>().started;
            lock(&urls.completed).push(started.elapsed());
        }
    }
    Ok(())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// What goose measured of the journey, read into the bench's rows, and the durations of
/// the completed journeys, shortest first.
struct JourneyMetrics(GooseMetrics, Vec<Duration>);

impl JourneyMetrics {
    fn aggregate(&self, name: &str) -> Option<&GooseRequestMetricAggregate> {
        self.0.requests.values().find(|a| a.path == name)
    }

    /// The requests of one step: all of them per second, their latency, the failed ones.
    fn step(&self, name: &str, expected: u16, seconds: u64) -> Load {
        let Some(a) = self.aggregate(name) else {
            return Load {
                p50_ms: f64::NAN,
                p99_ms: f64::NAN,
                ..Load::default()
            };
        };
        let total = (a.success_count + a.fail_count) as u64;
        let mut error_kinds = Vec::new();
        let mut explained = 0;
        let mut codes: Vec<_> = a.status_code_counts.iter().collect();
        codes.sort();
        for (&code, &n) in codes {
            if code != expected {
                explained += n;
                if code == 0 {
                    error_kinds.push(format!("no response x{n}"));
                } else {
                    error_kinds.push(format!("{code} x{n}"));
                }
            }
        }
        if a.fail_count > explained {
            error_kinds.push(format!(
                "{expected} with a bad body x{}",
                a.fail_count - explained
            ));
        }
        Load {
            rps: total as f64 / seconds as f64,
            p50_ms: percentile_ms(&a.raw_data.times, 0.50),
            p99_ms: percentile_ms(&a.raw_data.times, 0.99),
            errors: a.fail_count as u64,
            total,
            error_kinds,
        }
    }

    /// Whole journeys: successful checkouts per second, the time of one iteration, and
    /// the journeys a failed step cut short.
    fn complete(&self, seconds: u64) -> Load {
        let done = self.aggregate(CHECKOUT).map_or(0, |a| a.success_count) as u64;
        let failed: u64 = JOURNEY_STEPS
            .iter()
            .filter_map(|(name, _)| self.aggregate(name))
            .map(|a| a.fail_count as u64)
            .sum();
        let quantile_ms = |q: f64| {
            let rank = ((q * self.1.len() as f64).ceil() as usize).max(1);
            self.1
                .get(rank - 1)
                .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
        };
        Load {
            rps: done as f64 / seconds as f64,
            p50_ms: quantile_ms(0.50),
            p99_ms: quantile_ms(0.99),
            errors: failed,
            total: done + failed,
            error_kinds: Vec::new(),
        }
    }
}

/// The `q` quantile of goose's response times, kept as counts per (rounded) millisecond.
fn percentile_ms(times: &BTreeMap<usize, usize>, q: f64) -> f64 {
    let n: usize = times.values().sum();
    let rank = ((q * n as f64).ceil() as usize).max(1);
    let mut seen = 0;
    for (&ms, &count) in times {
        seen += count;
        if seen >= rank {
            return ms as f64;
        }
    }
    f64::NAN
}
