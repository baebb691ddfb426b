//! The large databases: a catalogue of many beers and a customer with many past orders,
//! written straight into a database of their own (through the API, 100,000 beers would take
//! longer than the scenarios), each beside the small one of the same scenario.

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, SqliteConnection};

use super::setup::FIRST_SKU;
use super::BoxError;

/// The large catalogue's SKUs start here, after the small catalogue's.
pub const LARGE_FIRST_SKU: u32 = 300_000;
/// The customer's past orders in the small database, as many as the history page shows.
pub const SMALL_HISTORY: u32 = 20;
/// The history page: the newest orders, `HISTORY_PAGE` of them.
pub const HISTORY_PAGE: u32 = 20;

/// How large the large databases are.
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    pub beers: u32,
    pub past_orders: u32,
}

impl Sizes {
    /// The full sizes, or small ones for the smoke run, which checks the harness only.
    pub fn new(smoke: bool) -> Sizes {
        if smoke {
            Sizes {
                beers: 2_000,
                past_orders: 100,
            }
        } else {
            Sizes {
                beers: 100_000,
                past_orders: 2_000,
            }
        }
    }
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Runs `statements` on the database at `url` (a `postgres://` URL or a SQLite path), in one
/// transaction.
fn execute(url: &str, statements: &[String]) -> Result<(), BoxError> {
    let batch = format!("BEGIN; {}; COMMIT;", statements.join("; "));
    if is_postgres(url) {
        PgConnection::establish(url)?.batch_execute(&batch)?;
    } else {
        SqliteConnection::establish(url)?.batch_execute(&batch)?;
    }
    Ok(())
}

/// `n` rows of `0..n` as `n(i)`, in SQL both backends run.
fn numbers(n: u32) -> String {
    format!(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {})",
        n.saturating_sub(1)
    )
}

/// Adds `count` beers with the SKUs `LARGE_FIRST_SKU` onwards to the beers database at `url`
/// (its schema made by the service).
pub fn add_beers(url: &str, count: u32) -> Result<(), BoxError> {
    execute(
        url,
        &[format!(
            "{} INSERT INTO beers (sku, name, price_cents, time_created, time_modified) \
             SELECT CAST({LARGE_FIRST_SKU} + i AS TEXT), 'Large beer ' || CAST(i AS TEXT), \
             250 + i % 1000, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM n",
            numbers(count)
        )],
    )
}

/// Gives the owner of the one open order in the orders database at `url` `count` past
/// (checked-out) orders of one line each, an hour apart from 2020 on, older than the open one.
pub fn add_past_orders(url: &str, count: u32) -> Result<(), BoxError> {
    let time = if is_postgres(url) {
        "TIMESTAMP '2020-01-01 00:00:00' + i * INTERVAL '1 hour'"
    } else {
        "datetime('2020-01-01 00:00:00', '+' || i || ' hours')"
    };
    execute(
        url,
        &[
            format!(
                "{} INSERT INTO orders (owner_id, is_open, total_cents, time_created, \
                 time_modified) SELECT (SELECT owner_id FROM orders WHERE is_open), FALSE, 250, \
                 {time}, {time} FROM n",
                numbers(count)
            ),
            format!(
                "INSERT INTO order_lines (order_id, sku, quantity, unit_price_cents, \
                 time_created, time_modified) SELECT id, '{FIRST_SKU}', 1, 250, time_created, \
                 time_modified FROM orders WHERE NOT is_open"
            ),
        ],
    )
}
