//! The services as real processes: SIGTERM lets requests in flight finish; SIGKILL loses no
//! acknowledged write.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;
use reqwest::{Method, StatusCode};
use serde_json::json;
use trio_tests::process::{free_port, ServiceProcess};
use trio_tests::{call, silent_address, Trio};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_request_in_flight_finish_then_exits_0() {
    let trio = Trio::start().await;
    let customer = trio.customer().await;
    // The request stays in flight while orders waits 1.5 s for a users service that never answers.
    let (silent, listener) = silent_address().await;
    let orders = ServiceProcess::start(
        "orders",
        free_port(),
        &[
            (
                "ORDERS_DATABASE_URL",
                trio.databases.orders.url.to_setting(),
            ),
            ("USERS_URL", silent),
            ("BEERS_URL", trio.beers.url.clone()),
            ("UPSTREAM_TIMEOUT_MS", "1500".into()),
        ],
    )
    .await;
    let in_flight = tokio::spawn(call(
        trio.http
            .get(format!("{}/api/orders/current", orders.url))
            .header("Authorization", &customer.token),
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    orders.signal(Signal::SIGTERM);

    let (status, body) = in_flight.await.unwrap();
    assert_eq!(
        (status, body),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"message": "users service unavailable"})
        ),
        "the request got its answer rather than a cut connection"
    );
    let exit = orders.wait().await;
    assert!(exit.success(), "{exit:?}");
    listener.abort();
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_add_survives_a_sigkill() {
    let trio = Trio::start().await;
    trio.seed_beers().await;
    let customer = trio.customer().await;
    let port = free_port();
    let env = [
        (
            "ORDERS_DATABASE_URL",
            trio.databases.orders.url.to_setting(),
        ),
        ("USERS_URL", trio.users.url.clone()),
        ("BEERS_URL", trio.beers.url.clone()),
    ];
    let orders = ServiceProcess::start("orders", port, &env).await;

    let acknowledged = Arc::new(AtomicUsize::new(0));
    let adds: Vec<_> = (0..200)
        .map(|_| {
            let request = trio
                .http
                .put(format!("{}/api/orders/current", orders.url))
                .header("Authorization", &customer.token)
                .form(&[("sku", "123456"), ("quantity", "1")]);
            let acknowledged = acknowledged.clone();
            tokio::spawn(async move {
                if let Ok(response) = request.send().await {
                    if response.status() == StatusCode::CREATED {
                        acknowledged.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    while acknowledged.load(Ordering::SeqCst) < 20 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    orders.signal(Signal::SIGKILL);
    for add in adds {
        let _ = add.await;
    }
    let _ = orders.wait().await;
    let acknowledged = acknowledged.load(Ordering::SeqCst);

    // A new process on the same database answers for what the killed one acknowledged.
    let restarted = ServiceProcess::start("orders", port, &env).await;
    let (status, order) = call(
        trio.http
            .get(format!("{}/api/orders/current", restarted.url))
            .header("Authorization", &customer.token),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let stored = order["beers"][0]["quantity"].as_u64().unwrap_or(0) as usize;
    assert!(
        (acknowledged..=200).contains(&stored),
        "{acknowledged} adds were acknowledged, {stored} are stored"
    );
    let (status, _) = call(
        trio.orders(Method::GET, "/api/orders")
            .header("Authorization", &customer.token),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    drop(restarted);
    trio.stop().await;
}
