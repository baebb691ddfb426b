//! Checkout: the open order is priced again by the catalogue, totalled and closed for good.

use std::collections::HashMap;

use rocket::serde::json::Json;
use rocket::State;
use shared::auth::Caller;
use shared::clients::BeersClient;
use shared::db::{run, Pool};
use shared::error::ErrorBody;
use shared::request::RequestId;
use shared::ApiError;

use super::current::catalogue_price;
use super::views::OrderDetail;
use crate::domain::{Money, OrderLine, Sku};
use crate::error::Error;
use crate::store::{self, Checkout};

/// How often a checkout prices the order again when lines were added while it asked beers.
const ATTEMPTS: usize = 3;

/// Closes the open order at the catalogue's current prices (GET, as the reference did).
#[utoipa::path(get, path = "/api/orders/checkout", tag = "orders",
    security(("token" = [])),
    responses(
        (status = 200, description = "The closed order", body = OrderDetail),
        (status = 400, description = "No Authorization header", body = ErrorBody),
        (status = 401, description = "Unknown, revoked or expired token", body = ErrorBody),
        (status = 409, description = "The order is empty, or one of its beers left the catalogue (`errors.sku` names it)", body = ErrorBody),
        (status = 503, description = "The users or beers service is unavailable", body = ErrorBody)))]
#[rocket::get("/api/orders/checkout")]
pub async fn checkout_get(
    caller: Caller,
    request_id: RequestId,
    pool: &State<Pool>,
    beers: &State<BeersClient>,
) -> Result<Json<OrderDetail>, Error> {
    check_out(caller.user.id, &request_id, pool, beers).await
}

/// Closes the open order at the catalogue's current prices.
#[utoipa::path(post, path = "/api/orders/checkout", tag = "orders",
    security(("token" = [])),
    responses(
        (status = 200, description = "The closed order", body = OrderDetail),
        (status = 400, description = "No Authorization header", body = ErrorBody),
        (status = 401, description = "Unknown, revoked or expired token", body = ErrorBody),
        (status = 409, description = "The order is empty, or one of its beers left the catalogue (`errors.sku` names it)", body = ErrorBody),
        (status = 503, description = "The users or beers service is unavailable", body = ErrorBody)))]
#[rocket::post("/api/orders/checkout")]
pub async fn checkout_post(
    caller: Caller,
    request_id: RequestId,
    pool: &State<Pool>,
    beers: &State<BeersClient>,
) -> Result<Json<OrderDetail>, Error> {
    check_out(caller.user.id, &request_id, pool, beers).await
}

async fn check_out(
    owner: i64,
    request_id: &RequestId,
    pool: &State<Pool>,
    beers: &BeersClient,
) -> Result<Json<OrderDetail>, Error> {
    for _ in 0..ATTEMPTS {
        let open = run(pool, move |conn| store::existing_open_order(conn, owner)).await?;
        let Some((order, lines)) = open.filter(|(_, lines)| !lines.is_empty()) else {
            return Err(empty_order());
        };
        let prices = current_prices(beers, &lines, request_id).await?;
        let closed = run(pool, move |conn| {
            store::close_order(conn, owner, order.id, &prices)
        })
        .await?;
        match closed {
            Checkout::Closed(order, lines) => return Ok(Json(OrderDetail::of(&order, &lines))),
            Checkout::Empty => return Err(empty_order()),
            // A line was added (or the order closed and another opened) while beers was
            // asked: price what is there now.
            Checkout::Changed => continue,
        }
    }
    Err(ApiError::conflict("The order kept changing during checkout; try again").into())
}

fn empty_order() -> Error {
    ApiError::conflict("The order is empty").into()
}

/// How many of one checkout's lines are asked about at once.
const LOOKUPS_AT_ONCE: usize = 8;

/// Asks beers for every line's beer, a few at a time. A beer that is gone is reported before
/// beers being unavailable for another line: removing that line is needed either way.
async fn current_prices(
    beers: &BeersClient,
    lines: &[OrderLine],
    request_id: &RequestId,
) -> Result<HashMap<Sku, Money>, Error> {
    use futures::StreamExt;
    // Owned SKUs: a stream over borrowed lines trips the `Send` check of Rocket's handler.
    let skus: Vec<String> = lines
        .iter()
        .map(|line| line.sku.as_str().to_owned())
        .collect();
    let answers: Vec<_> = futures::stream::iter(skus)
        .map(|sku| async move { beers.beer(&sku, request_id).await })
        .buffered(LOOKUPS_AT_ONCE)
        .collect()
        .await;
    let mut prices = HashMap::with_capacity(lines.len());
    let mut unavailable = None;
    for (line, answer) in lines.iter().zip(answers) {
        match answer.and_then(|beer| beer.map(|b| catalogue_price(&b, request_id)).transpose()) {
            Ok(Some(price)) => {
                prices.insert(line.sku.clone(), price);
            }
            Ok(None) => {
                return Err(ApiError::conflict(format!(
                    "The beer {} is no longer in the catalogue",
                    line.sku
                ))
                .with_field("sku", line.sku.as_str())
                .into())
            }
            Err(error) => unavailable = unavailable.or(Some(error)),
        }
    }
    match unavailable {
        Some(error) => Err(error.into()),
        None => Ok(prices),
    }
}
