//! Slow and idle clients on a service's own port: connections that never finish their request
//! head or idle after one, bodies that trickle or never come, and a client holding every
//! descriptor the process has. Each is bounded by `CLIENT_READ_TIMEOUT_SECS` (10 s by default); the tests allow 30 s.
//!
//! A test binary of its own, not a module of `trio`: it raises this process's open-files limit
//! and holds 2,000 of its sockets at once, and the others' services would share the process's
//! descriptors and the machine's cores with the slow clients the bounds are about.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use trio_tests::process::{free_port, ServiceProcess};
use trio_tests::{Api, Service, Trio};

/// What the issue asks: a slow connection is closed, a slow body cut off, within this.
const BOUND: Duration = Duration::from_secs(30);
/// How long a test waits for what should happen within `BOUND` before it calls it a failure.
const GIVE_UP: Duration = Duration::from_secs(40);

/// The test process holds thousands of sockets: its soft limit on open files must allow them.
fn allow_open_files(needed: u64) {
    shared::startup::raise_open_files_limit();
    let (soft, _) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .expect("the open files limit");
    assert!(
        soft >= needed,
        "this test needs {needed} open files and the hard limit allows {soft}"
    );
}

fn address(url: &str) -> SocketAddr {
    url.trim_start_matches("http://")
        .parse()
        .expect("a socket address")
}

/// How a slow client starts its connection, before it stalls.
#[derive(Clone, Copy)]
enum Slowness {
    /// Connects and sends nothing.
    Silent,
    /// Sends an HTTP/1.1 request head a byte at a time, every 2 s (it would take 90 s).
    TrickledHead,
    /// Sends the 24-byte HTTP/2 preface a byte at a time, every 2 s.
    TrickledPreface,
    /// Sends one whole request, reads its answer and keeps the connection without a second.
    IdleAfterARequest,
}

impl Slowness {
    fn bytes(self) -> &'static [u8] {
        match self {
            Slowness::Silent => b"",
            Slowness::TrickledHead => b"GET /api/beers/123456 HTTP/1.1\r\nHost: 127.0.0.1\r\n",
            Slowness::TrickledPreface => b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            Slowness::IdleAfterARequest => b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        }
    }
}

/// Holds `stream` the way `slowness` says until the server closes it; returns how long the
/// connection lived, or `None` if it was still open after `GIVE_UP`.
async fn hold(stream: TcpStream, slowness: Slowness, opened: Instant) -> Option<Duration> {
    let (mut reader, mut writer) = stream.into_split();
    let closed_by_server = async move {
        let mut buf = [0u8; 512];
        while let Ok(n) = reader.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    };
    let trickle = async move {
        if let Slowness::IdleAfterARequest = slowness {
            if writer.write_all(slowness.bytes()).await.is_err() {
                return;
            }
        } else {
            for byte in slowness.bytes() {
                if writer.write_all(&[*byte]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
        std::future::pending::<()>().await
    };
    let ended = async {
        tokio::select! {
            _ = closed_by_server => {},
            _ = trickle => {},
        }
    };
    tokio::time::timeout(GIVE_UP, ended)
        .await
        .ok()
        .map(|()| opened.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_connections_are_closed_within_30_s_and_others_are_served_meanwhile() {
    const SLOW: usize = 2_000;
    const NORMAL: usize = 200;
    allow_open_files(SLOW as u64 + 500);
    let trio = Trio::start().await;
    trio.seed_beers().await;
    let beers = ServiceProcess::start(
        "beers",
        free_port(),
        &[
            ("BEERS_DATABASE_URL", trio.databases.beers.url.to_setting()),
            ("USERS_URL", trio.users.url.clone()),
        ],
    )
    .await;
    let addr = address(&beers.url);

    let closed = Arc::new(AtomicUsize::new(0));
    let mut held = Vec::with_capacity(SLOW);
    for i in 0..SLOW {
        let slowness = match i % 4 {
            0 => Slowness::Silent,
            1 => Slowness::TrickledHead,
            2 => Slowness::TrickledPreface,
            _ => Slowness::IdleAfterARequest,
        };
        let stream = TcpStream::connect(addr).await.expect("a slow connection");
        let opened = Instant::now();
        let closed = closed.clone();
        held.push(tokio::spawn(async move {
            let lived = hold(stream, slowness, opened).await;
            closed.fetch_add(1, Ordering::Relaxed);
            lived
        }));
    }

    // Everybody else, meanwhile: every request is answered, and answered right.
    let still_held = SLOW - closed.load(Ordering::Relaxed);
    let http = reqwest::Client::new();
    let mut served = 0;
    for _ in 0..NORMAL {
        let response = http
            .get(format!("{}/api/beers/123456", beers.url))
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        if let Ok(response) = response {
            if response.status() == StatusCode::OK {
                served += 1;
            }
        }
    }
    assert_eq!(
        served, NORMAL,
        "requests answered 200 while {still_held} slow connections were held"
    );

    let mut lived = Vec::with_capacity(SLOW);
    for task in held {
        lived.push(task.await.expect("the slow client runs"));
    }
    let open = lived.iter().filter(|l| l.is_none()).count();
    let longest = lived.iter().flatten().max().copied().unwrap_or_default();
    eprintln!(
        "{served}/{NORMAL} served beside {SLOW} slow connections; {open} still open after \
         {GIVE_UP:?}; the longest closed one lived {longest:?}"
    );
    assert_eq!(open, 0, "slow connections still open after {GIVE_UP:?}");
    assert!(
        longest <= BOUND,
        "the longest slow connection lived {longest:?}"
    );
    drop(beers);
    trio.stop().await;
}

/// Sends a request head and then `body_len` bytes of body at `bytes_per_second` (none at all
/// when 0), until the server answers; returns the answer's status and JSON body and how long
/// it took, or `None` if it gave no answer within `GIVE_UP`.
async fn send_slowly(
    service: &Service,
    head: String,
    body_len: usize,
    bytes_per_second: u64,
) -> Option<(u16, Value, Duration)> {
    let stream = TcpStream::connect(address(&service.url))
        .await
        .expect("a connection");
    let started = Instant::now();
    let (mut reader, mut writer) = stream.into_split();
    let head = head.replace("{len}", &body_len.to_string());
    let send = async move {
        writer.write_all(head.as_bytes()).await.ok()?;
        if bytes_per_second == 0 {
            return std::future::pending().await;
        }
        for _ in 0..body_len {
            writer.write_all(b"a").await.ok()?;
            tokio::time::sleep(Duration::from_millis(1000 / bytes_per_second)).await;
        }
        std::future::pending::<Option<()>>().await
    };
    let answer = async move {
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
            if let Some(parsed) = parse_response(&answer) {
                return Some(parsed);
            }
        }
        parse_response(&answer)
    };
    let outcome = tokio::time::timeout(GIVE_UP, async {
        tokio::select! {
            answer = answer => answer,
            _ = send => None,
        }
    })
    .await
    .ok()
    .flatten();
    outcome.map(|(status, body)| (status, body, started.elapsed()))
}

/// Status and JSON body of a complete HTTP/1.1 response with a `content-length`.
fn parse_response(bytes: &[u8]) -> Option<(u16, Value)> {
    let text = std::str::from_utf8(bytes).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    if body.len() < length {
        return None;
    }
    Some((status, serde_json::from_str(&body[..length]).ok()?))
}

fn in_use(service: &Service) -> u32 {
    let state = service.pool.state();
    state.connections - state.idle_connections
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_bodies_get_a_json_408_within_30_s_and_hold_no_database_connection() {
    const EACH: usize = 10;
    let trio = Trio::start().await;
    trio.seed_beers().await;
    let customer = trio.customer().await;
    let login = "POST /api/users/login HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len}\r\n\r\n"
        .to_owned();
    let add = format!(
        "PUT /api/orders/current HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {{len}}\r\n\r\n",
        customer.token
    );
    // More slow bodies than either pool has connections: if reading a body held one, the
    // requests below could not get theirs.
    let trio = Arc::new(trio);
    let mut slow = Vec::new();
    for (service, head, bytes_per_second) in [
        ("users", &login, 10),
        ("orders", &add, 10),
        ("users", &login, 0),
        ("orders", &add, 0),
    ] {
        for _ in 0..EACH {
            let trio = trio.clone();
            let head = head.clone();
            slow.push(tokio::spawn(async move {
                let service = if service == "users" {
                    &trio.users
                } else {
                    &trio.orders
                };
                send_slowly(service, head, 1_000, bytes_per_second).await
            }));
        }
    }
    // By now every request head is in and the slow bodies are trickling (they take 100 s).
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        (in_use(&trio.users), in_use(&trio.orders)),
        (0, 0),
        "database connections in use while only bodies are arriving (users, orders)"
    );
    let (status, body) = trio.add(&customer, "123456", "1").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let other = trio.customer().await;
    assert!(!other.token.is_empty());

    let mut outcomes = Vec::new();
    for task in slow {
        outcomes.push(task.await.expect("the slow client runs"));
    }
    let answered: Vec<_> = outcomes
        .iter()
        .flatten()
        .map(|(s, _, t)| (*s, *t))
        .collect();
    eprintln!(
        "{} of {} slow bodies answered; statuses and times {answered:?}",
        answered.len(),
        outcomes.len()
    );
    for outcome in outcomes {
        let Some((status, body, took)) = outcome else {
            panic!("a slow body got no answer within {GIVE_UP:?}");
        };
        assert_eq!(status, 408, "{body}");
        assert!(body["message"].is_string(), "{body}");
        assert!(took <= BOUND, "a slow body was answered after {took:?}");
    }
    let Ok(trio) = Arc::try_unwrap(trio) else {
        panic!("the slow clients are done with the trio");
    };
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_raises_its_open_files_limit_to_the_hard_limit_and_logs_both() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let log = dir.path().join("beers.log");
    let (_, hard) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .expect("the open files limit");
    let limits = (256, hard.min(4096));
    let beers = ServiceProcess::start_limited(
        "beers",
        free_port(),
        &[
            (
                "BEERS_DATABASE_URL",
                dir.path().join("beers.db").display().to_string(),
            ),
            ("RUST_LOG", "info".into()),
        ],
        Some(&log),
        Some(limits),
    )
    .await;
    let pid = beers.pid().expect("a running process");
    let proc_limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("its limits");
    let open_files: Vec<u64> = proc_limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .expect("a line for open files")
        .split_whitespace()
        .filter_map(|word| word.parse().ok())
        .collect();
    assert_eq!(open_files, [limits.1, limits.1], "{proc_limits}");
    drop(beers);

    let log = std::fs::read_to_string(&log).expect("the service's log");
    let lines: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("open files limit"))
        .collect();
    assert_eq!(lines.len(), 1, "{log}");
    assert!(
        lines[0].contains(&limits.0.to_string()) && lines[0].contains(&limits.1.to_string()),
        "{}",
        lines[0]
    );
}

/// Descriptors the process has open now.
fn open_descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |entries| entries.count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_its_descriptor_limit_a_service_stays_up_and_serves_again_by_itself() {
    const LIMIT: u64 = 128;
    allow_open_files(LIMIT + 500);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut beers = ServiceProcess::start_limited(
        "beers",
        free_port(),
        &[(
            "BEERS_DATABASE_URL",
            dir.path().join("beers.db").display().to_string(),
        )],
        None,
        Some((LIMIT, LIMIT)),
    )
    .await;
    let pid = beers.pid().expect("a running process");
    let addr = address(&beers.url);

    // A client takes every descriptor the service has, and a few more wait in the queue.
    let mut held = Vec::new();
    for _ in 0..LIMIT + 32 {
        held.push(TcpStream::connect(addr).await.expect("a connection"));
    }
    let full_by = Instant::now() + Duration::from_secs(5);
    let mut most = 0;
    while most < LIMIT as usize && Instant::now() < full_by {
        most = most.max(open_descriptors(pid));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        most >= LIMIT as usize,
        "the service used all its descriptors ({most} open)"
    );

    // The client keeps all its connections; the service frees itself of them.
    let http = reqwest::Client::new();
    let asked = Instant::now();
    let response = http
        .get(format!("{}/health", beers.url))
        .timeout(GIVE_UP)
        .send()
        .await;
    let took = asked.elapsed();
    eprintln!(
        "at the descriptor limit, /health answered after {took:?}: {:?}",
        response.as_ref().map(|r| r.status())
    );
    assert!(
        response.is_ok_and(|r| r.status() == StatusCode::OK),
        "no answer within {took:?} while the descriptors were held"
    );
    assert!(took <= BOUND, "answered after {took:?}");
    assert!(beers.is_running(), "the service stayed up");

    // And once the client lets go, everything is answered.
    drop(held);
    let released = Instant::now();
    let mut served = 0;
    for _ in 0..20 {
        let response = http
            .get(format!("{}/api/beers/", beers.url))
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        if response.is_ok_and(|r| r.status() == StatusCode::OK) {
            served += 1;
        }
    }
    eprintln!(
        "{served}/20 served in the {:?} after release",
        released.elapsed()
    );
    assert_eq!(served, 20);
    assert!(beers.is_running(), "the service stayed up");
}
