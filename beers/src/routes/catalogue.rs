//! Listing, showing, adding, changing and removing beers.

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::State;
use shared::auth::Admin;
use shared::db::{run, Pool};
use shared::dto::Beer;
use shared::error::ErrorBody;
use shared::error::TAKEN;
use shared::idempotency::{Answer, Claim, IdempotencyKey, IdempotencyKeyHeader};
use shared::paging::Page;
use shared::request::RequestId;
use shared::{FieldErrors, Fields, QueryFields};
use utoipa::ToSchema;

use crate::domain::{BeerDetails, BeerName, Image, NewBeer, Price, Sku};
use crate::error::Error;
use crate::store::{self, BeerRow, Taken};

/// The fields of a new beer (form or JSON).
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct NewBeerFields {
    /// 1–64 characters of `A-Z a-z 0-9 _ -`, not taken by another beer.
    #[schema(example = "123459")]
    sku: String,
    /// 1–255 characters after trimming.
    #[schema(example = "Пиринско")]
    name: String,
    /// More than 0, at most 999999.99, at most two decimal places; a string or a JSON number.
    #[schema(example = "2.35")]
    price: String,
    /// At most 2048 characters; absent or blank means none.
    #[schema(example = "https://example.com/pirinsko.png")]
    image: Option<String>,
}

/// The fields of a changed beer (form or JSON). Name, price and image are all replaced.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct BeerChangeFields {
    /// 1–255 characters after trimming.
    #[schema(example = "Пиринско светло")]
    name: String,
    /// More than 0, at most 999999.99, at most two decimal places; a string or a JSON number.
    #[schema(example = "2.40")]
    price: String,
    /// At most 2048 characters; absent or blank removes the image.
    #[schema(example = "https://example.com/pirinsko.png")]
    image: Option<String>,
    /// May be sent, but only as the SKU in the path: a SKU cannot be changed.
    #[schema(example = "123459")]
    sku: Option<String>,
}

/// A SKU in a path: anything that is not a SKU names no beer.
fn sku_in_path(raw: &str) -> Result<Sku, Error> {
    Sku::parse(raw).map_err(|_| Error::NoSuchBeer)
}

/// Name, price and image, every problem recorded in `errors`.
fn read_details(fields: &Fields, errors: &mut FieldErrors) -> Option<BeerDetails> {
    let name = errors.required("name", fields.get("name"), BeerName::parse);
    let price = errors.required("price", fields.get("price"), Price::parse);
    let image = errors.check(
        "image",
        Image::parse(fields.get("image").unwrap_or_default()),
    );
    Some(BeerDetails {
        name: name?,
        price: price?,
        image: image?,
    })
}

/// At most this many SKUs in one lookup (`GET /api/beers/?sku=…&sku=…`).
pub const MAX_SKUS: usize = 1000;

/// The catalogue, in the order beers were added; with `sku`, only those beers.
#[utoipa::path(get, path = "/api/beers", tag = "beers", operation_id = "list_beers",
    params(
        ("limit" = Option<i64>, Query, description = "How many beers to return, 1–1000 (default 100; with `sku`, default the number of SKUs asked for)"),
        ("offset" = Option<i64>, Query, description = "How many beers to skip first (default 0)"),
        ("sku" = Option<Vec<String>>, Query, style = Form, explode, description = "Only the beers with these SKUs (repeat the field, at most 1000; each 1–64 characters of `A-Z a-z 0-9 _ -`); unknown SKUs are left out", example = json!(["123456", "123458"]))),
    responses(
        (status = 200, description = "The beers of this page, ordered by id", body = Vec<Beer>),
        (status = 400, description = "`limit` or `offset` is not a valid number, a `sku` is not a SKU, or more than 1000 were asked for", body = ErrorBody)))]
#[rocket::get("/api/beers")]
pub async fn list(query: QueryFields, pool: &State<Pool>) -> Result<Json<Vec<Beer>>, Error> {
    let mut errors = FieldErrors::new();
    let skus = read_skus(&query.all("sku"), &mut errors);
    let page = Page::parse(query.get("limit"), query.get("offset"), &mut errors);
    let (Some(page), Some(skus), true) = (page, skus, errors.is_empty()) else {
        return Err(errors.into());
    };
    let rows = match skus {
        None => run(pool, move |conn| store::beers_page(conn, page)).await?,
        Some(skus) => {
            // A lookup returns every beer asked for unless the caller pages it.
            let page = match query.get("limit") {
                Some(_) => page,
                None => Page {
                    limit: skus.len().max(1) as i64,
                    ..page
                },
            };
            run(pool, move |conn| store::beers_with_skus(conn, &skus, page)).await?
        }
    };
    Ok(Json(rows.iter().map(BeerRow::to_beer).collect()))
}

/// The `sku` fields of a lookup, without repeats: `Some(None)` when there are none, `None`
/// when one is not a SKU  or there are too many.
fn read_skus(raw: &[String], errors: &mut FieldErrors) -> Option<Option<Vec<Sku>>> {
    if raw.is_empty() {
        return Some(None);
    }
    if raw.len() > MAX_SKUS {
        errors.add("sku", format!("at most {MAX_SKUS} SKUs at once"));
        return None;
    }
    let mut skus: Vec<Sku> = Vec::with_capacity(raw.len());
    for text in raw {
        match Sku::parse(text) {
            Ok(sku) => {
                if !skus.contains(&sku) {
                    skus.push(sku);
                }
            }
            Err(rule) => {
                errors.add("sku", format!("{text:?} is not a SKU: each {rule}"));
                return None;
            }
        }
    }
    Some(Some(skus))
}

/// One beer, by its SKU.
#[utoipa::path(get, path = "/api/beers/{sku}", tag = "beers", operation_id = "show_beer",
    params(("sku" = String, Path, description = "The beer's SKU", example = "123456")),
    responses(
        (status = 200, description = "The beer", body = Beer),
        (status = 404, description = "No beer has this SKU", body = ErrorBody)))]
#[rocket::get("/api/beers/<sku>")]
pub async fn show(sku: &str, pool: &State<Pool>) -> Result<Json<Beer>, Error> {
    let sku = sku_in_path(sku)?;
    let row = run(pool, move |conn| store::beer_by_sku(conn, &sku)).await?;
    row.map(|row| Json(row.to_beer())).ok_or(Error::NoSuchBeer)
}

/// Adds a beer to the catalogue. Administrators only.
#[utoipa::path(post, path = "/api/beers", tag = "beers", operation_id = "add_beer",
    params(IdempotencyKeyHeader),
    request_body(content(
        (NewBeerFields = "application/x-www-form-urlencoded"),
        (NewBeerFields = "application/json"))),
    responses(
        (status = 201, description = "The new beer", body = Beer,
            headers(("Location" = String, description = "Where the new beer is: /api/beers/{sku}"))),
        (status = 400, description = "Bad fields (every one is named), the SKU is taken, or the Authorization header is missing", body = ErrorBody),
        (status = 401, description = "The token is unknown, revoked or expired", body = ErrorBody),
        (status = 403, description = "The caller is not an administrator", body = ErrorBody),
        (status = 413, description = "The body is larger than 64 KiB", body = ErrorBody),
        (status = 415, description = "The body is neither a form nor JSON", body = ErrorBody),
        (status = 409, description = "A request with this Idempotency-Key is still running (`Retry-After` says when to try again)", body = ErrorBody),
        (status = 422, description = "This Idempotency-Key was used for a different request", body = ErrorBody),
        (status = 503, description = "The users service cannot check the token", body = ErrorBody)),
    security(("token" = [])))]
#[rocket::post("/api/beers", data = "<fields>")]
pub async fn create(
    admin: Admin,
    key: IdempotencyKey,
    request_id: RequestId,
    fields: Fields,
    pool: &State<Pool>,
) -> Result<Answer, Error> {
    key.run(pool, admin.user.id, Some(&fields), |claim| {
        add_beer(claim, admin, request_id, &fields, pool)
    })
    .await
}

async fn add_beer(
    claim: Claim,
    admin: Admin,
    request_id: RequestId,
    fields: &Fields,
    pool: &Pool,
) -> Result<Answer, Error> {
    let mut errors = fields.errors();
    let sku = errors.required("sku", fields.get("sku"), Sku::parse);
    let details = read_details(fields, &mut errors);
    let (Some(sku), Some(details), true) = (sku.clone(), details, errors.is_empty()) else {
        // A taken SKU is reported together with every other problem.
        if let Some(sku) = sku {
            if run(pool, move |conn| store::sku_exists(conn, &sku)).await? {
                errors.add("sku", TAKEN);
            }
        }
        return Err(errors.into());
    };
    let beer = NewBeer { sku, details };
    // The unique index, not a prior look-up, decides between two creates that race.
    let answer = run(pool, move |conn| {
        claim.write(conn, |conn| match store::insert_beer(conn, &beer)? {
            Ok(row) => Ok(Answer::json(Status::Created, &row.to_beer())
                .with_location(format!("/api/beers/{}", row.sku))),
            Err(Taken) => Err(Error::Taken),
        })
    })
    .await?;
    tracing::info!(request_id = %request_id.0, admin = %admin.user.username, location = ?answer.location, "beer added");
    Ok(answer)
}

/// Replaces a beer's name, price and image. Administrators only.
#[utoipa::path(put, path = "/api/beers/{sku}", tag = "beers", operation_id = "change_beer",
    params(("sku" = String, Path, description = "The beer's SKU", example = "123456"), IdempotencyKeyHeader),
    request_body(content(
        (BeerChangeFields = "application/x-www-form-urlencoded"),
        (BeerChangeFields = "application/json"))),
    responses(
        (status = 200, description = "The changed beer", body = Beer),
        (status = 400, description = "Bad fields (every one is named; checked before the beer is looked up), a `sku` that differs from the path, or the Authorization header is missing", body = ErrorBody),
        (status = 401, description = "The token is unknown, revoked or expired", body = ErrorBody),
        (status = 403, description = "The caller is not an administrator", body = ErrorBody),
        (status = 404, description = "No beer has this SKU", body = ErrorBody),
        (status = 413, description = "The body is larger than 64 KiB", body = ErrorBody),
        (status = 415, description = "The body is neither a form nor JSON", body = ErrorBody),
        (status = 409, description = "A request with this Idempotency-Key is still running (`Retry-After` says when to try again)", body = ErrorBody),
        (status = 422, description = "This Idempotency-Key was used for a different request", body = ErrorBody),
        (status = 503, description = "The users service cannot check the token", body = ErrorBody)),
    security(("token" = [])))]
#[rocket::put("/api/beers/<sku>", data = "<fields>")]
pub async fn update(
    admin: Admin,
    key: IdempotencyKey,
    request_id: RequestId,
    sku: &str,
    fields: Fields,
    pool: &State<Pool>,
) -> Result<Answer, Error> {
    key.run(pool, admin.user.id, Some(&fields), |claim| {
        change_beer(claim, admin, request_id, sku, &fields, pool)
    })
    .await
}

async fn change_beer(
    claim: Claim,
    admin: Admin,
    request_id: RequestId,
    sku: &str,
    fields: &Fields,
    pool: &Pool,
) -> Result<Answer, Error> {
    let path_sku = sku_in_path(sku);
    let mut errors = fields.errors();
    if let Some(given) = fields.get("sku") {
        let unchanged =
            matches!((Sku::parse(given), &path_sku), (Ok(given), Ok(path)) if &given == path);
        if !unchanged {
            errors.add("sku", "cannot be changed");
        }
    }
    let details = read_details(fields, &mut errors);
    let (Some(details), true) = (details, errors.is_empty()) else {
        return Err(errors.into());
    };
    let sku = path_sku?;
    let changed = sku.clone();
    let answer = run(pool, move |conn| {
        claim.write(conn, |conn| {
            let row = store::update_beer(conn, &sku, &details)?.ok_or(Error::NoSuchBeer)?;
            Ok::<_, Error>(Answer::json(Status::Ok, &row.to_beer()))
        })
    })
    .await?;
    tracing::info!(request_id = %request_id.0, admin = %admin.user.username, sku = %changed, "beer changed");
    Ok(answer)
}

/// Removes a beer from the catalogue. Administrators only.
#[utoipa::path(delete, path = "/api/beers/{sku}", tag = "beers", operation_id = "remove_beer",
    params(("sku" = String, Path, description = "The beer's SKU", example = "123456")),
    responses(
        (status = 204, description = "The beer is gone"),
        (status = 400, description = "The Authorization header is missing", body = ErrorBody),
        (status = 401, description = "The token is unknown, revoked or expired", body = ErrorBody),
        (status = 403, description = "The caller is not an administrator", body = ErrorBody),
        (status = 404, description = "No beer has this SKU", body = ErrorBody),
        (status = 503, description = "The users service cannot check the token", body = ErrorBody)),
    security(("token" = [])))]
#[rocket::delete("/api/beers/<sku>")]
pub async fn delete(
    admin: Admin,
    request_id: RequestId,
    sku: &str,
    pool: &State<Pool>,
) -> Result<Status, Error> {
    let sku = sku_in_path(sku)?;
    let removed = {
        let sku = sku.clone();
        run(pool, move |conn| store::delete_beer(conn, &sku)).await?
    };
    if !removed {
        return Err(Error::NoSuchBeer);
    }
    tracing::info!(request_id = %request_id.0, admin = %admin.user.username, %sku, "beer removed");
    Ok(Status::NoContent)
}
