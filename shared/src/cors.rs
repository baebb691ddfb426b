//! Cross-origin access for the storefront: which origins may call a service from a browser,
//! and the answers to their preflights.

use std::io::Cursor;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{Header, Method, Status};
use rocket::{Build, Request, Response, Rocket};

/// The Rocket configuration key the allowed origins travel under (see
/// `ServiceSettings::figment`), so a test can give one instance its own list.
pub const FIGMENT_KEY: &str = "cors_allowed_origins";

/// The variable that lists the allowed origins, comma-separated.
pub const VARIABLE: &str = "CORS_ALLOWED_ORIGINS";

/// The shell's own origins, served by `tasks serve` on port 5000.
pub const DEFAULT_ORIGINS: &str = "http://127.0.0.1:5000,http://localhost:5000";

/// The headers a browser may send cross-origin: the token, the body's type, and the key that
/// makes a write safe to retry.
const ALLOWED_HEADERS: &str = "Authorization, Content-Type, Idempotency-Key";

/// Response headers a page may read: `Retry-After` tells a throttled login (or a retry whose
/// first request still runs) when to try again; `Idempotency-Replayed` marks a stored answer.
const EXPOSED_HEADERS: &str = "Retry-After, X-Request-Id, Idempotency-Replayed";

/// How long a browser may reuse a preflight's answer (seconds; Chromium caps it at 7200).
const MAX_AGE_SECS: &str = "600";

/// The origins allowed to call a service from a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsPolicy {
    origins: Vec<String>,
}

impl CorsPolicy {
    /// Origins from a comma-separated list. Each is compared exactly as browsers send it
    /// (`scheme://host[:port]`), so a trailing slash is dropped and blanks are ignored.
    pub fn parse(list: &str) -> Self {
        let origins = list
            .split(',')
            .map(|origin| origin.trim().trim_end_matches('/'))
            .filter(|origin| !origin.is_empty())
            .map(str::to_owned)
            .collect();
        CorsPolicy { origins }
    }

    /// `CORS_ALLOWED_ORIGINS`, or the shell's origins when it is unset or empty.
    pub fn from_env() -> Self {
        Self::parse(&crate::config::var(VARIABLE).unwrap_or_else(|| DEFAULT_ORIGINS.into()))
    }

    pub fn origins(&self) -> &[String] {
        &self.origins
    }

    pub fn allows(&self, origin: &str) -> bool {
        self.origins.iter().any(|allowed| allowed == origin)
    }
}

impl Default for CorsPolicy {
    fn default() -> Self {
        Self::parse(DEFAULT_ORIGINS)
    }
}

/// The fairing: CORS headers for allowed origins on every response, and preflights answered.
///
/// A preflight is an `OPTIONS` request, and no route takes `OPTIONS`, so the shared catcher
/// has already made it a 405 (a known path) or a 404 when this runs; for a known path it
/// becomes a bodiless 204 with `Allow`, and, for an allowed origin, the preflight's headers.
/// Attached before the request log and the metrics, so both see the 204.
pub struct Cors;

#[rocket::async_trait]
impl Fairing for Cors {
    fn info(&self) -> Info {
        Info {
            name: "CORS",
            kind: Kind::Ignite | Kind::Response,
        }
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> rocket::fairing::Result {
        let policy = match rocket.figment().extract_inner::<String>(FIGMENT_KEY) {
            Ok(list) => CorsPolicy::parse(&list),
            Err(_) => CorsPolicy::default(),
        };
        Ok(rocket.manage(policy))
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        if req.method() == Method::Options {
            answer_options(req, res);
        }
        let Some(policy) = req.rocket().state::<CorsPolicy>() else {
            return;
        };
        // The answer depends on Origin, so caches must keep one per origin.
        res.adjoin_header(Header::new("Vary", "Origin"));
        let Some(origin) = req.headers().get_one("Origin") else {
            return;
        };
        if !policy.allows(origin) {
            return;
        }
        res.set_header(Header::new(
            "Access-Control-Allow-Origin",
            origin.to_owned(),
        ));
        if is_preflight(req) && res.status() == Status::NoContent {
            if let Some(allow) = res.headers().get_one("Allow").map(str::to_owned) {
                res.set_header(Header::new("Access-Control-Allow-Methods", allow));
            }
            res.set_header(Header::new("Access-Control-Allow-Headers", ALLOWED_HEADERS));
            res.set_header(Header::new("Access-Control-Max-Age", MAX_AGE_SECS));
        } else {
            res.set_header(Header::new(
                "Access-Control-Expose-Headers",
                EXPOSED_HEADERS,
            ));
        }
    }
}

fn is_preflight(req: &Request<'_>) -> bool {
    req.method() == Method::Options
        && req
            .headers()
            .get_one("Access-Control-Request-Method")
            .is_some()
}

/// `OPTIONS` on a path the service knows: 204 with the methods it takes there in `Allow`.
fn answer_options(req: &Request<'_>, res: &mut Response<'_>) {
    let mut methods = crate::error::allowed_methods(req);
    if methods.is_empty() {
        return; // an unknown path stays a 404
    }
    methods.push("OPTIONS".into());
    res.set_status(Status::NoContent);
    res.remove_header("Content-Type");
    res.set_sized_body(0, Cursor::new(Vec::new()));
    res.set_header(Header::new("Allow", methods.join(", ")));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_read_from_a_comma_separated_list() {
        let cases = [
            ("http://a.example", vec!["http://a.example"]),
            (
                " http://a.example/ , https://b.example:8443,,",
                vec!["http://a.example", "https://b.example:8443"],
            ),
            ("", vec![]),
        ];
        for (list, expected) in cases {
            assert_eq!(CorsPolicy::parse(list).origins(), expected, "{list:?}");
        }
    }

    #[test]
    fn only_listed_origins_are_allowed_exactly() {
        let policy = CorsPolicy::default();
        assert!(policy.allows("http://127.0.0.1:5000"));
        assert!(policy.allows("http://localhost:5000"));
        assert!(!policy.allows("http://localhost:5001"));
        assert!(!policy.allows("http://localhost:5000.evil.example"));
        assert!(!policy.allows("null"));
    }
}
