//! Each service serves its storefront fragment and lists it in its OpenAPI document; the
//! shell's page loads each from its own service.

use reqwest::{Method, StatusCode};
use trio_tests::browser::Storefront;
use trio_tests::Trio;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_service_serves_its_fragment_and_documents_it() {
    let trio = Trio::start().await;
    for (base, path, elements) in [
        (&trio.users.url, "/ui/users.js", vec!["brewery-account"]),
        (&trio.beers.url, "/ui/beers.js", vec!["brewery-catalogue"]),
        (
            &trio.orders.url,
            "/ui/orders.js",
            vec!["brewery-cart", "brewery-orders"],
        ),
    ] {
        let response = trio.http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("text/javascript"),
            "{content_type}"
        );
        let module = response.text().await.unwrap();
        for element in elements {
            assert!(
                module.contains(&format!("customElements.define(\"{element}\"")),
                "{path} defines {element}"
            );
        }
        // No fragment reaches for another's code or for the internet.
        assert!(!module.contains("import "), "{path} imports nothing");
        assert!(
            !module.contains("https://"),
            "{path} loads nothing from outside"
        );

        let document: serde_json::Value = trio
            .http
            .get(format!("{base}/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            document["paths"][path]["get"].is_object(),
            "{path} is in {base}/openapi.json"
        );
    }
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shell_loads_each_fragment_from_its_own_service() {
    let trio = Trio::start().await;
    let apis = storefront::Apis {
        users: storefront::ApiBase::Port(trio.users.port),
        beers: storefront::ApiBase::Port(trio.beers.port),
        orders: storefront::ApiBase::Port(trio.orders.port),
    };
    let mut shell = Storefront::start(0, apis).await.unwrap();
    let page = trio
        .http
        .get(format!("{}/", shell.url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let page = page.text().await.unwrap();
    for (service, url) in [
        ("users", &trio.users.url),
        ("beers", &trio.beers.url),
        ("orders", &trio.orders.url),
    ] {
        assert!(
            page.contains(&format!(r#"src="{url}/ui/{service}.js""#)),
            "{service}"
        );
        assert!(page.contains(&format!(r#"api="{url}""#)), "{service}");
    }
    let (status, _) = trio_tests::call(
        trio.http
            .request(Method::GET, format!("{}/shop.css", shell.url)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = trio_tests::call(
        trio.http
            .request(Method::GET, format!("{}/nothing", shell.url)),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["message"].is_string());
    shell.stop().await;
    trio.stop().await;
}
