-- AUTOINCREMENT so that the id of a deleted beer is never handed to another one,
-- as the PostgreSQL sequence never does either.
CREATE TABLE beers (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    sku TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    price_cents BIGINT NOT NULL CHECK (price_cents > 0 AND price_cents <= 99999999),
    image TEXT,
    time_created TIMESTAMP NOT NULL,
    time_modified TIMESTAMP NOT NULL
);
