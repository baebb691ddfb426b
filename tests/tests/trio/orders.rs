//! The orders service over real HTTP, asking a real users and a real beers service.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use trio_tests::{call, Account, Api, Trio};

async fn current(trio: &Trio, account: &Account) -> Value {
    let (status, order) = trio.current_order(account).await;
    assert_eq!(status, StatusCode::OK, "{order}");
    order
}

fn line<'a>(order: &'a Value, sku: &str) -> Option<&'a Value> {
    order["beers"]
        .as_array()?
        .iter()
        .find(|l| l["sku"] == json!(sku))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_orders_scenario_works_end_to_end() {
    let trio = Trio::start().await;
    trio.seed_beers().await;
    let customer = trio.customer().await;

    let (status, list) = trio.order_list(&customer, "").await;
    assert_eq!((status, list), (StatusCode::OK, json!([])));

    let order = current(&trio, &customer).await;
    assert_eq!(order["is_open"], json!(true));
    assert_eq!(order["total"], json!("0.00"));
    assert_eq!(order["beers"], json!([]));
    let id = order["id"].as_i64().unwrap();

    let (status, details) = trio.order(&customer, id).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(details["id"], json!(id));

    let (status, body) = trio.add(&customer, "123456", "2").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body["message"].is_string());
    let (status, _) = trio.add(&customer, "123456", "1").await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = trio.add(&customer, "123458", "4").await;
    assert_eq!(status, StatusCode::CREATED);

    let order = current(&trio, &customer).await;
    assert_eq!(order["id"], json!(id), "still the same open order");
    let burgasko = line(&order, "123456").expect("the first line");
    assert_eq!(burgasko["quantity"], json!(3));
    assert_eq!(burgasko["unit_price"], json!("1.19"));
    assert_eq!(burgasko["line_total"], json!("3.57"));
    for field in [
        "id",
        "sku",
        "quantity",
        "unit_price",
        "line_total",
        "time_created",
        "time_modified",
    ] {
        assert!(burgasko.get(field).is_some(), "{field}");
    }
    assert_eq!(line(&order, "123458").unwrap()["quantity"], json!(4));
    assert_eq!(order["total"], json!("9.57"));

    let (status, body) = trio.add(&customer, "000000", "1").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = trio.add(&customer, "123456", "-1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["errors"]["quantity"].is_string(), "{body}");

    let (status, _) = trio.remove(&customer, "123458").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = trio.remove(&customer, "123458").await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "removing what is not there is fine"
    );
    assert!(line(&current(&trio, &customer).await, "123458").is_none());

    let (status, closed) = trio.checkout(&customer).await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    assert_eq!(closed["id"], json!(id));
    assert_eq!(closed["is_open"], json!(false));
    assert_eq!(closed["total"], json!("3.57"));

    let (status, list) = trio.order_list(&customer, "").await;
    assert_eq!(status, StatusCode::OK);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["is_open"], json!(false));
    assert_eq!(list[0]["total"], json!("3.57"));
    assert!(list[0].get("beers").is_none(), "the list carries no lines");

    let next = current(&trio, &customer).await;
    assert_ne!(next["id"], json!(id), "a new open order after checkout");
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quantities_must_be_whole_numbers_up_to_ten_thousand() {
    let trio = Trio::start().await;
    let admin = trio.admin().await;
    let sku = trio.create_beer(&admin, "1.00").await;
    let customer = trio.customer().await;
    for bad in ["0", "-1", "2.5", "x", "", "10001"] {
        let (status, body) = trio.add(&customer, &sku, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(body["errors"]["quantity"].is_string(), "{bad}: {body}");
    }
    let (status, _) = trio.add(&customer, &sku, "10000").await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = trio.add(&customer, &sku, "1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the line would pass 10000");
    assert!(body["errors"]["quantity"].is_string(), "{body}");
    assert_eq!(
        line(&current(&trio, &customer).await, &sku).unwrap()["quantity"],
        json!(10000)
    );

    let (status, body) = call(
        trio.orders_as(&customer, Method::PUT, "/api/orders/current")
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["errors"]["sku"].is_string() && body["errors"]["quantity"].is_string(),
        "{body}"
    );
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_bodies_and_integer_quantities_work() {
    let trio = Trio::start().await;
    trio.seed_beers().await;
    let customer = trio.customer().await;
    let bearer = format!("Bearer {}", customer.token);
    let (status, _) = call(
        trio.orders_as(&bearer, Method::PUT, "/api/orders/current")
            .json(&json!({"sku": "123457", "quantity": 3})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let order = current(&trio, &customer).await;
    assert_eq!(line(&order, "123457").unwrap()["quantity"], json!(3));
    assert_eq!(order["total"], json!("6.00"));
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_need_a_valid_token() {
    let trio = Trio::start().await;
    let (status, body) = call(trio.orders(Method::GET, "/api/orders/current")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].is_string());
    let (status, _) = trio.current_order("nope").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = trio.order("Bearer nope", 1).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_order_is_as_missing_as_a_missing_one() {
    let trio = Trio::start().await;
    trio.seed_beers().await;
    let alice = trio.customer().await;
    let bob = trio.customer().await;
    let alices = current(&trio, &alice).await["id"].as_i64().unwrap();
    let by_bob = trio.order(&bob, alices).await;
    let missing = trio.order(&bob, 987654321).await;
    assert_eq!(by_bob.0, StatusCode::NOT_FOUND);
    assert_eq!(by_bob, missing);
    let (status, list) = trio.order_list(&bob, "").await;
    assert_eq!((status, list), (StatusCode::OK, json!([])));
    let (status, _) = call(trio.orders_as(&bob, Method::GET, "/api/orders/not-a-number")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_of_an_empty_order_is_refused() {
    let trio = Trio::start().await;
    let customer = trio.customer().await;
    // Checkout answers GET as well as POST.
    let (status, body) = call(trio.orders_as(&customer, Method::GET, "/api/orders/checkout")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body["message"].is_string());
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_with_a_deleted_beer_is_refused_and_names_it() {
    let trio = Trio::start().await;
    let admin = trio.admin().await;
    let sku = trio.create_beer(&admin, "1.50").await;
    let customer = trio.customer().await;
    assert_eq!(trio.add(&customer, &sku, "2").await.0, StatusCode::CREATED);
    let (status, _) = trio.delete_beer(&admin, &sku).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = trio.checkout(&customer).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body.to_string().contains(&sku), "names the sku: {body}");
    assert_eq!(
        current(&trio, &customer).await["is_open"],
        json!(true),
        "the order stays open"
    );
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_reprices_and_the_closed_order_never_changes() {
    let trio = Trio::start().await;
    let admin = trio.admin().await;
    let sku = trio.create_beer(&admin, "1.00").await;
    let customer = trio.customer().await;
    assert_eq!(trio.add(&customer, &sku, "3").await.0, StatusCode::CREATED);
    assert_eq!(
        line(&current(&trio, &customer).await, &sku).unwrap()["unit_price"],
        json!("1.00")
    );

    let reprice = |price: &'static str| {
        trio.update_beer(&admin, &sku, [("name", "Test beer"), ("price", price)])
    };
    assert_eq!(reprice("1.25").await.0, StatusCode::OK);
    // Checkout answers GET as well as POST.
    let (status, closed) =
        call(trio.orders_as(&customer, Method::GET, "/api/orders/checkout")).await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    assert_eq!(line(&closed, &sku).unwrap()["unit_price"], json!("1.25"));
    assert_eq!(line(&closed, &sku).unwrap()["line_total"], json!("3.75"));
    assert_eq!(closed["total"], json!("3.75"));
    let id = closed["id"].as_i64().unwrap();

    assert_eq!(reprice("9.99").await.0, StatusCode::OK);
    let (status, _) = trio.delete_beer(&admin, &sku).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, later) = trio.order(&customer, id).await;
    assert_eq!(later, closed, "a closed order never changes");
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_adds_of_one_give_exactly_a_hundred() {
    let trio = Trio::start().await;
    trio.seed_beers().await;
    let customer = trio.customer().await;
    let adds = (0..100).map(|_| trio.add(&customer, "123456", "1"));
    let results = futures::future::join_all(adds).await;
    let failures: Vec<_> = results
        .iter()
        .filter(|(s, _)| *s != StatusCode::CREATED)
        .collect();
    assert!(failures.is_empty(), "{failures:?}");
    let order = current(&trio, &customer).await;
    assert_eq!(line(&order, "123456").unwrap()["quantity"], json!(100));
    assert_eq!(order["beers"].as_array().unwrap().len(), 1);
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_requests_make_one_open_order() {
    let trio = Trio::start().await;
    let customer = trio.customer().await;
    let requests = (0..20).map(|_| trio.current_order(&customer));
    let results = futures::future::join_all(requests).await;
    let ids: std::collections::BTreeSet<_> = results
        .iter()
        .map(|(status, order)| {
            assert_eq!(*status, StatusCode::OK, "{order}");
            order["id"].as_i64().unwrap()
        })
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let (_, list) = trio.order_list(&customer, "").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_survive_a_restart() {
    let mut trio = Trio::start().await;
    trio.seed_beers().await;
    let customer = trio.customer().await;
    assert_eq!(
        trio.add(&customer, "123458", "2").await.0,
        StatusCode::CREATED
    );
    let before = current(&trio, &customer).await;
    trio.restart_orders().await;
    assert_eq!(current(&trio, &customer).await, before);
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_is_newest_first_and_pages() {
    let trio = Trio::start().await;
    trio.seed_beers().await;
    let customer = trio.customer().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        assert_eq!(
            trio.add(&customer, "123456", "1").await.0,
            StatusCode::CREATED
        );
        let (status, closed) = trio.checkout(&customer).await;
        assert_eq!(status, StatusCode::OK);
        ids.push(closed["id"].as_i64().unwrap());
    }
    let (_, list) = trio.order_list(&customer, "limit=2").await;
    let listed: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    assert_eq!(listed, [ids[2], ids[1]]);
    let (status, _) = trio.order_list(&customer, "offset=-3").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_may_name_the_sku_in_the_query_with_no_body() {
    let trio = Trio::start().await;
    trio.seed_beers().await;
    let customer = trio.customer().await;
    assert_eq!(
        trio.add(&customer, "123456", "1").await.0,
        StatusCode::CREATED
    );
    let (status, body) = call(
        trio.orders_as(&customer, Method::DELETE, "/api/orders/current?sku=123456")
            .header("Content-Type", "application/json"),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(line(&current(&trio, &customer).await, "123456").is_none());
    trio.stop().await;
}

/// How many `GET /api/beers` (the list and the lookup by SKU) beers has answered.
async fn beer_lists_answered(trio: &Trio) -> u64 {
    let text = trio
        .beers(Method::GET, "/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| {
            l.starts_with("rocket_http_requests_total{endpoint=\"/api/beers\",method=\"GET\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_asks_beers_once_however_many_lines() {
    let trio = Trio::start().await;
    let admin = trio.admin().await;
    let customer = trio.customer().await;
    for _ in 0..30 {
        let sku = trio.create_beer(&admin, "0.50").await;
        assert_eq!(trio.add(&customer, &sku, "2").await.0, StatusCode::CREATED);
    }
    let before = beer_lists_answered(&trio).await;
    let (status, closed) = trio.checkout(&customer).await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    assert_eq!(closed["total"], json!("30.00"));
    assert_eq!(closed["beers"].as_array().unwrap().len(), 30);
    assert_eq!(
        beer_lists_answered(&trio).await - before,
        1,
        "one lookup for 30 lines"
    );
    trio.stop().await;
}
