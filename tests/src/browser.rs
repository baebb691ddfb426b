//! The storefront in a real browser: Debian's Chromium driven through chromedriver, against the
//! shell and the three services started by the test, over real HTTP. Nothing is downloaded.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use rocket::fairing::AdHoc;
use serde_json::{json, Value};
use tempfile::TempDir;

use crate::process::free_port;
use crate::{start_beers, start_orders, start_users, BoxError, Options, Trio};

/// How long a step may take to show its result before the test fails.
const STEP: Duration = Duration::from_secs(15);

/// At most two browsers at once: each Chromium is several processes, and tests run in parallel.
static BROWSERS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// The shell's server, started by a test.
pub struct Storefront {
    pub url: String,
    pub port: u16,
    apis: storefront::Apis,
    shell: storefront::Shell,
    shutdown: rocket::Shutdown,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Storefront {
    /// The shell on `port` (0: any free one), its page calling the services with `apis`.
    pub async fn start(port: u16, apis: storefront::Apis) -> Result<Storefront, BoxError> {
        Self::serve(port, apis, storefront::Shell::embedded()).await
    }

    /// As `start`, serving `shell`'s files (a new release of the shell).
    pub async fn serve(
        port: u16,
        apis: storefront::Apis,
        shell: storefront::Shell,
    ) -> Result<Storefront, BoxError> {
        let (port_tx, port_rx) = tokio::sync::oneshot::channel();
        let rocket = storefront::serve([127, 0, 0, 1].into(), port, apis.clone(), shell.clone())
            .attach(AdHoc::on_liftoff("report port", move |rocket| {
                Box::pin(async move {
                    let _ = port_tx.send(rocket.config().port);
                })
            }));
        let rocket = rocket.ignite().await?;
        let shutdown = rocket.shutdown();
        let task = tokio::spawn(async move {
            let _ = rocket.launch().await;
        });
        let port = port_rx.await?;
        Ok(Storefront {
            url: format!("http://127.0.0.1:{port}"),
            port,
            apis,
            shell,
            shutdown,
            task: Some(task),
        })
    }

    /// Stops the shell and serves `shell` on the same port in its place.
    pub async fn replace(&mut self, shell: storefront::Shell) {
        self.stop().await;
        *self = Self::serve(self.port, self.apis.clone(), shell)
            .await
            .expect("the storefront starts again");
    }

    pub async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            self.shutdown.clone().notify();
            let _ = task.await;
        }
    }
}

/// The trio and the shell, reached on `url`: the shell's own port (the services on theirs,
/// across origins) or the edge (one origin).
pub struct Shop {
    pub trio: Trio,
    pub storefront: Storefront,
    pub url: String,
    edge: Option<tasks::edge::Edge>,
    /// Where the edge keeps its files and what it proxies to, to start it again.
    edge_setup: Option<(PathBuf, tasks::edge::Config)>,
}

impl Shop {
    /// The shell on its own port, calling each service on its port; its origin allowed by CORS.
    pub async fn start() -> Shop {
        Self::start_with(Options::default()).await
    }

    /// As `start`, with the trio's knobs turned (the allowed origins are the shell's).
    pub async fn start_with(options: Options) -> Shop {
        let port = free_port();
        let trio = Trio::start_with(Options {
            cors_allowed_origins: Some(format!("http://127.0.0.1:{port}")),
            ..options
        })
        .await;
        let apis = storefront::Apis {
            users: storefront::ApiBase::Port(trio.users.port),
            beers: storefront::ApiBase::Port(trio.beers.port),
            orders: storefront::ApiBase::Port(trio.orders.port),
        };
        let storefront = Storefront::start(port, apis)
            .await
            .expect("the storefront starts");
        trio.seed_beers().await;
        Shop {
            url: storefront.url.clone(),
            trio,
            storefront,
            edge: None,
            edge_setup: None,
        }
    }

    /// Behind the edge (nginx with deploy/nginx/edge.conf.template): one origin for the shell
    /// and every service, so no CORS at all (the services keep the default origins).
    pub async fn start_behind_the_edge() -> Shop {
        // The edge connects from the local edge's address; the trio believes only it.
        let trio = Trio::start_with(Options {
            trusted_proxies: shared::client::TrustedProxies::only(
                shared::config::LOCAL_EDGE_SOURCE.into(),
            ),
            ..Options::default()
        })
        .await;
        let storefront = Storefront::start(0, storefront::Apis::same_origin())
            .await
            .expect("the storefront starts");
        let address = |url: &str| url.trim_start_matches("http://").to_owned();
        let upstreams = tasks::edge::Upstreams {
            users: address(&trio.users.url),
            beers: address(&trio.beers.url),
            orders: address(&trio.orders.url),
            storefront: address(&storefront.url),
        };
        let prefix = trio.dir.path().join("edge");
        let config = {
            let tls = prefix.join("tls");
            tokio::task::spawn_blocking(move || {
                tasks::edge::Config::local(free_port(), free_port(), &tls, upstreams)
                    .map_err(|error| error.to_string())
            })
            .await
            .expect("the edge's certificate is made")
            .expect("the edge's certificate")
        };
        let edge = start_edge(&prefix, &config).await;
        trio.seed_beers().await;
        Shop {
            url: edge.url.clone(),
            trio,
            storefront,
            edge: Some(edge),
            edge_setup: Some((prefix, config)),
        }
    }

    /// Cuts the network for real: the browser's page, its service worker and its calls all find
    /// nothing there. Behind the edge the edge stops (its port refuses; everything behind it
    /// runs on); on the shell's own port the shell and the three services stop.
    pub async fn cut_network(&mut self) {
        if let Some(mut edge) = self.edge.take() {
            let _ = tokio::task::spawn_blocking(move || edge.stop()).await;
            return;
        }
        self.storefront.stop().await;
        self.trio.orders.stop().await;
        self.trio.beers.stop().await;
        self.trio.users.stop().await;
    }

    /// The network back: the edge, or the shell and the services, on the same ports and
    /// databases.
    pub async fn restore_network(&mut self) {
        if let Some((prefix, config)) = &self.edge_setup {
            self.edge = Some(start_edge(prefix, config).await);
            return;
        }
        let trio = &mut self.trio;
        trio.users = start_users(&trio.databases, &trio.options, trio.users.port)
            .await
            .expect("users starts again");
        trio.beers = start_beers(
            &trio.databases,
            &trio.options,
            &trio.users.url,
            trio.beers.port,
        )
        .await
        .expect("beers starts again");
        trio.orders = start_orders(
            &trio.databases,
            &trio.options,
            &trio.users.url,
            &trio.beers.url,
            trio.orders.port,
        )
        .await
        .expect("orders starts again");
        let shell = self.storefront.shell.clone();
        self.storefront.replace(shell).await;
    }

    pub async fn stop(mut self) {
        if let Some(mut edge) = self.edge.take() {
            let _ = tokio::task::spawn_blocking(move || edge.stop()).await;
        }
        self.storefront.stop().await;
        self.trio.stop().await;
    }
}

async fn start_edge(prefix: &std::path::Path, config: &tasks::edge::Config) -> tasks::edge::Edge {
    let (prefix, config) = (prefix.to_owned(), config.clone());
    tokio::task::spawn_blocking(move || {
        tasks::edge::Edge::start(&prefix, &config, tasks::edge::Logs::Quiet)
    })
    .await
    .expect("the edge starts")
    .expect("nginx runs")
}

/// A Chromium of its own (fresh profile) under a chromedriver of its own. Dropping it kills
/// both, also when a test fails half-way.
pub struct Browser {
    pub client: Client,
    driver: Option<Child>,
    _permit: tokio::sync::SemaphorePermit<'static>,
    _profile: TempDir,
}

fn program(name: &str, package: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("{name} is not installed: the browser tests need `apt-get install {package}`")
    })
}

impl Browser {
    /// A desktop-sized window.
    pub async fn start() -> Browser {
        Self::start_sized(1280, 900).await
    }

    pub async fn start_sized(width: u32, height: u32) -> Browser {
        let permit = BROWSERS.acquire().await.expect("the browser slots");
        let chromium = program("chromium", "chromium");
        let chromedriver = program("chromedriver", "chromium-driver");
        let profile = tempfile::tempdir().expect("a profile folder");
        let port = free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, which its Chromium joins: one signal ends them all.
            .process_group(0)
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        // A closed network: no background traffic, no QUIC, no updates, no sync.
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--lang=en-US",
        ]
        .iter()
        .map(|arg| arg.to_string())
        .chain([
            format!("--user-data-dir={}", profile.path().display()),
            format!("--window-size={width},{height}"),
        ])
        .collect::<Vec<_>>();
        let capabilities = json!({
            "browserName": "chrome",
            // The edge's certificate is made per test by a CA of its own (test-only).
            "acceptInsecureCerts": true,
            "goog:chromeOptions": {"binary": chromium, "args": args},
            // The console, for the Content-Security-Policy violations it reports.
            "goog:loggingPrefs": {"browser": "ALL"},
        });
        let capabilities = match capabilities {
            Value::Object(map) => map,
            _ => unreachable!("an object literal"),
        };
        let mut builder =
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
        builder.capabilities(capabilities);
        let deadline = Instant::now() + STEP;
        let client = loop {
            match builder.connect(&url).await {
                Ok(client) => break client,
                Err(error) if Instant::now() > deadline => {
                    panic!("chromedriver on {url} gave no session: {error}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        Browser {
            client,
            driver: Some(driver),
            _permit: permit,
            _profile: profile,
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("the page loads");
    }

    /// Waits until `css` matches an element, then returns it.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(STEP)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("no {css} on the page: {error}"))
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.expect("the click lands");
    }

    /// Replaces the text of the field matched by `css`.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("the field clears");
        field.send_keys(text).await.expect("the keys are typed");
    }

    pub async fn count(&self, css: &str) -> usize {
        self.client
            .find_all(Locator::Css(css))
            .await
            .map_or(0, |all| all.len())
    }

    /// Waits until the text of the first element matched by `css` contains `needle`.
    pub async fn wait_for_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + STEP;
        let mut last = String::new();
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                if let Ok(text) = element.text().await {
                    if text.contains(needle) {
                        return text;
                    }
                    last = text;
                }
            }
            if Instant::now() > deadline {
                panic!("{css} never said {needle:?}; it said {last:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `css` matches exactly `n` elements.
    pub async fn wait_for_count(&self, css: &str, n: usize) {
        let deadline = Instant::now() + STEP;
        loop {
            let found = self.count(css).await;
            if found == n {
                return;
            }
            if Instant::now() > deadline {
                panic!("{css} matched {found} elements, not {n}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs `script` (whose last argument is the callback it answers through) and returns the
    /// answer.
    pub async fn run_async(&self, script: &str) -> Value {
        self.client
            .execute_async(script, vec![])
            .await
            .unwrap_or_else(|error| panic!("the script fails: {error}\n{script}"))
    }

    /// Waits until the shop's service worker controls the page: from then on what the page
    /// reads is kept for offline use.
    pub async fn wait_for_worker(&self) {
        let deadline = Instant::now() + STEP;
        loop {
            let controlled = self
                .client
                .execute(
                    "return Boolean(navigator.serviceWorker?.controller);",
                    vec![],
                )
                .await
                .expect("the page answers");
            if controlled == json!(true) {
                return;
            }
            if Instant::now() > deadline {
                panic!("no service worker took control of the page");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `script` (a function body) returns true; `what` names it in a failure.
    pub async fn wait_until(&self, what: &str, script: &str) {
        let deadline = Instant::now() + STEP;
        loop {
            let answer = self
                .client
                .execute(script, vec![])
                .await
                .expect("the page answers");
            if answer == json!(true) {
                return;
            }
            if Instant::now() > deadline {
                panic!("never {what}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The names of the page origin's caches (the service worker's).
    pub async fn cache_names(&self) -> Vec<String> {
        let names = self
            .run_async("const done = arguments[arguments.length - 1]; caches.keys().then(done);")
            .await;
        serde_json::from_value(names).expect("a list of names")
    }

    /// The cart changes waiting on the device (the cart's IndexedDB queue), oldest first.
    pub async fn queued_changes(&self) -> Vec<Value> {
        let changes = self
            .run_async(
                "const done = arguments[arguments.length - 1];
                 const open = indexedDB.open('brewery-cart', 1);
                 open.onupgradeneeded = () =>
                   open.result.createObjectStore('changes', { keyPath: 'seq', autoIncrement: true });
                 open.onsuccess = () => {
                   const read = open.result.transaction('changes').objectStore('changes').getAll();
                   read.onsuccess = () => { open.result.close(); done(read.result); };
                 };",
            )
            .await;
        serde_json::from_value(changes).expect("a list of changes")
    }

    /// Starts the page's session with a token, as a login in an earlier visit would have.
    pub async fn remember_token(&self, token: &str) {
        self.client
            .execute(
                "localStorage.setItem('brewery.token', arguments[0]);",
                vec![json!(token)],
            )
            .await
            .expect("the token is kept");
    }

    /// Saves what the browser shows as `target/screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        let dir = screenshots_dir();
        std::fs::create_dir_all(&dir).expect("the screenshots folder");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("the screenshot is saved");
    }

    /// Ends the browser; fails the test if its console reported any Content-Security-Policy
    /// violation during the journey (a script, style, image or call the page's policy refused).
    pub async fn close(mut self) {
        let violations = self.policy_violations().await;
        let client = self.client.clone();
        let _ = client.close().await;
        self.kill();
        assert!(
            violations.is_empty(),
            "the console reported Content-Security-Policy violations:\n{}",
            violations.join("\n")
        );
    }

    /// The console's messages since the last call (chromedriver hands each out once).
    pub async fn console(&self) -> Vec<String> {
        let entries = self
            .client
            .issue_cmd(BrowserLog)
            .await
            .expect("chromedriver hands out the browser's console");
        entries
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .filter_map(|entry| entry["message"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The console's Content-Security-Policy violations since the last look.
    pub async fn policy_violations(&self) -> Vec<String> {
        self.console()
            .await
            .into_iter()
            .filter(|message| message.contains("Content Security Policy"))
            .collect()
    }

    /// Ends chromedriver's process group (its Chromium with it), once.
    fn kill(&mut self) {
        if let Some(mut driver) = self.driver.take() {
            let _ = killpg(Pid::from_raw(driver.id() as i32), Signal::SIGKILL);
            let _ = driver.wait();
        }
    }
}

/// chromedriver's own command for the browser's console log (`goog:loggingPrefs`), which the
/// W3C protocol lacks and fantoccini does not wrap.
#[derive(Debug)]
struct BrowserLog;

impl fantoccini::wd::WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `target/screenshots`, beside the test binary's profile folder.
pub fn screenshots_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    // target/<profile>/deps/<test> → target/screenshots
    exe.ancestors()
        .nth(3)
        .expect("a target folder")
        .join("screenshots")
}
