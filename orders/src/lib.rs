//! The orders service: each user's open order and past orders.

pub mod config;
pub mod domain;
mod error;
mod routes;
pub mod store;

use rocket::{Build, Rocket};
use shared::clients::{BeersClient, UsersClient};
use shared::db::{DbError, Pool};
use utoipa::OpenApi;

pub use config::Settings;
pub use error::Error;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Opens the database pool and applies pending migrations.
pub fn connect(settings: &Settings) -> Result<Pool, DbError> {
    shared::db::connect(
        &settings.service.database_url,
        &settings.service.pool,
        store::SQLITE_MIGRATIONS,
        store::POSTGRES_MIGRATIONS,
    )
}

/// The service, wired: state, the neighbours' clients, routes, and the shared conventions.
pub fn rocket(settings: Settings, pool: Pool) -> Result<Rocket<Build>, BoxError> {
    // One HTTP client for both neighbours, so their connections share one pool.
    let http = shared::clients::http_client(&settings.upstream)?;
    let rocket = rocket::custom(settings.service.figment())
        .manage(pool)
        .manage(UsersClient::new(http.clone(), &settings.upstream))
        .manage(BeersClient::new(http, &settings.upstream))
        .mount("/", routes::routes());
    Ok(shared::ops::stage(
        rocket,
        "orders",
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
