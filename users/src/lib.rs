//! The users service: accounts, passwords, sessions (tokens) and roles.

pub mod config;
pub mod domain;
mod error;
mod hashing;
mod routes;
pub mod store;

use std::time::Duration;

use rocket::{Build, Rocket};
use shared::db::{DbError, Pool};
use utoipa::OpenApi;

pub use config::Settings;
pub use error::Error;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How long tokens live; managed state for the login handler.
pub struct TokenPolicy {
    pub ttl: Duration,
}

/// Opens the database pool and applies pending migrations.
pub fn connect(settings: &Settings) -> Result<Pool, DbError> {
    shared::db::connect(
        &settings.service.database_url,
        &settings.service.pool,
        store::SQLITE_MIGRATIONS,
        store::POSTGRES_MIGRATIONS,
    )
}

/// The service, wired: state, routes, and the conventions every service shares.
pub fn rocket(settings: Settings, pool: Pool) -> Result<Rocket<Build>, BoxError> {
    let rocket = rocket::custom(settings.service.figment())
        .manage(pool)
        .manage(hashing::Hashing::new(settings.hashing_concurrency))
        .manage(TokenPolicy {
            ttl: settings.token_ttl,
        })
        .manage(settings.login_throttle)
        .mount("/", routes::routes());
    Ok(shared::ops::stage(
        rocket,
        "users",
        routes::ApiDoc::openapi(),
    ))
}

/// Connects, migrates and serves until shut down.
pub async fn serve(settings: Settings) -> Result<(), BoxError> {
    let pool = {
        let settings = settings.clone();
        rocket::tokio::task::spawn_blocking(move || connect(&settings)).await??
    };
    rocket(settings, pool)?.launch().await?;
    Ok(())
}

/// What `create_admin` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminOutcome {
    Created,
    Promoted,
}

/// Creates the account as an administrator, or makes an existing account one (its password
/// and address are then left as they are). Blocking: argon2 and Diesel run on this thread.
pub fn create_admin(
    pool: &Pool,
    username: &str,
    email: &str,
    password: &str,
) -> Result<(shared::dto::User, AdminOutcome), shared::ApiError> {
    use domain::{Email, Password, PersonName, Username};
    let internal = |e: DbError| {
        tracing::error!(error = %e, "create-admin failed");
        shared::ApiError::internal()
    };
    let mut errors = shared::FieldErrors::new();
    let username = errors.check("username", Username::parse(username));
    let mut conn = pool.get().map_err(internal)?;
    if let Some(username) = &username {
        if let Some(row) =
            store::user_by_username(&mut conn, username.as_str()).map_err(internal)?
        {
            let row = store::make_admin(&mut conn, row.id).map_err(internal)?;
            return Ok((row.to_user(), AdminOutcome::Promoted));
        }
    }
    let email = errors.check("email", Email::parse(email));
    let password = errors.check("password", Password::parse(password));
    let name = PersonName::parse("Administrator").map_err(shared::ApiError::bad_request)?;
    let (Some(username), Some(email), Some(password)) = (username, email, password) else {
        return Err(errors.into_error());
    };
    let hash = domain::PasswordHasher::default()
        .hash(password.expose())
        .map_err(|e| shared::ApiError::bad_request(format!("cannot hash the password: {e}")))?;
    let account = store::NewAccount {
        username: &username,
        email: &email,
        first_name: &name,
        last_name: &name,
        password_hash: &hash,
        is_admin: true,
    };
    match store::insert_account(&mut conn, &account).map_err(internal)? {
        Ok(row) => Ok((row.to_user(), AdminOutcome::Created)),
        Err(_) => Err(
            shared::ApiError::bad_request("The request has invalid fields")
                .with_field("email", "is already registered"),
        ),
    }
}
