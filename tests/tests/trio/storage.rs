//! Pooled connections are set up as documented, on whichever backend the suite runs on.

use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::Text;
use shared::db::{AnyConnection, PoolSettings};
use shared::scratch::TestDatabase;

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = Text)]
    value: String,
}

fn setting(conn: &mut AnyConnection, sql: &str) -> String {
    diesel::sql_query(sql)
        .get_result::<Setting>(conn)
        .unwrap()
        .value
}

#[test]
fn pooled_connections_carry_the_documented_settings() {
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::create("storage", dir.path()).unwrap();
    let settings = PoolSettings {
        statement_timeout: Some(Duration::from_millis(1234)),
        ..PoolSettings::default()
    };
    let pool = shared::service::connect::<users::Users>(&shared::config::ServiceSettings {
        address: [127, 0, 0, 1].into(),
        port: 0,
        database_url: database.url.clone(),
        pool: settings,
        client_read_timeout: shared::config::DEFAULT_CLIENT_READ_TIMEOUT,
        trusted_proxies: Default::default(),
    })
    .unwrap();
    let mut conn = pool.get().unwrap();
    if database.url.is_sqlite() {
        let pragma = |conn: &mut AnyConnection, name: &str| {
            setting(
                conn,
                &format!("SELECT CAST({name} AS TEXT) AS value FROM pragma_{name}"),
            )
        };
        assert_eq!(pragma(&mut conn, "journal_mode"), "wal");
        assert_eq!(pragma(&mut conn, "synchronous"), "2", "FULL");
        assert_eq!(pragma(&mut conn, "foreign_keys"), "1");
        assert_eq!(
            setting(
                &mut conn,
                "SELECT CAST(timeout AS TEXT) AS value FROM pragma_busy_timeout"
            ),
            "5000"
        );
    } else {
        assert_eq!(
            setting(
                &mut conn,
                "SELECT current_setting('statement_timeout') AS value"
            ),
            "1234ms"
        );
    }
}

#[test]
fn a_postgres_server_that_is_down_is_reported_with_its_real_reason() {
    let url = shared::db::DatabaseUrl::parse("postgres://nobody@127.0.0.1:9/none");
    let pool = shared::db::Pool::new(
        shared::db::Manager::new(url, None),
        4,
        Duration::from_millis(500),
    );
    let error = pool
        .get()
        .err()
        .expect("nothing listens on port 9")
        .to_string();
    assert!(error.contains("Connection refused"), "{error}");
}
