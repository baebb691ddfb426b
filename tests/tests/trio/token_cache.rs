//! `TOKEN_CACHE_MS`: off by default, so a logout reaches orders at once; when set, orders
//! answers from users' recent "valid" answers and a logout reaches it that much later.

use std::time::Duration;

use reqwest::StatusCode;
use trio_tests::{Api, Options, Trio};

async fn current_order_status(trio: &Trio, token: &str) -> StatusCode {
    trio.current_order(token).await.0
}

async fn log_out(trio: &Trio, token: &str) {
    let (status, body) = trio.logout(token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_cache_a_logout_reaches_orders_at_once() {
    let trio = Trio::start().await;
    let customer = trio.customer().await;
    assert_eq!(
        current_order_status(&trio, &customer.token).await,
        StatusCode::OK
    );
    log_out(&trio, &customer.token).await;
    assert_eq!(
        current_order_status(&trio, &customer.token).await,
        StatusCode::UNAUTHORIZED
    );
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_cache_orders_trusts_a_valid_answer_for_that_long_only() {
    // Long enough that the first check cannot run out during the test.
    let trio = Trio::start_with(Options {
        token_cache: Duration::from_secs(60),
        ..Options::default()
    })
    .await;
    let customer = trio.customer().await;
    assert_eq!(
        current_order_status(&trio, &customer.token).await,
        StatusCode::OK
    );
    log_out(&trio, &customer.token).await;
    assert_eq!(
        current_order_status(&trio, &customer.token).await,
        StatusCode::OK,
        "the cached answer stands until it is 60 s old"
    );
    // Unknown tokens are never cached: each is asked about, and refused.
    for _ in 0..2 {
        assert_eq!(
            current_order_status(&trio, "not-a-token").await,
            StatusCode::UNAUTHORIZED
        );
    }
    trio.stop().await;

    let trio = Trio::start_with(Options {
        token_cache: Duration::from_millis(200),
        ..Options::default()
    })
    .await;
    let customer = trio.customer().await;
    assert_eq!(
        current_order_status(&trio, &customer.token).await,
        StatusCode::OK
    );
    log_out(&trio, &customer.token).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        current_order_status(&trio, &customer.token).await,
        StatusCode::UNAUTHORIZED,
        "after the cache time the logout has reached orders"
    );
    trio.stop().await;
}
