//! The beers API: the catalogue, read by anyone and changed by administrators.

mod catalogue;
mod ui;

use rocket::Route;
use shared::ops::TokenAuth;
use utoipa::OpenApi;

pub fn routes() -> Vec<Route> {
    rocket::routes![
        catalogue::list,
        catalogue::show,
        catalogue::create,
        catalogue::update,
        catalogue::delete,
        ui::fragment,
    ]
}

/// The OpenAPI document of the beers API.
#[derive(OpenApi)]
#[openapi(
    info(title = "beers", description = "The catalogue of the brewery trio: SKU, name, price, image."),
    paths(
        catalogue::list,
        catalogue::show,
        catalogue::create,
        catalogue::update,
        catalogue::delete,
        ui::fragment,
    ),
    components(schemas(
        shared::dto::Beer,
        shared::error::ErrorBody,
        catalogue::NewBeerFields,
        catalogue::BeerChangeFields,
    )),
    modifiers(&TokenAuth),
    tags(
        (name = "beers", description = "The beer catalogue"),
        (name = "storefront", description = "The catalogue fragment of the storefront (a custom element)"),
    )
)]
pub struct ApiDoc;
