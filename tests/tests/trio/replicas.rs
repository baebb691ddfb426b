//! Two instances of each service on the same databases, requests alternating between them:
//! what one instance does, the other sees, and concurrency across them stays correct.

use reqwest::StatusCode;
use serde_json::json;
use trio_tests::{start_beers, start_orders, start_users, unique, Api, Client, Service, Trio};

/// A second users, beers and orders on the trio's databases.
async fn replicas(trio: &Trio) -> (Service, Service, Service) {
    let users = start_users(&trio.databases, &trio.options, 0)
        .await
        .unwrap();
    let beers = start_beers(&trio.databases, &trio.options, &users.url, 0)
        .await
        .unwrap();
    let orders = start_orders(&trio.databases, &trio.options, &users.url, &beers.url, 0)
        .await
        .unwrap();
    (users, beers, orders)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_agree_under_concurrent_load() {
    let trio = Trio::start().await;
    trio.seed_beers().await;
    let (mut users_b, mut beers_b, mut orders_b) = replicas(&trio).await;
    let instances = [
        trio.client(),
        Client::new(&users_b.url, &beers_b.url, &orders_b.url),
    ];

    // One username registered concurrently on both users instances: one account.
    let name = unique("replica");
    let registrations = (0..10).map(|i| {
        let form = [
            ("username", name.clone()),
            ("mail", format!("{name}{i}@example.com")),
            ("first_name", "R".into()),
            ("last_name", "Eplica".into()),
            ("password", "Hoppy-Lager-42".into()),
        ];
        instances[i % 2].register(form)
    });
    let results = futures::future::join_all(registrations).await;
    assert_eq!(
        results.iter().filter(|(s, _)| *s == StatusCode::OK).count(),
        1,
        "{results:?}"
    );
    let token = trio.login(&name, "Hoppy-Lager-42").await;

    // First requests for the open order, across both orders instances: one order.
    let firsts = (0..20).map(|i| instances[i % 2].current_order(&token));
    let ids: std::collections::BTreeSet<_> = futures::future::join_all(firsts)
        .await
        .into_iter()
        .map(|(status, order)| {
            assert_eq!(status, StatusCode::OK, "{order}");
            order["id"].as_i64().unwrap()
        })
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");

    // 200 concurrent adds of one SKU split across both: exactly 200.
    let adds = (0..200).map(|i| instances[i % 2].add(&token, "123456", "1"));
    let results = futures::future::join_all(adds).await;
    let failed: Vec<_> = results
        .iter()
        .filter(|(s, _)| *s != StatusCode::CREATED)
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    let (_, order) = instances[1].current_order(&token).await;
    assert_eq!(order["beers"][0]["quantity"], json!(200), "{order}");

    // A checkout on one instance is seen closed on the other.
    let (status, closed) = instances[0].checkout(&token).await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    let id = closed["id"].as_i64().unwrap();
    let (status, seen) = instances[1].order(&token, id).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(seen, closed);
    assert_eq!(seen["is_open"], json!(false));

    orders_b.stop().await;
    beers_b.stop().await;
    users_b.stop().await;
    trio.stop().await;
}
