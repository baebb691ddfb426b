//! The users service over real HTTP: the reference scenario, validation, tokens.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use trio_tests::{call, unique, Api, Options, Trio};

fn registration(username: &str) -> Vec<(&'static str, String)> {
    vec![
        ("username", username.to_owned()),
        ("mail", format!("{username}@example.com")),
        ("first_name", "Ivan".into()),
        ("last_name", "Petrov".into()),
        ("password", "Secret123".into()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_users_scenario_works_end_to_end() {
    let trio = Trio::start().await;
    let name = unique("ivan");

    let (status, body) = trio.username_exists(&name).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, json!(false)));

    let (status, user) = trio.register(registration(&name)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["username"], json!(name));
    assert_eq!(user["email"], json!(format!("{name}@example.com")));
    assert_eq!(user["first_name"], json!("Ivan"));
    assert_eq!(user["is_admin"], json!(false));
    assert!(user["time_registered"].as_str().unwrap().ends_with('Z'));
    for secret in ["password", "password_hash", "token"] {
        assert!(user.get(secret).is_none(), "{secret} must never be sent");
    }

    let (status, body) = trio.username_exists(&name).await;
    assert_eq!((status, body), (StatusCode::OK, json!(true)));

    let (status, body) = trio.try_login(&name, "Secret123").await;
    assert_eq!(status, StatusCode::OK);
    let token = body["token"].as_str().unwrap().to_owned();
    assert!(token.len() >= 22, "at least 128 bits");

    let (status, checked) = trio.check_token(&token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(checked, user);

    let (status, body) = trio.logout(&token).await;
    assert_eq!((status, body), (StatusCode::OK, json!(true)));
    let (status, body) = trio.logout(&token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["message"].is_string());

    let (status, _) = trio.check_token(&token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_reports_every_bad_field_at_once() {
    let trio = Trio::start().await;
    let (status, body) = trio
        .register([
            ("username", "ab"),
            ("mail", "not-an-address"),
            ("first_name", "   "),
            ("password", "short"),
        ])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let errors = body["errors"].as_object().expect("field errors");
    for field in ["username", "mail", "first_name", "last_name", "password"] {
        assert!(
            errors.contains_key(field),
            "{field} should be reported: {body}"
        );
    }
    assert!(body["message"].is_string());
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_validation_rule_is_enforced() {
    let trio = Trio::start().await;
    let cases: Vec<(&str, String)> = vec![
        ("username", "has space".into()),
        ("username", "x".repeat(65)),
        ("mail", "a@b".into()),
        ("last_name", "n".repeat(256)),
        ("password", "nouppercase1".into()),
        ("password", "NOLOWERCASE1".into()),
        ("password", "NoDigitsHere".into()),
        ("password", format!("Aa1{}", "x".repeat(126))),
    ];
    for (field, value) in cases {
        let name = unique("rule");
        let mut form = registration(&name);
        for entry in form.iter_mut().filter(|(f, _)| *f == field) {
            entry.1 = value.clone();
        }
        let (status, body) = trio.register(form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}={value}");
        let errors = body["errors"].as_object().unwrap();
        assert_eq!(
            errors.keys().collect::<Vec<_>>(),
            vec![field],
            "{field}={value}: {body}"
        );
    }
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_username_or_address_is_refused() {
    let trio = Trio::start().await;
    let name = unique("taken");
    let (status, _) = trio.register(registration(&name)).await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = trio.register(registration(&name)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["errors"]["username"].is_string(), "{body}");
    assert!(body["errors"]["mail"].is_string(), "{body}");

    let other = unique("other");
    let mut form = registration(&other);
    form[1].1 = format!("{}@EXAMPLE.com", name.to_uppercase());
    let (status, body) = trio.register(form).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "addresses are compared without case"
    );
    assert!(body["errors"]["mail"].is_string(), "{body}");
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_bodies_work_like_forms() {
    let trio = Trio::start().await;
    let name = unique("json");
    let (status, user) = call(
        trio.users(Method::POST, "/api/users/register")
            .json(&json!({
                "username": name, "mail": format!("{name}@example.com"),
                "first_name": "J", "last_name": "Son", "password": "Secret123"
            })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    let (status, body) = call(
        trio.users(Method::POST, "/api/users/login")
            .json(&json!({"username": name, "password": "Secret123"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let token = body["token"].as_str().unwrap();
    let (status, checked) = call(
        trio.users(Method::POST, "/api/users/check_token")
            .json(&json!({ "token": token })),
    )
    .await;
    assert_eq!(
        (status, checked["id"].clone()),
        (StatusCode::OK, user["id"].clone())
    );
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_user_and_wrong_password_get_the_same_answer() {
    let trio = Trio::start().await;
    let account = trio.customer().await;
    let wrong_password = trio.try_login(&account.username, "Wrong1234").await;
    let unknown_user = trio.try_login("nobody_at_all", "Secret123").await;
    assert_eq!(wrong_password.0, StatusCode::NOT_FOUND);
    assert_eq!(wrong_password, unknown_user);
    assert_eq!(
        wrong_password.1,
        json!({"message": "Invalid username and / or password"})
    );
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_login_gets_its_own_token_and_logout_revokes_only_one() {
    let trio = Trio::start().await;
    let account = trio.customer().await;
    let second = trio.login(&account.username, "Secret123").await;
    assert_ne!(account.token, second);

    let (status, _) = trio.logout(&account.token).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = trio.check_token(&second).await;
    assert_eq!(status, StatusCode::OK, "the other device stays logged in");
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_expire_after_the_configured_time() {
    let trio = Trio::start_with(Options {
        token_ttl: Duration::from_secs(1),
        ..Options::default()
    })
    .await;
    let account = trio.customer().await;
    let (status, _) = trio.check_token(&account.token).await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, _) = trio.check_token(&account.token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = trio.current_order(&account).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "orders refuses the expired token too"
    );
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_registrations_of_one_username_give_one_account() {
    let trio = Trio::start().await;
    let name = unique("race");
    let attempts = (0..8).map(|i| {
        let mut form = registration(&name);
        form[1].1 = format!("{name}{i}@example.com");
        trio.register(form)
    });
    let results = futures::future::join_all(attempts).await;
    let ok = results.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    let refused = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::BAD_REQUEST)
        .count();
    assert_eq!((ok, refused), (1, 7), "{results:?}");
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_and_tokens_survive_a_restart() {
    let mut trio = Trio::start().await;
    let account = trio.customer().await;
    trio.restart_users().await;
    let (status, user) = trio.check_token(&account.token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["username"], json!(account.username));
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_admin_promotes_an_existing_account_when_told_and_its_address_matches() {
    let trio = Trio::start().await;
    let account = trio.customer().await;
    let pool = trio.users.pool.clone();
    let name = account.username.clone();
    // The address as registration compares it: trimmed, in any case.
    let mail = format!(" {}@EXAMPLE.com ", name.to_uppercase());
    let (user, outcome) =
        users::create_admin(&pool, &name, &mail, "Ignored123", users::Existing::Promote)
            .await
            .unwrap();
    assert_eq!(outcome, users::AdminOutcome::Promoted);
    assert!(user.is_admin);
    let (_, checked) = trio.check_token(&account.token).await;
    assert_eq!(checked["is_admin"], json!(true));
    trio.stop().await;
}
