//! The storefront's catalogue fragment, served from this binary.

use shared::ui::Module;

/// The `<brewery-catalogue>` custom element (ES module): the catalogue page by page, one
/// beer's page, "add to cart" (a `brewery:add-to-cart` event), and for administrators adding,
/// changing and deleting beers. Attribute `api`: this service's base URL ("" for the same
/// origin).
#[utoipa::path(get, path = "/ui/beers.js", tag = "storefront",
    responses((status = 200, description = "The ES module", content_type = "text/javascript", body = String)))]
#[rocket::get("/ui/beers.js")]
pub fn fragment() -> Module {
    Module(include_str!("../../ui/beers.js"))
}
