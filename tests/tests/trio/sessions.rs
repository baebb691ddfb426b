//! A person's own sessions: changing the password ends every other session, logging out
//! everywhere ends them all, and orders and beers refuse the ended tokens at once; the audit
//! trail (one JSON log line and one counter step per event) of a real users process.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use trio_tests::process::{free_port, ServiceProcess};
use trio_tests::{call, unique, Account, Api, Client, Options, Trio};

/// Satisfies every password rule, old and new: long, mixed, not a common one.
const NEW_PASSWORD: &str = "Fresh-Hops-Passw0rd-42";

/// What orders, beers and users say about `token`: orders' current order (200 or 401), a
/// catalogue write (403 for a live customer token, 401 for an ended one) and check_token.
async fn seen_by_the_trio(trio: &Trio, token: &str) -> (StatusCode, StatusCode, StatusCode) {
    let orders = trio.current_order(token).await.0;
    let beers = trio
        .try_create_beer(
            token,
            [("sku", "never-made"), ("name", "Never"), ("price", "1.00")],
        )
        .await
        .0;
    let users = trio.check_token(token).await.0;
    (orders, beers, users)
}

const LIVE: (StatusCode, StatusCode, StatusCode) =
    (StatusCode::OK, StatusCode::FORBIDDEN, StatusCode::OK);
const ENDED: (StatusCode, StatusCode, StatusCode) = (
    StatusCode::UNAUTHORIZED,
    StatusCode::UNAUTHORIZED,
    StatusCode::NOT_FOUND,
);

/// A customer logged in on three devices: the account's first token and two more.
async fn customer_on_three_devices(trio: &Trio) -> (Account, String, String) {
    let customer = trio.customer().await;
    let second = trio.login(&customer.username, "Secret123").await;
    let third = trio.login(&customer.username, "Secret123").await;
    (customer, second, third)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_password_ends_every_other_session_at_users_orders_and_beers() {
    let trio = Trio::start().await;
    let (customer, second, third) = customer_on_three_devices(&trio).await;
    let bystander = trio.customer().await;
    for token in [&customer.token, &second, &third] {
        assert_eq!(seen_by_the_trio(&trio, token).await, LIVE);
    }

    let (status, body) = trio
        .change_password(&customer, "Secret123", NEW_PASSWORD)
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!(true)));

    assert_eq!(
        seen_by_the_trio(&trio, &customer.token).await,
        LIVE,
        "the session that changed the password stays"
    );
    for token in [&second, &third] {
        assert_eq!(seen_by_the_trio(&trio, token).await, ENDED);
    }
    assert_eq!(seen_by_the_trio(&trio, &bystander.token).await, LIVE);
    assert_eq!(
        trio.try_login(&customer.username, "Secret123").await.0,
        StatusCode::NOT_FOUND,
        "the old password is gone"
    );
    let fresh = trio.login(&customer.username, NEW_PASSWORD).await;
    assert_eq!(seen_by_the_trio(&trio, &fresh).await, LIVE);
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_takes_json_a_bearer_token_and_the_trailing_slash() {
    let trio = Trio::start().await;
    let (customer, second, _) = customer_on_three_devices(&trio).await;
    let (status, body) = call(
        trio.users_as(
            &format!("Bearer {}", customer.token),
            Method::POST,
            "/api/users/password/",
        )
        .json(&json!({"password": "Secret123", "new_password": NEW_PASSWORD})),
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, json!(true)));
    assert_eq!(seen_by_the_trio(&trio, &second).await, ENDED);
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_current_password_is_refused_changes_nothing_and_counts_as_a_failed_login() {
    let trio = Trio::start().await;
    let (customer, second, _) = customer_on_three_devices(&trio).await;

    let (status, body) = trio
        .change_password(&customer, "Wrong-guess-1", NEW_PASSWORD)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["message"].is_string());
    assert_eq!(seen_by_the_trio(&trio, &second).await, LIVE);
    assert_eq!(
        trio.try_login(&customer.username, NEW_PASSWORD).await.0,
        StatusCode::NOT_FOUND
    );

    // Five failures for one account lock it (the login throttle's default): one change and one
    // login have failed, three more changes make five; the sixth attempt of either kind waits.
    for _ in 0..3 {
        let (status, _) = trio
            .change_password(&customer, "Wrong-guess-2", NEW_PASSWORD)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let locked = trio
        .users_as(&customer, Method::POST, "/api/users/password")
        .form(&[("password", "Secret123"), ("new_password", NEW_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after > 0);
    assert_eq!(
        trio.try_login(&customer.username, "Secret123").await.0,
        StatusCode::TOO_MANY_REQUESTS,
        "the login of the account is locked too"
    );
    assert_eq!(
        seen_by_the_trio(&trio, &second).await,
        LIVE,
        "no refused change ended a session"
    );
    trio.stop().await;
}

/// A form's fields as sent.
type Form<'a> = &'a [(&'a str, &'a str)];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_fields_of_a_password_change_are_all_named_at_once_and_cost_no_attempt() {
    let trio = Trio::start().await;
    let (customer, second, _) = customer_on_three_devices(&trio).await;
    let cases: [(Form, &[&str]); 5] = [
        (&[], &["password", "new_password"]),
        (
            &[("password", ""), ("new_password", "short")],
            &["password", "new_password"],
        ),
        (&[("password", "Secret123")], &["new_password"]),
        (&[("new_password", NEW_PASSWORD)], &["password"]),
        (
            &[("password", "Secret123"), ("new_password", "Secret123")],
            &["new_password"],
        ),
    ];
    // More bad requests than the throttle's five: none of them is a failed login.
    for _ in 0..2 {
        for (form, fields) in cases {
            let (status, body) = call(
                trio.users_as(&customer, Method::POST, "/api/users/password")
                    .form(form),
            )
            .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{form:?}: {body}");
            let errors = body["errors"].as_object().expect("field errors");
            let mut named: Vec<&str> = errors.keys().map(String::as_str).collect();
            named.sort_unstable();
            let mut expected = fields.to_vec();
            expected.sort_unstable();
            assert_eq!(named, expected, "{form:?}: {body}");
        }
    }
    let (status, body) = call(
        trio.users_as(&customer, Method::POST, "/api/users/password")
            .json(&json!({"password": ["Secret123"], "new_password": NEW_PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["errors"]["password"].is_string(), "{body}");
    assert_eq!(seen_by_the_trio(&trio, &second).await, LIVE);
    assert_eq!(
        trio.try_login(&customer.username, "Secret123").await.0,
        StatusCode::OK
    );
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_out_everywhere_ends_every_session_of_the_account_and_no_other() {
    let trio = Trio::start().await;
    let (customer, second, third) = customer_on_three_devices(&trio).await;
    let bystander = trio.customer().await;

    let (status, body) = call(trio.users_as(
        &format!("Bearer {second}"),
        Method::POST,
        "/api/users/logout_all/",
    ))
    .await;
    assert_eq!((status, body), (StatusCode::OK, json!(true)));
    for token in [&customer.token, &second, &third] {
        assert_eq!(seen_by_the_trio(&trio, token).await, ENDED);
    }
    assert_eq!(seen_by_the_trio(&trio, &bystander.token).await, LIVE);
    let (status, body) = trio.logout_all(second.as_str()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body["message"].is_string());
    // The password still works: a new session starts as usual.
    let fresh = trio.login(&customer.username, "Secret123").await;
    assert_eq!(seen_by_the_trio(&trio, &fresh).await, LIVE);
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_want_a_live_token_in_authorization() {
    let trio = Trio::start().await;
    let customer = trio.customer().await;
    let form = [("password", "Secret123"), ("new_password", NEW_PASSWORD)];
    for path in ["/api/users/password", "/api/users/logout_all"] {
        let (status, body) = call(trio.users(Method::POST, path).form(&form)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert!(body["message"].is_string(), "{path}: {body}");
        // A token in the body is not a session's proof here.
        let (status, _) = call(
            trio.users(Method::POST, path)
                .form(&[("token", customer.token.as_str())]),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        for wrong in ["", "Bearer ", "not-a-token"] {
            let (status, body) = call(trio.users_as(wrong, Method::POST, path).form(&form)).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} {wrong:?}: {body}");
            assert!(body["message"].is_string(), "{path}: {body}");
        }
    }
    assert_eq!(seen_by_the_trio(&trio, &customer.token).await, LIVE);
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_token_cache_an_ended_session_is_trusted_for_the_cache_time_only() {
    // Long enough that the first answer cannot run out during the first half of the test.
    let trio = Trio::start_with(Options {
        token_cache: Duration::from_secs(60),
        ..Options::default()
    })
    .await;
    let (customer, second, _) = customer_on_three_devices(&trio).await;
    assert_eq!(trio.current_order(second.as_str()).await.0, StatusCode::OK);
    let (status, _) = trio
        .change_password(&customer, "Secret123", NEW_PASSWORD)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        trio.current_order(second.as_str()).await.0,
        StatusCode::OK,
        "orders trusts its cached answer until it is 60 s old"
    );
    assert_eq!(trio.check_token(&second).await.0, StatusCode::NOT_FOUND);
    trio.stop().await;

    let trio = Trio::start_with(Options {
        token_cache: Duration::from_millis(200),
        ..Options::default()
    })
    .await;
    let customer = trio.customer().await;
    assert_eq!(trio.current_order(&customer).await.0, StatusCode::OK);
    assert_eq!(trio.logout_all(&customer).await.0, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        trio.current_order(&customer).await.0,
        StatusCode::UNAUTHORIZED,
        "after the cache time, logging out everywhere has reached orders"
    );
    trio.stop().await;
}

/// The audit lines (target `audit`) of a JSON log, as their fields.
fn audit_lines(log: &str) -> Vec<Value> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["target"] == "audit")
        .map(|line| line["fields"].clone())
        .collect()
}

/// `users_audit_events_total{event, outcome}` in a Prometheus text page (0 when absent).
fn audit_count(metrics: &str, event: &str, outcome: &str) -> u64 {
    let series = format!("users_audit_events_total{{event=\"{event}\",outcome=\"{outcome}\"}} ");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&series))
        .map_or(0, |value| value.trim().parse().expect("a count"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_account_event_is_one_audit_line_and_one_count_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let databases = trio_tests::Databases::fresh(&dir).unwrap();
    let log_path = dir.path().join("users.log");
    let database = ("USERS_DATABASE_URL", databases.users.url.to_setting());
    let users = ServiceProcess::start_logging_to(
        "users",
        free_port(),
        &[database.clone(), ("LOG_FORMAT", "json".into())],
        Some(&log_path),
    )
    .await;
    let client = Client::new(&users.url, "", "");
    let http = reqwest::Client::new();
    let name = unique("audited");
    let password = "Audited-Secret-1";
    let (status, _) = client
        .register([
            ("username", name.as_str()),
            ("mail", &format!("{name}@example.com")),
            ("first_name", "Audrey"),
            ("last_name", "Ted"),
            ("password", password),
        ])
        .await;
    assert_eq!(status, StatusCode::OK);

    // Each request carries an id of its own, so each line can be told from the others.
    let send = |id: &str, path: &str, token: Option<&str>, form: Vec<(&str, &str)>| {
        let mut request = http
            .post(format!("{}{path}", users.url))
            .header("X-Request-Id", id)
            .form(&form);
        if let Some(token) = token {
            request = request.header("Authorization", token);
        }
        call(request)
    };
    let login = |id: &'static str, password: &'static str| {
        send(
            id,
            "/api/users/login",
            None,
            vec![("username", name.as_str()), ("password", password)],
        )
    };
    let (status, body) = login("audit-login-1", password).await;
    assert_eq!(status, StatusCode::OK);
    let first = body["token"].as_str().unwrap().to_owned();
    let (status, body) = login("audit-login-2", password).await;
    assert_eq!(status, StatusCode::OK);
    let second = body["token"].as_str().unwrap().to_owned();
    assert_eq!(
        login("audit-wrong-1", "Wrong-password").await.0,
        StatusCode::NOT_FOUND
    );
    let change = |id: &'static str, current: &'static str| {
        send(
            id,
            "/api/users/password",
            Some(first.as_str()),
            vec![("password", current), ("new_password", NEW_PASSWORD)],
        )
    };
    assert_eq!(
        change("audit-change-wrong", "Wrong-password").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(change("audit-change", password).await.0, StatusCode::OK);
    let (status, _) = send(
        "audit-logout",
        "/api/users/logout",
        None,
        vec![("token", first.as_str())],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = login("audit-login-3", NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let third = body["token"].as_str().unwrap().to_owned();
    let (status, _) = send(
        "audit-logout-all",
        "/api/users/logout_all",
        Some(third.as_str()),
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Three more failures make five for the account; the next attempt is throttled.
    for id in ["audit-wrong-2", "audit-wrong-3", "audit-wrong-4"] {
        assert_eq!(login(id, "Wrong-password").await.0, StatusCode::NOT_FOUND);
    }
    assert_eq!(
        login("audit-throttled", NEW_PASSWORD).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );

    // A role change: the command-line task makes the account an administrator.
    let password_file = dir.path().join("admin-password");
    std::fs::write(&password_file, "Admin-Secret-99\n").expect("the password file");
    let promoted = std::process::Command::new(trio_tests::process::binary("tasks"))
        .args(["users", "create-admin", "--promote", "--username", &name])
        .args(["--email", &format!("{name}@example.com")])
        .arg("--password-file")
        .arg(&password_file)
        .current_dir(dir.path())
        .env(database.0, &database.1)
        .env("LOG_FORMAT", "json")
        .output()
        .expect("tasks runs");
    assert!(promoted.status.success(), "{promoted:?}");
    let task_log = String::from_utf8_lossy(&promoted.stderr).into_owned();

    let metrics = http
        .get(format!("{}/metrics", users.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let expected_counts = [
        ("login", "success", 3),
        ("login", "failure", 4),
        ("login", "throttled", 1),
        ("password_change", "failure", 1),
        ("password_change", "success", 1),
        ("logout", "success", 1),
        ("logout_all", "success", 1),
    ];
    for (event, outcome, count) in expected_counts {
        assert_eq!(
            audit_count(&metrics, event, outcome),
            count,
            "{event} {outcome}: {metrics}"
        );
    }

    users.signal(nix::sys::signal::Signal::SIGTERM);
    let _ = users.wait().await;
    let service_log = std::fs::read_to_string(&log_path).unwrap();
    let expected_lines = [
        ("audit-login-1", "login", "success"),
        ("audit-login-2", "login", "success"),
        ("audit-wrong-1", "login", "failure"),
        ("audit-change-wrong", "password_change", "failure"),
        ("audit-change", "password_change", "success"),
        ("audit-logout", "logout", "success"),
        ("audit-login-3", "login", "success"),
        ("audit-logout-all", "logout_all", "success"),
        ("audit-wrong-2", "login", "failure"),
        ("audit-wrong-3", "login", "failure"),
        ("audit-wrong-4", "login", "failure"),
        ("audit-throttled", "login", "throttled"),
    ];
    let lines = audit_lines(&service_log);
    assert_eq!(lines.len(), expected_lines.len(), "{service_log}");
    for (id, event, outcome) in expected_lines {
        let matching: Vec<&Value> = lines
            .iter()
            .filter(|line| line["request_id"] == id)
            .collect();
        assert_eq!(matching.len(), 1, "one line for {id}: {service_log}");
        let line = matching[0];
        assert_eq!(line["event"], event, "{line}");
        assert_eq!(line["outcome"], outcome, "{line}");
        assert_eq!(line["username"], name.as_str(), "{line}");
        assert_eq!(line["client"], "127.0.0.1", "{line}");
    }
    let role_changes = audit_lines(&task_log);
    assert_eq!(role_changes.len(), 1, "{task_log}");
    assert_eq!(role_changes[0]["event"], "role_change");
    assert_eq!(role_changes[0]["outcome"], "promoted");
    assert_eq!(role_changes[0]["username"], name.as_str());

    for text in [&service_log, &task_log] {
        for secret in [
            password,
            NEW_PASSWORD,
            "Wrong-password",
            "Admin-Secret-99",
            &first,
            &second,
            &third,
        ] {
            assert!(!text.contains(secret), "a secret in the log: {text}");
        }
    }
    drop(databases);
}
