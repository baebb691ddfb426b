CREATE TABLE orders (
    id INTEGER PRIMARY KEY NOT NULL,
    owner_id BIGINT NOT NULL,
    is_open BOOLEAN NOT NULL DEFAULT TRUE,
    -- Set once, at checkout; an open order's total is the sum of its lines.
    total_cents BIGINT,
    time_created TIMESTAMP NOT NULL,
    time_modified TIMESTAMP NOT NULL,
    CHECK (is_open OR total_cents IS NOT NULL)
);

-- At most one open order per user, also when two first requests race.
CREATE UNIQUE INDEX orders_one_open_per_owner ON orders(owner_id) WHERE is_open;
CREATE INDEX orders_owner_newest ON orders(owner_id, time_created DESC, id DESC);

CREATE TABLE order_lines (
    id INTEGER PRIMARY KEY NOT NULL,
    order_id BIGINT NOT NULL REFERENCES orders(id),
    sku TEXT NOT NULL,
    quantity BIGINT NOT NULL CHECK (quantity BETWEEN 1 AND 10000),
    unit_price_cents BIGINT NOT NULL CHECK (unit_price_cents > 0),
    time_created TIMESTAMP NOT NULL,
    time_modified TIMESTAMP NOT NULL,
    UNIQUE (order_id, sku)
);
