//! The rules that keep accounts honest: NIST SP 800-63B passwords, names that cannot pass for
//! other names, logins that store nothing for a name no account can have, and the migration
//! that keys existing usernames without regard to case.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel_migrations::MigrationHarness;
use reqwest::StatusCode;
use serde_json::json;
use shared::db::AnyConnection;
use trio_tests::{unique, Api, Databases, Options, Trio};
use users::store::{POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};

const PASSWORD: &str = "Hoppy-Lager-42";
const BAD_CREDENTIALS: &str = "Invalid username and / or password";

fn registration(username: &str, password: &str) -> Vec<(&'static str, String)> {
    vec![
        ("username", username.to_owned()),
        ("mail", format!("{}@example.com", username.to_lowercase())),
        ("first_name", "Ivan".into()),
        ("last_name", "Petrov".into()),
        ("password", password.to_owned()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commonly_breached_passwords_are_refused_with_the_rule_named() {
    let trio = Trio::start().await;
    let too_long = "x".repeat(129);
    let cases = [
        (
            "Password1",
            "is among the most commonly breached passwords; choose another",
        ),
        (
            "password123",
            "is among the most commonly breached passwords; choose another",
        ),
        (
            "Secret123",
            "is among the most commonly breached passwords; choose another",
        ),
        ("seven77", "must be at least 8 characters"),
        (too_long.as_str(), "must be at most 128 characters"),
    ];
    for (password, rule) in cases {
        let (status, body) = trio.register(registration(&unique("weak"), password)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{password}: {body}");
        assert_eq!(body["errors"], json!({ "password": rule }), "{password}");
    }
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_characters_make_a_password_and_either_normal_form_logs_in() {
    let trio = Trio::start().await;
    // Eight spaces and a beer: no composition rules.
    let spaces = unique("spaces");
    let (status, body) = trio.register(registration(&spaces, "        🍺")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        trio.try_login(&spaces, "        🍺").await.0,
        StatusCode::OK
    );
    // 128 characters is the longest.
    let longest = unique("longest");
    let (status, body) = trio
        .register(registration(&longest, &"ß".repeat(128)))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Registered decomposed (e + U+0301), logged in precomposed (é), and the other way round.
    let decomposed = unique("decomposed");
    let (status, _) = trio
        .register(registration(&decomposed, "cafe\u{301} au lait"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = trio.try_login(&decomposed, "caf\u{e9} au lait").await;
    assert_eq!(status, StatusCode::OK);
    let full_width = unique("fullwidth");
    let (status, _) = trio
        .register(registration(&full_width, "\u{FF22}rewing-day-\u{FF11}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = trio.try_login(&full_width, "Brewing-day-1").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = trio.try_login(&full_width, "brewing-day-1").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "passwords keep their case");
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usernames_are_unique_without_regard_to_case_and_kept_as_written() {
    let trio = Trio::start().await;
    let name = unique("Boss");
    let (status, user) = trio.register(registration(&name, PASSWORD)).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["username"], json!(name), "stored as written");

    for other in [name.to_lowercase(), name.to_uppercase()] {
        let mut form = registration(&other, PASSWORD);
        form[1].1 = format!("{}@example.org", unique("another"));
        let (status, body) = trio.register(form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{other}");
        assert_eq!(
            body["errors"],
            json!({"username": "is already taken"}),
            "{other}"
        );

        // The same account answers to every spelling: to log in and to /exists.
        let (status, body) = trio.try_login(&other, PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "{other}: {body}");
        let (_, checked) = trio.check_token(body["token"].as_str().unwrap()).await;
        assert_eq!(checked["id"], user["id"], "{other}");
        assert_eq!(trio.username_exists(&other).await.0, StatusCode::OK);
    }
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_that_can_pass_for_others_are_refused() {
    let trio = Trio::start().await;
    let cases = [
        ("username", "adm\u{200B}in".to_owned(), "must be 3–64"),
        ("username", "\u{202E}nimda".to_owned(), "must be 3–64"),
        (
            "first_name",
            "Ad\u{200B}min".to_owned(),
            "must not contain bidirectional controls or zero-width characters",
        ),
        (
            "first_name",
            "\u{202E}nimdA".to_owned(),
            "must not contain bidirectional controls or zero-width characters",
        ),
        (
            "last_name",
            "\u{2067}Petrov\u{2069}".to_owned(),
            "must not contain bidirectional controls or zero-width characters",
        ),
        (
            "last_name",
            "Pet\u{FEFF}rov".to_owned(),
            "must not contain bidirectional controls or zero-width characters",
        ),
    ];
    for (field, value, rule) in cases {
        let mut form = registration(&unique("name"), PASSWORD);
        for entry in form.iter_mut().filter(|(f, _)| *f == field) {
            entry.1 = value.clone();
        }
        let (status, body) = trio.register(form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}={value:?}");
        let errors = body["errors"].as_object().unwrap();
        assert_eq!(errors.keys().collect::<Vec<_>>(), vec![field], "{body}");
        assert!(errors[field].as_str().unwrap().starts_with(rule), "{body}");
    }
    trio.stop().await;
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

fn login_attempts(trio: &Trio) -> i64 {
    let mut conn = trio.users.pool.get().unwrap();
    diesel::sql_query("SELECT COUNT(*) AS count FROM login_attempts")
        .get_result::<Count>(&mut *conn)
        .unwrap()
        .count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_with_a_name_no_account_can_have_stores_nothing() {
    let trio = Trio::start().await;
    let huge = "u".repeat(65_000);
    let impossible = [
        huge.as_str(),
        &"x".repeat(65),
        "has space",
        "adm\u{200B}in",
        "al\0ice",
        "ab",
    ];
    for _ in 0..10 {
        for username in impossible {
            let (status, body) = trio.try_login(username, PASSWORD).await;
            assert_eq!(status, StatusCode::NOT_FOUND);
            assert_eq!(body, json!({ "message": BAD_CREDENTIALS }));
        }
    }
    assert_eq!(login_attempts(&trio), 0);
    // A name that could be an account's is counted, so the count above could have been more.
    let (status, body) = trio.try_login("nobody_at_all", PASSWORD).await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({ "message": BAD_CREDENTIALS }))
    );
    assert_eq!(login_attempts(&trio), 1);
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_in_any_case_count_against_one_name() {
    let trio = Trio::start_with(Options {
        // The customer logged in from here, so this address is one its owner is known by:
        // its own budget counts, by the name's key like the account's.
        login_throttle: users::domain::LoginThrottle {
            per_username: 3,
            per_known_client: 3,
            ..users::domain::LoginThrottle::default()
        },
        ..Options::default()
    })
    .await;
    let account = trio.customer().await;
    let spellings = [
        account.username.to_uppercase(),
        account.username.clone(),
        format!(
            "{}{}",
            &account.username[..1].to_uppercase(),
            &account.username[1..]
        ),
    ];
    for spelling in &spellings {
        let (status, _) = trio.try_login(spelling, "Wrong-guess-1").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{spelling}");
    }
    let (status, _) = trio
        .try_login(&account.username.to_uppercase(), "Wrong-guess-2")
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    trio.stop().await;
}

#[derive(QueryableByName)]
struct KeyedName {
    #[diesel(sql_type = Text)]
    username: String,
    #[diesel(sql_type = Text)]
    username_key: String,
}

/// An account inserted the way the version before keys did: without `username_key`.
fn insert_without_key(
    conn: &mut AnyConnection,
    username: &str,
    mail: &str,
    hash: &str,
) -> QueryResult<usize> {
    diesel::sql_query(
        "INSERT INTO users (username, email, first_name, last_name, password_hash, \
         is_admin, time_registered, time_modified) \
         VALUES ($1, $2, 'Old', 'Account', $3, FALSE, \
         '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
    )
    .bind::<Text, _>(username)
    .bind::<Text, _>(mail)
    .bind::<Text, _>(hash)
    .execute(conn)
}

/// The users database at the schema before usernames were keyed, holding `rows` (username,
/// mail) in order, every one with `PASSWORD`.
fn users_before_keys(databases: &Databases, rows: &[(&str, &str)]) {
    let manager = shared::db::Manager::new(databases.users.url.clone(), None);
    let mut conn = manager.connect().unwrap();
    shared::db::run_migrations(&mut conn, SQLITE_MIGRATIONS, POSTGRES_MIGRATIONS).unwrap();
    // Back to the schema before the keys, whatever came after them.
    loop {
        let reverted = match &mut conn {
            AnyConnection::Sqlite(c) => c.revert_last_migration(SQLITE_MIGRATIONS),
            AnyConnection::Postgresql(c) => c.revert_last_migration(POSTGRES_MIGRATIONS),
        }
        .unwrap()
        .to_string();
        if reverted.ends_with("000005") {
            break;
        }
    }
    let hash = users::domain::PasswordHasher::default()
        .hash(PASSWORD)
        .unwrap();
    for (username, mail) in rows {
        insert_without_key(&mut conn, username, mail, &hash).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_migration_keeps_the_oldest_of_names_that_differ_by_case_and_sets_the_others_apart() {
    let dir = tempfile::tempdir().unwrap();
    let databases = Databases::fresh(&dir).unwrap();
    users_before_keys(
        &databases,
        &[
            ("boss", "boss@example.com"),
            ("Boss", "boss2@example.com"),
            ("alice", "alice@example.com"),
            ("BOSS", "boss3@example.com"),
        ],
    );
    let trio = Trio::start_on(Options::default(), databases, dir).await;

    let keys: Vec<(String, String)> = {
        let mut conn = trio.users.pool.get().unwrap();
        diesel::sql_query("SELECT username, username_key FROM users ORDER BY id")
            .load::<KeyedName>(&mut *conn)
            .unwrap()
            .into_iter()
            .map(|row| (row.username, row.username_key))
            .collect()
    };
    let expected = [
        ("boss", "boss"),
        ("Boss", "boss#2"),
        ("alice", "alice"),
        ("BOSS", "boss#4"),
    ];
    assert_eq!(
        keys,
        expected.map(|(n, k)| (n.to_owned(), k.to_owned())).to_vec()
    );

    // Each account still logs in by its exact name; any other spelling reaches the oldest.
    for (given, account) in [
        ("boss", "boss"),
        ("Boss", "Boss"),
        ("BOSS", "BOSS"),
        ("bOSS", "boss"),
    ] {
        let (status, body) = trio.try_login(given, PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "{given}: {body}");
        let (_, user) = trio.check_token(body["token"].as_str().unwrap()).await;
        assert_eq!(user["username"], json!(account), "{given}");
    }
    // The name is taken in every spelling, the set-apart keys included.
    for taken in ["BoSs", "ALICE"] {
        let (status, body) = trio.register(registration(taken, PASSWORD)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{taken}");
        assert_eq!(
            body["errors"]["username"],
            json!("is already taken"),
            "{taken}"
        );
    }
    trio.stop().await;
}
