//! The storefront's account fragment, served from this binary.

use shared::ui::Module;

/// The `<brewery-account>` custom element (ES module): register, log in, log out, who am I.
/// Attribute `api`: this service's base URL ("" for the same origin). It keeps the token in
/// `localStorage` and announces it with a `brewery:token` event.
#[utoipa::path(get, path = "/ui/users.js", tag = "storefront",
    responses((status = 200, description = "The ES module", content_type = "text/javascript", body = String)))]
#[rocket::get("/ui/users.js")]
pub fn fragment() -> Module {
    Module(include_str!("../../ui/users.js"))
}
