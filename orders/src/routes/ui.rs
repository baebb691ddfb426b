//! The storefront's cart and order history fragment, served from this binary.

use shared::ui::Module;

/// The `<brewery-cart>` and `<brewery-orders>` custom elements (ES module): the open order
/// with unit prices, line totals and its total (change a quantity, remove a line, check out),
/// and past orders with their frozen totals. Attribute `api`: this service's base URL ("" for
/// the same origin).
#[utoipa::path(get, path = "/ui/orders.js", tag = "storefront",
    responses((status = 200, description = "The ES module", content_type = "text/javascript", body = String)))]
#[rocket::get("/ui/orders.js")]
pub fn fragment() -> Module {
    Module(include_str!("../../ui/orders.js"))
}
