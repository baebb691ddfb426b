CREATE TABLE beers (
    id BIGSERIAL PRIMARY KEY NOT NULL,
    sku TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    price_cents BIGINT NOT NULL CHECK (price_cents > 0 AND price_cents <= 99999999),
    image TEXT,
    time_created TIMESTAMP NOT NULL,
    time_modified TIMESTAMP NOT NULL
);
