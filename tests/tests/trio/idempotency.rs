//! `Idempotency-Key`: a retried write gets its first answer again instead of running twice.

use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};
use trio_tests::{unique, unique_sku, Account, Api, Trio};

const KEY: &str = "Idempotency-Key";
const REPLAYED: &str = "Idempotency-Replayed";

/// What a client sees of one answer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reply {
    status: StatusCode,
    body: String,
    replayed: Option<String>,
    location: Option<String>,
    retry_after: Option<String>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

async fn send(request: RequestBuilder) -> Reply {
    let response = request.send().await.expect("the service answers");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (replayed, location, retry_after) =
        (header(REPLAYED), header("Location"), header("Retry-After"));
    Reply {
        status: response.status(),
        replayed,
        location,
        retry_after,
        body: response.text().await.unwrap_or_default(),
    }
}

/// Sends the request twice with one new key: the first answer and the retry's.
async fn twice(request: RequestBuilder) -> (Reply, Reply) {
    let key = unique("key");
    let request = request.header(KEY, key);
    let retry = request
        .try_clone()
        .expect("a request without a stream body");
    (send(request).await, send(retry).await)
}

fn assert_replayed(first: &Reply, retry: &Reply) {
    assert_eq!(first.replayed, None, "a first answer is not a replay");
    assert_eq!(retry.replayed.as_deref(), Some("true"), "{retry:?}");
    assert_eq!(
        (retry.status, &retry.body, &retry.location),
        (first.status, &first.body, &first.location),
        "the retry gets the first answer"
    );
}

fn line_quantity(order: &Value, sku: &str) -> Option<i64> {
    order["beers"]
        .as_array()?
        .iter()
        .find(|line| line["sku"] == json!(sku))?["quantity"]
        .as_i64()
}

async fn quantity_in_cart(trio: &Trio, who: &Account, sku: &str) -> Option<i64> {
    let (status, order) = trio.current_order(who).await;
    assert_eq!(status, StatusCode::OK, "{order}");
    line_quantity(&order, sku)
}

fn add(trio: &Trio, who: &Account, sku: &str, quantity: &str) -> RequestBuilder {
    trio.orders_as(who, Method::PUT, "/api/orders/current")
        .form(&[("sku", sku), ("quantity", quantity)])
}

fn registration(username: &str) -> Vec<(&'static str, String)> {
    vec![
        ("username", username.to_owned()),
        ("mail", format!("{username}@example.com")),
        ("first_name", "Retry".into()),
        ("last_name", "Client".into()),
        ("password", "Secret123".into()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_register_gets_the_new_user_not_already_taken() {
    let trio = Trio::start().await;
    let username = unique("retry");
    let register = trio
        .users(Method::POST, "/api/users/register")
        .form(&registration(&username));
    let (first, retry) = twice(register).await;
    assert_eq!(first.status, StatusCode::OK, "{first:?}");
    assert_eq!(first.json()["username"], json!(username));
    assert_replayed(&first, &retry);

    // The same fields without a key are a second registration, refused as before.
    let again = send(
        trio.users(Method::POST, "/api/users/register")
            .form(&registration(&username)),
    )
    .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        again.json()["errors"]["username"],
        json!("is already taken")
    );
    assert_eq!(again.replayed, None);
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_beer_writes_get_their_first_answers() {
    let trio = Trio::start().await;
    let admin = trio.admin().await;
    let sku = unique_sku();
    let create = trio.beers_as(&admin, Method::POST, "/api/beers/").form(&[
        ("sku", sku.as_str()),
        ("name", "Retried"),
        ("price", "2.50"),
    ]);
    let (first, retry) = twice(create).await;
    assert_eq!(first.status, StatusCode::CREATED, "{first:?}");
    assert_eq!(first.location, Some(format!("/api/beers/{sku}")));
    assert_replayed(&first, &retry);

    let change = trio
        .beers_as(&admin, Method::PUT, &format!("/api/beers/{sku}"))
        .form(&[("name", "Changed"), ("price", "3.00")]);
    let (first, retry) = twice(change).await;
    assert_eq!(first.status, StatusCode::OK, "{first:?}");
    assert_eq!(first.json()["price"], json!("3.00"));
    assert_replayed(&first, &retry);

    let (_, beers) = trio.beer_list(&format!("sku={sku}")).await;
    let ours: Vec<&Value> = beers
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["sku"] == json!(sku))
        .collect();
    assert_eq!(ours.len(), 1, "one beer, made once");
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_cart_writes_and_checkouts_happen_once() {
    let trio = Trio::start().await;
    trio.seed_beers().await;
    let customer = trio.customer().await;

    let (first, retry) = twice(add(&trio, &customer, "123456", "2")).await;
    assert_eq!(first.status, StatusCode::CREATED, "{first:?}");
    assert_replayed(&first, &retry);
    assert_eq!(quantity_in_cart(&trio, &customer, "123456").await, Some(2));

    let (first, retry) = twice(add(&trio, &customer, "123458", "1")).await;
    assert_replayed(&first, &retry);
    let remove = trio
        .orders_as(&customer, Method::DELETE, "/api/orders/current")
        .form(&[("sku", "123458")]);
    let (first, retry) = twice(remove).await;
    assert_eq!(first.status, StatusCode::NO_CONTENT);
    assert_eq!(first.body, "");
    assert_replayed(&first, &retry);
    assert_eq!(quantity_in_cart(&trio, &customer, "123458").await, None);

    for method in [Method::POST, Method::GET] {
        let (status, _) = trio.add(&customer, "123457", "3").await;
        assert_eq!(status, StatusCode::CREATED);
        let checkout = trio.orders_as(&customer, method.clone(), "/api/orders/checkout");
        let (first, retry) = twice(checkout).await;
        assert_eq!(first.status, StatusCode::OK, "{method} {first:?}");
        assert_eq!(first.json()["is_open"], json!(false));
        assert_replayed(&first, &retry);
    }
    let (status, orders) = trio.order_list(&customer, "").await;
    assert_eq!(status, StatusCode::OK);
    let closed = orders
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["is_open"] == json!(false))
        .count();
    assert_eq!(closed, 2, "one closed order per checkout: {orders}");
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_key_every_write_runs_as_before() {
    let trio = Trio::start().await;
    trio.seed_beers().await;
    let customer = trio.customer().await;
    for _ in 0..2 {
        let reply = send(add(&trio, &customer, "123456", "2")).await;
        assert_eq!(reply.status, StatusCode::CREATED);
        assert_eq!(reply.replayed, None);
    }
    assert_eq!(quantity_in_cart(&trio, &customer, "123456").await, Some(4));
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_used_for_another_request_is_a_422() {
    let trio = Trio::start().await;
    trio.seed_beers().await;
    let customer = trio.customer().await;
    let key = unique("key");
    let first = send(add(&trio, &customer, "123456", "1").header(KEY, &key)).await;
    assert_eq!(first.status, StatusCode::CREATED);

    let other_body = send(add(&trio, &customer, "123456", "5").header(KEY, &key)).await;
    let other_path = send(
        trio.orders_as(&customer, Method::POST, "/api/orders/checkout")
            .header(KEY, &key),
    )
    .await;
    for reply in [other_body, other_path] {
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{reply:?}");
        assert!(reply.json()["message"].is_string(), "{reply:?}");
        assert!(reply.json()["errors"][KEY].is_string(), "{reply:?}");
    }
    assert_eq!(quantity_in_cart(&trio, &customer, "123456").await, Some(1));
    assert_eq!(
        quantity_in_cart(&trio, &customer, "123456").await,
        Some(1),
        "and the order is still open"
    );
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_spellings_of_a_path_are_the_same_request() {
    let trio = Trio::start().await;
    let admin = trio.admin().await;
    let sku = unique_sku();
    let key = unique("key");
    let form = [("sku", sku.as_str()), ("name", "Slash"), ("price", "1.00")];
    let first = send(
        trio.beers_as(&admin, Method::POST, "/api/beers")
            .header(KEY, &key)
            .form(&form),
    )
    .await;
    let retry = send(
        trio.beers_as(&admin, Method::POST, "/api/beers/")
            .header(KEY, &key)
            .form(&form),
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_replayed(&first, &retry);
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_with_one_key_write_once() {
    let trio = Trio::start().await;
    trio.seed_beers().await;
    let customer = trio.customer().await;
    let key = unique("key");
    let requests = (0..16).map(|_| send(add(&trio, &customer, "123456", "3").header(KEY, &key)));
    let replies = all_at_once(requests).await;
    let mut fresh = 0;
    for reply in &replies {
        match (reply.status, reply.replayed.as_deref()) {
            (StatusCode::CREATED, None) => fresh += 1,
            (StatusCode::CREATED, Some("true")) => {}
            (StatusCode::CONFLICT, None) => {
                let after: u64 = reply
                    .retry_after
                    .as_deref()
                    .and_then(|s| s.parse().ok())
                    .expect("a 409 for a running key says when to retry");
                assert!(after >= 1, "{reply:?}");
                assert!(reply.json()["message"].is_string());
            }
            _ => panic!("unexpected answer {reply:?}"),
        }
    }
    assert_eq!(fresh, 1, "exactly one request did the work: {replies:?}");
    assert_eq!(quantity_in_cart(&trio, &customer, "123456").await, Some(3));
    // Once the first has answered, every retry is its replay.
    let retry = send(add(&trio, &customer, "123456", "3").header(KEY, &key)).await;
    assert_eq!(retry.status, StatusCode::CREATED);
    assert_eq!(retry.replayed.as_deref(), Some("true"));
    trio.stop().await;
}

/// Runs every future on its own task, at once; their outputs in order.
async fn all_at_once<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::with_capacity(handles.len());
    for handle in handles {
        outputs.push(handle.await.expect("the request task ends"));
    }
    outputs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_key_from_two_callers_is_two_requests() {
    let trio = Trio::start().await;
    trio.seed_beers().await;
    let (alice, bob) = (trio.customer().await, trio.customer().await);
    let key = unique("shared-key");
    for who in [&alice, &bob] {
        let reply = send(add(&trio, who, "123456", "1").header(KEY, &key)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        assert_eq!(reply.replayed, None);
        assert_eq!(quantity_in_cart(&trio, who, "123456").await, Some(1));
    }
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_error_is_replayed_even_when_the_request_would_now_succeed() {
    let trio = Trio::start().await;
    let admin = trio.admin().await;
    let customer = trio.customer().await;
    let sku = unique_sku();
    let key = unique("key");
    let first = send(add(&trio, &customer, &sku, "1").header(KEY, &key)).await;
    assert_eq!(first.status, StatusCode::NOT_FOUND, "{first:?}");

    let (status, _) = trio
        .try_create_beer(
            &admin,
            [("sku", sku.as_str()), ("name", "Late"), ("price", "1.00")],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let retry = send(add(&trio, &customer, &sku, "1").header(KEY, &key)).await;
    assert_replayed(&first, &retry);
    assert_eq!(quantity_in_cart(&trio, &customer, &sku).await, None);

    // With a new key the same request is a new one.
    let fresh = send(add(&trio, &customer, &sku, "1").header(KEY, unique("key"))).await;
    assert_eq!(fresh.status, StatusCode::CREATED);
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5xx_is_not_stored_and_the_retry_runs_anew() {
    let mut trio = Trio::start().await;
    trio.seed_beers().await;
    let customer = trio.customer().await;
    let key = unique("key");
    let beers_port = trio.beers.port;
    trio.beers.stop().await;
    let down = send(add(&trio, &customer, "123456", "2").header(KEY, &key)).await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE, "{down:?}");

    trio.beers =
        trio_tests::start_beers(&trio.databases, &trio.options, &trio.users.url, beers_port)
            .await
            .expect("beers starts again");
    let retry = send(add(&trio, &customer, "123456", "2").header(KEY, &key)).await;
    assert_eq!(retry.status, StatusCode::CREATED, "{retry:?}");
    assert_eq!(retry.replayed, None, "the retry ran");
    let again = send(add(&trio, &customer, "123456", "2").header(KEY, &key)).await;
    assert_replayed(&retry, &again);
    assert_eq!(quantity_in_cart(&trio, &customer, "123456").await, Some(2));
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_that_is_not_a_key_is_a_400_naming_it() {
    let trio = Trio::start().await;
    trio.seed_beers().await;
    let customer = trio.customer().await;
    let too_long = "k".repeat(256);
    for bad in ["", "two words", too_long.as_str()] {
        let reply = send(add(&trio, &customer, "123456", "1").header(KEY, bad)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad:?}: {reply:?}");
        assert!(reply.json()["errors"][KEY].is_string(), "{reply:?}");
    }
    let non_ascii = reqwest::header::HeaderValue::from_bytes("ключ".as_bytes()).unwrap();
    let reply = send(add(&trio, &customer, "123456", "1").header(KEY, non_ascii)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{reply:?}");
    let twice_sent = send(
        add(&trio, &customer, "123456", "1")
            .header(KEY, "a")
            .header(KEY, "b"),
    )
    .await;
    assert_eq!(twice_sent.status, StatusCode::BAD_REQUEST, "{twice_sent:?}");
    let longest = send(add(&trio, &customer, "123456", "1").header(KEY, "k".repeat(255))).await;
    assert_eq!(longest.status, StatusCode::CREATED, "{longest:?}");
    assert_eq!(
        quantity_in_cart(&trio, &customer, "123456").await,
        Some(1),
        "no refused request wrote anything"
    );
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_documents_name_the_header_and_its_answers() {
    let trio = Trio::start().await;
    let keyed = [
        (&trio.users.url, "/api/users/register", "post"),
        (&trio.beers.url, "/api/beers", "post"),
        (&trio.beers.url, "/api/beers/{sku}", "put"),
        (&trio.orders.url, "/api/orders/current", "put"),
        (&trio.orders.url, "/api/orders/current", "delete"),
        (&trio.orders.url, "/api/orders/checkout", "get"),
        (&trio.orders.url, "/api/orders/checkout", "post"),
    ];
    for (base, path, method) in keyed {
        let document: Value = trio
            .http
            .get(format!("{base}/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let operation = &document["paths"][path][method];
        let header = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == json!(KEY))
            .unwrap_or_else(|| panic!("{method} {path} documents {KEY}"));
        assert_eq!(header["in"], json!("header"));
        assert_eq!(header["required"], json!(false));
        for status in ["409", "422"] {
            assert!(
                operation["responses"][status].is_object(),
                "{method} {path} documents {status}"
            );
        }
    }
    trio.stop().await;
}
