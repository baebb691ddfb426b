//! Registering accounts and asking whether a username exists.

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::State;
use serde::Deserialize;
use shared::db::{run, Pool};
use shared::dto::User;
use shared::error::ErrorBody;
use shared::idempotency::{Answer, Claim, IdempotencyKey, IdempotencyKeyHeader, NO_CALLER};
use shared::{ApiError, Fields, QueryFields};
use utoipa::ToSchema;

use crate::accounts::{self, NewUser, Role};
use crate::error::Error;
use crate::hashing::Hashing;
use crate::store;

/// The fields of a registration (form or JSON).
#[allow(dead_code)]
#[derive(Deserialize, ToSchema)]
pub struct RegistrationFields {
    #[schema(example = "alice")]
    username: String,
    #[schema(example = "alice@example.com")]
    mail: String,
    #[schema(example = "Alice")]
    first_name: String,
    #[schema(example = "Smith")]
    last_name: String,
    #[schema(example = "Secret123")]
    password: String,
}

/// Creates an account (never an administrator).
#[utoipa::path(post, path = "/api/users/register", tag = "users",
    params(IdempotencyKeyHeader),
    request_body(content(
        (RegistrationFields = "application/x-www-form-urlencoded"),
        (RegistrationFields = "application/json"))),
    responses(
        (status = 200, description = "The new account", body = User),
        (status = 400, description = "Bad fields, or username / address taken", body = ErrorBody),
        (status = 413, description = "The body is larger than 64 KiB", body = ErrorBody),
        (status = 415, description = "The body is neither a form nor JSON", body = ErrorBody),
        (status = 409, description = "A request with this Idempotency-Key is still running (`Retry-After` says when to try again)", body = ErrorBody),
        (status = 422, description = "This Idempotency-Key was used for a different request", body = ErrorBody)))]
#[rocket::post("/api/users/register", data = "<fields>")]
pub async fn register(
    key: IdempotencyKey,
    fields: Fields,
    pool: &State<Pool>,
    hashing: &State<Hashing>,
) -> Result<Answer, Error> {
    // The key alone names the request: whoever registers has no token yet.
    key.run(pool, NO_CALLER, Some(&fields), |claim| {
        register_customer(claim, &fields, pool, hashing)
    })
    .await
}

async fn register_customer(
    claim: Claim,
    fields: &Fields,
    pool: &Pool,
    hashing: &Hashing,
) -> Result<Answer, Error> {
    let new_user = NewUser {
        username: fields.get("username"),
        mail: fields.get("mail"),
        first_name: fields.get("first_name"),
        last_name: fields.get("last_name"),
        password: fields.get("password"),
    };
    let user = accounts::register_claimed(
        claim,
        pool,
        hashing,
        new_user,
        fields.errors(),
        Role::Customer,
    )
    .await?;
    Ok(Answer::json(Status::Ok, &user))
}

/// `true` with 200 when the username exists, `false` with 404 when it does not.
#[utoipa::path(get, path = "/api/users/exists", tag = "users",
    params(("username" = String, Query, description = "The username to look up")),
    responses(
        (status = 200, description = "The username exists", body = bool, content_type = "application/json", example = json!(true)),
        (status = 404, description = "No such username", body = bool, content_type = "application/json", example = json!(false)),
        (status = 400, description = "No username given", body = ErrorBody)))]
#[rocket::get("/api/users/exists")]
pub async fn exists(query: QueryFields, pool: &State<Pool>) -> Result<(Status, Json<bool>), Error> {
    let Some(username) = query
        .get("username")
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
    else {
        return Err(ApiError::invalid_field("username", "is required").into());
    };
    let found = run(pool, move |conn| store::username_exists(conn, &username)).await?;
    Ok(if found {
        (Status::Ok, Json(true))
    } else {
        (Status::NotFound, Json(false))
    })
}
