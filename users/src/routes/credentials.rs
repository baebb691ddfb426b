//! A signed-in person's own credentials: changing the password (which ends every other
//! session) and logging out everywhere. Both take the token in `Authorization`, as beers and
//! orders do: a missing header is a 400, an unknown, revoked or expired token a 401 (unlike
//! `logout` and `check_token`, whose 404 for an unknown token the reference fixed).

use rocket::http::Status;
use rocket::request::{FromRequest, Outcome};
use rocket::serde::json::Json;
use rocket::{Request, State};
use serde::Deserialize;
use shared::db::{run, Pool};
use shared::error::{remember_guard_failure, ErrorBody};
use shared::{ApiError, Fields};
use utoipa::ToSchema;

use crate::accounts::{self, Admission};
use crate::audit::{Audit, Event, Outcome as Audited};
use crate::domain::{retry_after_secs, LoginThrottle, Password, TokenHash};
use crate::error::Error;
use crate::hashing::Hashing;
use crate::store::{self, UserRow};
use shared::client::ClientAddress;

const UNKNOWN_TOKEN: &str = "The token is unknown, revoked or expired";
const WRONG_PASSWORD: &str = "The current password is wrong";
const TOO_MANY_FAILURES: &str = "Too many failed logins; try again later";
pub(crate) const SAME_PASSWORD: &str = "must differ from the current password";

/// The fields of a password change (form or JSON).
#[allow(dead_code)]
#[derive(Deserialize, ToSchema)]
pub struct PasswordChangeFields {
    /// The current password.
    #[schema(example = "Secret123")]
    password: String,
    /// The new one: the same rules as at registration.
    #[schema(example = "Another-long-secret")]
    new_password: String,
}

/// The token of the `Authorization` header: 400 when the header is missing, 401 when it holds
/// no token. Whether the token is valid is the handler's question (it needs the database).
pub struct SessionToken(TokenHash);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for SessionToken {
    type Error = ApiError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ApiError> {
        let error = match shared::auth::token_from_header(req.headers().get_one("Authorization")) {
            Some(token) if !token.is_empty() => {
                return Outcome::Success(SessionToken(TokenHash::of(token)))
            }
            Some(_) => ApiError::unauthorized("The Authorization header holds no token"),
            None => ApiError::bad_request("The Authorization header is missing"),
        };
        Outcome::Error(remember_guard_failure(req, error))
    }
}

/// The account of a live token, else 401.
async fn session_owner(pool: &Pool, token: &TokenHash) -> Result<UserRow, Error> {
    let hash = token.clone();
    match run(pool, move |conn| store::user_by_token(conn, &hash)).await? {
        Some(row) => Ok(row),
        None => Err(ApiError::unauthorized(UNKNOWN_TOKEN).into()),
    }
}

/// Changes the password after checking the current one, and ends every other session of the
/// account in the same transaction; the calling session stays. A wrong current password counts
/// as a failed login of the account, from this client, for the login throttle.
#[utoipa::path(post, path = "/api/users/password", tag = "users",
    security(("token" = [])),
    request_body(content(
        (PasswordChangeFields = "application/x-www-form-urlencoded"),
        (PasswordChangeFields = "application/json"))),
    responses(
        (status = 200, description = "Changed; every other session has ended", body = bool, content_type = "application/json", example = json!(true)),
        (status = 400, description = "No Authorization header, or invalid fields (all of them at once)", body = ErrorBody),
        (status = 401, description = "Unknown, revoked or expired token", body = ErrorBody),
        (status = 403, description = "The current password is wrong", body = ErrorBody),
        (status = 413, description = "The body is larger than 64 KiB", body = ErrorBody),
        (status = 415, description = "The body is neither a form nor JSON", body = ErrorBody),
        (status = 429, description = "Too many failed logins for this account or from this client; see Retry-After",
            body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds until an attempt is allowed again")))))]
#[rocket::post("/api/users/password", data = "<fields>")]
#[allow(clippy::too_many_arguments)]
pub async fn change_password(
    token: SessionToken,
    client: ClientAddress,
    audit: Audit<'_>,
    fields: Fields,
    pool: &State<Pool>,
    hashing: &State<Hashing>,
    throttle: &State<LoginThrottle>,
) -> Result<Json<bool>, Error> {
    let owner = session_owner(pool, &token.0).await?;

    let mut errors = fields.errors();
    let current = errors.required("password", fields.get("password"), |p| {
        if p.is_empty() {
            Err("is required".to_owned())
        } else {
            Ok(p.to_owned())
        }
    });
    let new = errors.required("new_password", fields.get("new_password"), Password::parse);
    if let (Some(current), Some(new)) = (&current, &new) {
        let same = current == new.expose()
            || Password::parse(current).is_ok_and(|current| current.expose() == new.expose());
        if same {
            errors.add("new_password", SAME_PASSWORD);
        }
    }
    let (Some(current), Some(new), true) = (current, new, errors.is_empty()) else {
        return Err(errors.into());
    };

    let username = owner.username.clone();
    let admission =
        accounts::admit_login(pool, *throttle.inner(), username.clone(), client).await?;
    let (attempt, account) = match admission {
        Admission::Check { attempt, account } => (attempt, account),
        Admission::Refused(wait) => {
            audit.record(
                Event::PasswordChange,
                Audited::Throttled,
                &username,
                &client.to_string(),
            );
            return Err(ApiError::new(Status::TooManyRequests, TOO_MANY_FAILURES)
                .with_header("Retry-After", retry_after_secs(wait).to_string())
                .into());
        }
    };
    let stored_hash = account.unwrap_or(owner).password_hash;
    // A failed check stays recorded: it is a failure the login throttle counts.
    if !hashing.verify(current, Some(stored_hash)).await? {
        audit.record(
            Event::PasswordChange,
            Audited::Failure,
            &username,
            &client.to_string(),
        );
        return Err(ApiError::new(Status::Forbidden, WRONG_PASSWORD).into());
    }

    let new_hash = hashing.hash(new.expose().to_owned()).await?;
    let keep = token.0.clone();
    let changed = run(pool, move |conn| {
        store::forget_attempt(conn, attempt)?;
        store::change_password(conn, &keep, &new_hash)
    })
    .await?;
    if !changed {
        // The calling session ended (a logout everywhere) while the password was checked.
        return Err(ApiError::unauthorized(UNKNOWN_TOKEN).into());
    }
    audit.record(
        Event::PasswordChange,
        Audited::Success,
        &username,
        &client.to_string(),
    );
    Ok(Json(true))
}

/// Ends every session of the account, the calling one too.
#[utoipa::path(post, path = "/api/users/logout_all", tag = "users",
    security(("token" = [])),
    responses(
        (status = 200, description = "Every session of the account has ended", body = bool, content_type = "application/json", example = json!(true)),
        (status = 400, description = "No Authorization header", body = ErrorBody),
        (status = 401, description = "Unknown, revoked or expired token", body = ErrorBody)))]
#[rocket::post("/api/users/logout_all")]
pub async fn logout_all(
    token: SessionToken,
    client: ClientAddress,
    audit: Audit<'_>,
    pool: &State<Pool>,
) -> Result<Json<bool>, Error> {
    let hash = token.0;
    let ended = run(pool, move |conn| store::end_every_session(conn, &hash)).await?;
    match ended {
        Some(owner) => {
            audit.record(
                Event::LogoutAll,
                Audited::Success,
                &owner.username,
                &client.to_string(),
            );
            Ok(Json(true))
        }
        None => Err(ApiError::unauthorized(UNKNOWN_TOKEN).into()),
    }
}
