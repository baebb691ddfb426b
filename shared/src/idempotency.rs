//! Retries made safe: the `Idempotency-Key` header, and the stored answer a retry gets again.
//!
//! A write that takes a key runs in three steps (see [`IdempotencyKey::run`]):
//! 1. **Claim** the key in its own transaction: a new key is stored "in flight" with a lease;
//!    a key that already has an answer replays it (or is a 422 when the request differs); a
//!    key still in flight is a 409 with `Retry-After`, unless its lease ran out (the process
//!    that held it died or hung), in which case this request takes it over.
//! 2. **Work**: the handler's own steps; its write transaction also stores the answer
//!    ([`Claim::write`]), so the write is kept exactly when the key's answer is.
//! 3. **Settle**: a 4xx that wrote nothing is stored in a transaction of its own; a 5xx drops
//!    the claim, so the retry runs anew.
//!
//! Each service keeps its keys in its own database (table `idempotency_keys`, made by each
//! service's migration `2026-12-08-000006_idempotency_keys`).

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use rocket::http::{ContentType, Header, Status};
use rocket::request::{self, FromRequest};
use rocket::response::{self, Responder};
use rocket::{Request, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::db::{run, write_transaction, AnyConnection, DbError, Pool, StoreError};
use crate::error::{remember_guard_failure, ApiError};
use crate::input::Fields;

/// The request header that names a write so that its retries are recognised.
pub const HEADER: &str = "Idempotency-Key";

/// The response header on an answer that is a stored one, given again.
pub const REPLAYED_HEADER: &str = "Idempotency-Replayed";

/// How long a key's answer is given again: a key older than this is as good as new.
pub const RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

/// When a key is deleted: the retention and an hour, so no key is dropped while it counts.
pub const DELETED_AFTER: Duration = Duration::from_secs(25 * 60 * 60);

/// How long a claim holds its key before another request may take it over. A request that
/// outlives its lease is not harmful: its answer is stored only if it still holds the lease,
/// so its write then rolls back and it answers 409.
pub const LEASE: Duration = Duration::from_secs(10);

/// The longest key the header may carry.
pub const MAX_KEY_LENGTH: usize = 255;

/// One claim in this many deletes expired keys (at most [`CLEANUP_BATCH`] of them).
const CLEANUP_EVERY: u64 = 100;
const CLEANUP_BATCH: i64 = 500;

/// The caller of a write that needs no token (register): the key alone names the request.
pub const NO_CALLER: i64 = 0;

diesel::table! {
    idempotency_keys (caller_id, request_key) {
        caller_id -> BigInt,
        request_key -> Text,
        fingerprint -> Text,
        lease -> Text,
        status -> Nullable<Integer>,
        body -> Nullable<Text>,
        location -> Nullable<Text>,
        time_created -> Timestamp,
        time_locked -> Timestamp,
    }
}

/// Whether a header value is a key: 1–255 visible ASCII characters (no spaces).
pub fn is_valid_key(text: &str) -> bool {
    (1..=MAX_KEY_LENGTH).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic())
}

/// The 400 for a header that is not a key.
pub fn invalid_key() -> ApiError {
    ApiError::bad_request("The Idempotency-Key header is not a valid key").with_field(
        HEADER,
        format!("must be 1 to {MAX_KEY_LENGTH} visible ASCII characters, sent once"),
    )
}

/// The request guard: the request's `Idempotency-Key`, if it sent one, with the method and
/// target (path and query) it came with. A header that is not a key fails the request with
/// a 400 ([`invalid_key`]).
#[derive(Debug, Clone)]
pub struct IdempotencyKey(Option<KeyedRequest>);

#[derive(Debug, Clone)]
struct KeyedRequest {
    key: String,
    method: String,
    target: String,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for IdempotencyKey {
    type Error = ApiError;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, ApiError> {
        let mut values = req.headers().get(HEADER);
        let Some(key) = values.next() else {
            return request::Outcome::Success(IdempotencyKey(None));
        };
        if values.next().is_some() || !is_valid_key(key) {
            return request::Outcome::Error(remember_guard_failure(req, invalid_key()));
        }
        request::Outcome::Success(IdempotencyKey(Some(KeyedRequest {
            key: key.to_owned(),
            method: req.method().as_str().to_owned(),
            target: target_of(
                req.uri().path().as_str(),
                req.uri().query().map(|q| q.as_str()),
            ),
        })))
    }
}

/// The path (one spelling for `/x` and `/x/`, which every route treats alike) and query.
fn target_of(path: &str, query: Option<&str>) -> String {
    let path = match path.trim_end_matches('/') {
        "" => "/",
        trimmed => trimmed,
    };
    match query {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    }
}

/// What makes two requests "the same request": method, target and body.
fn fingerprint(method: &str, target: &str, body_digest: &[u8; 32]) -> String {
    let mut hash = Sha256::new();
    hash.update(method.as_bytes());
    hash.update(b"\n");
    hash.update(target.as_bytes());
    hash.update(b"\n");
    hash.update(body_digest);
    hex::encode(hash.finalize())
}

/// The SHA-256 of a body; no body is the empty one.
pub fn body_digest(body: &[u8]) -> [u8; 32] {
    Sha256::digest(body).into()
}

/// A service error, as far as keys need to see into it: the 4xx answer it is, if it is one
/// (those are stored and replayed); anything else is a 5xx, which is not.
pub trait ClientError {
    fn client_error(&self) -> Option<ApiError>;
}

impl ClientError for ApiError {
    fn client_error(&self) -> Option<ApiError> {
        (self.status.code < 500).then(|| self.clone())
    }
}

/// An answer that can be stored and given again: a status and a JSON body (or none), and the
/// `Location` of a created resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: Status,
    /// JSON text; empty for no body.
    pub body: String,
    pub location: Option<String>,
    /// Whether this is a stored answer given again (`Idempotency-Replayed: true`).
    pub replayed: bool,
}

impl Answer {
    pub fn json<T: Serialize>(status: Status, value: &T) -> Self {
        // Our own types always serialise; an empty body would be the sign if one did not.
        let body = serde_json::to_string(value).unwrap_or_default();
        Answer {
            status,
            body,
            location: None,
            replayed: false,
        }
    }

    pub fn empty(status: Status) -> Self {
        Answer {
            status,
            body: String::new(),
            location: None,
            replayed: false,
        }
    }

    pub fn with_location(mut self, location: impl Into<String>) -> Self {
        self.location = Some(location.into());
        self
    }

    fn of_error(error: &ApiError) -> Self {
        Self::json(error.status, &error.body())
    }
}

impl<'r> Responder<'r, 'static> for Answer {
    fn respond_to(self, _req: &'r Request<'_>) -> response::Result<'static> {
        let mut response = Response::build();
        response.status(self.status);
        if !self.body.is_empty() {
            response
                .header(ContentType::JSON)
                .sized_body(self.body.len(), std::io::Cursor::new(self.body));
        }
        if let Some(location) = self.location {
            response.header(Header::new("Location", location));
        }
        if self.replayed {
            response.header(Header::new(REPLAYED_HEADER, "true"));
        }
        response.ok()
    }
}

/// The right to answer a keyed request, held from the claim until the answer is stored; for
/// a request without a key, nothing (and [`Claim::write`] is then the work alone).
#[derive(Debug, Clone)]
pub struct Claim(Option<Arc<Held>>);

#[derive(Debug)]
struct Held {
    caller: i64,
    key: String,
    lease: String,
    /// Whether the answer was stored inside the work's transaction.
    recorded: AtomicBool,
}

/// What the claim found.
enum Claimed {
    Ours,
    Replay(Answer),
    Different,
    InFlight { retry_after: u64 },
}

impl IdempotencyKey {
    /// Runs a write under this key for `caller` (the token's user, or [`NO_CALLER`]), whose
    /// body is `body` (`None` for a route that reads none). `work` gets the [`Claim`] to pass
    /// to [`Claim::write`] around its write transaction. Without a key, `work` simply runs.
    pub async fn run<E, F, Fut>(
        self,
        pool: &Pool,
        caller: i64,
        body: Option<&Fields>,
        work: F,
    ) -> Result<Answer, E>
    where
        E: StoreError + ClientError + From<ApiError> + Send + 'static,
        F: FnOnce(Claim) -> Fut,
        Fut: Future<Output = Result<Answer, E>>,
    {
        let Some(request) = self.0 else {
            return work(Claim(None)).await;
        };
        let digest = body.map_or_else(|| body_digest(b""), Fields::body_digest);
        let fingerprint = fingerprint(&request.method, &request.target, &digest);
        let held = Arc::new(Held {
            caller,
            key: request.key,
            lease: uuid::Uuid::new_v4().simple().to_string(),
            recorded: AtomicBool::new(false),
        });
        clean_up_now_and_then(pool).await;
        let claimed = {
            let held = held.clone();
            run(pool, move |conn| {
                claim(conn, &held, &fingerprint, crate::time::now()).map_err(E::from)
            })
            .await?
        };
        match claimed {
            Claimed::Ours => {}
            Claimed::Replay(answer) => return Ok(answer),
            Claimed::Different => {
                return Err(ApiError::new(
                    Status::UnprocessableEntity,
                    "This Idempotency-Key was used for a different request",
                )
                .with_field(HEADER, "was sent before with another method, path or body")
                .into())
            }
            Claimed::InFlight { retry_after } => return Err(in_flight(retry_after).into()),
        }
        let result = work(Claim(Some(held.clone()))).await;
        settle(pool, held, result).await
    }
}

/// The 409 for a key whose first request is still running.
fn in_flight(retry_after: u64) -> ApiError {
    ApiError::conflict("A request with this Idempotency-Key is still running; try again")
        .with_header("Retry-After", retry_after.max(1).to_string())
}

impl Claim {
    /// No claim: for a write made without a key (or not over HTTP), [`Claim::write`] is the
    /// work alone.
    pub fn none() -> Self {
        Claim(None)
    }

    /// Runs `work` in one write transaction with the storing of its answer: the write is
    /// kept exactly when the answer is. Without a key, `work` runs as it is (its own store
    /// functions open their transactions). Store functions called inside `work` join this
    /// transaction (see [`write_transaction`]). An error of `work` rolls everything back.
    pub fn write<T, E>(
        &self,
        conn: &mut AnyConnection,
        work: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
    ) -> Result<T, E>
    where
        T: Outcome,
        E: From<DbError> + From<ApiError>,
    {
        let Some(held) = &self.0 else {
            return work(conn);
        };
        write_transaction(conn, |conn| {
            let outcome = work(conn)?;
            let Some(answer) = outcome.answer() else {
                return Ok(outcome);
            };
            if !record(conn, held, answer)? {
                // A retry took the key over after our lease ran out, and runs the work
                // itself: this one must not be kept.
                return Err(in_flight(1).into());
            }
            held.recorded.store(true, Ordering::Release);
            Ok(outcome)
        })
    }
}

/// What the work inside [`Claim::write`] ends with: the answer, or (`None`) nothing to
/// answer yet, when it wrote nothing and the handler will try again.
pub trait Outcome {
    fn answer(&self) -> Option<&Answer>;
}

impl Outcome for Answer {
    fn answer(&self) -> Option<&Answer> {
        Some(self)
    }
}

/// A value for the caller together with the answer it becomes.
impl<T> Outcome for (T, Answer) {
    fn answer(&self) -> Option<&Answer> {
        Some(&self.1)
    }
}

impl Outcome for Option<Answer> {
    fn answer(&self) -> Option<&Answer> {
        self.as_ref()
    }
}

/// The row of this caller's key.
fn this_key(held: &Held) -> KeyFilter<'_> {
    idempotency_keys::caller_id
        .eq(held.caller)
        .and(idempotency_keys::request_key.eq(held.key.as_str()))
}

type KeyFilter<'a> = diesel::dsl::And<
    diesel::dsl::Eq<idempotency_keys::caller_id, i64>,
    diesel::dsl::Eq<idempotency_keys::request_key, &'a str>,
>;

#[derive(Queryable)]
struct KeyRow {
    fingerprint: String,
    lease: String,
    status: Option<i32>,
    body: Option<String>,
    location: Option<String>,
    time_locked: NaiveDateTime,
}

/// Claims the key (see the module's steps), in a transaction of its own.
fn claim(
    conn: &mut AnyConnection,
    held: &Held,
    fingerprint: &str,
    now: NaiveDateTime,
) -> Result<Claimed, DbError> {
    use idempotency_keys::dsl as k;
    let key = || this_key(held);
    write_transaction(conn, |conn| {
        // An expired key is as if it had never been sent.
        diesel::delete(
            k::idempotency_keys
                .filter(key())
                .filter(k::time_created.lt(now - RETENTION)),
        )
        .execute(conn)?;
        let new_row = (
            k::caller_id.eq(held.caller),
            k::request_key.eq(held.key.as_str()),
            k::fingerprint.eq(fingerprint),
            k::lease.eq(held.lease.as_str()),
            k::time_created.eq(now),
            k::time_locked.eq(now),
        );
        // A concurrent first claim of the same key wins or loses here, on both backends.
        crate::on_backend!(conn, |c| diesel::insert_into(k::idempotency_keys)
            .values(new_row)
            .on_conflict_do_nothing()
            .execute(c))?;
        let row = k::idempotency_keys
            .filter(key())
            .select((
                k::fingerprint,
                k::lease,
                k::status,
                k::body,
                k::location,
                k::time_locked,
            ))
            .first::<KeyRow>(conn)?;
        if row.fingerprint != fingerprint {
            return Ok(Claimed::Different);
        }
        if let Some(status) = row.status {
            return Ok(Claimed::Replay(Answer {
                status: Status::new(status as u16),
                body: row.body.unwrap_or_default(),
                location: row.location,
                replayed: true,
            }));
        }
        if row.lease == held.lease {
            return Ok(Claimed::Ours);
        }
        let held_for = (now - row.time_locked).to_std().unwrap_or_default();
        if held_for < LEASE {
            let left = LEASE - held_for;
            return Ok(Claimed::InFlight {
                retry_after: left.as_secs() + u64::from(left.subsec_nanos() > 0),
            });
        }
        // The lease ran out: its holder's write was not kept (it could only be kept together
        // with the answer), so this request takes the key over and runs the work anew.
        let taken = diesel::update(
            k::idempotency_keys
                .filter(key())
                .filter(k::lease.eq(row.lease.as_str()))
                .filter(k::status.is_null()),
        )
        .set((k::lease.eq(held.lease.as_str()), k::time_locked.eq(now)))
        .execute(conn)?;
        Ok(if taken == 1 {
            Claimed::Ours
        } else {
            Claimed::InFlight { retry_after: 1 }
        })
    })
}

/// Stores the answer on the key, if this request still holds it; whether it did.
fn record(conn: &mut AnyConnection, held: &Held, answer: &Answer) -> Result<bool, DbError> {
    use idempotency_keys::dsl as k;
    let key = || this_key(held);
    let stored = diesel::update(
        k::idempotency_keys
            .filter(key())
            .filter(k::lease.eq(held.lease.as_str()))
            .filter(k::status.is_null()),
    )
    .set((
        k::status.eq(Some(i32::from(answer.status.code))),
        k::body.eq(Some(answer.body.as_str())),
        k::location.eq(answer.location.as_deref()),
    ))
    .execute(conn)?;
    Ok(stored == 1)
}

/// After the work: a 2xx is stored already (in the work's transaction); a 4xx is stored now
/// in a transaction of its own (it wrote nothing); a 5xx drops the claim. A failure to do so
/// leaves the claim to run out its lease.
async fn settle<E>(pool: &Pool, held: Arc<Held>, result: Result<Answer, E>) -> Result<Answer, E>
where
    E: StoreError + ClientError + Send + 'static,
{
    let answer = match &result {
        Ok(_) if held.recorded.load(Ordering::Acquire) => return result,
        Ok(answer) => Some(answer.clone()),
        Err(error) => error.client_error().map(|error| Answer::of_error(&error)),
    };
    let outcome = {
        let held = held.clone();
        run(pool, move |conn| -> Result<(), DbError> {
            write_transaction(conn, |conn| {
                match &answer {
                    Some(answer) => {
                        record(conn, &held, answer)?;
                    }
                    None => {
                        use idempotency_keys::dsl as k;
                        let key = || this_key(&held);
                        diesel::delete(
                            k::idempotency_keys
                                .filter(key())
                                .filter(k::lease.eq(held.lease.as_str()))
                                .filter(k::status.is_null()),
                        )
                        .execute(conn)?;
                    }
                }
                Ok(())
            })
        })
        .await
    };
    if let Err(error) = outcome {
        tracing::debug!(%error, key = %held.key, "the key's claim is left to run out its lease");
    }
    result
}

/// Deletes keys past [`DELETED_AFTER`], at most [`CLEANUP_BATCH`] at a time, on one claim in
/// [`CLEANUP_EVERY`] (and on a process's first), in a transaction of its own. A failure is
/// only logged: the next cleanup does the work.
async fn clean_up_now_and_then(pool: &Pool) {
    static CLAIMS: AtomicU64 = AtomicU64::new(0);
    if !CLAIMS
        .fetch_add(1, Ordering::Relaxed)
        .is_multiple_of(CLEANUP_EVERY)
    {
        return;
    }
    let cutoff = crate::time::now() - DELETED_AFTER;
    if let Err(error) = run(pool, move |conn| delete_expired(conn, cutoff)).await {
        tracing::warn!(%error, "expired idempotency keys could not be deleted");
    }
}

/// Deletes up to about [`CLEANUP_BATCH`] keys made before `cutoff`, oldest first; how many.
pub fn delete_expired(conn: &mut AnyConnection, cutoff: NaiveDateTime) -> Result<usize, DbError> {
    use idempotency_keys::dsl as k;
    write_transaction(conn, |conn| {
        let batch: Vec<NaiveDateTime> = k::idempotency_keys
            .filter(k::time_created.lt(cutoff))
            .select(k::time_created)
            .order(k::time_created.asc())
            .limit(CLEANUP_BATCH)
            .load(conn)?;
        let Some(last) = batch.last() else {
            return Ok(0);
        };
        Ok(diesel::delete(k::idempotency_keys.filter(k::time_created.le(*last))).execute(conn)?)
    })
}

/// The OpenAPI parameter every keyed write documents (`params(IdempotencyKeyHeader)`).
#[derive(utoipa::IntoParams)]
#[into_params(names("Idempotency-Key"), parameter_in = Header)]
#[allow(dead_code)]
pub struct IdempotencyKeyHeader(
    /// 1–255 visible ASCII characters, new for each intended write (a UUID will do). Within
    /// 24 h, a retry with the same key and the same request (method, path, body) gets the
    /// first answer again, with `Idempotency-Replayed: true`; with another request, 422; while
    /// the first still runs, 409 with `Retry-After`. A 5xx is not stored.
    Option<String>,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_one_to_255_visible_ascii_characters() {
        let long = "k".repeat(MAX_KEY_LENGTH);
        for good in [
            "a",
            "0b6c1c9e-5f0e-4d43-9d1c-7a4c1b0e2f11",
            "~!@#$%^&*()",
            &long,
        ] {
            assert!(is_valid_key(good), "{good}");
        }
        let too_long = "k".repeat(MAX_KEY_LENGTH + 1);
        for bad in ["", " ", "a b", "tab\there", "ключ", "é", &too_long] {
            assert!(!is_valid_key(bad), "{bad:?}");
        }
    }

    #[test]
    fn both_spellings_of_a_path_are_one_target_and_the_query_counts() {
        assert_eq!(target_of("/api/beers/", None), "/api/beers");
        assert_eq!(target_of("/api/beers", None), "/api/beers");
        assert_eq!(target_of("/", None), "/");
        assert_eq!(
            target_of("/api/orders/current/", Some("sku=1")),
            "/api/orders/current?sku=1"
        );
    }

    #[test]
    fn a_fingerprint_tells_method_target_and_body_apart() {
        let empty = body_digest(b"");
        let base = fingerprint("PUT", "/a", &empty);
        assert_eq!(base, fingerprint("PUT", "/a", &body_digest(b"")));
        assert_ne!(base, fingerprint("POST", "/a", &empty));
        assert_ne!(base, fingerprint("PUT", "/b", &empty));
        assert_ne!(base, fingerprint("PUT", "/a", &body_digest(b"x=1")));
    }

    /// The keys table as every service's migration makes it, in a fresh SQLite file.
    fn keys_database() -> (tempfile::TempDir, AnyConnection) {
        use diesel::connection::SimpleConnection;
        let dir = tempfile::tempdir().unwrap();
        let url = crate::db::DatabaseUrl::Sqlite(dir.path().join("keys.db"));
        let mut conn = crate::db::Manager::new(url, None).connect().unwrap();
        conn.batch_execute(include_str!(
            "../../orders/migrations/sqlite/2026-12-08-000006_idempotency_keys/up.sql"
        ))
        .unwrap();
        (dir, conn)
    }

    fn held(caller: i64, key: &str) -> Held {
        Held {
            caller,
            key: key.to_owned(),
            lease: uuid::Uuid::new_v4().to_string(),
            recorded: AtomicBool::new(false),
        }
    }

    fn at(seconds: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + seconds, 0)
            .unwrap()
            .naive_utc()
    }

    fn created() -> Answer {
        Answer::json(Status::Created, &serde_json::json!({"message": "done"})).with_location("/x/1")
    }

    #[test]
    fn a_claimed_key_is_busy_then_answers_again_and_refuses_another_request() {
        let (_dir, mut conn) = keys_database();
        let first = held(7, "k");
        assert!(matches!(
            claim(&mut conn, &first, "f", at(0)).unwrap(),
            Claimed::Ours
        ));
        let retry = held(7, "k");
        match claim(&mut conn, &retry, "f", at(3)).unwrap() {
            Claimed::InFlight { retry_after } => assert_eq!(retry_after, LEASE.as_secs() - 3),
            _ => panic!("the first request still holds the key"),
        }
        assert!(record(&mut conn, &first, &created()).unwrap());
        match claim(&mut conn, &retry, "f", at(5)).unwrap() {
            Claimed::Replay(answer) => {
                assert_eq!(
                    answer,
                    Answer {
                        replayed: true,
                        ..created()
                    }
                );
            }
            _ => panic!("a replay"),
        }
        assert!(matches!(
            claim(&mut conn, &retry, "another body", at(6)).unwrap(),
            Claimed::Different
        ));
        let other_caller = held(8, "k");
        assert!(matches!(
            claim(&mut conn, &other_caller, "another body", at(6)).unwrap(),
            Claimed::Ours
        ));
    }

    #[test]
    fn a_lease_that_ran_out_is_taken_over_and_its_holder_cannot_record() {
        let (_dir, mut conn) = keys_database();
        let stuck = held(1, "k");
        assert!(matches!(
            claim(&mut conn, &stuck, "f", at(0)).unwrap(),
            Claimed::Ours
        ));
        let retry = held(1, "k");
        let after_lease = at(LEASE.as_secs() as i64);
        assert!(matches!(
            claim(&mut conn, &retry, "f", after_lease).unwrap(),
            Claimed::Ours
        ));
        assert!(!record(&mut conn, &stuck, &created()).unwrap());
        assert!(record(&mut conn, &retry, &created()).unwrap());
    }

    #[test]
    fn a_key_past_the_retention_is_new_and_old_keys_are_deleted() {
        let (_dir, mut conn) = keys_database();
        let first = held(1, "k");
        claim(&mut conn, &first, "f", at(0)).unwrap();
        record(&mut conn, &first, &created()).unwrap();
        let much_later = at(RETENTION.as_secs() as i64 + 1);
        let again = held(1, "k");
        assert!(matches!(
            claim(&mut conn, &again, "another body", much_later).unwrap(),
            Claimed::Ours
        ));
        let other = held(2, "k");
        claim(&mut conn, &other, "f", at(10)).unwrap();
        assert_eq!(delete_expired(&mut conn, at(11)).unwrap(), 1);
        assert_eq!(delete_expired(&mut conn, at(11)).unwrap(), 0);
    }

    #[derive(Debug)]
    enum Failure {
        #[allow(dead_code)]
        Api(ApiError),
        #[allow(dead_code)]
        Db(DbError),
    }

    impl From<ApiError> for Failure {
        fn from(error: ApiError) -> Self {
            Failure::Api(error)
        }
    }

    impl From<DbError> for Failure {
        fn from(error: DbError) -> Self {
            Failure::Db(error)
        }
    }

    #[test]
    fn a_write_under_a_claim_is_kept_exactly_with_its_answer() {
        let (_dir, mut conn) = keys_database();
        let first = Arc::new(held(1, "k"));
        claim(&mut conn, &first, "f", at(0)).unwrap();
        let claim_of = Claim(Some(first.clone()));
        let failed: Result<Answer, Failure> =
            claim_of.write(&mut conn, |_| Err(ApiError::bad_request("no").into()));
        assert!(failed.is_err());
        assert!(!first.recorded.load(Ordering::Acquire));
        let answer = claim_of
            .write(&mut conn, |_| Ok::<_, Failure>(created()))
            .unwrap();
        assert_eq!(answer, created());
        assert!(first.recorded.load(Ordering::Acquire));
        let status: Option<i32> = idempotency_keys::table
            .select(idempotency_keys::status)
            .first(&mut conn)
            .unwrap();
        assert_eq!(status, Some(201));
    }

    #[test]
    fn only_client_errors_are_stored() {
        assert!(ApiError::bad_request("no").client_error().is_some());
        assert!(ApiError::conflict("no").client_error().is_some());
        assert!(ApiError::unavailable("beers").client_error().is_none());
        assert!(ApiError::internal().client_error().is_none());
    }
}
