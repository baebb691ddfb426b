//! The catalogue in the database: the row, its queries, and the embedded migrations.

pub mod schema;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use shared::db::{write_transaction, AnyConnection, DbError};
use shared::dto::Beer;
use shared::paging::Page;

use crate::domain::{BeerDetails, NewBeer, Sku};
use schema::beers;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct BeerRow {
    pub id: i64,
    pub sku: String,
    pub name: String,
    pub price_cents: i64,
    pub image: Option<String>,
    pub time_created: NaiveDateTime,
    pub time_modified: NaiveDateTime,
}

impl BeerRow {
    /// The beer as clients see it; the price always has two places.
    pub fn to_beer(&self) -> Beer {
        Beer {
            id: self.id,
            name: self.name.clone(),
            sku: self.sku.clone(),
            price: shared::Money::from_cents(self.price_cents).amount(),
            image: self.image.clone(),
            time_created: shared::time::to_utc(self.time_created),
            time_modified: shared::time::to_utc(self.time_modified),
        }
    }
}

/// Another beer already has the SKU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Taken;

/// One page of the catalogue, in the order the beers were added.
pub fn beers_page(conn: &mut AnyConnection, page: Page) -> Result<Vec<BeerRow>, DbError> {
    Ok(beers::table
        .order(beers::id.asc())
        .limit(page.limit)
        .offset(page.offset)
        .load::<BeerRow>(conn)?)
}

/// The beers with these SKUs (unknown ones left out), in the order they were added.
pub fn beers_with_skus(
    conn: &mut AnyConnection,
    skus: &[Sku],
    page: Page,
) -> Result<Vec<BeerRow>, DbError> {
    let skus: Vec<&str> = skus.iter().map(Sku::as_str).collect();
    // On the backend's own connection: `IN` with a list of values is not portable through
    // `AnyConnection` (PostgreSQL binds it as an array).
    Ok(shared::on_backend!(conn, |c| beers::table
        .filter(beers::sku.eq_any(&skus))
        .order(beers::id.asc())
        .limit(page.limit)
        .offset(page.offset)
        .load::<BeerRow>(c))?)
}

pub fn beer_by_sku(conn: &mut AnyConnection, sku: &Sku) -> Result<Option<BeerRow>, DbError> {
    Ok(shared::on_backend!(conn, |c| beers::table
        .filter(beers::sku.eq(sku.as_str()))
        .first::<BeerRow>(c)
        .optional())?)
}

pub fn sku_exists(conn: &mut AnyConnection, sku: &Sku) -> Result<bool, DbError> {
    let count: i64 = beers::table
        .filter(beers::sku.eq(sku.as_str()))
        .count()
        .get_result(conn)?;
    Ok(count > 0)
}

/// Adds a beer. A SKU that is taken, also by a concurrent insert that won the race, comes
/// back as `Ok(Err(Taken))` rather than as a database error.
pub fn insert_beer(
    conn: &mut AnyConnection,
    beer: &NewBeer,
) -> Result<Result<BeerRow, Taken>, DbError> {
    let now = shared::time::now();
    let details = &beer.details;
    let inserted = write_transaction(conn, |conn| {
        diesel::insert_into(beers::table)
            .values((
                beers::sku.eq(beer.sku.as_str()),
                beers::name.eq(details.name.as_str()),
                beers::price_cents.eq(details.price.cents()),
                beers::image.eq(details.image.as_deref()),
                beers::time_created.eq(now),
                beers::time_modified.eq(now),
            ))
            .returning(beers::all_columns)
            .get_result::<BeerRow>(conn)
            .map_err(DbError::from)
    });
    match inserted {
        Ok(row) => Ok(Ok(row)),
        Err(error) if error.unique_violation().is_some() => Ok(Err(Taken)),
        Err(error) => Err(error),
    }
}

/// Replaces the name, price and image of the beer with this SKU; `None` when there is none.
pub fn update_beer(
    conn: &mut AnyConnection,
    sku: &Sku,
    details: &BeerDetails,
) -> Result<Option<BeerRow>, DbError> {
    write_transaction(conn, |conn| {
        Ok(
            diesel::update(beers::table.filter(beers::sku.eq(sku.as_str())))
                .set((
                    beers::name.eq(details.name.as_str()),
                    beers::price_cents.eq(details.price.cents()),
                    beers::image.eq(details.image.as_deref()),
                    beers::time_modified.eq(shared::time::now()),
                ))
                .returning(beers::all_columns)
                .get_result::<BeerRow>(conn)
                .optional()?,
        )
    })
}

/// Removes the beer with this SKU; whether there was one.
pub fn delete_beer(conn: &mut AnyConnection, sku: &Sku) -> Result<bool, DbError> {
    write_transaction(conn, |conn| {
        let deleted =
            diesel::delete(beers::table.filter(beers::sku.eq(sku.as_str()))).execute(conn)?;
        Ok(deleted > 0)
    })
}

/// Adds each beer whose SKU is not in the catalogue yet, in order, and leaves the others as
/// they are; the SKUs it added.
pub fn add_missing_beers(
    conn: &mut AnyConnection,
    beers: &[NewBeer],
) -> Result<Vec<String>, DbError> {
    let mut added = Vec::new();
    for beer in beers {
        // Looking first keeps a re-run from logging a constraint error per beer on the server;
        // the insert still copes with a concurrent run that got there in between.
        if sku_exists(conn, &beer.sku)? {
            continue;
        }
        if insert_beer(conn, beer)?.is_ok() {
            added.push(beer.sku.as_str().to_owned());
        }
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{reference_catalogue, BeerName, Image, Price};
    use shared::db::Pool;
    use shared::scratch::TestDatabase;

    fn temporary_pool() -> (TestDatabase, Pool) {
        let database = TestDatabase::fresh("beers").unwrap();
        let pool = database.migrated::<crate::Beers>().unwrap();
        (database, pool)
    }

    fn details(name: &str, price: &str, image: &str) -> BeerDetails {
        BeerDetails {
            name: BeerName::parse(name).unwrap(),
            price: Price::parse(price).unwrap(),
            image: Image::parse(image).unwrap(),
        }
    }

    fn new_beer(sku: &str, name: &str, price: &str) -> NewBeer {
        NewBeer {
            sku: Sku::parse(sku).unwrap(),
            details: details(name, price, ""),
        }
    }

    fn sku(text: &str) -> Sku {
        Sku::parse(text).unwrap()
    }

    #[test]
    fn an_inserted_beer_reads_back_exactly() {
        let (_dir, pool) = temporary_pool();
        let conn = &mut pool.get().unwrap();
        let mut beer = new_beer("B-1", "Пиринско", "2.35");
        beer.details.image = Image::parse("https://example.com/p.png").unwrap();
        let row = insert_beer(conn, &beer).unwrap().unwrap();
        assert_eq!(row.price_cents, 235);
        assert_eq!(row.time_created, row.time_modified);

        let found = beer_by_sku(conn, &sku("B-1")).unwrap().unwrap();
        assert_eq!(found, row);
        let json = serde_json::to_value(found.to_beer()).unwrap();
        assert_eq!(json["price"], "2.35");
        assert_eq!(json["name"], "Пиринско");
        assert_eq!(json["image"], "https://example.com/p.png");
        assert!(beer_by_sku(conn, &sku("B-2")).unwrap().is_none());
    }

    #[test]
    fn a_taken_sku_is_reported_not_raised() {
        let (_dir, pool) = temporary_pool();
        let conn = &mut pool.get().unwrap();
        assert!(insert_beer(conn, &new_beer("same", "One", "1"))
            .unwrap()
            .is_ok());
        let again = insert_beer(conn, &new_beer("same", "Two", "2")).unwrap();
        assert_eq!(again, Err(Taken));
        assert!(sku_exists(conn, &sku("same")).unwrap());
        assert!(!sku_exists(conn, &sku("other")).unwrap());
    }

    #[test]
    fn pages_follow_the_order_of_addition() {
        let (_dir, pool) = temporary_pool();
        let conn = &mut pool.get().unwrap();
        for n in 1..=5 {
            insert_beer(conn, &new_beer(&format!("S{n}"), "Beer", "1.00"))
                .unwrap()
                .unwrap();
        }
        let skus = |limit, offset| -> Vec<String> {
            let page = Page { limit, offset };
            let rows = beers_page(&mut pool.get().unwrap(), page).unwrap();
            rows.into_iter().map(|r| r.sku).collect()
        };
        assert_eq!(skus(2, 1), ["S2", "S3"]);
        assert_eq!(skus(100, 0), ["S1", "S2", "S3", "S4", "S5"]);
        assert_eq!(skus(10, 4), ["S5"]);
        assert!(skus(10, 5).is_empty());
        assert!(skus(10, i64::MAX).is_empty());
    }

    #[test]
    fn an_update_replaces_the_details_and_moves_time_modified() {
        let (_dir, pool) = temporary_pool();
        let conn = &mut pool.get().unwrap();
        let mut beer = new_beer("U1", "Old", "1.00");
        beer.details.image = Image::parse("/old.png").unwrap();
        let created = insert_beer(conn, &beer).unwrap().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2));

        let updated = update_beer(conn, &sku("U1"), &details("New", "2.4", ""))
            .unwrap()
            .unwrap();
        assert_eq!(updated.id, created.id);
        assert_eq!((updated.name.as_str(), updated.price_cents), ("New", 240));
        assert_eq!(updated.image, None, "an absent image clears the old one");
        assert_eq!(updated.time_created, created.time_created);
        assert!(updated.time_modified > created.time_modified);

        let missing = update_beer(conn, &sku("U2"), &details("New", "2.4", "")).unwrap();
        assert!(missing.is_none());
    }

    #[test]
    fn a_deleted_beer_is_gone_and_its_id_is_not_reused() {
        let (_dir, pool) = temporary_pool();
        let conn = &mut pool.get().unwrap();
        let first = insert_beer(conn, &new_beer("D1", "Gone", "1"))
            .unwrap()
            .unwrap();
        assert!(delete_beer(conn, &sku("D1")).unwrap());
        assert!(!delete_beer(conn, &sku("D1")).unwrap());
        assert!(beer_by_sku(conn, &sku("D1")).unwrap().is_none());
        let next = insert_beer(conn, &new_beer("D2", "Next", "1"))
            .unwrap()
            .unwrap();
        assert!(next.id > first.id);
    }

    #[test]
    fn adding_missing_beers_leaves_existing_ones_alone() {
        let (_dir, pool) = temporary_pool();
        let conn = &mut pool.get().unwrap();
        insert_beer(conn, &new_beer("123457", "Мое Загорка", "9.99"))
            .unwrap()
            .unwrap();
        let added = add_missing_beers(conn, &reference_catalogue()).unwrap();
        assert_eq!(added, ["123456", "123458"]);
        let kept = beer_by_sku(conn, &sku("123457")).unwrap().unwrap();
        assert_eq!((kept.name.as_str(), kept.price_cents), ("Мое Загорка", 999));
        assert!(add_missing_beers(conn, &reference_catalogue())
            .unwrap()
            .is_empty());
    }
}
