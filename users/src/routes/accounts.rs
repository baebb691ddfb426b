//! Registering accounts and asking whether a username exists.

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::State;
use serde::Deserialize;
use shared::db::{run, Pool};
use shared::dto::User;
use shared::error::ErrorBody;
use shared::{ApiError, Fields, QueryFields};
use utoipa::ToSchema;

use crate::domain::{Email, Password, PersonName, Username};
use crate::error::Error;
use crate::hashing::Hashing;
use crate::store::{self, NewAccount, Taken};

/// The fields of a registration (form or JSON).
#[allow(dead_code)]
#[derive(Deserialize, ToSchema)]
pub struct Registration {
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

const USERNAME_TAKEN: &str = "is already taken";
const EMAIL_TAKEN: &str = "is already registered";

/// Creates an account (never an administrator).
#[utoipa::path(post, path = "/api/users/register", tag = "users",
    request_body(content(
        (Registration = "application/x-www-form-urlencoded"),
        (Registration = "application/json"))),
    responses(
        (status = 200, description = "The new account", body = User),
        (status = 400, description = "Bad fields, or username / address taken", body = ErrorBody),
        (status = 413, description = "The body is larger than 64 KiB", body = ErrorBody),
        (status = 415, description = "The body is neither a form nor JSON", body = ErrorBody)))]
#[rocket::post("/api/users/register", data = "<fields>")]
pub async fn register(
    fields: Fields,
    pool: &State<Pool>,
    hashing: &State<Hashing>,
) -> Result<Json<User>, Error> {
    let mut errors = fields.errors();
    let username = errors.required("username", fields.get("username"), Username::parse);
    let email = errors.required("mail", fields.get("mail"), Email::parse);
    let first_name = errors.required("first_name", fields.get("first_name"), PersonName::parse);
    let last_name = errors.required("last_name", fields.get("last_name"), PersonName::parse);
    let password = errors.required("password", fields.get("password"), Password::parse);

    // Report a taken username or address together with every other problem.
    let (username_taken, email_taken) = {
        let (username, email) = (username.clone(), email.clone());
        run(pool, move |conn| -> Result<_, Error> {
            let username_taken = match &username {
                Some(u) => store::username_exists(conn, u.as_str())?,
                None => false,
            };
            let email_taken = match &email {
                Some(e) => store::email_exists(conn, e)?,
                None => false,
            };
            Ok((username_taken, email_taken))
        })
        .await?
    };
    if username_taken {
        errors.add("username", USERNAME_TAKEN);
    }
    if email_taken {
        errors.add("mail", EMAIL_TAKEN);
    }
    let (Some(username), Some(email), Some(first_name), Some(last_name), Some(password)) =
        (username, email, first_name, last_name, password)
    else {
        return Err(errors.into_error().into());
    };
    if !errors.is_empty() {
        return Err(errors.into_error().into());
    }

    let password_hash = hashing.hash(password.expose().to_owned()).await?;
    let inserted = run(pool, move |conn| {
        store::insert_account(
            conn,
            &NewAccount {
                username: &username,
                email: &email,
                first_name: &first_name,
                last_name: &last_name,
                password_hash: &password_hash,
                is_admin: false,
            },
        )
    })
    .await?;
    match inserted {
        Ok(row) => Ok(Json(row.to_user())),
        // Lost a race with a concurrent registration of the same name or address.
        Err(Taken::Username) => Err(taken_error("username", USERNAME_TAKEN)),
        Err(Taken::Email) => Err(taken_error("mail", EMAIL_TAKEN)),
    }
}

fn taken_error(field: &str, problem: &str) -> Error {
    ApiError::bad_request("The request has invalid fields")
        .with_field(field, problem)
        .into()
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
        return Err(ApiError::bad_request("The request has invalid fields")
            .with_field("username", "is required")
            .into());
    };
    let found = run(pool, move |conn| store::username_exists(conn, &username)).await?;
    Ok(if found {
        (Status::Ok, Json(true))
    } else {
        (Status::NotFound, Json(false))
    })
}
