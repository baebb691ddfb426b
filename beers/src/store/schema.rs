//! The beers database, one schema for SQLite and PostgreSQL.

diesel::table! {
    beers (id) {
        id -> BigInt,
        sku -> Text,
        name -> Text,
        price_cents -> BigInt,
        image -> Nullable<Text>,
        time_created -> Timestamp,
        time_modified -> Timestamp,
    }
}
