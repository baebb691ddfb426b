//! The beers service: the catalogue of beers (SKU, name, price, image).

pub mod config;
pub mod domain;
mod error;
mod routes;
pub mod store;
#[cfg(test)]
mod test_support;

use rocket::{Build, Rocket};
use shared::clients::UsersClient;
use shared::db::{DbError, Pool};
use utoipa::OpenApi;

pub use config::Settings;
pub use error::Error;
pub use routes::ApiDoc;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Opens the database pool and applies pending migrations (blocking).
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
    let http = shared::clients::http_client(&settings.upstream)?;
    let rocket = rocket::custom(settings.service.figment())
        .manage(pool)
        // The admin guard asks users whose token it is.
        .manage(UsersClient::new(http, &settings.upstream))
        .mount("/", routes::routes());
    Ok(shared::ops::stage(rocket, "beers", ApiDoc::openapi()))
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

/// Adds the reference catalogue (Бургаско 123456, Загорка 123457, Tuborg 123458) where its
/// SKUs are absent; a beer already under one of those SKUs is left as it is. Returns the SKUs
/// it added, so a second run returns none. Blocking: Diesel runs on this thread.
pub fn seed(pool: &Pool) -> Result<Vec<String>, DbError> {
    let mut conn = pool.get()?;
    store::add_missing_beers(&mut conn, &domain::reference_catalogue())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeding_adds_the_reference_catalogue_once() {
        let database = test_support::TestDatabase::fresh();
        let pool = database.pool();
        assert_eq!(seed(&pool).unwrap(), ["123456", "123457", "123458"]);
        assert!(seed(&pool).unwrap().is_empty());

        let page = shared::paging::Page {
            limit: 10,
            offset: 0,
        };
        let beers: Vec<_> = store::beers_page(&mut pool.get().unwrap(), page)
            .unwrap()
            .iter()
            .map(|row| {
                let beer = row.to_beer();
                (beer.sku, beer.name, beer.price.to_string())
            })
            .collect();
        let expected = [
            ("123456", "Бургаско", "1.19"),
            ("123457", "Загорка", "2.00"),
            ("123458", "Tuborg", "1.50"),
        ]
        .map(|(s, n, p)| (s.to_owned(), n.to_owned(), p.to_owned()));
        assert_eq!(beers, expected);
    }
}
