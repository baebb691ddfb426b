//! Per-request conventions: trailing slashes, request ids, one log line per request (with
//! the client's address as [`crate::client::ClientAddress`] works it out).

use std::time::Instant;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::uri::Origin;
use rocket::http::Header;
use rocket::request::{FromRequest, Outcome};
use rocket::{Data, Request, Response};

pub const REQUEST_ID_HEADER: &str = "X-Request-Id";

/// The id of the request being served: the caller's `X-Request-Id` if it sent a usable one,
/// else a new one. It is echoed in the response and sent on to every neighbour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl RequestId {
    pub fn of(req: &Request<'_>) -> RequestId {
        req.local_cache(|| {
            let given = req
                .headers()
                .get_one(REQUEST_ID_HEADER)
                .map(str::trim)
                .filter(|id| is_usable_id(id));
            RequestId(match given {
                Some(id) => id.to_owned(),
                None => uuid::Uuid::new_v4().to_string(),
            })
        })
        .clone()
    }
}

/// Printable ASCII, at most 128 characters: anything else could forge log lines or headers.
fn is_usable_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic())
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for RequestId {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(RequestId::of(req))
    }
}

struct StartedAt(Instant);

/// The fairing that applies the conventions to every request of a service.
pub struct Conventions {
    pub service: &'static str,
}

#[rocket::async_trait]
impl Fairing for Conventions {
    fn info(&self) -> Info {
        Info {
            name: "request conventions",
            kind: Kind::Request | Kind::Response,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        req.local_cache(|| StartedAt(Instant::now()));
        RequestId::of(req);
        if let Some(trimmed) = without_trailing_slash(req.uri()) {
            req.set_uri(trimmed);
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let id = RequestId::of(req);
        res.set_header(Header::new(REQUEST_ID_HEADER, id.0.clone()));
        // The line's fields cost a few microseconds to format; not when the level is off.
        if !tracing::enabled!(tracing::Level::INFO) {
            return;
        }
        let elapsed = req.local_cache(|| StartedAt(Instant::now())).0.elapsed();
        let route = req
            .route()
            .map(|r| r.uri.to_string())
            .unwrap_or_else(|| "-".into());
        tracing::info!(
            service = self.service,
            request_id = %id.0,
            client = %crate::client::ClientAddress::of(req),
            method = %req.method(),
            path = %req.uri().path(),
            route = %route,
            status = res.status().code,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request"
        );
    }
}

/// `/api/beers/` answers like `/api/beers`: the API's routes are declared without the slash.
fn without_trailing_slash(uri: &Origin<'_>) -> Option<Origin<'static>> {
    let path = uri.path().as_str();
    if !path.starts_with("/api/") || !path.ends_with('/') {
        return None;
    }
    let trimmed = path.trim_end_matches('/');
    let text = match uri.query() {
        Some(query) => format!("{trimmed}?{query}"),
        None => trimmed.to_owned(),
    };
    Origin::parse_owned(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_paths_lose_their_trailing_slash_and_keep_their_query() {
        let cases = [
            ("/api/beers/", Some("/api/beers")),
            ("/api/beers/?limit=2", Some("/api/beers?limit=2")),
            ("/api/beers", None),
            ("/docs/", None),
            ("/", None),
        ];
        for (given, expected) in cases {
            let uri = Origin::parse(given).unwrap();
            let got = without_trailing_slash(&uri).map(|o| o.to_string());
            assert_eq!(got.as_deref(), expected, "{given}");
        }
    }

    #[test]
    fn only_printable_short_request_ids_are_kept() {
        assert!(is_usable_id("abc-123"));
        assert!(!is_usable_id(""));
        assert!(!is_usable_id("a b"));
        assert!(!is_usable_id(&"x".repeat(129)));
    }
}
