//! The journey as a goose scenario: one transaction per step, one customer per iteration.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use goose::config::GooseConfiguration;
use goose::goose::GooseResponse;
use goose::prelude::*;
use serde_json::Value;

use crate::rows::Measured;
use crate::BoxError;

/// The journey's requests as goose names them, with the status each must answer.
pub const REGISTER: &str = "journey 1 register";
pub const LOGIN: &str = "journey 2 login";
pub const LIST_BEERS: &str = "journey 3 list beers";
pub const ADD_BEER: &str = "journey 4 add beer";
pub const CHECKOUT: &str = "journey 5 checkout";
pub const STEPS: [(&str, u16); 5] = [
    (REGISTER, 200),
    (LOGIN, 200),
    (LIST_BEERS, 200),
    (ADD_BEER, 201),
    (CHECKOUT, 200),
];
const PASSWORD: &str = "Journey12345";

/// What the goose users share: where their requests go, the catalogue, and the durations of
/// the journeys they completed. The services listen on different ports, so every request
/// names its absolute URL (goose sends a URL that has a host as it is).
pub struct Trio {
    pub users: String,
    pub beers: String,
    pub orders: String,
    pub first_sku: u32,
    pub skus: u32,
}

struct Shared {
    trio: Trio,
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

type StepFuture<'r> = Pin<Box<dyn Future<Output = TransactionResult> + Send + 'r>>;

/// Runs the journey with goose for `seconds`, one goose user per unit of concurrency.
pub async fn run(trio: Trio, seconds: u64, concurrency: u64) -> Result<Measured, BoxError> {
    let shared = Arc::new(Shared {
        trio,
        completed: Mutex::new(Vec::new()),
    });
    // One transaction per step, in sequence, so a user told to stop at the end of the run
    // finishes at most one request, not a whole journey.
    let step =
        |sequence: usize, name: &str, run: fn(&mut GooseUser, Arc<Shared>) -> StepFuture<'_>| {
            let shared = shared.clone();
            Transaction::new(Arc::new(move |user| run(user, shared.clone())))
                .set_sequence(sequence)
                .set_name(name)
        };
    let scenario = Scenario::new("journey")
        .register_transaction(step(1, "register", |u, s| Box::pin(register(u, s))))
        .register_transaction(step(2, "login", |u, s| Box::pin(login(u, s))))
        .register_transaction(step(3, "list beers", |u, s| Box::pin(list_beers(u, s))))
        .register_transaction(step(4, "add beer 1", |u, s| Box::pin(add_beer(u, s, 0))))
        .register_transaction(step(5, "add beer 2", |u, s| Box::pin(add_beer(u, s, 1))))
        .register_transaction(step(6, "add beer 3", |u, s| Box::pin(add_beer(u, s, 2))))
        .register_transaction(step(7, "checkout", |u, s| Box::pin(checkout(u, s))));
    // All users start within a quarter of a second; goose resets its metrics once they have,
    // and then runs for `seconds`.
    let hatch_rate = (concurrency * 4).to_string();
    let metrics = GooseAttack::initialize_with_config(GooseConfiguration::default())?
        .register_scenario(scenario)
        .set_default(GooseDefault::Host, shared.trio.users.as_str())?
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
    let mut completed = std::mem::take(&mut *lock(&shared.completed));
    completed.sort();
    Ok(Measured::new(metrics, completed))
}

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

async fn register(user: &mut GooseUser, shared: Arc<Shared>) -> TransactionResult {
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
        first_beer: ((user_index * 37 + iteration * 11) % shared.trio.skus as usize) as u32,
        started: Instant::now(),
    });
    send_form(
        user,
        GooseMethod::Post,
        &format!("{}/api/users/register", shared.trio.users),
        REGISTER,
        200,
        &[
            ("username", &username),
            ("mail", &mail),
            ("first_name", "Jo"),
            ("last_name", "Urney"),
            ("password", PASSWORD),
        ],
    )
    .await?;
    Ok(())
}

async fn login(user: &mut GooseUser, shared: Arc<Shared>) -> TransactionResult {
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
        &format!("{}/api/users/login", shared.trio.users),
        LOGIN,
        200,
        &[("username", &username), ("password", PASSWORD)],
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

async fn list_beers(user: &mut GooseUser, shared: Arc<Shared>) -> TransactionResult {
    if going(user) {
        let url = format!("{}/api/beers", shared.trio.beers);
        send_form(user, GooseMethod::Get, &url, LIST_BEERS, 200, &[]).await?;
    }
    Ok(())
}

/// Adds the `k`th of three different beers to the customer's open order.
async fn add_beer(user: &mut GooseUser, shared: Arc<Shared>, k: u32) -> TransactionResult {
    if going(user) {
        let first = user.get_session_data_unchecked::<Session>().first_beer;
        let trio = &shared.trio;
        let sku = (trio.first_sku + (first + 33 * k) % trio.skus).to_string();
        let url = format!("{}/api/orders/current", trio.orders);
        let form = [("sku", sku.as_str()), ("quantity", "1")];
        send_form(user, GooseMethod::Put, &url, ADD_BEER, 201, &form).await?;
    }
    Ok(())
}

async fn checkout(user: &mut GooseUser, shared: Arc<Shared>) -> TransactionResult {
    if going(user) {
        let url = format!("{}/api/orders/checkout", shared.trio.orders);
        let response = send_form(user, GooseMethod::Post, &url, CHECKOUT, 200, &[]).await?;
        if response.request.success {
            let started = user.get_session_data_unchecked::<Session>().started;
            lock(&shared.completed).push(started.elapsed());
        }
    }
    Ok(())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
