//! The orders API: the open order, checkout, and the caller's past orders.

mod checkout;
mod current;
mod history;
mod ui;
mod views;

use rocket::Route;
use shared::ops::TokenAuth;
use utoipa::OpenApi;

pub fn routes() -> Vec<Route> {
    rocket::routes![
        history::list,
        current::show_current,
        current::add,
        current::remove,
        checkout::checkout_get,
        checkout::checkout_post,
        history::show,
        ui::fragment,
    ]
}

#[derive(OpenApi)]
#[openapi(
    info(title = "orders", description = "Each user's open order and past orders, priced by the beers catalogue."),
    paths(
        history::list,
        current::show_current,
        current::add,
        current::remove,
        checkout::checkout_get,
        checkout::checkout_post,
        history::show,
        ui::fragment,
    ),
    components(schemas(
        views::OrderSummary,
        views::OrderDetail,
        views::LineBody,
        current::LineFields,
        current::SkuFields,
        shared::dto::Message,
        shared::error::ErrorBody,
    )),
    modifiers(&TokenAuth),
    tags(
        (name = "orders", description = "The open order, checkout and past orders"),
        (name = "storefront", description = "The cart and order history fragments of the storefront (custom elements)"),
    )
)]
pub struct ApiDoc;
