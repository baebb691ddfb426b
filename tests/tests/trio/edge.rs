//! The edge from outside: `tasks edge`'s nginx with deploy/nginx/edge.conf.template, over
//! HTTPS trusting only the certificate it was started with. HTTPS with HSTS and a redirecting
//! plain port; every answer it makes itself is JSON; one login limit for every spelling of the
//! path; the client's address passed on, never a client's own claim; and `tasks edge` as a
//! command (its .env, its ports, one instance per port, its end with nginx's).
//!
//! Most tests need no service at all: an upstream where nothing listens is a 502 at the edge,
//! and a login the edge refuses never reaches one.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tasks::edge::{Config, Edge, Logs, Upstreams};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;
use trio_tests::process::{binary, free_port};
use trio_tests::{Options, Trio};

/// An edge of a test's own, in a folder of its own.
struct TestEdge {
    edge: Option<Edge>,
    url: String,
    http_url: String,
    ca_pem: String,
    _dir: tempfile::TempDir,
}

/// `host:port` where nothing listens (a port just freed).
fn nowhere() -> String {
    format!("127.0.0.1:{}", free_port())
}

impl TestEdge {
    async fn start(upstreams: Upstreams) -> TestEdge {
        let dir = tempfile::tempdir().expect("a folder");
        let prefix = dir.path().join("edge");
        let edge = tokio::task::spawn_blocking(move || {
            let config = Config::local(free_port(), free_port(), &prefix.join("tls"), upstreams)?;
            Edge::start(&prefix, &config, Logs::Quiet)
        })
        .await
        .expect("the edge starts")
        .expect("nginx runs");
        let ca_pem = std::fs::read_to_string(dir.path().join("edge/tls/ca.pem")).expect("ca.pem");
        TestEdge {
            url: edge.url.clone(),
            http_url: edge.http_url.clone(),
            edge: Some(edge),
            ca_pem,
            _dir: dir,
        }
    }

    /// With no service behind it.
    async fn alone() -> TestEdge {
        Self::start(Upstreams {
            users: nowhere(),
            beers: nowhere(),
            orders: nowhere(),
            storefront: nowhere(),
        })
        .await
    }

    /// An HTTPS client from `from` (a loopback address: a client of its own at the edge),
    /// trusting this edge's CA only, following no redirect.
    fn client(&self, from: Ipv4Addr) -> reqwest::Client {
        reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(
                reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).expect("a PEM CA"),
            )
            .local_address(IpAddr::V4(from))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("a client")
    }

    /// Sends `request` as raw bytes over TLS, then reads what comes back until the edge closes
    /// the connection (30 s at the most).
    async fn raw(&self, request: &[u8]) -> Vec<u8> {
        let der = pem_to_der(&self.ca_pem);
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls::pki_types::CertificateDer::from(der))
            .expect("the CA");
        // ring, as reqwest's TLS here (its post-quantum key exchange is beside the point).
        #[allow(deprecated)]
        let provider = rustls::crypto::ring::default_provider();
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let address = self.url.trim_start_matches("https://");
        let tcp = tokio::net::TcpStream::connect(address)
            .await
            .expect("connects");
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("a name");
        let mut tls = connector.connect(name, tcp).await.expect("a TLS session");
        tls.write_all(request).await.expect("sent");
        tls.flush().await.expect("flushed");
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(30), async {
            let mut buffer = [0u8; 4096];
            loop {
                match tls.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => answer.extend_from_slice(&buffer[..n]),
                }
            }
        })
        .await;
        assert!(read.is_ok(), "the edge closes the connection within 30 s");
        answer
    }

    async fn stop(mut self) {
        if let Some(mut edge) = self.edge.take() {
            let _ = tokio::task::spawn_blocking(move || edge.stop()).await;
        }
    }
}

fn pem_to_der(pem: &str) -> Vec<u8> {
    use base64::Engine;
    let body: String = pem
        .lines()
        .skip_while(|line| !line.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|line| !line.starts_with("-----END"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("base64")
}

/// A raw HTTP answer: its status, its headers (lower-case names) and its body.
fn parse(answer: &[u8]) -> (u16, Vec<(String, String)>, String) {
    let text = String::from_utf8_lossy(answer);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| {
        panic!("a whole HTTP answer: {text:?}");
    });
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("a status line: {head:?}"));
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

/// The contract's error: JSON with a message, `nosniff`, and HSTS (every answer on HTTPS).
fn assert_json_error(what: &str, headers: &[(String, String)], body: &str) {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("{what}: no {name} in {headers:?}"))
    };
    assert!(
        header("content-type").starts_with("application/json"),
        "{what}: {headers:?}"
    );
    assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
    assert!(
        header("strict-transport-security").contains("max-age="),
        "{what}"
    );
    let json: Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {body:?}"));
    assert!(json["message"].is_string(), "{what}: {json}");
}

async fn answer(response: reqwest::Response) -> (u16, Vec<(String, String)>, String) {
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    (status, headers, response.text().await.expect("a body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_edge_serves_https_with_hsts_and_its_plain_port_redirects() {
    let edge = TestEdge::alone().await;
    let client = edge.client(Ipv4Addr::new(127, 0, 0, 1));
    let response = client
        .get(format!("{}/api/beers", edge.url))
        .send()
        .await
        .expect("HTTPS answers, its certificate trusted through the CA");
    let (status, headers, body) = answer(response).await;
    assert_eq!(status, 503, "nothing behind it: {body}");
    assert_json_error("a service that is down", &headers, &body);

    // Plain HTTP: a redirect to the same path and query on HTTPS, and nothing else.
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for method in [Method::GET, Method::POST] {
        let response = plain
            .request(
                method.clone(),
                format!("{}/api/users/login?next=1", edge.http_url),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::MOVED_PERMANENTLY, "{method}");
        assert_eq!(
            response.headers()["location"],
            format!("{}/api/users/login?next=1", edge.url).as_str()
        );
    }
    edge.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_the_edge_makes_itself_is_json() {
    // users accepts connections and never answers (the edge's 504), beers and orders are down
    // (502), the shell is there (its unknown paths are the edge's 404).
    let mut shell = trio_tests::browser::Storefront::start(0, storefront::Apis::same_origin())
        .await
        .expect("the shell starts");
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_address = silent.local_addr().unwrap().to_string();
    let held = tokio::spawn(async move {
        let mut connections = Vec::new();
        while let Ok((connection, _)) = silent.accept().await {
            connections.push(connection);
        }
    });
    let edge = TestEdge::start(Upstreams {
        users: silent_address,
        beers: nowhere(),
        orders: nowhere(),
        storefront: shell.url.trim_start_matches("http://").to_owned(),
    })
    .await;
    let client = edge.client(Ipv4Addr::new(127, 0, 0, 2));
    let long = "a".repeat(10_000);
    let cases: Vec<(&str, u16, reqwest::RequestBuilder)> = vec![
        (
            "an unknown path",
            404,
            client.get(format!("{}/no/such/page", edge.url)),
        ),
        (
            "a service's /metrics",
            404,
            client.get(format!("{}/metrics", edge.url)),
        ),
        (
            "a service's /docs",
            404,
            client.get(format!("{}/docs", edge.url)),
        ),
        (
            "a 70 KB body",
            413,
            client
                .post(format!("{}/api/beers", edge.url))
                .header("content-type", "application/json")
                .body(vec![b' '; 70_000]),
        ),
        (
            "a 10 KB URI",
            414,
            client.get(format!("{}/api/beers?q={long}", edge.url)),
        ),
        (
            "a 10 KB header",
            431,
            client
                .get(format!("{}/api/beers", edge.url))
                .header("x-big", &long),
        ),
        (
            "a service that refuses connections (502)",
            503,
            client.get(format!("{}/api/beers", edge.url)),
        ),
        (
            "a service that never answers (504)",
            503,
            client.get(format!("{}/api/users/me", edge.url)),
        ),
    ];
    for (what, expected, request) in cases {
        let (status, headers, body) = answer(request.send().await.expect(what)).await;
        assert_eq!(status, expected, "{what}: {body}");
        assert_json_error(what, &headers, &body);
    }

    // A malformed request line, over raw TLS.
    let (status, headers, body) = parse(&edge.raw(b"GARBAGE\r\n\r\n").await);
    assert_eq!(status, 400, "{body}");
    assert_json_error("a malformed request line", &headers, &body);

    // More requests than the edge lets one address send (30 a second, a burst of 60), one
    // after another, to a proxied path (an answer from `return`, like the 404 above, comes
    // before nginx's limits are checked): its 429, with Retry-After.
    let mut limited = None;
    for _ in 0..300 {
        let (status, headers, body) = answer(
            client
                .get(format!("{}/api/orders", edge.url))
                .send()
                .await
                .expect("answers"),
        )
        .await;
        assert_json_error("a request to a service that is down", &headers, &body);
        if status == 429 {
            limited = Some(headers);
            break;
        }
        assert_eq!(status, 503, "{body}");
    }
    let headers = limited.expect("300 requests in a row: none limited");
    assert!(headers.iter().any(|(n, _)| n == "retry-after"));

    held.abort();
    edge.stop().await;
    shell.stop().await;
}

/// nginx never writes a 408 itself: a body that stops arriving is cut off after
/// `client_body_timeout` (10 s) with the connection closed. Checked here: the connection is
/// closed within a bounded time and whatever came back, if anything, is the JSON 408.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_finishes_is_cut_off_without_an_html_page() {
    let edge = TestEdge::alone().await;
    let answer = edge
        .raw(b"POST /api/beers HTTP/1.1\r\nHost: edge\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"na")
        .await;
    if !answer.is_empty() {
        let (status, headers, body) = parse(&answer);
        assert_eq!(status, 408, "{body}");
        assert_json_error("a body that never finishes", &headers, &body);
    }
    edge.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_spelling_of_the_login_path_counts_against_one_limit() {
    let edge = TestEdge::alone().await;
    let client = edge.client(Ipv4Addr::new(127, 0, 0, 3));
    let spellings = [
        "/api/users/login",
        "/api/users/login/",
        "/api/users//login",
        "/API/USERS/LOGIN",
        "/api/users/%6Cogin",
        "/api/users/./login",
    ];
    // Five rounds of every spelling: the limit lets 10 or 11 through (10 a minute, a burst of
    // 10).
    let mut passed = 0;
    let mut last = Vec::new();
    for round in 0..5 {
        for path in spellings {
            let response = client
                .post(format!("{}{path}", edge.url))
                .form(&[("username", "someone"), ("password", "Wrong1234")])
                .send()
                .await
                .unwrap();
            let (status, headers, body) = answer(response).await;
            assert_json_error(path, &headers, &body);
            if status == 429 {
                assert!(body.contains("logins"), "{path}: the login limit, {body}");
                assert!(headers.iter().any(|(n, _)| n == "retry-after"), "{path}");
            } else {
                assert_eq!(status, 503, "{path}: passed on to users (down): {body}");
                passed += 1;
            }
            if round == 4 {
                last.push((path, status));
            }
        }
    }
    // 30 attempts, at most 11 passed (one more per 6 s the test took, at the most two).
    assert!(passed <= 13, "{passed} of 30 logins passed the limit");
    for (path, status) in last {
        assert_eq!(status, 429, "{path} is counted by the login limit");
    }
    // Another address is not limited by this one's attempts.
    let other = edge.client(Ipv4Addr::new(127, 0, 0, 4));
    let response = other
        .post(format!("{}/api/users/login/", edge.url))
        .form(&[("username", "someone"), ("password", "Wrong1234")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    edge.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_gets_the_clients_address_never_the_clients_own_claim() {
    // users is a listener that records what reaches it, and answers 200.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let users = listener.local_addr().unwrap().to_string();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(SocketAddr, String)>();
    let server = tokio::spawn(async move {
        while let Ok((mut connection, peer)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buffer = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match connection.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buffer[..n]),
                    }
                }
                let _ = tx.send((peer, String::from_utf8_lossy(&head).into_owned()));
                let _ = connection
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
                    .await;
            });
        }
    });
    let edge = TestEdge::start(Upstreams {
        users,
        beers: nowhere(),
        orders: nowhere(),
        storefront: nowhere(),
    })
    .await;
    let response = edge
        .client(Ipv4Addr::new(127, 0, 0, 5))
        .get(format!("{}/api/users/me", edge.url))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (peer, head) = rx.recv().await.expect("the request reached users");
    assert_eq!(
        peer.ip(),
        IpAddr::V4(shared::config::LOCAL_EDGE_SOURCE),
        "the edge connects from its own address"
    );
    let forwarded: Vec<&str> = head
        .lines()
        .filter(|line| line.to_ascii_lowercase().starts_with("x-forwarded-for:"))
        .collect();
    assert_eq!(forwarded, ["X-Forwarded-For: 127.0.0.5"], "{head}");
    server.abort();
    edge.stop().await;
}

/// Through `tasks edge`'s configuration with default settings (the services trusting the
/// local edge's address, as `tasks serve` does): 25 failed logins from one address, and more
/// from others (over the per-client limit of 20 at users in all), never stop another
/// address's correct login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_from_other_addresses_never_stop_a_correct_login_behind_the_edge() {
    let trio = Trio::start_with(Options {
        trusted_proxies: shared::client::TrustedProxies::only(
            shared::config::LOCAL_EDGE_SOURCE.into(),
        ),
        ..Options::default()
    })
    .await;
    let victim = trio.customer().await;
    let address = |url: &str| url.trim_start_matches("http://").to_owned();
    let edge = TestEdge::start(Upstreams {
        users: address(&trio.users.url),
        beers: address(&trio.beers.url),
        orders: address(&trio.orders.url),
        storefront: nowhere(),
    })
    .await;
    // Three attackers on usernames of their own: the first tries 25 times (the edge lets its
    // burst through to users and refuses the rest), the others 10 times each; 30 failures or
    // more reach users, beyond its per-client limit of 20 if it counted the edge's address.
    let mut reached_users = 0;
    for (attacker, attempts) in [(10u8, 25), (11, 10), (12, 10)] {
        let client = edge.client(Ipv4Addr::new(127, 0, 0, attacker));
        for attempt in 0..attempts {
            let response = client
                .post(format!("{}/api/users/login", edge.url))
                .form(&[
                    ("username", format!("nobody-{attacker}-{attempt}").as_str()),
                    ("password", "Wrong1234"),
                ])
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            match status {
                StatusCode::NOT_FOUND => reached_users += 1,
                StatusCode::TOO_MANY_REQUESTS if attacker == 10 && attempt >= 10 => {
                    assert!(
                        body.contains("from this address"),
                        "the edge's limit: {body}"
                    )
                }
                _ => panic!("attacker {attacker}, attempt {attempt}: {status} {body}"),
            }
        }
    }
    assert!(
        reached_users >= 30,
        "{reached_users} failures reached users"
    );
    let response = edge
        .client(Ipv4Addr::new(127, 0, 0, 20))
        .post(format!("{}/api/users/login", edge.url))
        .form(&[
            ("username", victim.username.as_str()),
            ("password", "Secret123"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "a correct login from another address: {}",
        response.text().await.unwrap_or_default()
    );
    edge.stop().await;
    trio.stop().await;
}

/// `tasks edge` in a folder of its own, with `.env` there; its stderr, once it has exited.
fn tasks_edge(dir: &std::path::Path) -> std::process::Child {
    std::process::Command::new(binary("tasks"))
        .arg("edge")
        .current_dir(dir)
        .env_remove("EDGE_PORT")
        .env_remove("EDGE_HTTP_PORT")
        .env_remove("EDGE_ADDRESS")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("tasks runs")
}

/// The first line of `child`'s stdout that contains `text` (the line, or what came before EOF).
fn line_with(child: &mut std::process::Child, text: &str) -> String {
    use std::io::BufRead;
    let stdout = child.stdout.as_mut().expect("stdout");
    let mut reader = std::io::BufReader::new(stdout);
    let mut seen = String::new();
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap_or(0) > 0 {
        if line.contains(text) {
            return line;
        }
        seen.push_str(&line);
        line.clear();
    }
    seen
}

#[test]
fn tasks_edge_reads_env_refuses_a_taken_port_and_a_second_instance_and_ends_with_nginx() {
    let dir = tempfile::tempdir().unwrap();
    let (https, http) = (free_port(), free_port());
    std::fs::write(
        dir.path().join(".env"),
        format!("EDGE_PORT={https}\nEDGE_HTTP_PORT={http}\n"),
    )
    .unwrap();
    let mut first = tasks_edge(dir.path());
    let line = line_with(&mut first, "the edge is on");
    assert!(
        line.contains(&format!("https://127.0.0.1:{https}")),
        "the ports of .env: {line}"
    );

    // A second one on the same ports: refused, naming why.
    let second = tasks_edge(dir.path()).wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("another edge is running") && stderr.contains(&https.to_string()),
        "{stderr}"
    );

    // nginx ends: so does tasks edge, with an error.
    let pid_file = tasks_target_dir().join(format!("edge/{https}/nginx.pid"));
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap_or_else(|e| panic!("{}: {e}", pid_file.display()))
        .trim()
        .parse()
        .unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGTERM).unwrap();
    let output = first.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("nginx exited"), "{stderr}");

    // A port another program holds: refused at once, the port and its variable named.
    let holder = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let taken = holder.local_addr().unwrap().port();
    std::fs::write(
        dir.path().join(".env"),
        format!("EDGE_PORT={taken}\nEDGE_HTTP_PORT={}\n", free_port()),
    )
    .unwrap();
    let output = tasks_edge(dir.path()).wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("127.0.0.1:{taken} (EDGE_PORT)")),
        "{stderr}"
    );
}

/// Where `tasks` keeps its folders: the target folder its binary is in.
fn tasks_target_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .unwrap()
                .join("target")
        })
}
