//! A service's storefront fragment: an ES module compiled into its binary and served as is.

use rocket::http::{ContentType, Header};
use rocket::response::{self, Responder};
use rocket::{Request, Response};

/// The text of an ES module (`include_str!`), answered as JavaScript. `no-cache` lets a
/// browser keep it but ask again each time (a new release's fragment is used at once).
pub struct Module(pub &'static str);

impl<'r> Responder<'r, 'static> for Module {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        Response::build()
            .header(ContentType::JavaScript)
            .header(Header::new("Cache-Control", "no-cache"))
            .sized_body(self.0.len(), std::io::Cursor::new(self.0))
            .ok()
    }
}
