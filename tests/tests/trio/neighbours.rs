//! Neighbours that do not answer: the caller gives up after `UPSTREAM_TIMEOUT_MS` with a 503,
//! and a neighbour that comes back is used again without a restart.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use trio_tests::{broken_address, silent_address, start_orders, Api, Client, Options, Trio};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_service_that_hangs_gives_a_503_after_the_timeout() {
    let options = Options {
        upstream_timeout: Duration::from_millis(500),
        ..Options::default()
    };
    let trio = Trio::start_with(options.clone()).await;
    let customer = trio.customer().await;
    let (silent, listener) = silent_address().await;
    let mut orders = start_orders(&trio.databases, &options, &silent, &trio.beers.url, 0)
        .await
        .unwrap();

    let asking_silence = Client {
        orders: orders.url.clone(),
        ..trio.client()
    };
    let started = Instant::now();
    let (status, body) = asking_silence.current_order(&customer).await;
    let waited = started.elapsed();
    assert_eq!(
        (status, body),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"message": "users service unavailable"})
        )
    );
    assert!(
        waited >= Duration::from_millis(500),
        "it waited for the timeout: {waited:?}"
    );
    assert!(waited < Duration::from_secs(10), "never a hang: {waited:?}");

    orders.stop().await;
    listener.abort();
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_beers_service_that_hangs_gives_a_503_and_the_order_is_untouched() {
    let options = Options {
        upstream_timeout: Duration::from_millis(500),
        ..Options::default()
    };
    let trio = Trio::start_with(options.clone()).await;
    trio.seed_beers().await;
    let customer = trio.customer().await;
    let (silent, listener) = silent_address().await;
    let mut orders = start_orders(&trio.databases, &options, &trio.users.url, &silent, 0)
        .await
        .unwrap();
    let asking_silence = Client {
        orders: orders.url.clone(),
        ..trio.client()
    };
    let (status, body) = asking_silence.add(&customer, "123456", "1").await;
    assert_eq!(
        (status, body),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"message": "beers service unavailable"})
        )
    );
    let (status, order) = trio.current_order(&customer).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(order["beers"], json!([]), "nothing was added");
    orders.stop().await;
    listener.abort();
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_neighbour_answering_5xx_or_garbage_gives_a_503_but_a_rejected_token_stays_401() {
    let trio = Trio::start().await;
    trio.seed_beers().await;
    let customer = trio.customer().await;
    let answers = [
        "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 9\r\nconnection: close\r\n\r\n{\"id\": [}",
        "this is not HTTP at all\r\n\r\n",
        // A URL pointing at the wrong server: its HTML 404 is no "unknown token" or "no beer".
        "HTTP/1.1 404 Not Found\r\ncontent-type: text/html\r\ncontent-length: 9\r\nconnection: close\r\n\r\n<h1>?</h1",
    ];
    for answer in answers {
        let (broken, peer) = broken_address(answer).await;
        let mut as_users =
            start_orders(&trio.databases, &trio.options, &broken, &trio.beers.url, 0)
                .await
                .unwrap();
        let asking_it = Client {
            orders: as_users.url.clone(),
            ..trio.client()
        };
        let (status, body) = asking_it.current_order(&customer).await;
        assert_eq!(
            (status, body),
            (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"message": "users service unavailable"})
            ),
            "{answer:?}"
        );
        as_users.stop().await;

        let mut as_beers =
            start_orders(&trio.databases, &trio.options, &trio.users.url, &broken, 0)
                .await
                .unwrap();
        let asking_it = Client {
            orders: as_beers.url.clone(),
            ..trio.client()
        };
        let (status, body) = asking_it.add(&customer, "123456", "1").await;
        assert_eq!(
            (status, body),
            (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"message": "beers service unavailable"})
            ),
            "{answer:?}"
        );
        as_beers.stop().await;
        peer.abort();
    }
    let (status, _) = trio.current_order("not-a-real-token").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a token users rejects is a 401, not a 503"
    );
    trio.stop().await;
}
