//! Typed HTTP clients for the neighbours: users (token check) and beers (a beer by SKU).
//! One `reqwest::Client` per process, shared by both, so connections are pooled and reused.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use rocket::tokio::sync::Semaphore;
use rocket_prometheus::prometheus::{IntCounterVec, Opts};

use crate::config::UpstreamSettings;
use crate::dto::{Beer, User};
use crate::error::ApiError;
use crate::request::{RequestId, REQUEST_ID_HEADER};
use crate::sku::Sku;

/// A neighbour could not be used: refused, timed out, answered 5xx or something unreadable.
#[derive(Debug, thiserror::Error)]
#[error("{service} service unavailable: {cause}")]
pub struct Unavailable {
    pub service: &'static str,
    pub cause: String,
    /// The request that needed the neighbour, for the log line.
    pub request_id: String,
}

impl From<Unavailable> for ApiError {
    fn from(error: Unavailable) -> Self {
        tracing::warn!(
            request_id = %error.request_id,
            service = error.service,
            cause = %error.cause,
            "neighbour unavailable"
        );
        ApiError::unavailable(error.service)
    }
}

/// Calls to neighbours by `target` (users, beers) and `outcome` (ok, 4xx, 5xx, timeout,
/// refused, error, saturated: no free slot within the timeout). Every service's `/metrics` includes it.
pub static UPSTREAM_CALLS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    IntCounterVec::new(
        Opts::new(
            "brewery_upstream_calls_total",
            "Calls to neighbouring services",
        ),
        &["target", "outcome"],
    )
    .unwrap_or_else(|e| unreachable!("constant metric options are valid: {e}"))
});

fn count(target: &str, outcome: &str) {
    UPSTREAM_CALLS.with_label_values(&[target, outcome]).inc();
}

/// The process-wide HTTP client, with the upstream timeout applied to every call.
pub fn http_client(settings: &UpstreamSettings) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout)
        .pool_idle_timeout(std::time::Duration::from_secs(30))
        .build()
}

/// One neighbour: where it is, and the calls to it that may be in flight at once. Without
/// that bound a burst (32 checkouts of a 99-line order asking beers for every line at once)
/// opened thousands of connections and grew both services by tens of megabytes.
#[derive(Debug, Clone)]
struct Neighbour {
    service: &'static str,
    http: reqwest::Client,
    base: String,
    slots: Arc<Semaphore>,
    /// How long a call waits for a free slot before the neighbour counts as unavailable.
    patience: Duration,
}

impl Neighbour {
    fn new(
        service: &'static str,
        http: reqwest::Client,
        base_url: &str,
        settings: &UpstreamSettings,
    ) -> Self {
        Neighbour {
            service,
            http,
            base: base_url.trim_end_matches('/').to_owned(),
            slots: Arc::new(Semaphore::new(settings.max_connections)),
            patience: settings.timeout,
        }
    }
}

/// Users' recent "this token is valid" answers, kept for `TOKEN_CACHE_MS` (off by default).
/// Only valid tokens are kept, so a flood of made-up tokens neither fills it nor is answered
/// from it; the price is that a logout or an expiry reaches this service up to that long
/// later.
#[derive(Debug)]
struct TokenCache {
    keep_for: Duration,
    entries: Mutex<HashMap<String, (User, Instant)>>,
}

impl TokenCache {
    /// Most tokens kept at once; when full, expired entries go, and if none had expired,
    /// all of them (they are only a shortcut).
    const CAPACITY: usize = 10_000;

    fn get(&self, token: &str) -> Option<User> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(token)
            .filter(|(_, at)| at.elapsed() < self.keep_for)
            .map(|(user, _)| user.clone())
    }

    fn put(&self, token: &str, user: &User) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= Self::CAPACITY {
            entries.retain(|_, (_, at)| at.elapsed() < self.keep_for);
            if entries.len() >= Self::CAPACITY {
                entries.clear();
            }
        }
        entries.insert(token.to_owned(), (user.clone(), Instant::now()));
    }
}

#[derive(Debug, Clone)]
pub struct UsersClient {
    neighbour: Neighbour,
    /// `{USERS_URL}/api/users/check_token`, parsed once rather than on every call (it was
    /// 4 % of orders' CPU in `GET /api/orders/current`); the error when it is no URL.
    check_token_url: Result<reqwest::Url, String>,
    cache: Option<Arc<TokenCache>>,
}

impl UsersClient {
    /// A client for users at `settings.users_url`.
    pub fn new(http: reqwest::Client, settings: &UpstreamSettings) -> Self {
        let cache = (!settings.token_cache.is_zero()).then(|| {
            Arc::new(TokenCache {
                keep_for: settings.token_cache,
                entries: Mutex::new(HashMap::new()),
            })
        });
        let neighbour = Neighbour::new("users", http, &settings.users_url, settings);
        let check_token_url =
            reqwest::Url::parse(&format!("{}/api/users/check_token", neighbour.base))
                .map_err(|e| format!("USERS_URL is not a URL ({e})"));
        UsersClient {
            neighbour,
            check_token_url,
            cache,
        }
    }

    /// The user a token belongs to; `None` when users does not know the token (or it expired).
    pub async fn check_token(
        &self,
        token: &str,
        request_id: &RequestId,
    ) -> Result<Option<User>, Unavailable> {
        if let Some(user) = self.cache.as_ref().and_then(|cache| cache.get(token)) {
            return Ok(Some(user));
        }
        let answer = self.ask(token, request_id).await?;
        if let (Some(cache), Some(user)) = (&self.cache, &answer) {
            cache.put(token, user);
        }
        Ok(answer)
    }

    async fn ask(&self, token: &str, request_id: &RequestId) -> Result<Option<User>, Unavailable> {
        let url = self.check_token_url.clone().map_err(|cause| Unavailable {
            service: self.neighbour.service,
            cause,
            request_id: request_id.0.clone(),
        })?;
        let request = self
            .neighbour
            .http
            .post(url)
            .header(REQUEST_ID_HEADER, &request_id.0)
            .form(&[("token", token)]);
        fetch(
            &self.neighbour,
            request,
            &[StatusCode::NOT_FOUND, StatusCode::BAD_REQUEST],
            request_id,
        )
        .await
    }
}

#[derive(Debug, Clone)]
pub struct BeersClient(Neighbour);

impl BeersClient {
    /// A client for beers at `settings.beers_url`.
    pub fn new(http: reqwest::Client, settings: &UpstreamSettings) -> Self {
        BeersClient(Neighbour::new("beers", http, &settings.beers_url, settings))
    }

    /// The beer with this SKU as the catalogue has it now; `None` when there is none.
    pub async fn beer(
        &self,
        sku: &Sku,
        request_id: &RequestId,
    ) -> Result<Option<Beer>, Unavailable> {
        // A SKU's characters need no escaping in a path or a query.
        let request = self
            .0
            .http
            .get(format!("{}/api/beers/{sku}", self.0.base))
            .header(REQUEST_ID_HEADER, &request_id.0);
        fetch(&self.0, request, &[StatusCode::NOT_FOUND], request_id).await
    }

    /// The beers with these SKUs as the catalogue has them now; SKUs with no beer are left
    /// out. One call for up to 1,000 SKUs (more if their query would be over 16 KiB: beers
    /// takes at most 1,000 per call, and URLs must stay well under the server's limit).
    pub async fn beers(
        &self,
        skus: &[&Sku],
        request_id: &RequestId,
    ) -> Result<Vec<Beer>, Unavailable> {
        const MAX_SKUS: usize = 1000;
        const MAX_QUERY_BYTES: usize = 16 * 1024;
        let mut found = Vec::with_capacity(skus.len());
        let mut rest = skus;
        while !rest.is_empty() {
            let mut query = String::new();
            let mut taken = 0;
            for sku in rest.iter().take(MAX_SKUS) {
                let sku = sku.as_str();
                if taken > 0 && query.len() + sku.len() + 5 > MAX_QUERY_BYTES {
                    break;
                }
                query.push_str("sku=");
                query.push_str(sku);
                query.push('&');
                taken += 1;
            }
            query.push_str(&format!("limit={taken}"));
            let request = self
                .0
                .http
                .get(format!("{}/api/beers/?{query}", self.0.base))
                .header(REQUEST_ID_HEADER, &request_id.0);
            let beers: Option<Vec<Beer>> = fetch(&self.0, request, &[], request_id).await?;
            found.extend(beers.unwrap_or_default());
            rest = &rest[taken..];
        }
        Ok(found)
    }
}

/// Sends a request and reads a 200 body as `T`; the statuses in `absent` mean "no such thing".
/// Everything else (no answer, 5xx, an unexpected status, a body that does not parse) is
/// the neighbour being unusable. Both calls are idempotent reads, so a refused connection or
/// a 5xx is tried once more after a short, jittered pause (a neighbour restarting, a replica
/// going away); a timeout is not, as it has used up the caller's patience already.
async fn fetch<T: serde::de::DeserializeOwned>(
    neighbour: &Neighbour,
    request: reqwest::RequestBuilder,
    absent: &[StatusCode],
    request_id: &RequestId,
) -> Result<Option<T>, Unavailable> {
    const ATTEMPTS: u32 = 2;
    let service = neighbour.service;
    let unavailable = |cause: String| Unavailable {
        service,
        cause,
        request_id: request_id.0.clone(),
    };
    let mut attempt = 1;
    loop {
        let this_try = request
            .try_clone()
            .ok_or_else(|| unavailable("the request cannot be repeated".into()))?;
        let slot = rocket::tokio::time::timeout(neighbour.patience, neighbour.slots.acquire());
        let Ok(Ok(_slot)) = slot.await else {
            count(service, "saturated");
            return Err(unavailable(format!(
                "no free connection slot within {} ms",
                neighbour.patience.as_millis()
            )));
        };
        match fetch_once(service, this_try, absent).await {
            Err(Failure::Transient(cause)) if attempt < ATTEMPTS => {
                tracing::debug!(request_id = %request_id.0, service, %cause, attempt, "retrying a call to a neighbour");
                rocket::tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
            Err(Failure::Transient(cause) | Failure::Final(cause)) => {
                return Err(unavailable(cause))
            }
            Ok(found) => return Ok(found),
        }
    }
}

enum Failure {
    /// Worth one more try: refused, reset, or a 5xx.
    Transient(String),
    Final(String),
}

/// 25–50 ms, doubling per attempt; the jitter keeps many callers from retrying in step.
fn backoff(attempt: u32) -> std::time::Duration {
    let jitter = u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |t| t.subsec_nanos())
            % 25,
    );
    std::time::Duration::from_millis((25 + jitter) << (attempt - 1).min(4))
}

async fn fetch_once<T: serde::de::DeserializeOwned>(
    service: &'static str,
    request: reqwest::RequestBuilder,
    absent: &[StatusCode],
) -> Result<Option<T>, Failure> {
    let response = match request.send().await {
        Ok(response) => response,
        Err(error) if error.is_timeout() => {
            count(service, "timeout");
            return Err(Failure::Final(describe(&error)));
        }
        Err(error) => {
            count(
                service,
                if error.is_connect() {
                    "refused"
                } else {
                    "error"
                },
            );
            return Err(Failure::Transient(describe(&error)));
        }
    };
    let status = response.status();
    count(
        service,
        match status.as_u16() {
            200..=299 => "ok",
            400..=499 => "4xx",
            500..=599 => "5xx",
            _ => "error",
        },
    );
    if absent.contains(&status) {
        // Our neighbours say "no such thing" in JSON; an HTML 404 means USERS_URL or
        // BEERS_URL points at something else, which is a misconfiguration, not an answer.
        let is_json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        return if is_json {
            Ok(None)
        } else {
            Err(Failure::Final(format!("answered {status} without JSON")))
        };
    }
    if status.is_server_error() {
        return Err(Failure::Transient(format!("answered {status}")));
    }
    if status != StatusCode::OK {
        return Err(Failure::Final(format!("answered {status}")));
    }
    response
        .json::<T>()
        .await
        .map(Some)
        .map_err(|e| Failure::Final(format!("unreadable answer: {}", describe(&e))))
}

fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut text = format!("{kind}: {error}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn backoff_is_short_jittered_and_grows() {
        for attempt in 1..4 {
            let wait = backoff(attempt).as_millis();
            let base = 25u128 << (attempt - 1);
            assert!((base..base * 2).contains(&wait), "{attempt}: {wait}");
        }
    }
}
