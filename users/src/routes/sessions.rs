//! Sessions: logging in (a new token per login), logging out (revoking one token), and the
//! token check the other services ask.

use rocket::http::Status;
use rocket::request::{FromRequest, Outcome};
use rocket::serde::json::Json;
use rocket::{Request, State};
use serde::{Deserialize, Serialize};
use shared::client::ClientAddress;
use shared::db::{run, Pool};
use shared::dto::User;
use shared::error::ErrorBody;
use shared::headers::NoStore;
use shared::{ApiError, Fields};
use utoipa::ToSchema;

use crate::accounts::{self, Admission};
use crate::audit::{Audit, Event, Outcome as Audited};
use crate::domain::{retry_after_secs, LoginThrottle, Token, TokenHash};
use crate::error::Error;
use crate::hashing::Hashing;
use crate::store;
use crate::TokenPolicy;

/// The fields of a login (form or JSON).
#[allow(dead_code)]
#[derive(Deserialize, ToSchema)]
pub struct LoginFields {
    #[schema(example = "alice")]
    username: String,
    #[schema(example = "Secret123")]
    password: String,
}

/// A token given as a field (form or JSON).
#[allow(dead_code)]
#[derive(Deserialize, ToSchema)]
pub struct TokenFields {
    token: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenBody {
    /// Send it as `Authorization: <token>` or `Authorization: Bearer <token>`.
    #[schema(example = "Vb4o0mB3mVqQ3xk1X9m8m5pJ2Kc8QeW6xR7yT0aL1sE")]
    token: String,
}

const BAD_CREDENTIALS: &str = "Invalid username and / or password";
const TOO_MANY_FAILURES: &str = "Too many failed logins; try again later";
const UNKNOWN_TOKEN: &str = "The token is unknown, revoked or expired";

/// Checks the password and hands out a new token; every login gets its own.
#[utoipa::path(post, path = "/api/users/login", tag = "users",
    request_body(content(
        (LoginFields = "application/x-www-form-urlencoded"),
        (LoginFields = "application/json"))),
    responses(
        (status = 200, description = "A new token", body = TokenBody),
        (status = 400, description = "A field is missing", body = ErrorBody),
        (status = 413, description = "The body is larger than 64 KiB", body = ErrorBody),
        (status = 415, description = "The body is neither a form nor JSON", body = ErrorBody),
        (status = 404, description = "Unknown user or wrong password (the same answer)", body = ErrorBody),
        (status = 429, description = "Too many failed logins for this username or from this client; see Retry-After",
            body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds until a login is allowed again")))))]
#[rocket::post("/api/users/login", data = "<fields>")]
#[allow(clippy::too_many_arguments)]
pub async fn login(
    client: ClientAddress,
    audit: Audit<'_>,
    fields: Fields,
    pool: &State<Pool>,
    hashing: &State<Hashing>,
    policy: &State<TokenPolicy>,
    throttle: &State<LoginThrottle>,
) -> NoStore<Result<Json<TokenBody>, Error>> {
    NoStore(log_in(client, audit, fields, pool, hashing, policy, throttle).await)
}

/// The login itself; [`login`] answers it with `no-store`, the token being a secret.
async fn log_in(
    client: ClientAddress,
    audit: Audit<'_>,
    fields: Fields,
    pool: &State<Pool>,
    hashing: &State<Hashing>,
    policy: &State<TokenPolicy>,
    throttle: &State<LoginThrottle>,
) -> Result<Json<TokenBody>, Error> {
    let mut errors = fields.errors();
    let username = errors.required("username", fields.get("username"), |u| Ok(u.to_owned()));
    let password = errors.required("password", fields.get("password"), |p| Ok(p.to_owned()));
    let (Some(username), Some(password)) = (username, password) else {
        return Err(errors.into_error().into());
    };
    if !errors.is_empty() {
        return Err(errors.into_error().into());
    }

    // No account has a NUL in its name, and PostgreSQL could not even record the attempt.
    if username.contains('\0') {
        audit.record(
            Event::Login,
            Audited::Failure,
            &username,
            &client.to_string(),
        );
        return Err(ApiError::not_found(BAD_CREDENTIALS).into());
    }
    // The counts live in the database, so every replica of users enforces the same limits.
    let admission =
        accounts::admit_login(pool, *throttle.inner(), username.clone(), client).await?;
    let (attempt, account) = match admission {
        Admission::Check { attempt, account } => (attempt, account),
        Admission::Refused(wait) => {
            audit.record(
                Event::Login,
                Audited::Throttled,
                &username,
                &client.to_string(),
            );
            return Err(ApiError::new(Status::TooManyRequests, TOO_MANY_FAILURES)
                .with_header("Retry-After", retry_after_secs(wait).to_string())
                .into());
        }
    };
    let stored_hash = account.as_ref().map(|row| row.password_hash.clone());
    // An unknown username is verified against a dummy hash: same work, same answer.
    let verified = hashing.verify(password, stored_hash).await?;
    // A failed attempt stays recorded: it is the failure the throttle counts.
    let Some(account) = account.filter(|_| verified) else {
        audit.record(
            Event::Login,
            Audited::Failure,
            &username,
            &client.to_string(),
        );
        return Err(ApiError::not_found(BAD_CREDENTIALS).into());
    };

    let token = Token::generate();
    let expires = shared::time::now() + policy.ttl;
    accounts::record_login(
        pool,
        *throttle.inner(),
        attempt,
        account.id,
        client,
        token.hash(),
        expires,
    )
    .await?;
    audit.record(
        Event::Login,
        Audited::Success,
        &username,
        &client.to_string(),
    );
    Ok(Json(TokenBody {
        token: token.as_str().to_owned(),
    }))
}

/// A token from the `token` field, else from the `Authorization` header.
fn presented_token(fields: &Fields, header: &AuthorizationToken) -> Result<TokenHash, Error> {
    let token = fields
        .get("token")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .or(header.0.as_deref());
    match token {
        Some(token) => Ok(TokenHash::of(token)),
        None => Err(ApiError::invalid_field("token", "is required").into()),
    }
}

/// The token of an `Authorization` header, if the request has one.
pub struct AuthorizationToken(Option<String>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AuthorizationToken {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let token = shared::auth::token_from_header(req.headers().get_one("Authorization"))
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        Outcome::Success(AuthorizationToken(token))
    }
}

/// Revokes the token given, and only that one.
#[utoipa::path(post, path = "/api/users/logout", tag = "users",
    request_body(description = "`token`, or the token in the Authorization header", content(
        (TokenFields = "application/x-www-form-urlencoded"),
        (TokenFields = "application/json"))),
    responses(
        (status = 200, description = "The token is revoked", body = bool, content_type = "application/json", example = json!(true)),
        (status = 400, description = "No token given", body = ErrorBody),
        (status = 413, description = "The body is larger than 64 KiB", body = ErrorBody),
        (status = 415, description = "The body is neither a form nor JSON", body = ErrorBody),
        (status = 404, description = "Unknown, revoked or expired token", body = ErrorBody)))]
#[rocket::post("/api/users/logout", data = "<fields>")]
pub async fn logout(
    header: AuthorizationToken,
    client: ClientAddress,
    audit: Audit<'_>,
    fields: Fields,
    pool: &State<Pool>,
) -> Result<Json<bool>, Error> {
    let hash = presented_token(&fields, &header)?;
    let ended = run(pool, move |conn| store::end_session(conn, &hash)).await?;
    if let Some(owner) = ended {
        audit.record(
            Event::Logout,
            Audited::Success,
            &owner.username,
            &client.to_string(),
        );
        Ok(Json(true))
    } else {
        Err(ApiError::not_found(UNKNOWN_TOKEN).into())
    }
}

/// The account a token belongs to, while the token is valid.
#[utoipa::path(post, path = "/api/users/check_token", tag = "users",
    request_body(description = "`token`, or the token in the Authorization header", content(
        (TokenFields = "application/x-www-form-urlencoded"),
        (TokenFields = "application/json"))),
    responses(
        (status = 200, description = "The token's owner", body = User),
        (status = 400, description = "No token given", body = ErrorBody),
        (status = 413, description = "The body is larger than 64 KiB", body = ErrorBody),
        (status = 415, description = "The body is neither a form nor JSON", body = ErrorBody),
        (status = 404, description = "Unknown, revoked or expired token", body = ErrorBody)))]
#[rocket::post("/api/users/check_token", data = "<fields>")]
pub async fn check_token(
    header: AuthorizationToken,
    fields: Fields,
    pool: &State<Pool>,
) -> NoStore<Result<Json<User>, Error>> {
    NoStore(token_owner(header, fields, pool).await)
}

/// The check itself; [`check_token`] answers it with `no-store`.
async fn token_owner(
    header: AuthorizationToken,
    fields: Fields,
    pool: &State<Pool>,
) -> Result<Json<User>, Error> {
    let hash = presented_token(&fields, &header)?;
    match run(pool, move |conn| store::user_by_token(conn, &hash)).await? {
        Some(row) => Ok(Json(row.to_user())),
        None => Err(ApiError::new(Status::NotFound, UNKNOWN_TOKEN).into()),
    }
}
