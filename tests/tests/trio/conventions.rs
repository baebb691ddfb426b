//! What holds on every service: JSON errors, trailing slashes, request ids, body limits,
//! operational endpoints, and a prompt 503 when a neighbour is down.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;
use trio_tests::{call, start_users, Api, Trio};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_trailing_slash_forms_answer_without_redirect() {
    let trio = Trio::start().await;
    trio.seed_beers().await;
    let customer = trio.customer().await;
    for path in [
        "/api/beers",
        "/api/beers/",
        "/api/beers/123456",
        "/api/beers/123456/",
    ] {
        let response = trio.beers(Method::GET, path).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    for path in [
        "/api/orders",
        "/api/orders/",
        "/api/orders/current",
        "/api/orders/current/",
    ] {
        let (status, _) = call(trio.orders_as(&customer, Method::GET, path)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    let (status, _) = call(trio.users(
        Method::GET,
        &format!("/api/users/exists/?username={}", customer.username),
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    // With a query too: each form reads it alike.
    for path in [
        "/api/beers?limit=2&offset=1",
        "/api/beers/?limit=2&offset=1",
    ] {
        let (status, list) = call(trio.beers(Method::GET, path)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(list.as_array().map(Vec::len), Some(2), "{path}: {list}");
    }
    for path in ["/api/beers?limit=abc", "/api/beers/?limit=abc"] {
        let (status, body) = call(trio.beers(Method::GET, path)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert!(body["errors"]["limit"].is_string(), "{path}: {body}");
    }
    for (path, expected) in [
        ("/api/orders?limit=2", StatusCode::OK),
        ("/api/orders/?limit=2", StatusCode::OK),
        ("/api/orders?offset=-3", StatusCode::BAD_REQUEST),
        ("/api/orders/?offset=-3", StatusCode::BAD_REQUEST),
    ] {
        let (status, body) = call(trio.orders_as(&customer, Method::GET, path)).await;
        assert_eq!(status, expected, "{path}: {body}");
    }
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_json_on_every_service() {
    let trio = Trio::start().await;
    for request in [
        trio.users(Method::GET, "/no/such/thing"),
        trio.beers(Method::GET, "/api/nothing"),
        trio.orders(Method::GET, "/api/orders/1/2/3"),
        trio.users(Method::POST, "/api/users/login")
            .header("Content-Type", "application/json")
            .body("{not json"),
        trio.users(Method::POST, "/api/users/login")
            .header("Content-Type", "text/plain")
            .body("hello"),
        trio.users(Method::POST, "/api/users/register")
            .body(vec![b'a'; 70 * 1024]),
        trio.users(Method::POST, "/api/users/login")
            .header("Content-Type", "application/json")
            .body("[1,2]"),
    ] {
        let response = request.send().await.unwrap();
        let status = response.status();
        assert!(status.is_client_error(), "{status}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("application/json"),
            "{status}: {content_type}"
        );
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["message"].is_string(), "{status}: {body}");
    }
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_get_the_right_status() {
    let trio = Trio::start().await;
    let big = "a".repeat(65 * 1024);
    let (status, _) = call(
        trio.users(Method::POST, "/api/users/register")
            .form(&[("username", big.as_str())]),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // The limit is 64 KiB exactly: a body of that size is read (and judged on its fields),
    // one byte more is refused.
    for (extra, expected) in [
        (0, StatusCode::BAD_REQUEST),
        (1, StatusCode::PAYLOAD_TOO_LARGE),
    ] {
        let body = format!(
            "username={}",
            "a".repeat(64 * 1024 - "username=".len() + extra)
        );
        let (status, answer) = call(
            trio.users(Method::POST, "/api/users/register")
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body),
        )
        .await;
        assert_eq!(status, expected, "{extra} byte(s) over: {answer}");
    }
    let (status, _) = call(
        trio.users(Method::POST, "/api/users/login")
            .header("Content-Type", "text/plain")
            .body("x"),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, body) = call(
        trio.users(Method::POST, "/api/users/login")
            .header("Content-Type", "application/json")
            .body("{"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("JSON"), "{body}");
    let (status, body) = call(
        trio.users(Method::POST, "/api/users/login")
            .json(&json!({"username": ["a"], "password": {"x": 1}})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["errors"]["username"].is_string() && body["errors"]["password"].is_string(),
        "{body}"
    );
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_kept_or_made_and_echoed() {
    let trio = Trio::start().await;
    let response = trio
        .beers(Method::GET, "/health")
        .header("X-Request-Id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me-42");
    let response = trio
        .beers(Method::GET, "/api/nothing")
        .send()
        .await
        .unwrap();
    let made = response.headers()["x-request-id"].to_str().unwrap();
    assert!(!made.is_empty());
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_service_has_health_readiness_openapi_and_docs() {
    let trio = Trio::start().await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (service, base) in [
        ("users", &trio.users.url),
        ("beers", &trio.beers.url),
        ("orders", &trio.orders.url),
    ] {
        let (status, body) = call(trio.http.get(format!("{base}/health"))).await;
        assert_eq!(
            (status, body),
            (StatusCode::OK, json!({"status": "ok"})),
            "{service}"
        );
        let (status, _) = call(trio.http.get(format!("{base}/ready"))).await;
        assert_eq!(status, StatusCode::OK, "{service}");
        let metrics = trio
            .http
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap();
        assert_eq!(metrics.status(), StatusCode::OK, "{service}");
        let text = metrics.text().await.unwrap();
        assert!(
            text.contains("rocket_http_requests_total{"),
            "{service}: {text}"
        );
        assert!(text.contains("endpoint=\"/health\""), "{service}: by route");
        assert!(
            text.contains("rocket_http_requests_duration_seconds_bucket"),
            "{service}"
        );
        assert!(
            text.contains("brewery_db_pool_connections{state=\"idle\"}"),
            "{service}: {text}"
        );
        let (status, doc) = call(trio.http.get(format!("{base}/openapi.json"))).await;
        assert_eq!(status, StatusCode::OK, "{service}");
        assert!(
            doc["openapi"].as_str().unwrap().starts_with("3."),
            "{service}"
        );
        let paths = doc["paths"].as_object().unwrap();
        assert!(
            paths
                .keys()
                .any(|p| p.starts_with(&format!("/api/{service}"))),
            "{service}: {paths:?}"
        );
        let bare = no_redirects
            .get(format!("{base}/docs"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            bare.status(),
            StatusCode::OK,
            "{service}: /docs answers without a redirect"
        );
        assert!(bare
            .text()
            .await
            .unwrap()
            .contains("<base href=\"/docs/\">"));
        let docs = trio.http.get(format!("{base}/docs/")).send().await.unwrap();
        assert_eq!(docs.status(), StatusCode::OK, "{service}");
        let page = docs.text().await.unwrap();
        assert!(page.contains("swagger"), "{service}");
        assert!(
            !page.contains("https://"),
            "{service}: the docs page loads nothing from the internet"
        );
        let root = no_redirects.get(format!("{base}/")).send().await.unwrap();
        assert!(root.status().is_redirection(), "{service}");
        assert!(
            root.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with("/docs"),
            "{service}"
        );
    }
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_users_service_gives_a_prompt_503_and_recovery() {
    let mut trio = Trio::start().await;
    trio.seed_beers().await;
    let customer = trio.customer().await;
    let port = trio.users.port;
    trio.users.stop().await;

    let started = Instant::now();
    let (status, body) = trio.current_order(&customer).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body, json!({"message": "users service unavailable"}));
    assert!(started.elapsed() < Duration::from_secs(10), "never a hang");
    let (status, body) = trio
        .try_create_beer(&customer, [("sku", "x1"), ("name", "X"), ("price", "1.00")])
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"message": "users service unavailable"})
        )
    );

    trio.users = start_users(&trio.databases, &trio.options, port)
        .await
        .expect("users comes back");
    let (status, _) = trio.current_order(&customer).await;
    assert_eq!(status, StatusCode::OK, "orders recovers by itself");
    let metrics = trio
        .http
        .get(format!("{}/metrics", trio.orders.url))
        .send()
        .await
        .unwrap();
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains("brewery_upstream_calls_total{outcome=\"refused\",target=\"users\"}"),
        "outgoing calls by target and outcome: {text}"
    );
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_beers_service_gives_a_prompt_503() {
    let mut trio = Trio::start().await;
    trio.seed_beers().await;
    let customer = trio.customer().await;
    assert_eq!(
        trio.add(&customer, "123456", "1").await.0,
        StatusCode::CREATED
    );
    trio.beers.stop().await;
    let (status, body) = trio.add(&customer, "123456", "1").await;
    assert_eq!(
        (status, body),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"message": "beers service unavailable"})
        )
    );
    let (status, body) = trio.checkout(&customer).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"message": "beers service unavailable"})
        )
    );
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_path_with_the_wrong_method_is_a_json_405() {
    let trio = Trio::start().await;
    let response = trio
        .users(Method::DELETE, "/api/users/login")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "POST");
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["message"].is_string());
    let (status, _) = call(trio.beers(Method::PATCH, "/api/beers/123456")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, _) = call(trio.beers(Method::GET, "/api/beers/123456/extra")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an unknown path stays a 404");
    trio.stop().await;
}

/// The policy header of an answer, or "" when it has none.
fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_says_nosniff_and_pages_and_modules_carry_a_strict_policy() {
    let trio = Trio::start().await;
    for (service, base) in [
        ("users", &trio.users.url),
        ("beers", &trio.beers.url),
        ("orders", &trio.orders.url),
    ] {
        let answers = [
            trio.http.get(format!("{base}/health")),
            trio.http.get(format!("{base}/ready")),
            trio.http.get(format!("{base}/metrics")),
            trio.http.get(format!("{base}/openapi.json")),
            trio.http.get(format!("{base}/api/{service}/no-such-thing")),
            trio.http.delete(format!("{base}/health")),
            trio.http.get(format!("{base}/api/orders/")),
            trio.http.get(format!("{base}/api/beers/")),
            trio.http
                .request(Method::OPTIONS, format!("{base}/health"))
                .header("Origin", "http://127.0.0.1:5000")
                .header("Access-Control-Request-Method", "GET"),
        ];
        for request in answers {
            let response = request.send().await.unwrap();
            let what = format!("{service}: {} {}", response.status(), response.url());
            assert_eq!(
                header(&response, "x-content-type-options"),
                "nosniff",
                "{what}"
            );
        }
        for path in [
            "/docs".to_owned(),
            "/docs/".to_owned(),
            "/docs/swagger-initializer.js".to_owned(),
            "/docs/swagger-ui.css".to_owned(),
            format!("/ui/{service}.js"),
        ] {
            let response = trio.http.get(format!("{base}{path}")).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{service}{path}");
            let policy = header(&response, "content-security-policy");
            assert!(
                policy.contains("frame-ancestors 'none'"),
                "{service}{path}: {policy}"
            );
            assert!(
                policy.contains("default-src 'none'"),
                "{service}{path}: {policy}"
            );
            assert!(
                !policy.contains("unsafe-inline"),
                "{service}{path}: {policy}"
            );
            assert_eq!(
                header(&response, "referrer-policy"),
                "no-referrer",
                "{service}{path}"
            );
            assert_eq!(
                header(&response, "x-frame-options"),
                "DENY",
                "{service}{path}"
            );
            assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        }
        // The docs page runs no inline script: every script is a file of its own origin.
        let page = trio
            .http
            .get(format!("{base}/docs"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!page.contains("<script>"), "{service}: an inline script");
        assert!(!page.contains(" onload="), "{service}: an inline handler");
    }
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_and_check_token_answers_are_never_stored() {
    let trio = Trio::start().await;
    let customer = trio.customer().await;
    let answers = [
        trio.users(Method::POST, "/api/users/login").form(&[
            ("username", customer.username.as_str()),
            ("password", "Secret123"),
        ]),
        trio.users(Method::POST, "/api/users/login").form(&[
            ("username", customer.username.as_str()),
            ("password", "Wrong1234"),
        ]),
        trio.users(Method::POST, "/api/users/login")
            .form(&[("username", customer.username.as_str())]),
        trio.users(Method::POST, "/api/users/check_token")
            .form(&[("token", customer.token.as_str())]),
        trio.users(Method::POST, "/api/users/check_token/")
            .header("Authorization", format!("Bearer {}", customer.token)),
        trio.users(Method::POST, "/api/users/check_token")
            .form(&[("token", "no-such-token")]),
    ];
    let mut statuses = Vec::new();
    for request in answers {
        let response = request.send().await.unwrap();
        let what = format!("{} {}", response.status(), response.url());
        assert_eq!(header(&response, "cache-control"), "no-store", "{what}");
        assert_eq!(
            header(&response, "x-content-type-options"),
            "nosniff",
            "{what}"
        );
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [200, 404, 400, 200, 200, 404]);
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_field_named_method_does_not_turn_a_post_into_a_put() {
    let trio = Trio::start().await;
    let admin = trio.admin().await;
    let sku = trio.create_beer(&admin, "2.50").await;
    let (_, before) = trio.beer(&sku).await;
    // As a PUT this would rename the beer (the admin may); as a POST it has no route.
    let response = trio
        .beers(Method::POST, &format!("/api/beers/{sku}"))
        .header("Authorization", admin.token.as_str())
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("_method=put&name=Overridden&price=9.99")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["message"].is_string(), "{body}");
    let (status, after) = trio.beer(&sku).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(after, before, "the beer is unchanged");
    assert_ne!(after["name"], json!("Overridden"));
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shell_has_a_policy_naming_the_services_and_nosniff() {
    let trio = Trio::start().await;
    let apis = storefront::Apis {
        users: storefront::ApiBase::Port(trio.users.port),
        beers: storefront::ApiBase::Port(trio.beers.port),
        orders: storefront::ApiBase::Port(trio.orders.port),
    };
    let mut shell = trio_tests::browser::Storefront::start(0, apis)
        .await
        .unwrap();
    let page = trio.http.get(&shell.url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let policy = header(&page, "content-security-policy");
    for origin in [&trio.users.url, &trio.beers.url, &trio.orders.url] {
        let expected = format!(" {origin}");
        assert!(policy.contains(&expected), "{origin} in {policy}");
    }
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(!policy.contains("unsafe"), "{policy}");
    assert_eq!(header(&page, "referrer-policy"), "no-referrer");
    assert_eq!(header(&page, "x-content-type-options"), "nosniff");
    for path in ["/shell.js", "/shop.css", "/health", "/nothing-here"] {
        let response = trio
            .http
            .get(format!("{}{path}", shell.url))
            .send()
            .await
            .unwrap();
        assert_eq!(
            header(&response, "x-content-type-options"),
            "nosniff",
            "{path}"
        );
    }
    let script = trio
        .http
        .get(format!("{}/shell.js", shell.url))
        .send()
        .await
        .unwrap();
    assert!(header(&script, "content-security-policy").contains("frame-ancestors 'none'"));
    shell.stop().await;
    trio.stop().await;
}
