//! The storefront's shell: one page that lays out the fragments each service serves, loads
//! each fragment's module from its own service and tells it where that service's API is.

use std::net::IpAddr;

use rocket::http::{ContentType, Header, Status};
use rocket::request::{FromRequest, Outcome};
use rocket::{Build, Request, Rocket, State};
use shared::headers::{SecurityHeaders, WithPolicy, FILE_POLICY};

const PAGE: &str = include_str!("../shell/index.html");
const STYLE: &str = include_str!("../shell/shop.css");
const SCRIPT: &str = include_str!("../shell/shell.js");

/// Where the page finds one service, as its fragment's `api` attribute will say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiBase {
    /// The page's own origin (`""`): behind the edge, which routes `/api/<service>/`.
    SameOrigin,
    /// The host the browser asked for the page, on this port: the services beside the shell,
    /// so `127.0.0.1:5000` and `localhost:5000` each call the services under the same name.
    Port(u16),
    /// A fixed URL such as `https://users.example.com`.
    Url(String),
}

impl ApiBase {
    fn resolve(&self, host: Option<&str>) -> String {
        match self {
            ApiBase::SameOrigin => String::new(),
            ApiBase::Port(port) => format!("http://{}:{port}", host.unwrap_or("127.0.0.1")),
            ApiBase::Url(url) => url.trim_end_matches('/').to_owned(),
        }
    }

    /// The origin (`scheme://host[:port]`) the page loads this service's module from and
    /// calls; `None` for the page's own origin.
    fn origin(&self, host: Option<&str>) -> Option<String> {
        let base = self.resolve(host);
        let (scheme, rest) = base.split_once("://")?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
        Some(format!("{scheme}://{authority}"))
    }
}

/// Where each of the three services is, for the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Apis {
    pub users: ApiBase,
    pub beers: ApiBase,
    pub orders: ApiBase,
}

impl Apis {
    /// Behind one origin that routes every service's paths (the edge).
    pub fn same_origin() -> Self {
        Apis {
            users: ApiBase::SameOrigin,
            beers: ApiBase::SameOrigin,
            orders: ApiBase::SameOrigin,
        }
    }
}

/// The page's host name as the browser wrote it (`Host` without its port).
struct PageHost(Option<String>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for PageHost {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let host = req.host().map(|host| host.domain().to_string());
        // Only a plain host name or address goes into the page.
        let host = host.filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        });
        Outcome::Success(PageHost(host))
    }
}

/// The shell page with each fragment's API base filled in.
pub fn page(apis: &Apis, host: Option<&str>) -> String {
    PAGE.replace("{{users}}", &apis.users.resolve(host))
        .replace("{{beers}}", &apis.beers.resolve(host))
        .replace("{{orders}}", &apis.orders.resolve(host))
}

/// The shell's Content-Security-Policy: only what the page needs. Scripts: the shell's own file
/// and the fragments' modules from their services; no inline script, no `eval`. Styles: the
/// shell's style sheet (the fragments add theirs as constructed style sheets, which need no
/// source). Calls: the services. Images: the catalogue's (an `https:` URL or a path on the
/// catalogue's origin). Nothing may frame it. A service worker or a web app manifest on the
/// shell's origin would add `worker-src 'self'` or `manifest-src 'self'` here (`default-src
/// 'none'` refuses both until then).
pub fn policy(apis: &Apis, host: Option<&str>) -> String {
    let mut services: Vec<String> = Vec::new();
    for api in [&apis.users, &apis.beers, &apis.orders] {
        if let Some(origin) = api.origin(host) {
            if !services.contains(&origin) {
                services.push(origin);
            }
        }
    }
    let with_services = |sources: &str| {
        std::iter::once(sources.to_owned())
            .chain(services.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let images = match apis.beers.origin(host) {
        Some(beers) => format!("'self' https: {beers}"),
        None => "'self' https:".to_owned(),
    };
    [
        "default-src 'none'".to_owned(),
        format!("script-src {}", with_services("'self'")),
        "style-src 'self'".to_owned(),
        format!("img-src {images}"),
        format!("connect-src {}", with_services("'self'")),
        "base-uri 'none'".to_owned(),
        "form-action 'self'".to_owned(),
        "frame-ancestors 'none'".to_owned(),
    ]
    .join("; ")
}

#[rocket::get("/")]
fn index(apis: &State<Apis>, host: PageHost) -> WithPolicy<(ContentType, String)> {
    let host = host.0.as_deref();
    WithPolicy {
        policy: policy(apis, host),
        answer: (ContentType::HTML, page(apis, host)),
    }
}

#[rocket::get("/shop.css")]
fn style() -> (ContentType, &'static str) {
    (ContentType::CSS, STYLE)
}

#[rocket::get("/shell.js")]
fn script() -> WithPolicy<(ContentType, &'static str)> {
    WithPolicy {
        policy: FILE_POLICY.to_owned(),
        answer: (ContentType::JavaScript, SCRIPT),
    }
}

#[rocket::get("/health")]
fn health() -> (ContentType, &'static str) {
    (ContentType::JSON, r#"{"status":"ok"}"#)
}

/// The shell needs nothing but itself: ready while it runs (the image's health check asks this).
#[rocket::get("/ready")]
fn ready() -> (ContentType, &'static str) {
    (ContentType::JSON, r#"{"status":"ready"}"#)
}

#[rocket::catch(default)]
fn not_found(status: Status, _: &Request<'_>) -> (Status, (ContentType, &'static str)) {
    (
        status,
        (
            ContentType::JSON,
            r#"{"message":"There is nothing at this address"}"#,
        ),
    )
}

/// The shell's server on `address:port` (0 for a free port). It keeps no state and stops on
/// its `Shutdown`, not on signals: whoever runs it decides when.
pub fn rocket(address: IpAddr, port: u16, apis: Apis) -> Rocket<Build> {
    let figment = rocket::Config::figment()
        .merge(("address", address))
        .merge(("port", port))
        .merge(("log_level", rocket::config::LogLevel::Off))
        .merge(("cli_colors", false))
        .merge(("ident", "brewery"))
        .merge(("shutdown.ctrlc", false))
        .merge(("shutdown.signals", Vec::<String>::new()));
    rocket::custom(figment)
        .manage(apis)
        .attach(rocket::fairing::AdHoc::on_response("no-cache", |_, res| {
            Box::pin(async move {
                res.set_header(Header::new("Cache-Control", "no-cache"));
            })
        }))
        .attach(SecurityHeaders)
        .mount("/", rocket::routes![index, style, script, health, ready])
        .register("/", rocket::catchers![not_found])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_each_services_base() {
        let apis = Apis {
            users: ApiBase::Port(5001),
            beers: ApiBase::Url("https://beers.example/".into()),
            orders: ApiBase::SameOrigin,
        };
        let page = page(&apis, Some("localhost"));
        assert!(page.contains(r#"api="http://localhost:5001""#));
        assert!(page.contains(r#"src="http://localhost:5001/ui/users.js""#));
        assert!(page.contains(r#"api="https://beers.example""#));
        assert!(page.contains(r#"src="/ui/orders.js""#));
        assert!(!page.contains("{{"));
    }

    #[test]
    fn the_page_has_no_inline_script() {
        let page = page(&Apis::same_origin(), None);
        assert!(!page.contains("<script>"), "an inline script");
        assert!(!page.contains("onerror="), "an inline event handler");
        assert!(page.contains(r#"<script src="/shell.js"></script>"#));
    }

    #[test]
    fn the_policy_names_each_services_origin_once_and_allows_no_inline_script() {
        let apis = Apis {
            users: ApiBase::Port(5001),
            beers: ApiBase::Url("https://beers.example/shop/".into()),
            orders: ApiBase::Port(5001),
        };
        let policy = policy(&apis, Some("localhost"));
        assert!(policy.contains("script-src 'self' http://localhost:5001 https://beers.example; "));
        assert!(policy.contains("connect-src 'self' http://localhost:5001 https://beers.example; "));
        assert!(policy.contains("img-src 'self' https: https://beers.example; "));
        assert!(policy.contains("frame-ancestors 'none'"));
        assert!(!policy.contains("unsafe"));
    }

    #[test]
    fn behind_the_edge_the_policy_is_the_pages_own_origin() {
        let policy = policy(&Apis::same_origin(), Some("shop.example"));
        assert!(policy.contains("script-src 'self'; "));
        assert!(policy.contains("connect-src 'self'; "));
        assert!(policy.contains("img-src 'self' https:; "));
    }
}
