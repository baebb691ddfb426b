//! The caller's open order: seeing it, adding beers to it, taking beers out of it.

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::State;
use serde::Deserialize;
use shared::auth::Caller;
use shared::clients::{BeersClient, Unavailable};
use shared::db::{run, Pool};
use shared::dto::{Beer, Message};
use shared::error::ErrorBody;
use shared::idempotency::{Answer, Claim, IdempotencyKey, IdempotencyKeyHeader};
use shared::request::RequestId;
use shared::{ApiError, Fields};
use utoipa::ToSchema;

use super::views::OrderDetail;
use crate::domain::{Money, Quantity, Sku};
use crate::error::Error;
use crate::store::{self, Added};

/// The fields of an add (form or JSON).
#[allow(dead_code)]
#[derive(Deserialize, ToSchema)]
pub struct LineFields {
    /// 1–64 characters of `A-Z a-z 0-9 _ -`, a SKU of the catalogue.
    #[schema(example = "123456")]
    sku: String,
    /// A whole number from 1 to 10000 (a number or a string of digits).
    #[schema(value_type = i64, example = 2, minimum = 1, maximum = 10000)]
    quantity: String,
}

/// The field of a removal (form or JSON; `?sku=` also works).
#[allow(dead_code)]
#[derive(Deserialize, ToSchema)]
pub struct SkuFields {
    #[schema(example = "123456")]
    sku: String,
}

/// The caller's open order with its lines; an empty one is opened if there is none.
#[utoipa::path(get, path = "/api/orders/current", tag = "orders",
    security(("token" = [])),
    responses(
        (status = 200, description = "The open order", body = OrderDetail),
        (status = 400, description = "No Authorization header", body = ErrorBody),
        (status = 401, description = "Unknown, revoked or expired token", body = ErrorBody),
        (status = 503, description = "The users service is unavailable", body = ErrorBody)))]
#[rocket::get("/api/orders/current")]
pub async fn show_current(caller: Caller, pool: &State<Pool>) -> Result<Json<OrderDetail>, Error> {
    let owner = caller.user.id;
    let (order, lines) = run(pool, move |conn| store::open_order_for(conn, owner)).await?;
    Ok(Json(OrderDetail::of(&order, &lines)))
}

/// Adds `quantity` of a beer to the open order (opened if there is none), at the beer's
/// current price. Adding a beer already in the order adds to its quantity.
#[utoipa::path(put, path = "/api/orders/current", tag = "orders",
    security(("token" = [])),
    params(IdempotencyKeyHeader),
    request_body(content(
        (LineFields = "application/x-www-form-urlencoded"),
        (LineFields = "application/json"))),
    responses(
        (status = 201, description = "The beer is in the order", body = Message,
            example = json!({"message": "Added 2 × 123456 to order 7"})),
        (status = 400, description = "Bad fields, the line would pass 10000, or no Authorization header", body = ErrorBody),
        (status = 413, description = "The body is larger than 64 KiB", body = ErrorBody),
        (status = 415, description = "The body is neither a form nor JSON", body = ErrorBody),
        (status = 401, description = "Unknown, revoked or expired token", body = ErrorBody),
        (status = 404, description = "No beer with this SKU", body = ErrorBody),
        (status = 409, description = "A request with this Idempotency-Key is still running (`Retry-After` says when to try again)", body = ErrorBody),
        (status = 422, description = "This Idempotency-Key was used for a different request", body = ErrorBody),
        (status = 503, description = "The users or beers service is unavailable", body = ErrorBody)))]
#[rocket::put("/api/orders/current", data = "<fields>")]
pub async fn add(
    caller: Caller,
    key: IdempotencyKey,
    request_id: RequestId,
    pool: &State<Pool>,
    beers: &State<BeersClient>,
    fields: Fields,
) -> Result<Answer, Error> {
    key.run(pool, caller.user.id, Some(&fields), |claim| {
        add_line(claim, caller, &request_id, pool, beers, &fields)
    })
    .await
}

async fn add_line(
    claim: Claim,
    caller: Caller,
    request_id: &RequestId,
    pool: &Pool,
    beers: &BeersClient,
    fields: &Fields,
) -> Result<Answer, Error> {
    let mut errors = fields.errors();
    let sku = errors.required("sku", fields.get("sku"), Sku::parse);
    let quantity = errors.required("quantity", fields.get("quantity"), Quantity::parse);
    let (Some(sku), Some(quantity)) = (sku, quantity) else {
        return Err(errors.into());
    };
    if !errors.is_empty() {
        return Err(errors.into());
    }

    let Some(beer) = beers.beer(&sku, request_id).await? else {
        return Err(ApiError::not_found(format!("No beer with SKU {sku}")).into());
    };
    let unit_price = catalogue_price(&beer, request_id)?;

    let owner = caller.user.id;
    run(pool, move |conn| {
        claim.write(conn, |conn| {
            match store::add_to_open_order(conn, owner, &sku, quantity, unit_price)? {
                Added::Added { order_id } => Ok(Answer::json(
                    Status::Created,
                    &Message {
                        message: format!("Added {quantity} × {sku} to order {order_id}"),
                    },
                )),
                Added::WouldPassLimit { in_order } => Err(ApiError::bad_request(format!(
                    "The line for {sku} would pass {} items",
                    Quantity::MAX
                ))
                .with_field(
                    "quantity",
                    format!(
                        "the order already holds {in_order} × {sku}; a line holds at most {}",
                        Quantity::MAX
                    ),
                )
                .into()),
            }
        })
    })
    .await
}

/// The price to record for a beer. The catalogue only holds positive whole cents, so
/// anything else means beers answered something we cannot trust.
pub fn catalogue_price(beer: &Beer, request_id: &RequestId) -> Result<Money, Unavailable> {
    Money::price(beer.price).map_err(|problem| Unavailable {
        service: "beers",
        request_id: request_id.0.clone(),
        cause: format!(
            "beer {} has the price {}, which {problem}",
            beer.sku, beer.price
        ),
    })
}

/// Takes a beer out of the open order. Also 204 when the beer was not in it, or there is
/// no open order: either way it is not in the order afterwards.
#[utoipa::path(delete, path = "/api/orders/current", tag = "orders",
    security(("token" = [])),
    params(("sku" = Option<String>, Query, description = "The SKU, when not sent in the body"), IdempotencyKeyHeader),
    request_body(content(
        (SkuFields = "application/x-www-form-urlencoded"),
        (SkuFields = "application/json"))),
    responses(
        (status = 204, description = "The beer is not in the open order (any more)"),
        (status = 400, description = "No or a malformed SKU, or no Authorization header", body = ErrorBody),
        (status = 413, description = "The body is larger than 64 KiB", body = ErrorBody),
        (status = 415, description = "The body is neither a form nor JSON", body = ErrorBody),
        (status = 401, description = "Unknown, revoked or expired token", body = ErrorBody),
        (status = 409, description = "A request with this Idempotency-Key is still running (`Retry-After` says when to try again)", body = ErrorBody),
        (status = 422, description = "This Idempotency-Key was used for a different request", body = ErrorBody),
        (status = 503, description = "The users service is unavailable", body = ErrorBody)))]
#[rocket::delete("/api/orders/current", data = "<fields>")]
pub async fn remove(
    caller: Caller,
    key: IdempotencyKey,
    query: shared::QueryFields,
    pool: &State<Pool>,
    fields: Fields,
) -> Result<Answer, Error> {
    let owner = caller.user.id;
    key.run(pool, owner, Some(&fields), |claim| {
        remove_line(claim, owner, &query, pool, &fields)
    })
    .await
}

async fn remove_line(
    claim: Claim,
    owner: i64,
    query: &shared::QueryFields,
    pool: &Pool,
    fields: &Fields,
) -> Result<Answer, Error> {
    let mut errors = fields.errors();
    let raw = fields.get("sku").or(query.get("sku"));
    let Some(sku) = errors.required("sku", raw, Sku::parse) else {
        return Err(errors.into());
    };
    if !errors.is_empty() {
        return Err(errors.into());
    }
    run(pool, move |conn| {
        claim.write(conn, |conn| {
            store::remove_from_open_order(conn, owner, &sku)?;
            Ok(Answer::empty(Status::NoContent))
        })
    })
    .await
}
