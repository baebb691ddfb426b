//! The beers service over real HTTP, with real tokens from a real users service.

use reqwest::{Method, StatusCode};
use serde_json::json;
use trio_tests::{call, unique, unique_sku, Api, Trio};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_beers_scenario_works_end_to_end() {
    let trio = Trio::start().await;
    trio.seed_beers().await;

    let (status, list) = trio.beer_list("").await;
    assert_eq!(status, StatusCode::OK);
    let list = list.as_array().expect("a list").clone();
    let names: Vec<_> = list.iter().map(|b| b["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Бургаско", "Загорка", "Tuborg"]);
    let prices: Vec<_> = list.iter().map(|b| b["price"].as_str().unwrap()).collect();
    assert_eq!(prices, ["1.19", "2.00", "1.50"]);

    let (status, beer) = trio.beer("123457").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(beer["name"], json!("Загорка"));
    for field in [
        "id",
        "name",
        "sku",
        "price",
        "image",
        "time_created",
        "time_modified",
    ] {
        assert!(beer.get(field).is_some(), "{field}");
    }

    let (status, body) = trio.beer("999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["message"].is_string());

    let new_beer = [("sku", "777777"), ("name", "Пиринско"), ("price", "2.35")];
    let (status, _) = call(trio.beers(Method::POST, "/api/beers/").form(&new_beer)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "no token");
    let (status, _) = trio.try_create_beer("bad-token", new_beer).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let customer = trio.customer().await;
    let (status, _) = trio.try_create_beer(&customer, new_beer).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let admin = trio.admin().await;
    let bearer = format!("Bearer {}", admin.token);
    let (status, created) = trio.try_create_beer(&bearer, new_beer).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["price"], json!("2.35"));
    assert_eq!(created["image"], json!(null));

    let (status, updated) = trio
        .update_beer(
            &admin,
            "777777",
            [
                ("name", "Пиринско светло"),
                ("price", "2.4"),
                ("image", "https://example.com/p.png"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["name"], json!("Пиринско светло"));
    assert_eq!(updated["price"], json!("2.40"));
    assert_eq!(updated["image"], json!("https://example.com/p.png"));
    assert_eq!(updated["id"], created["id"]);

    let (status, _) = trio.delete_beer(&admin, "777777").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = trio.delete_beer(&admin, "777777").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["message"].is_string());
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beer_fields_are_validated_all_at_once() {
    let trio = Trio::start().await;
    let admin = trio.admin().await;
    let (status, body) = trio
        .try_create_beer(
            &admin,
            [
                ("sku", "bad sku!"),
                ("name", "  "),
                ("price", "1.999"),
                ("image", &"i".repeat(2049)),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let errors = body["errors"].as_object().expect("field errors");
    for field in ["sku", "name", "price", "image"] {
        assert!(errors.contains_key(field), "{field}: {body}");
    }
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prices_are_exact_decimals_or_refused() {
    let trio = Trio::start().await;
    let admin = trio.admin().await;
    let cases = [
        ("2.5", Some("2.50")),
        ("3", Some("3.00")),
        ("0.01", Some("0.01")),
        ("999999.99", Some("999999.99")),
        ("1.999", None),
        ("0", None),
        ("-1.00", None),
        ("1000000", None),
        ("abc", None),
        ("1e2", None),
        ("", None),
    ];
    for (price, expected) in cases {
        let sku = unique_sku();
        let (status, body) = call(
            trio.beers_as(&admin, Method::POST, "/api/beers")
                .json(&json!({"sku": sku, "name": "P", "price": price})),
        )
        .await;
        match expected {
            Some(written) => {
                assert_eq!(status, StatusCode::CREATED, "{price}: {body}");
                assert_eq!(body["price"], json!(written), "{price}");
            }
            None => {
                assert_eq!(status, StatusCode::BAD_REQUEST, "{price}: {body}");
                assert!(body["errors"]["price"].is_string(), "{price}: {body}");
            }
        }
    }
    let sku = unique_sku();
    let (status, body) = call(
        trio.beers_as(&admin, Method::POST, "/api/beers")
            .json(&json!({"sku": sku, "name": "Number", "price": 4.2})),
    )
    .await;
    assert_eq!(
        (status, body["price"].clone()),
        (StatusCode::CREATED, json!("4.20"))
    );
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_sku_is_refused() {
    let trio = Trio::start().await;
    let admin = trio.admin().await;
    let sku = trio.create_beer(&admin, "1.00").await;
    let (status, body) = trio
        .try_create_beer(
            &admin,
            [("sku", sku.as_str()), ("name", "Again"), ("price", "1.00")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["errors"]["sku"].is_string(), "{body}");
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updating_or_deleting_a_missing_beer_is_404_and_bad_fields_are_400() {
    let trio = Trio::start().await;
    let admin = trio.admin().await;
    let (status, _) = trio
        .update_beer(&admin, "nope-404", [("name", "X"), ("price", "1.00")])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = trio.update_beer(&admin, "nope-404", [("price", "x")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["errors"]["name"].is_string() && body["errors"]["price"].is_string());
    let (status, _) = call(trio.beers(Method::DELETE, "/api/beers/nope-404")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "no token");
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_pages_in_id_order() {
    let trio = Trio::start().await;
    trio.seed_beers().await;
    let (status, page) = trio.beer_list("limit=2&offset=1").await;
    assert_eq!(status, StatusCode::OK);
    let skus: Vec<_> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["sku"].as_str().unwrap())
        .collect();
    assert_eq!(skus, ["123457", "123458"]);
    for bad in ["limit=0", "limit=x", "offset=-1", "limit=100000"] {
        let (status, body) = trio.beer_list(bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(body["errors"].is_object(), "{bad}: {body}");
    }
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeding_twice_adds_nothing_the_second_time() {
    let trio = Trio::start().await;
    trio.seed_beers().await;
    let pool = trio.beers.pool.clone();
    let added = tokio::task::spawn_blocking(move || beers::seed(&pool))
        .await
        .unwrap()
        .unwrap();
    assert!(added.is_empty());
    let (_, list) = trio.beer_list("").await;
    assert_eq!(list.as_array().unwrap().len(), 3);
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_racing_creates_of_one_sku_exactly_one_wins() {
    let trio = Trio::start().await;
    let admin = trio.admin().await;
    let sku = unique_sku();
    let creates = (0..12).map(|i| {
        let form = [
            ("sku", sku.clone()),
            ("name", format!("Racer {i}")),
            ("price", "1.00".into()),
        ];
        trio.try_create_beer(&admin, form)
    });
    let results = futures::future::join_all(creates).await;
    let created = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    let refused = results
        .iter()
        .filter(|(s, body)| *s == StatusCode::BAD_REQUEST && body["errors"]["sku"].is_string())
        .count();
    assert_eq!((created, refused), (1, 11), "{results:?}");
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sku_cannot_be_changed_by_an_update() {
    let trio = Trio::start().await;
    let admin = trio.admin().await;
    let sku = trio.create_beer(&admin, "1.00").await;
    let (status, body) = trio
        .update_beer(
            &admin,
            &sku,
            [("sku", "other-sku"), ("name", "Renamed"), ("price", "1.00")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["errors"]["sku"].is_string(), "{body}");
    let (status, _) = trio.beer(&sku).await;
    assert_eq!(status, StatusCode::OK, "the beer keeps its SKU");
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_number_price_is_read_exactly_not_through_a_float() {
    let trio = Trio::start().await;
    let admin = trio.admin().await;
    for price in [
        "1.0000000000000001",
        "2.50000000000000000001",
        "99999999999999999999999",
        "1e-400",
    ] {
        let body = format!(
            r#"{{"sku": "{}", "name": "P", "price": {price}}}"#,
            unique_sku()
        );
        let (status, answer) = call(
            trio.beers_as(&admin, Method::POST, "/api/beers")
                .header("Content-Type", "application/json")
                .body(body),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{price}: {answer}");
        assert!(answer["errors"]["price"].is_string(), "{price}: {answer}");
    }
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_query_field_counts_once_as_in_forms() {
    let trio = Trio::start().await;
    trio.seed_beers().await;
    let (status, list) = trio.beer_list("limit=1&limit=abc").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1, "the first limit counts");
    let (status, _) = trio.beer_list("limit=abc&limit=1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookup_by_sku_gives_those_beers_in_id_order_and_leaves_unknown_ones_out() {
    let trio = Trio::start().await;
    trio.seed_beers().await;
    let (status, list) = trio
        .beer_list("sku=123458&sku=nope&sku=123456&sku=123458")
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let skus: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["sku"].as_str().unwrap())
        .collect();
    assert_eq!(skus, ["123456", "123458"]);

    let (status, list) = trio.beer_list("sku=123457&limit=1&offset=1").await;
    assert_eq!(
        (status, list),
        (StatusCode::OK, json!([])),
        "paging still applies"
    );

    // A lookup of many SKUs is not cut at the default page of 100.
    let admin = trio.admin().await;
    let mut made = Vec::new();
    for _ in 0..120 {
        made.push(trio.create_beer(&admin, "1.00").await);
    }
    let query: Vec<_> = made.iter().map(|sku| format!("sku={sku}")).collect();
    let (status, list) = trio.beer_list(&query.join("&")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 120);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookup_with_a_bad_sku_or_too_many_is_a_400_naming_sku() {
    let trio = Trio::start().await;
    for query in ["sku=bad%20sku", "sku=", "sku=%20123456"] {
        let (status, body) = trio.beer_list(query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(body["errors"]["sku"].is_string(), "{query}: {body}");
    }
    let query: Vec<_> = (0..1001).map(|n| format!("sku={n}")).collect();
    let (status, body) = trio.beer_list(&query.join("&")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["errors"]["sku"], json!("at most 1000 SKUs at once"));
    let (status, body) = trio.beer_list("sku=bad%20sku&limit=0").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["errors"]["limit"].is_string() && body["errors"]["sku"].is_string(),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sku_is_taken_exactly_as_written_by_beers_and_by_orders() {
    let trio = Trio::start().await;
    trio.seed_beers().await;
    let admin = trio.admin().await;
    let customer = trio.customer().await;
    let padded = [("sku", " 123459"), ("name", "Padded"), ("price", "1.00")];
    let (status, body) = trio.try_create_beer(&admin, padded).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["errors"]["sku"].is_string(), "{body}");
    assert_eq!(trio.beer("123459").await.0, StatusCode::NOT_FOUND);
    for sku in [" 123456", "123456 "] {
        let (status, body) = trio.add(&customer, sku, "1").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{sku:?}: {body}");
        assert!(body["errors"]["sku"].is_string(), "{sku:?}: {body}");
    }
    let (_, order) = trio.current_order(&customer).await;
    assert_eq!(order["beers"], json!([]), "{order}");
    // A taken value is worded alike for every unique field.
    let existing = [("sku", "123456"), ("name", "Again"), ("price", "1.00")];
    let (status, body) = trio.try_create_beer(&admin, existing).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"]["sku"], json!("is already taken"));
    let (status, body) = trio
        .register([
            ("username", unique("other").as_str()),
            ("mail", &format!("{}@example.com", customer.username)),
            ("first_name", "Same"),
            ("last_name", "Mail"),
            ("password", "Hoppy-Lager-42"),
        ])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"]["mail"], json!("is already taken"), "{body}");
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_beer_image_is_an_https_url_or_a_path_on_the_catalogue() {
    let trio = Trio::start().await;
    let admin = trio.admin().await;
    for image in [
        "javascript:alert(document.cookie)",
        "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=",
        "http://example.com/p.png",
        "//evil.example/p.png",
        "/\\evil.example/p.png",
        "https://user:secret@example.com/p.png",
        "beer.png",
    ] {
        let (status, body) = trio
            .try_create_beer(
                &admin,
                [
                    ("sku", unique_sku().as_str()),
                    ("name", "Image test"),
                    ("price", "1.50"),
                    ("image", image),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{image}");
        assert_eq!(
            body["errors"],
            json!({"image": "must be an https: URL or a path starting with / on this site"}),
            "{image}"
        );
    }
    for (image, stored) in [
        (
            "https://cdn.example.com/tuborg.png",
            json!("https://cdn.example.com/tuborg.png"),
        ),
        ("/img/tuborg.png", json!("/img/tuborg.png")),
        ("  ", json!(null)),
    ] {
        let sku = unique_sku();
        let (status, body) = trio
            .try_create_beer(
                &admin,
                [
                    ("sku", sku.as_str()),
                    ("name", "Image test"),
                    ("price", "1.50"),
                    ("image", image),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{image}: {body}");
        assert_eq!(body["image"], stored, "{image}");
        let (status, body) = trio
            .update_beer(
                &admin,
                &sku,
                [
                    ("name", "Image test"),
                    ("price", "1.50"),
                    ("image", "javascript:void(0)"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["errors"]["image"].is_string(), "{body}");
    }
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_beer_name_that_can_pass_for_another_is_refused() {
    let trio = Trio::start().await;
    let admin = trio.admin().await;
    for name in ["Tu\u{200B}borg", "\u{202E}grobuT", "\u{2067}Tuborg\u{2069}"] {
        let (status, body) = trio
            .try_create_beer(
                &admin,
                [
                    ("sku", unique_sku().as_str()),
                    ("name", name),
                    ("price", "1.50"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name:?}");
        assert_eq!(
            body["errors"],
            json!({"name": "must not contain bidirectional controls or zero-width characters"}),
            "{name:?}"
        );
    }
    trio.stop().await;
}
