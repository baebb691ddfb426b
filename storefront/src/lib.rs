//! The storefront's shell: one page that lays out the fragments each service serves, loads
//! each fragment's module from its own service and tells it where that service's API is; and
//! what makes it an installable app that opens offline (the service worker, the manifest, icons).

use std::net::IpAddr;

use rocket::http::{ContentType, Header, Status};
use rocket::request::{FromRequest, Outcome};
use rocket::{Build, Request, Rocket, State};
use shared::headers::{SecurityHeaders, WithPolicy, FILE_POLICY};

const PAGE: &str = include_str!("../shell/index.html");
const STYLE: &str = include_str!("../shell/shop.css");
const SCRIPT: &str = include_str!("../shell/shell.js");
const WORKER: &str = include_str!("../shell/sw.js");
const MANIFEST: &str = include_str!("../shell/manifest.webmanifest");
// The icons are drawn once in icon.svg; the PNGs and favicon.ico are made from it by
// shell/icons/make-icons.sh (Chromium renders each size) and committed, so the build needs no
// image tools.
const ICON_SVG: &str = include_str!("../shell/icons/icon.svg");
const ICON_192: &[u8] = include_bytes!("../shell/icons/icon-192.png");
const ICON_512: &[u8] = include_bytes!("../shell/icons/icon-512.png");
const FAVICON: &[u8] = include_bytes!("../shell/icons/favicon.ico");

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

/// The shell's files, and the version they make together: the service worker's caches carry
/// it, so a shell that changes in any file is a new version that replaces the old one on every
/// device at its next visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shell {
    page: String,
    style: String,
    script: String,
    version: String,
}

impl Shell {
    /// The shell built into this binary.
    pub fn embedded() -> Self {
        Self::new(PAGE, STYLE, SCRIPT)
    }

    /// A shell of these files (the page a template with `{{users}}`, `{{beers}}`, `{{orders}}`),
    /// with the service worker, manifest and icons of this binary.
    pub fn new(page: &str, style: &str, script: &str) -> Self {
        let parts: [&[u8]; 9] = [
            page.as_bytes(),
            style.as_bytes(),
            script.as_bytes(),
            WORKER.as_bytes(),
            MANIFEST.as_bytes(),
            ICON_SVG.as_bytes(),
            ICON_192,
            ICON_512,
            FAVICON,
        ];
        Shell {
            page: page.to_owned(),
            style: style.to_owned(),
            script: script.to_owned(),
            version: format!("{:016x}", fingerprint(&parts)),
        }
    }

    /// The page as this binary has it (before the services' bases are filled in).
    pub fn page_template(&self) -> &str {
        &self.page
    }

    /// What names this shell's caches on a device: changes whenever any of its files does.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The service worker's script, for a page served under `host`.
    fn worker(&self, apis: &Apis, host: Option<&str>) -> String {
        let modules = [
            (&apis.users, "users"),
            (&apis.beers, "beers"),
            (&apis.orders, "orders"),
        ]
        .map(|(api, name)| js_string(&format!("{}/ui/{name}.js", api.resolve(host))));
        let services = services(apis, host)
            .iter()
            .map(|origin| js_string(origin))
            .collect::<Vec<_>>();
        WORKER
            .replace("{{version}}", &js_string(&self.version))
            .replace("{{modules}}", &format!("[{}]", modules.join(", ")))
            .replace("{{services}}", &format!("[{}]", services.join(", ")))
    }
}

/// FNV-1a (64 bits) over the parts, each followed by a separator: a fingerprint of the shell's
/// files, not a security measure.
fn fingerprint(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.iter().chain(&[0xff]) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// `text` as a JavaScript string literal (the services' addresses come from the configuration).
fn js_string(text: &str) -> String {
    let mut literal = String::with_capacity(text.len() + 2);
    literal.push('"');
    for c in text.chars() {
        match c {
            '"' => literal.push_str("\\\""),
            '\\' => literal.push_str("\\\\"),
            '<' => literal.push_str("\\u003c"),
            c if c.is_control() => literal.push_str(&format!("\\u{:04x}", c as u32)),
            c => literal.push(c),
        }
    }
    literal.push('"');
    literal
}

/// The services' origins other than the page's own, each once.
fn services(apis: &Apis, host: Option<&str>) -> Vec<String> {
    let mut services: Vec<String> = Vec::new();
    for api in [&apis.users, &apis.beers, &apis.orders] {
        if let Some(origin) = api.origin(host) {
            if !services.contains(&origin) {
                services.push(origin);
            }
        }
    }
    services
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
    page_of(PAGE, apis, host)
}

fn page_of(template: &str, apis: &Apis, host: Option<&str>) -> String {
    template
        .replace("{{users}}", &apis.users.resolve(host))
        .replace("{{beers}}", &apis.beers.resolve(host))
        .replace("{{orders}}", &apis.orders.resolve(host))
}

/// The shell's Content-Security-Policy: only what the page needs. Scripts: the shell's own file
/// and the fragments' modules from their services; no inline script, no `eval`. Styles: the
/// shell's style sheet (the fragments add theirs as constructed style sheets, which need no
/// source). Calls: the services. Images: the catalogue's (an `https:` URL or a path on the
/// catalogue's origin). The service worker and the manifest: the shell's own origin. Nothing
/// may frame it.
pub fn policy(apis: &Apis, host: Option<&str>) -> String {
    let services = services(apis, host);
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
        "worker-src 'self'".to_owned(),
        "manifest-src 'self'".to_owned(),
        "base-uri 'none'".to_owned(),
        "form-action 'self'".to_owned(),
        "frame-ancestors 'none'".to_owned(),
    ]
    .join("; ")
}

/// The service worker's own policy (a worker runs under its script's): it may call the shell's
/// origin and the services (to keep the modules and the answers it hands out offline), nothing
/// else.
pub fn worker_policy(apis: &Apis, host: Option<&str>) -> String {
    let sources = std::iter::once("'self'".to_owned())
        .chain(services(apis, host))
        .collect::<Vec<_>>()
        .join(" ");
    format!("default-src 'none'; connect-src {sources}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
}

#[rocket::get("/")]
fn index(
    apis: &State<Apis>,
    shell: &State<Shell>,
    host: PageHost,
) -> WithPolicy<(ContentType, String)> {
    let host = host.0.as_deref();
    WithPolicy {
        policy: policy(apis, host),
        answer: (ContentType::HTML, page_of(&shell.page, apis, host)),
    }
}

#[rocket::get("/shop.css")]
fn style(shell: &State<Shell>) -> (ContentType, String) {
    (ContentType::CSS, shell.style.clone())
}

#[rocket::get("/shell.js")]
fn script(shell: &State<Shell>) -> WithPolicy<(ContentType, String)> {
    WithPolicy {
        policy: FILE_POLICY.to_owned(),
        answer: (ContentType::JavaScript, shell.script.clone()),
    }
}

/// The service worker, at the root so that its scope is the whole shell.
#[rocket::get("/sw.js")]
fn worker(
    apis: &State<Apis>,
    shell: &State<Shell>,
    host: PageHost,
) -> WithPolicy<(ContentType, String)> {
    let host = host.0.as_deref();
    WithPolicy {
        policy: worker_policy(apis, host),
        answer: (ContentType::JavaScript, shell.worker(apis, host)),
    }
}

#[rocket::get("/manifest.webmanifest")]
fn manifest() -> (ContentType, &'static str) {
    (ContentType::new("application", "manifest+json"), MANIFEST)
}

#[rocket::get("/icon.svg")]
fn icon_svg() -> (ContentType, &'static str) {
    (ContentType::SVG, ICON_SVG)
}

#[rocket::get("/icon-192.png")]
fn icon_192() -> (ContentType, &'static [u8]) {
    (ContentType::PNG, ICON_192)
}

#[rocket::get("/icon-512.png")]
fn icon_512() -> (ContentType, &'static [u8]) {
    (ContentType::PNG, ICON_512)
}

#[rocket::get("/favicon.ico")]
fn favicon() -> (ContentType, &'static [u8]) {
    (ContentType::Icon, FAVICON)
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
    serve(address, port, apis, Shell::embedded())
}

/// As [`rocket`], serving `shell`'s files.
pub fn serve(address: IpAddr, port: u16, apis: Apis, shell: Shell) -> Rocket<Build> {
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
        .manage(shell)
        .attach(rocket::fairing::AdHoc::on_response("no-cache", |_, res| {
            Box::pin(async move {
                res.set_header(Header::new("Cache-Control", "no-cache"));
            })
        }))
        .attach(SecurityHeaders)
        .mount(
            "/",
            rocket::routes![
                index, style, script, worker, manifest, icon_svg, icon_192, icon_512, favicon,
                health, ready
            ],
        )
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

    #[test]
    fn the_worker_names_its_version_the_modules_and_the_services() {
        let apis = Apis {
            users: ApiBase::Port(5001),
            beers: ApiBase::Port(5002),
            orders: ApiBase::SameOrigin,
        };
        let shell = Shell::embedded();
        let worker = shell.worker(&apis, Some("localhost"));
        assert!(worker.contains(&format!(r#"const VERSION = "{}";"#, shell.version())));
        assert!(worker.contains(
            r#"["http://localhost:5001/ui/users.js", "http://localhost:5002/ui/beers.js", "/ui/orders.js"]"#
        ));
        assert!(worker.contains(r#"["http://localhost:5001", "http://localhost:5002"]"#));
        assert!(!worker.contains("{{"));
        let policy = worker_policy(&apis, Some("localhost"));
        assert!(policy.contains("connect-src 'self' http://localhost:5001 http://localhost:5002;"));
        assert!(!policy.contains("script-src"));
    }

    #[test]
    fn any_changed_file_of_the_shell_is_a_new_version() {
        let shell = Shell::embedded();
        assert_eq!(shell.version(), Shell::embedded().version());
        assert_eq!(shell.version().len(), 16);
        let versions = [
            Shell::new(&format!("{PAGE} "), STYLE, SCRIPT),
            Shell::new(PAGE, &format!("{STYLE} "), SCRIPT),
            Shell::new(PAGE, STYLE, &format!("{SCRIPT} ")),
            // The same bytes split differently between files.
            Shell::new(&format!("{PAGE}{STYLE}"), "", SCRIPT),
        ];
        for other in versions {
            assert_ne!(other.version(), shell.version());
        }
    }

    #[test]
    fn the_policy_lets_the_shell_register_its_worker_and_read_its_manifest() {
        let policy = policy(&Apis::same_origin(), None);
        assert!(policy.contains("worker-src 'self'; "));
        assert!(policy.contains("manifest-src 'self'; "));
    }

    #[test]
    fn addresses_become_javascript_strings_that_cannot_break_out() {
        let cases = [
            ("http://a:1", r#""http://a:1""#),
            (r#"x"y\z"#, r#""x\"y\\z""#),
            ("</script>", r#""\u003c/script>""#),
            ("a\nb", r#""a\u000ab""#),
        ];
        for (text, literal) in cases {
            assert_eq!(js_string(text), literal, "{text}");
        }
    }
}
