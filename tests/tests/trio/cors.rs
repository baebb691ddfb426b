//! The storefront calls the services from another origin: CORS headers for the allowed
//! origins only, and preflights answered on every API path, through real HTTP.

use reqwest::{Method, StatusCode};
use trio_tests::{Options, Trio};

const SHELL: &str = "http://127.0.0.1:5000";

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflights_on_every_api_path_are_answered_for_the_shell() {
    let trio = Trio::start().await;
    let cases = [
        (&trio.users.url, "/api/users/login", "POST", "POST"),
        (&trio.users.url, "/api/users/register", "POST", "POST"),
        (&trio.users.url, "/api/users/check_token", "POST", "POST"),
        (&trio.users.url, "/api/users/exists", "GET", "GET"),
        (&trio.beers.url, "/api/beers/", "POST", "GET, POST"),
        (
            &trio.beers.url,
            "/api/beers/123456",
            "PUT",
            "DELETE, GET, PUT",
        ),
        (
            &trio.orders.url,
            "/api/orders/current",
            "PUT",
            "DELETE, GET, PUT",
        ),
        (
            &trio.orders.url,
            "/api/orders/checkout",
            "POST",
            "GET, POST",
        ),
        (&trio.orders.url, "/api/orders/7", "GET", "GET"),
    ];
    for (base, path, method, allowed) in cases {
        let response = trio
            .http
            .request(Method::OPTIONS, format!("{base}{path}"))
            .header("Origin", SHELL)
            .header("Access-Control-Request-Method", method)
            .header(
                "Access-Control-Request-Headers",
                "authorization,content-type,idempotency-key",
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "{path}");
        assert_eq!(
            header(&response, "access-control-allow-origin"),
            Some(SHELL)
        );
        assert_eq!(
            header(&response, "access-control-allow-methods"),
            Some(format!("{allowed}, OPTIONS").as_str()),
            "{path}"
        );
        assert_eq!(
            header(&response, "access-control-allow-headers"),
            Some("Authorization, Content-Type, Idempotency-Key")
        );
        assert!(header(&response, "access-control-max-age").is_some());
        assert_eq!(header(&response, "vary"), Some("Origin"));
        assert_eq!(response.text().await.unwrap(), "", "{path}");
    }
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_origin_is_named_on_answers_and_errors_alike() {
    let trio = Trio::start().await;
    trio.seed_beers().await;
    for origin in [SHELL, "http://localhost:5000"] {
        for (request, status) in [
            (trio.beers(Method::GET, "/api/beers/"), StatusCode::OK),
            (
                trio.orders(Method::GET, "/api/orders/current"),
                StatusCode::BAD_REQUEST,
            ),
            (trio.users(Method::GET, "/ui/users.js"), StatusCode::OK),
        ] {
            let response = request.header("Origin", origin).send().await.unwrap();
            assert_eq!(response.status(), status);
            assert_eq!(
                header(&response, "access-control-allow-origin"),
                Some(origin)
            );
            assert_eq!(header(&response, "vary"), Some("Origin"));
            // A throttled login's or a busy key's Retry-After, and whether an answer is a
            // stored one given again, must be readable by the page.
            for exposed in ["Retry-After", "Idempotency-Replayed"] {
                assert!(
                    header(&response, "access-control-expose-headers")
                        .is_some_and(|list| list.contains(exposed)),
                    "{exposed}"
                );
            }
        }
    }
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_other_origin_gets_no_cors_headers() {
    let trio = Trio::start().await;
    for origin in ["http://evil.example", "http://127.0.0.1:5001", "null"] {
        let response = trio
            .beers(Method::GET, "/api/beers")
            .header("Origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let preflight = trio
            .beers(Method::OPTIONS, "/api/beers")
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .send()
            .await
            .unwrap();
        for response in [&response, &preflight] {
            let cors: Vec<_> = response
                .headers()
                .keys()
                .filter(|name| name.as_str().starts_with("access-control-"))
                .collect();
            assert!(cors.is_empty(), "{origin}: {cors:?}");
        }
    }
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_allowed_origins_are_configurable() {
    let trio = Trio::start_with(Options {
        cors_allowed_origins: Some("https://shop.example, http://127.0.0.1:8080".into()),
        ..Options::default()
    })
    .await;
    for (origin, allowed) in [
        ("https://shop.example", true),
        ("http://127.0.0.1:8080", true),
        (SHELL, false),
    ] {
        let response = trio
            .users(Method::OPTIONS, "/api/users/login")
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            header(&response, "access-control-allow-origin"),
            allowed.then_some(origin),
            "{origin}"
        );
    }
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_on_a_known_path_lists_its_methods_and_an_unknown_path_stays_404() {
    let trio = Trio::start().await;
    let response = trio
        .orders(Method::OPTIONS, "/api/orders/current/")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        header(&response, "allow"),
        Some("DELETE, GET, PUT, OPTIONS")
    );
    let response = trio
        .beers(Method::OPTIONS, "/api/nothing/here")
        .header("Origin", SHELL)
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // A wrong method is still a JSON 405 with Allow.
    let response = trio
        .users(Method::GET, "/api/users/login")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&response, "allow"), Some("POST"));
    trio.stop().await;
}
