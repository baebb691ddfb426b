//! Checkout: the open order is priced again by the catalogue, totalled and closed for good.

use std::collections::HashMap;

use rocket::http::Status;
use rocket::State;
use shared::auth::Caller;
use shared::clients::BeersClient;
use shared::db::{run, Pool};
use shared::error::ErrorBody;
use shared::idempotency::{Answer, Claim, IdempotencyKey, IdempotencyKeyHeader};
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
    params(IdempotencyKeyHeader),
    responses(
        (status = 200, description = "The closed order", body = OrderDetail),
        (status = 400, description = "No Authorization header", body = ErrorBody),
        (status = 401, description = "Unknown, revoked or expired token", body = ErrorBody),
        (status = 409, description = "The order is empty, or one of its beers left the catalogue (`errors.sku` names it); or a request with this Idempotency-Key is still running (with `Retry-After`)", body = ErrorBody),
        (status = 422, description = "This Idempotency-Key was used for a different request", body = ErrorBody),
        (status = 503, description = "The users or beers service is unavailable", body = ErrorBody)))]
#[rocket::get("/api/orders/checkout")]
pub async fn checkout_get(
    caller: Caller,
    key: IdempotencyKey,
    request_id: RequestId,
    pool: &State<Pool>,
    beers: &State<BeersClient>,
) -> Result<Answer, Error> {
    check_out(caller.user.id, key, &request_id, pool, beers).await
}

/// Closes the open order at the catalogue's current prices.
#[utoipa::path(post, path = "/api/orders/checkout", tag = "orders",
    security(("token" = [])),
    params(IdempotencyKeyHeader),
    responses(
        (status = 200, description = "The closed order", body = OrderDetail),
        (status = 400, description = "No Authorization header", body = ErrorBody),
        (status = 401, description = "Unknown, revoked or expired token", body = ErrorBody),
        (status = 409, description = "The order is empty, or one of its beers left the catalogue (`errors.sku` names it); or a request with this Idempotency-Key is still running (with `Retry-After`)", body = ErrorBody),
        (status = 422, description = "This Idempotency-Key was used for a different request", body = ErrorBody),
        (status = 503, description = "The users or beers service is unavailable", body = ErrorBody)))]
#[rocket::post("/api/orders/checkout")]
pub async fn checkout_post(
    caller: Caller,
    key: IdempotencyKey,
    request_id: RequestId,
    pool: &State<Pool>,
    beers: &State<BeersClient>,
) -> Result<Answer, Error> {
    check_out(caller.user.id, key, &request_id, pool, beers).await
}

async fn check_out(
    owner: i64,
    key: IdempotencyKey,
    request_id: &RequestId,
    pool: &Pool,
    beers: &BeersClient,
) -> Result<Answer, Error> {
    key.run(pool, owner, None, |claim| {
        close_open_order(claim, owner, request_id, pool, beers)
    })
    .await
}

async fn close_open_order(
    claim: Claim,
    owner: i64,
    request_id: &RequestId,
    pool: &Pool,
    beers: &BeersClient,
) -> Result<Answer, Error> {
    for _ in 0..ATTEMPTS {
        let open = run(pool, move |conn| store::existing_open_order(conn, owner)).await?;
        let Some((order, lines)) = open.filter(|(_, lines)| !lines.is_empty()) else {
            return Err(empty_order());
        };
        let prices = current_prices(beers, &lines, request_id).await?;
        let claim = claim.clone();
        let closed = run(pool, move |conn| {
            claim.write(conn, |conn| {
                match store::close_order(conn, owner, order.id, &prices)? {
                    Checkout::Closed(order, lines) => Ok(Some(Answer::json(
                        Status::Ok,
                        &OrderDetail::of(&order, &lines),
                    ))),
                    Checkout::Empty => Err(empty_order()),
                    // A line was added (or the order closed and another opened) while
                    // beers was asked: price what is there now (nothing was written).
                    Checkout::Changed => Ok(None),
                }
            })
        })
        .await?;
        if let Some(answer) = closed {
            return Ok(answer);
        }
    }
    Err(ApiError::conflict("The order kept changing during checkout; try again").into())
}

fn empty_order() -> Error {
    ApiError::conflict("The order is empty").into()
}

/// Asks beers about every line's beer in one call (`GET /api/beers/?sku=…`; more only past
/// 1,000 lines). A beer that is gone is a 409 naming it.
async fn current_prices(
    beers: &BeersClient,
    lines: &[OrderLine],
    request_id: &RequestId,
) -> Result<HashMap<Sku, Money>, Error> {
    let skus: Vec<&Sku> = lines.iter().map(|line| &line.sku).collect();
    let found = beers.beers(&skus, request_id).await?;
    let mut prices_by_sku = HashMap::with_capacity(found.len());
    for beer in &found {
        prices_by_sku.insert(beer.sku.as_str(), catalogue_price(beer, request_id)?);
    }
    let mut prices = HashMap::with_capacity(lines.len());
    for line in lines {
        let Some(price) = prices_by_sku.get(line.sku.as_str()) else {
            return Err(ApiError::conflict(format!(
                "The beer {} is no longer in the catalogue",
                line.sku
            ))
            .with_field("sku", line.sku.as_str())
            .into());
        };
        prices.insert(line.sku.clone(), *price);
    }
    Ok(prices)
}
