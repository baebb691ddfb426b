//! `/ready` follows the database: 503 while it does not answer, 200 again once it does.
//! A SQLite file cannot go away under an open connection, so this runs on the PostgreSQL pass
//! of `tasks test`.

use std::time::Duration;

use diesel::{Connection, RunQueryDsl};
use reqwest::StatusCode;
use shared::db::{DatabaseUrl, PoolSettings};
use shared::scratch::{TestDatabase, POSTGRES_VARIABLE};
use trio_tests::call;

fn admin(sql: &str) {
    let url = std::env::var(POSTGRES_VARIABLE).unwrap();
    let mut conn = diesel::PgConnection::establish(&url).unwrap();
    diesel::sql_query(sql).execute(&mut conn).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_is_503_while_the_database_is_gone_and_200_when_it_is_back() {
    if std::env::var(POSTGRES_VARIABLE).is_err() {
        eprintln!("runs on the PostgreSQL pass of `tasks test` ({POSTGRES_VARIABLE} is not set)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::create("ready", dir.path()).unwrap();
    let DatabaseUrl::Postgres(url) = &database.url else {
        panic!("a PostgreSQL database")
    };
    let name = url.rsplit('/').next().unwrap().to_owned();
    let settings = users::Settings {
        service: shared::config::ServiceSettings {
            address: [127, 0, 0, 1].into(),
            port: 0,
            database_url: database.url.clone(),
            pool: PoolSettings {
                connection_timeout: Duration::from_millis(500),
                ..PoolSettings::default()
            },
            client_read_timeout: shared::config::DEFAULT_CLIENT_READ_TIMEOUT,
            trusted_proxies: Default::default(),
        },
        config: users::Config {
            token_ttl: Duration::from_secs(60),
            login_throttle: Default::default(),
            hashing_concurrency: 1,
        },
    };
    let pool = shared::service::connect::<users::Users>(&settings.service).unwrap();
    let rocket = shared::service::rocket(&settings, pool.clone()).unwrap();
    let mut service = trio_tests::launch(rocket, pool).await.unwrap();
    let http = reqwest::Client::new();
    let ready = || call(http.get(format!("{}/ready", service.url)));
    assert_eq!(ready().await.0, StatusCode::OK);

    let drop_it = format!("DROP DATABASE \"{name}\" WITH (FORCE)");
    tokio::task::spawn_blocking(move || admin(&drop_it))
        .await
        .unwrap();
    let (status, body) = ready().await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body["message"].is_string());
    let (status, _) = call(http.get(format!("{}/health", service.url))).await;
    assert_eq!(status, StatusCode::OK, "alive, though not ready");

    let create = format!("CREATE DATABASE \"{name}\"");
    tokio::task::spawn_blocking(move || admin(&create))
        .await
        .unwrap();
    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..20 {
        status = ready().await.0;
        if status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, StatusCode::OK, "ready again without a restart");
    service.stop().await;
}
