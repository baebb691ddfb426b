//! The caller's orders: the list, newest first, and one order by id.

use rocket::serde::json::Json;
use rocket::State;
use shared::auth::Caller;
use shared::db::{run, Pool};
use shared::error::ErrorBody;
use shared::paging::Page;
use shared::ApiError;

use super::views::{OrderDetail, OrderSummary};
use crate::error::Error;
use crate::store;

/// The caller's orders, newest first, without their lines.
#[utoipa::path(get, path = "/api/orders", tag = "orders",
    security(("token" = [])),
    params(
        ("limit" = Option<i64>, Query, description = "At most this many, 1–1000 (default 100)"),
        ("offset" = Option<i64>, Query, description = "Skip this many, ≥ 0 (default 0)")),
    responses(
        (status = 200, description = "The caller's orders", body = [OrderSummary]),
        (status = 400, description = "Bad paging, or no Authorization header", body = ErrorBody),
        (status = 401, description = "Unknown, revoked or expired token", body = ErrorBody),
        (status = 503, description = "The users service is unavailable", body = ErrorBody)))]
#[rocket::get("/api/orders")]
pub async fn list(
    caller: Caller,
    query: shared::QueryFields,
    pool: &State<Pool>,
) -> Result<Json<Vec<OrderSummary>>, Error> {
    let mut errors = shared::FieldErrors::new();
    let page = Page::parse(query.get("limit"), query.get("offset"), &mut errors);
    let Some(page) = page.filter(|_| errors.is_empty()) else {
        return Err(errors.into());
    };
    let owner = caller.user.id;
    let orders = run(pool, move |conn| store::orders_of(conn, owner, page)).await?;
    Ok(Json(orders.iter().map(OrderSummary::of).collect()))
}

/// One of the caller's orders with its lines. Someone else's order is answered exactly
/// like one that does not exist.
#[utoipa::path(get, path = "/api/orders/{id}", tag = "orders",
    security(("token" = [])),
    params(("id" = i64, Path, description = "The order's id")),
    responses(
        (status = 200, description = "The order", body = OrderDetail),
        (status = 400, description = "No Authorization header", body = ErrorBody),
        (status = 401, description = "Unknown, revoked or expired token", body = ErrorBody),
        (status = 404, description = "No such order of the caller's", body = ErrorBody),
        (status = 503, description = "The users service is unavailable", body = ErrorBody)))]
#[rocket::get("/api/orders/<id>")]
pub async fn show(
    caller: Caller,
    id: &str,
    pool: &State<Pool>,
) -> Result<Json<OrderDetail>, Error> {
    // Parsed here rather than by a typed parameter: Rocket answers a parameter that fails
    // to parse with 422, and an address that cannot name an order is simply not found.
    let Ok(order_id) = id.parse::<i64>() else {
        return Err(no_order());
    };
    let owner = caller.user.id;
    match run(pool, move |conn| store::order_of(conn, owner, order_id)).await? {
        Some((order, lines)) => Ok(Json(OrderDetail::of(&order, &lines))),
        None => Err(no_order()),
    }
}

/// The same answer for a missing order and for someone else's.
fn no_order() -> Error {
    ApiError::not_found("No such order").into()
}
