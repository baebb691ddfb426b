//! Failed logins are throttled per username and per client address, with `Retry-After`; the
//! client is the connection's peer or, behind a trusted proxy, the address it forwards; and a
//! stranger's failures never lock an account's owner out where the owner logged in before.

use std::net::IpAddr;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use shared::client::TrustedProxies;
use shared::config::LOCAL_EDGE_SOURCE;
use trio_tests::{http_from, loopback, start_users, unique, Api, Options, Trio};
use users::domain::LoginThrottle;

/// The status of a login attempt.
async fn login(trio: &Trio, username: &str, password: &str) -> StatusCode {
    trio.try_login(username, password).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_failures_lock_a_username_even_for_the_right_password() {
    let trio = Trio::start().await;
    let victim = trio.customer().await;
    for _ in 0..5 {
        assert_eq!(
            login(&trio, &victim.username, "Wrong1234").await,
            StatusCode::NOT_FOUND
        );
    }
    // The whole response: its Retry-After is what this checks.
    let locked = trio
        .users(Method::POST, "/api/users/login")
        .form(&[
            ("username", victim.username.as_str()),
            ("password", "Secret123"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((890..=900).contains(&retry_after), "{retry_after}");
    let body: serde_json::Value = locked.json().await.unwrap();
    assert!(body["message"].is_string());

    let other = trio.customer().await;
    assert_eq!(
        login(&trio, &other.username, "Secret123").await,
        StatusCode::OK,
        "others are not locked"
    );
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_count_across_a_success_and_the_lock_lifts_when_the_window_passes() {
    let trio = Trio::start_with(Options {
        login_throttle: LoginThrottle {
            window: Duration::from_secs(2),
            ..LoginThrottle::default()
        },
        ..Options::default()
    })
    .await;
    let account = trio.customer().await;
    for _ in 0..4 {
        assert_eq!(
            login(&trio, &account.username, "Wrong1234").await,
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(
        login(&trio, &account.username, "Secret123").await,
        StatusCode::OK
    );
    assert_eq!(
        login(&trio, &account.username, "Wrong1234").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        login(&trio, &account.username, "Secret123").await,
        StatusCode::TOO_MANY_REQUESTS,
        "five failures within the window, a success among them or not"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        login(&trio, &account.username, "Secret123").await,
        StatusCode::OK
    );
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guesses_sent_in_parallel_are_counted_before_any_is_checked() {
    let trio = Trio::start().await;
    let victim = trio.customer().await;
    let guesses = (0..40).map(|i| {
        let password = format!("Wrong{i:04}");
        let trio = &trio;
        let username = victim.username.clone();
        async move { login(trio, &username, &password).await }
    });
    let statuses = futures::future::join_all(guesses).await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::NOT_FOUND)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(checked + refused, 40, "{statuses:?}");
    assert!(
        checked <= 5,
        "only 5 guesses may be checked, {checked} were"
    );
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_in_a_username_is_just_an_unknown_user() {
    let trio = Trio::start().await;
    let (status, body) = trio.try_login("al\0ice", "Secret123").await;
    assert_eq!(
        (status, body),
        (
            StatusCode::NOT_FOUND,
            json!({"message": "Invalid username and / or password"})
        )
    );
    let (status, body) = trio.username_exists("al\0ice").await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, json!(false)));
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_guessing_many_usernames_is_throttled() {
    let trio = Trio::start().await;
    for _ in 0..20 {
        let (status, _) = trio.try_login(&unique("guess"), "Wrong1234").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (status, body) = trio.try_login("anyone_else", "Wrong1234").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        body,
        json!({"message": "Too many failed logins; try again later"})
    );
    trio.stop().await;
}

/// The status of a login sent to `users_url` by `http`, with an `X-Forwarded-For` if given.
async fn login_via(
    http: &reqwest::Client,
    users_url: &str,
    forwarded_for: Option<&str>,
    username: &str,
    password: &str,
) -> StatusCode {
    let mut request = http
        .post(format!("{users_url}/api/users/login"))
        .form(&[("username", username), ("password", password)]);
    if let Some(forwarded_for) = forwarded_for {
        request = request.header("X-Forwarded-For", forwarded_for);
    }
    request.send().await.expect("login answers").status()
}

/// A trio that believes the local edge's address (and, with `more`, other proxies too).
async fn trio_behind_the_edge(more: &str) -> Trio {
    let trusted = format!("{LOCAL_EDGE_SOURCE},{more}");
    Trio::start_with(Options {
        trusted_proxies: TrustedProxies::parse(&trusted).unwrap(),
        ..Options::default()
    })
    .await
}

/// The local edge: a trusted peer that says whom it forwards.
struct Edge {
    http: reqwest::Client,
    users_url: String,
}

impl Edge {
    fn of(trio: &Trio) -> Edge {
        Edge {
            http: http_from(IpAddr::V4(LOCAL_EDGE_SOURCE)),
            users_url: trio.users.url.clone(),
        }
    }

    async fn login(&self, forwarded_for: &str, username: &str, password: &str) -> StatusCode {
        login_via(
            &self.http,
            &self.users_url,
            Some(forwarded_for),
            username,
            password,
        )
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarded_header_from_an_untrusted_peer_is_ignored() {
    let trio = trio_behind_the_edge("").await;
    let stranger = http_from(loopback(21));
    // Each failure claims another client; all are the peer's own.
    for i in 0..20 {
        let claimed = format!("198.51.100.{i}");
        let status = login_via(
            &stranger,
            &trio.users.url,
            Some(&claimed),
            &unique("guess"),
            "Wrong1234",
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "failure {i}");
    }
    let status = login_via(
        &stranger,
        &trio.users.url,
        Some("198.51.100.250"),
        &unique("guess"),
        "Wrong1234",
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // The address it claimed, forwarded by the trusted edge, is a client of its own.
    let edge = Edge::of(&trio);
    let status = edge
        .login("198.51.100.250", &unique("guess"), "Wrong1234")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_the_client_is_the_rightmost_untrusted_forwarded_address() {
    // The edge, and a second proxy hop in 10.0.0.0/8 in front of it.
    let trio = trio_behind_the_edge("10.0.0.0/8").await;
    let edge = Edge::of(&trio);
    for i in 0..20 {
        // The client writes what it likes on the left; the proxies append what they saw.
        let forwarded = format!("203.0.113.{i}, 198.51.100.7, 10.1.2.3");
        let status = edge.login(&forwarded, &unique("guess"), "Wrong1234").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "failure {i}");
    }
    for (forwarded, expected) in [
        ("198.51.100.7", StatusCode::TOO_MANY_REQUESTS),
        (
            "203.0.113.99, 198.51.100.7, 10.9.9.9",
            StatusCode::TOO_MANY_REQUESTS,
        ),
        ("198.51.100.7, 198.51.100.8", StatusCode::NOT_FOUND),
        ("198.51.100.8, 10.1.2.3", StatusCode::NOT_FOUND),
    ] {
        let status = edge.login(forwarded, &unique("guess"), "Wrong1234").await;
        assert_eq!(status, expected, "{forwarded}");
    }
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_from_one_forwarded_client_never_stop_another_forwarded_clients_login() {
    let trio = trio_behind_the_edge("").await;
    let customer = trio.customer().await;
    let edge = Edge::of(&trio);
    let statuses = {
        let mut statuses = Vec::new();
        for _ in 0..25 {
            statuses.push(
                edge.login("198.51.100.1", &unique("guess"), "Wrong1234")
                    .await,
            );
        }
        statuses
    };
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(refused, 5, "the guesser is throttled: {statuses:?}");
    assert_eq!(
        edge.login("198.51.100.2", &customer.username, "Secret123")
            .await,
        StatusCode::OK
    );
    assert_eq!(
        edge.login("2001:db8::2", &customer.username, "Secret123")
            .await,
        StatusCode::OK
    );
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strangers_failures_do_not_stop_the_owner_where_the_owner_logged_in_before() {
    let trio = Trio::start().await;
    // Registered and logged in from 127.0.0.1: the owner's known address.
    let alice = trio.customer().await;
    let stranger = http_from(loopback(31));
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(
            login_via(
                &stranger,
                &trio.users.url,
                None,
                &alice.username,
                "Wrong1234",
            )
            .await,
        );
    }
    assert_eq!(
        statuses,
        [
            [StatusCode::NOT_FOUND; 5].as_slice(),
            &[StatusCode::TOO_MANY_REQUESTS; 3]
        ]
        .concat(),
        "the stranger gets the account's five guesses"
    );
    // Another new address shares the account's budget, even with the right password ...
    let elsewhere = http_from(loopback(32));
    assert_eq!(
        login_via(
            &elsewhere,
            &trio.users.url,
            None,
            &alice.username,
            "Secret123"
        )
        .await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // ... while the owner, where she logged in before, gets in, again and again.
    for _ in 0..3 {
        assert_eq!(
            login(&trio, &alice.username, "Secret123").await,
            StatusCode::OK
        );
    }
    assert_eq!(
        login_via(
            &stranger,
            &trio.users.url,
            None,
            &alice.username,
            "Secret123"
        )
        .await,
        StatusCode::TOO_MANY_REQUESTS,
        "the stranger is still throttled"
    );
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_the_edge_the_owner_keeps_getting_in_while_a_stranger_guesses() {
    let trio = trio_behind_the_edge("").await;
    let alice = trio.customer().await;
    let edge = Edge::of(&trio);
    // She logs in through the edge from her address; that address becomes hers.
    assert_eq!(
        edge.login("198.51.100.10", &alice.username, "Secret123")
            .await,
        StatusCode::OK
    );
    for _ in 0..10 {
        let status = edge
            .login("203.0.113.66", &alice.username, "Wrong1234")
            .await;
        assert_ne!(status, StatusCode::OK);
    }
    assert_eq!(
        edge.login("203.0.113.67", &alice.username, "Secret123")
            .await,
        StatusCode::TOO_MANY_REQUESTS,
        "a new address shares the account's spent budget"
    );
    assert_eq!(
        edge.login("198.51.100.10", &alice.username, "Secret123")
            .await,
        StatusCode::OK
    );
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_at_a_known_address_has_a_budget_of_its_own() {
    let trio = Trio::start().await;
    let alice = trio.customer().await;
    let stranger = http_from(loopback(41));
    for _ in 0..5 {
        login_via(
            &stranger,
            &trio.users.url,
            None,
            &alice.username,
            "Wrong1234",
        )
        .await;
    }
    // Her own typos: four, then the right password; then five, and she must wait too.
    for _ in 0..4 {
        assert_eq!(
            login(&trio, &alice.username, "Wrong1234").await,
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(
        login(&trio, &alice.username, "Secret123").await,
        StatusCode::OK
    );
    assert_eq!(
        login(&trio, &alice.username, "Wrong1234").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        login(&trio, &alice.username, "Secret123").await,
        StatusCode::TOO_MANY_REQUESTS,
        "five failures from her address within the window"
    );
    // Her budget is hers: another account's owner elsewhere is not concerned, and a
    // stranger's budget on her account was spent before and stays spent.
    assert_eq!(
        login_via(
            &stranger,
            &trio.users.url,
            None,
            &alice.username,
            "Secret123"
        )
        .await,
        StatusCode::TOO_MANY_REQUESTS
    );
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guesses_from_many_addresses_in_parallel_across_replicas_get_the_accounts_budget_only() {
    let trio = trio_behind_the_edge("").await;
    let mut second = start_users(&trio.databases, &trio.options, 0)
        .await
        .expect("a second users");
    let alice = trio.customer().await;
    let edge = http_from(IpAddr::V4(LOCAL_EDGE_SOURCE));
    let guesses = (0..40u8).map(|i| {
        let url = if i % 2 == 0 {
            trio.users.url.clone()
        } else {
            second.url.clone()
        };
        let (edge, username) = (&edge, alice.username.clone());
        async move {
            let forwarded = format!("203.0.113.{i}");
            let password = format!("Wrong{i:04}");
            login_via(edge, &url, Some(&forwarded), &username, &password).await
        }
    });
    let statuses = futures::future::join_all(guesses).await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::NOT_FOUND)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(checked + refused, 40, "{statuses:?}");
    assert_eq!(checked, 5, "exactly the account's 5 guesses are checked");
    // The owner, directly from where she logged in, on either instance.
    assert_eq!(
        login(&trio, &alice.username, "Secret123").await,
        StatusCode::OK
    );
    let direct = reqwest::Client::new();
    assert_eq!(
        login_via(&direct, &second.url, None, &alice.username, "Secret123").await,
        StatusCode::OK
    );
    second.stop().await;
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_keeps_only_its_ten_most_recent_addresses() {
    let trio = Trio::start().await;
    // Registered and logged in from 127.0.0.1, then from eleven more addresses, one by one.
    let alice = trio.customer().await;
    for n in 50..61 {
        let status = login_via(
            &http_from(loopback(n)),
            &trio.users.url,
            None,
            &alice.username,
            "Secret123",
        )
        .await;
        assert_eq!(status, StatusCode::OK, "from 127.0.0.{n}");
    }
    let stranger = http_from(loopback(49));
    for _ in 0..5 {
        login_via(
            &stranger,
            &trio.users.url,
            None,
            &alice.username,
            "Wrong1234",
        )
        .await;
    }
    // The two oldest (127.0.0.1 and .50) share the account's spent budget; the ten newest not.
    assert_eq!(
        login(&trio, &alice.username, "Secret123").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    let oldest_kept_out = login_via(
        &http_from(loopback(50)),
        &trio.users.url,
        None,
        &alice.username,
        "Secret123",
    )
    .await;
    assert_eq!(oldest_kept_out, StatusCode::TOO_MANY_REQUESTS);
    for n in 51..61 {
        let status = login_via(
            &http_from(loopback(n)),
            &trio.users.url,
            None,
            &alice.username,
            "Secret123",
        )
        .await;
        assert_eq!(status, StatusCode::OK, "from 127.0.0.{n}");
    }
    trio.stop().await;
}
