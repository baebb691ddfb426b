//! Orders and their lines in the database: rows, queries, migrations, rows ↔ domain.

pub mod schema;

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};
use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use shared::db::{write_transaction, AnyConnection, DbError};
use shared::paging::Page;

use crate::domain::{order_total, Money, Order, OrderLine, Quantity, Sku};
use schema::{order_lines, orders};

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(Debug, Clone, Queryable)]
pub struct OrderRow {
    pub id: i64,
    pub owner_id: i64,
    pub is_open: bool,
    pub total_cents: Option<i64>,
    pub time_created: NaiveDateTime,
    pub time_modified: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable)]
pub struct LineRow {
    pub id: i64,
    pub order_id: i64,
    pub sku: String,
    pub quantity: i64,
    pub unit_price_cents: i64,
    pub time_created: NaiveDateTime,
    pub time_modified: NaiveDateTime,
}

/// What adding to the open order did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// The line is in the order (new, or its quantity raised).
    Added { order_id: i64 },
    /// Nothing changed: the line already holds `in_order` and would pass `Quantity::MAX`.
    WouldPassLimit { in_order: i64 },
}

/// What closing the open order did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checkout {
    Closed(Order, Vec<OrderLine>),
    /// There is no open order, or it has no lines.
    Empty,
    /// The open order is not the one that was priced, or it gained a line that was not:
    /// price it again.
    Changed,
}

/// A stored value that the domain refuses can only come from outside this service's writes.
fn corrupt(what: String) -> DbError {
    DbError::Query(diesel::result::Error::DeserializationError(what.into()))
}

impl LineRow {
    pub fn to_line(&self) -> Result<OrderLine, DbError> {
        let bad = |problem: String| corrupt(format!("order line {}: {problem}", self.id));
        Ok(OrderLine {
            id: self.id,
            sku: Sku::parse(&self.sku).map_err(|p| bad(format!("sku {p}")))?,
            quantity: Quantity::from_count(self.quantity)
                .map_err(|p| bad(format!("quantity {p}")))?,
            unit_price: Money::from_cents(self.unit_price_cents),
            time_created: shared::time::to_utc(self.time_created),
            time_modified: shared::time::to_utc(self.time_modified),
        })
    }
}

impl OrderRow {
    /// The order with its total: the lines' sum while open, the stored total once closed.
    pub fn to_order(&self, lines: &[OrderLine]) -> Result<Order, DbError> {
        let total = if self.is_open {
            order_total(lines).map_err(|p| corrupt(format!("order {}: {p}", self.id)))?
        } else {
            let cents = self
                .total_cents
                .ok_or_else(|| corrupt(format!("closed order {} has no total", self.id)))?;
            Money::from_cents(cents)
        };
        Ok(Order {
            id: self.id,
            is_open: self.is_open,
            total,
            time_created: shared::time::to_utc(self.time_created),
            time_modified: shared::time::to_utc(self.time_modified),
        })
    }
}

/// One SQL text for both backends: SQLite takes `?` placeholders, PostgreSQL `$1, $2, …`.
fn placeholders_for(conn: &AnyConnection, sql: &str) -> String {
    match conn {
        AnyConnection::Sqlite(_) => sql.to_owned(),
        AnyConnection::Postgresql(_) => numbered_placeholders(sql),
    }
}

/// `?` → `$1, $2, …` in order; the statements here hold no `?` inside string literals.
fn numbered_placeholders(sql: &str) -> String {
    let mut numbered = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            numbered.push('$');
            numbered.push_str(&n.to_string());
        } else {
            numbered.push(c);
        }
    }
    numbered
}

/// Makes an open order for the owner unless one exists; never a second one, also when
/// several requests race (the partial unique index decides, and the losers do nothing).
const CREATE_OPEN_ORDER: &str =
    "INSERT INTO orders (owner_id, is_open, time_created, time_modified) \
     VALUES (?, TRUE, ?, ?) ON CONFLICT (owner_id) WHERE is_open DO NOTHING";

/// Adds the line, or adds to the quantity of the line with the same SKU and records the
/// latest price — in one statement, so concurrent adds cannot lose an update. The `WHERE`
/// leaves a line that would pass 10000 untouched (no row changes).
const ADD_LINE: &str = "INSERT INTO order_lines \
     (order_id, sku, quantity, unit_price_cents, time_created, time_modified) \
     VALUES (?, ?, ?, ?, ?, ?) \
     ON CONFLICT (order_id, sku) DO UPDATE SET \
     quantity = order_lines.quantity + excluded.quantity, \
     unit_price_cents = excluded.unit_price_cents, \
     time_modified = excluded.time_modified \
     WHERE order_lines.quantity + excluded.quantity <= 10000";

/// The owner's open order row; with `lock`, the row is locked for the rest of the
/// transaction on PostgreSQL. SQLite has no row locks: there the write transaction's
/// `BEGIN IMMEDIATE` already keeps every other writer out.
fn open_order_row(
    conn: &mut AnyConnection,
    owner_id: i64,
    lock: bool,
) -> Result<Option<OrderRow>, DbError> {
    let query = orders::table
        .filter(orders::owner_id.eq(owner_id))
        .filter(orders::is_open.eq(true));
    let row = match conn {
        AnyConnection::Postgresql(pg) if lock => query.for_update().first::<OrderRow>(pg),
        AnyConnection::Postgresql(pg) => query.first::<OrderRow>(pg),
        AnyConnection::Sqlite(sqlite) => query.first::<OrderRow>(sqlite),
    };
    Ok(row.optional()?)
}

/// The owner's open order, made if there is none.
fn open_or_new_order_row(
    conn: &mut AnyConnection,
    owner_id: i64,
    lock: bool,
) -> Result<OrderRow, DbError> {
    // Between our insert and our select a concurrent checkout may close the order that
    // made the insert do nothing; then there is room for a new one, so go round again.
    for _ in 0..5 {
        if let Some(row) = open_order_row(conn, owner_id, lock)? {
            return Ok(row);
        }
        let now = shared::time::now();
        diesel::sql_query(placeholders_for(conn, CREATE_OPEN_ORDER))
            .bind::<BigInt, _>(owner_id)
            .bind::<Timestamp, _>(now)
            .bind::<Timestamp, _>(now)
            .execute(conn)?;
    }
    Err(DbError::Query(diesel::result::Error::NotFound))
}

fn line_rows(conn: &mut AnyConnection, order_id: i64) -> Result<Vec<LineRow>, DbError> {
    Ok(shared::on_backend!(conn, |c| order_lines::table
        .filter(order_lines::order_id.eq(order_id))
        .order(order_lines::id.asc())
        .load::<LineRow>(c))?)
}

/// The lines of an order, oldest first.
pub fn lines_of(conn: &mut AnyConnection, order_id: i64) -> Result<Vec<OrderLine>, DbError> {
    line_rows(conn, order_id)?
        .iter()
        .map(LineRow::to_line)
        .collect()
}

fn with_lines(
    conn: &mut AnyConnection,
    row: &OrderRow,
) -> Result<(Order, Vec<OrderLine>), DbError> {
    let lines = lines_of(conn, row.id)?;
    Ok((row.to_order(&lines)?, lines))
}

/// The owner's open order with its lines, made (empty) if there is none.
pub fn open_order_for(
    conn: &mut AnyConnection,
    owner_id: i64,
) -> Result<(Order, Vec<OrderLine>), DbError> {
    let row = open_or_new_order_row(conn, owner_id, false)?;
    with_lines(conn, &row)
}

/// The owner's open order with its lines, if there is one; never makes one.
pub fn existing_open_order(
    conn: &mut AnyConnection,
    owner_id: i64,
) -> Result<Option<(Order, Vec<OrderLine>)>, DbError> {
    match open_order_row(conn, owner_id, false)? {
        Some(row) => with_lines(conn, &row).map(Some),
        None => Ok(None),
    }
}

/// One of the owner's orders with its lines; `None` also when it belongs to someone else.
pub fn order_of(
    conn: &mut AnyConnection,
    owner_id: i64,
    order_id: i64,
) -> Result<Option<(Order, Vec<OrderLine>)>, DbError> {
    let row = orders::table
        .filter(orders::id.eq(order_id))
        .filter(orders::owner_id.eq(owner_id))
        .first::<OrderRow>(conn)
        .optional()?;
    match row {
        Some(row) => with_lines(conn, &row).map(Some),
        None => Ok(None),
    }
}

/// A page of the owner's orders, newest first, without their lines.
pub fn orders_of(
    conn: &mut AnyConnection,
    owner_id: i64,
    page: Page,
) -> Result<Vec<Order>, DbError> {
    let rows = orders::table
        .filter(orders::owner_id.eq(owner_id))
        .order((orders::time_created.desc(), orders::id.desc()))
        .limit(page.limit)
        .offset(page.offset)
        .load::<OrderRow>(conn)?;
    rows.iter()
        .map(|row| {
            // Only an open order needs its lines, for its running total.
            let lines = if row.is_open {
                lines_of(conn, row.id)?
            } else {
                Vec::new()
            };
            row.to_order(&lines)
        })
        .collect()
}

/// Adds `quantity` of the beer at `unit_price` to the owner's open order (made if absent).
/// The order is locked (or, on SQLite, the database) while the line changes, so an add can
/// never land in an order that a concurrent checkout is closing.
pub fn add_to_open_order(
    conn: &mut AnyConnection,
    owner_id: i64,
    sku: &Sku,
    quantity: Quantity,
    unit_price: Money,
) -> Result<Added, DbError> {
    let unit_price_cents = unit_price.cents().map_err(corrupt)?;
    write_transaction(conn, |conn| {
        let order = open_or_new_order_row(conn, owner_id, true)?;
        let now = shared::time::now();
        let changed = diesel::sql_query(placeholders_for(conn, ADD_LINE))
            .bind::<BigInt, _>(order.id)
            .bind::<Text, _>(sku.as_str())
            .bind::<BigInt, _>(quantity.get())
            .bind::<BigInt, _>(unit_price_cents)
            .bind::<Timestamp, _>(now)
            .bind::<Timestamp, _>(now)
            .execute(conn)?;
        if changed == 0 {
            let in_order = order_lines::table
                .filter(order_lines::order_id.eq(order.id))
                .filter(order_lines::sku.eq(sku.as_str()))
                .select(order_lines::quantity)
                .first::<i64>(conn)?;
            return Ok(Added::WouldPassLimit { in_order });
        }
        diesel::update(orders::table.find(order.id))
            .set(orders::time_modified.eq(now))
            .execute(conn)?;
        Ok(Added::Added { order_id: order.id })
    })
}

/// Takes the beer's line out of the owner's open order; whether there was one to take.
pub fn remove_from_open_order(
    conn: &mut AnyConnection,
    owner_id: i64,
    sku: &Sku,
) -> Result<bool, DbError> {
    write_transaction(conn, |conn| {
        let Some(order) = open_order_row(conn, owner_id, true)? else {
            return Ok(false);
        };
        let removed = diesel::delete(
            order_lines::table
                .filter(order_lines::order_id.eq(order.id))
                .filter(order_lines::sku.eq(sku.as_str())),
        )
        .execute(conn)?;
        if removed > 0 {
            diesel::update(orders::table.find(order.id))
                .set(orders::time_modified.eq(shared::time::now()))
                .execute(conn)?;
        }
        Ok(removed > 0)
    })
}

/// Closes the owner's open order `order_id` at the catalogue's current `prices`: each line's
/// unit price is refreshed, the total is computed from the stored lines and fixed. From
/// then on nothing changes the order: every write goes through the open order only.
pub fn close_order(
    conn: &mut AnyConnection,
    owner_id: i64,
    order_id: i64,
    prices: &HashMap<Sku, Money>,
) -> Result<Checkout, DbError> {
    write_transaction(conn, |conn| {
        let Some(order) = open_order_row(conn, owner_id, true)? else {
            return Ok(Checkout::Empty);
        };
        if order.id != order_id {
            return Ok(Checkout::Changed);
        }
        let lines = lines_of(conn, order.id)?;
        if lines.is_empty() {
            return Ok(Checkout::Empty);
        }
        let now = shared::time::now();
        for line in &lines {
            let Some(price) = prices.get(&line.sku) else {
                return Ok(Checkout::Changed);
            };
            if *price != line.unit_price {
                diesel::update(order_lines::table.find(line.id))
                    .set((
                        order_lines::unit_price_cents.eq(price.cents().map_err(corrupt)?),
                        order_lines::time_modified.eq(now),
                    ))
                    .execute(conn)?;
            }
        }
        let lines = lines_of(conn, order.id)?;
        let total = order_total(&lines)
            .and_then(Money::cents)
            .map_err(|p| corrupt(format!("order {}: {p}", order.id)))?;
        let closed = diesel::update(orders::table.find(order.id))
            .set((
                orders::is_open.eq(false),
                orders::total_cents.eq(Some(total)),
                orders::time_modified.eq(now),
            ))
            .returning(orders::all_columns)
            .get_result::<OrderRow>(conn)?;
        Ok(Checkout::Closed(closed.to_order(&lines)?, lines))
    })
}

#[cfg(test)]
mod tests;
