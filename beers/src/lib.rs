//! The beers service: the catalogue of beers (SKU, name, price, image).

pub mod domain;
mod error;
mod routes;
pub mod store;

use rocket::{Build, Rocket};
use shared::clients::UsersClient;
use shared::config::{ConfigError, UpstreamSettings};
use shared::db::{DbError, Pool};
use shared::service::{BoxError, Service};
use utoipa::OpenApi;

pub use error::Error;
pub use routes::ApiDoc;

/// The beers service, as [`shared::service`] runs it.
pub struct Beers;

/// `BEERS_ADDRESS`, `BEERS_PORT`, `BEERS_DATABASE_URL`, …, and where users is (`USERS_URL`).
pub type Settings = shared::service::Settings<Beers>;

impl Service for Beers {
    const NAME: &'static str = "beers";
    const DEFAULT_PORT: u16 = 5002;
    const SQLITE_MIGRATIONS: diesel_migrations::EmbeddedMigrations = store::SQLITE_MIGRATIONS;
    const POSTGRES_MIGRATIONS: diesel_migrations::EmbeddedMigrations = store::POSTGRES_MIGRATIONS;

    /// Where the users service checks tokens, and how long to wait for it.
    type Config = UpstreamSettings;

    fn config_from_env() -> Result<UpstreamSettings, ConfigError> {
        UpstreamSettings::from_env()
    }

    fn openapi() -> utoipa::openapi::OpenApi {
        ApiDoc::openapi()
    }

    fn mount(
        rocket: Rocket<Build>,
        upstream: &UpstreamSettings,
    ) -> Result<Rocket<Build>, BoxError> {
        let http = shared::clients::http_client(upstream)?;
        // The admin guard asks users whose token it is.
        Ok(rocket
            .manage(UsersClient::new(http, upstream))
            .mount("/", routes::routes()))
    }
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
        let database = shared::scratch::TestDatabase::fresh("beers").unwrap();
        let pool = database.migrated::<Beers>().unwrap();
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
