//! Security headers: `nosniff` on every answer, a Content-Security-Policy with
//! `Referrer-Policy` and framing refused on every page and module, `no-store` on token answers.

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::Header;
use rocket::response::{self, Responder};
use rocket::{Request, Response};

pub const CONTENT_SECURITY_POLICY: &str = "Content-Security-Policy";

/// The service's docs page (`/docs` and its assets, all served by the service itself): its
/// scripts and styles are files of its own origin, the document it shows is `/openapi.json`
/// on the same origin, Swagger UI's icons are `data:` images in its style sheet, and "Try it
/// out" calls the same origin. The one hash is the `<style>` inside Swagger UI's logo (an SVG
/// its bundle renders: `.logo_small_svg__cls-2{fill:#fff}.logo_small_svg__cls-3{fill:#85ea2d}`);
/// the browser test of the docs page fails, naming the new hash, if a new Swagger UI changes it.
pub const DOCS_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'self'; \
     form-action 'self'; frame-ancestors 'none'";

/// A module or script answered as a file (`/ui/*.js`, the shell's script): read as a document
/// (opened on its own), it may load nothing and be framed by no one. How it runs in the page
/// that imports it is that page's policy.
pub const FILE_POLICY: &str =
    "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The fairing every service and the storefront attach: `X-Content-Type-Options: nosniff` on
/// every answer (routes, catchers, preflights, metrics), the docs policy on `/docs…`, the file
/// policy on `/ui/…`, and, on every answer that has a policy, `Referrer-Policy: no-referrer`
/// and `X-Frame-Options: DENY` (for browsers that do not know `frame-ancestors`).
///
/// An answer whose route set its own policy (the shell page, see [`WithPolicy`]) keeps it.
pub struct SecurityHeaders;

#[rocket::async_trait]
impl Fairing for SecurityHeaders {
    fn info(&self) -> Info {
        Info {
            name: "security headers",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        res.set_header(Header::new("X-Content-Type-Options", "nosniff"));
        if !res.headers().contains(CONTENT_SECURITY_POLICY) {
            if let Some(policy) = policy_for_path(req.uri().path().as_str()) {
                res.set_header(Header::new(CONTENT_SECURITY_POLICY, policy));
            }
        }
        if res.headers().contains(CONTENT_SECURITY_POLICY) {
            res.set_header(Header::new("Referrer-Policy", "no-referrer"));
            res.set_header(Header::new("X-Frame-Options", "DENY"));
        }
    }
}

/// The policy a service's own pages and files get by their path; `None` for the API.
pub fn policy_for_path(path: &str) -> Option<&'static str> {
    if path == "/docs" || path.starts_with("/docs/") {
        Some(DOCS_POLICY)
    } else if path.starts_with("/ui/") {
        Some(FILE_POLICY)
    } else {
        None
    }
}

/// An answer with its own Content-Security-Policy (the [`SecurityHeaders`] fairing adds the
/// rest), for a page whose policy depends on the request, such as the shell's.
pub struct WithPolicy<R> {
    pub policy: String,
    pub answer: R,
}

impl<'r, 'o: 'r, R: Responder<'r, 'o>> Responder<'r, 'o> for WithPolicy<R> {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'o> {
        let mut response = self.answer.respond_to(req)?;
        response.set_header(Header::new(CONTENT_SECURITY_POLICY, self.policy));
        Ok(response)
    }
}

/// An answer no cache may keep (`Cache-Control: no-store`), success or error: the token a
/// login hands out, the account a token belongs to.
pub struct NoStore<R>(pub R);

impl<'r, 'o: 'r, R: Responder<'r, 'o>> Responder<'r, 'o> for NoStore<R> {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'o> {
        let mut response = self.0.respond_to(req)?;
        response.set_header(Header::new("Cache-Control", "no-store"));
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_files_get_a_policy_and_the_api_none() {
        let cases = [
            ("/docs", Some(DOCS_POLICY)),
            ("/docs/", Some(DOCS_POLICY)),
            ("/docs/swagger-ui-bundle.js", Some(DOCS_POLICY)),
            ("/docsx", None),
            ("/ui/users.js", Some(FILE_POLICY)),
            ("/api/users/login", None),
            ("/openapi.json", None),
            ("/", None),
        ];
        for (path, expected) in cases {
            assert_eq!(policy_for_path(path), expected, "{path}");
        }
    }

    #[test]
    fn no_policy_allows_inline_script_or_framing() {
        for policy in [DOCS_POLICY, FILE_POLICY] {
            assert!(!policy.contains("unsafe-inline"), "{policy}");
            assert!(!policy.contains("unsafe-eval"), "{policy}");
            assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        }
    }
}
