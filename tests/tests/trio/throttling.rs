//! Failed logins are throttled per username and per client address, with `Retry-After`.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use trio_tests::{unique, Api, Options, Trio};
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
            ("password", "Hoppy-Lager-42"),
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
        login(&trio, &other.username, "Hoppy-Lager-42").await,
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
        login(&trio, &account.username, "Hoppy-Lager-42").await,
        StatusCode::OK
    );
    assert_eq!(
        login(&trio, &account.username, "Wrong1234").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        login(&trio, &account.username, "Hoppy-Lager-42").await,
        StatusCode::TOO_MANY_REQUESTS,
        "five failures within the window, a success among them or not"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        login(&trio, &account.username, "Hoppy-Lager-42").await,
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
    let (status, body) = trio.try_login("al\0ice", "Hoppy-Lager-42").await;
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
