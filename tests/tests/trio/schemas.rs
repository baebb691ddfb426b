//! The SQLite and PostgreSQL migrations of each service describe the same schema, as the two
//! databases themselves report it: tables, columns, types, nullability, indexes (unique and
//! partial) and foreign keys. Needs a PostgreSQL server (`TRIO_TEST_POSTGRES_URL`); `tasks test`
//! provides one on its PostgreSQL run.

use std::collections::BTreeSet;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use shared::db::{AnyConnection, DatabaseUrl, PoolSettings};
use shared::scratch::{TestDatabase, POSTGRES_VARIABLE as POSTGRES_URL_VARIABLE};

/// One fact about a schema, in words both backends can be reduced to.
type Fact = String;

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct SqliteColumn {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = BigInt)]
    not_null: i64,
}

#[derive(QueryableByName)]
struct SqliteIndex {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    unique: i64,
    #[diesel(sql_type = Nullable<Text>)]
    sql: Option<String>,
    /// `c` (CREATE INDEX), `u` (a UNIQUE constraint) or `pk` (a primary key).
    #[diesel(sql_type = Text)]
    origin: String,
}

#[derive(QueryableByName)]
struct ForeignKey {
    #[diesel(sql_type = Text)]
    from_column: String,
    #[diesel(sql_type = Text)]
    to_table: String,
    #[diesel(sql_type = Text)]
    to_column: String,
}

#[derive(QueryableByName)]
struct PgColumn {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    nullable: String,
}

#[derive(QueryableByName)]
struct PgIndex {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    definition: String,
}

fn kind_of(declared: &str) -> &'static str {
    let declared = declared.to_lowercase();
    if declared.contains("int") || declared.contains("serial") {
        "integer"
    } else if declared.contains("bool") {
        "boolean"
    } else if declared.contains("timestamp") {
        "timestamp"
    } else if declared.contains("text") || declared.contains("char") {
        "text"
    } else {
        "other"
    }
}

/// `(a, b)` and a predicate, from an index's SQL text.
fn columns_and_predicate(sql: &str) -> (String, String) {
    let open = sql.find('(').unwrap_or(0);
    let close = sql[open..].find(')').map(|i| i + open).unwrap_or(sql.len());
    let columns = sql[open + 1..close]
        .split(',')
        .map(|c| c.trim().trim_matches('"').to_lowercase())
        .collect::<Vec<_>>()
        .join(",");
    let predicate = sql
        .to_lowercase()
        .split_once(" where ")
        .map(|(_, p)| p.replace(['(', ')'], "").trim().to_owned())
        .unwrap_or_default();
    (columns, predicate)
}

fn sqlite_facts(conn: &mut AnyConnection) -> BTreeSet<Fact> {
    let mut facts = BTreeSet::new();
    let tables: Vec<Name> = diesel::sql_query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '__diesel_schema_migrations' ORDER BY name",
    )
    .load(conn)
    .unwrap();
    for Name { name: table } in tables {
        facts.insert(format!("table {table}"));
        let columns: Vec<SqliteColumn> = diesel::sql_query(format!(
            "SELECT name, type AS kind, \"notnull\" AS not_null FROM pragma_table_info('{table}')"
        ))
        .load(conn)
        .unwrap();
        for c in columns {
            let null = if c.not_null == 1 { "not null" } else { "null" };
            facts.insert(format!(
                "column {table}.{} {} {null}",
                c.name,
                kind_of(&c.kind)
            ));
        }
        let indexes: Vec<SqliteIndex> = diesel::sql_query(format!(
            "SELECT l.name AS name, l.\"unique\" AS \"unique\", m.sql AS sql, l.origin AS origin \
             FROM pragma_index_list('{table}') l LEFT JOIN sqlite_master m ON m.name = l.name"
        ))
        .load(conn)
        .unwrap();
        for index in indexes {
            // A primary key's own index, as PostgreSQL's `_pkey` below, is not compared (a
            // composite primary key has one on SQLite; an INTEGER PRIMARY KEY has none).
            if index.origin == "pk" {
                continue;
            }
            let (columns, predicate) = match &index.sql {
                Some(sql) => columns_and_predicate(sql),
                // An index SQLite made for a UNIQUE constraint has no SQL of its own.
                None => {
                    let names: Vec<Name> = diesel::sql_query(format!(
                        "SELECT name FROM pragma_index_info('{}') ORDER BY seqno",
                        index.name
                    ))
                    .load(conn)
                    .unwrap();
                    (
                        names
                            .into_iter()
                            .map(|n| n.name)
                            .collect::<Vec<_>>()
                            .join(","),
                        String::new(),
                    )
                }
            };
            let unique = if index.unique == 1 { "unique " } else { "" };
            facts.insert(format!(
                "{unique}index {table}({columns}) where {predicate:?}"
            ));
        }
        let keys: Vec<ForeignKey> = diesel::sql_query(format!(
            "SELECT \"from\" AS from_column, \"table\" AS to_table, \"to\" AS to_column \
             FROM pragma_foreign_key_list('{table}')"
        ))
        .load(conn)
        .unwrap();
        for k in keys {
            facts.insert(format!(
                "foreign key {table}.{} -> {}.{}",
                k.from_column, k.to_table, k.to_column
            ));
        }
    }
    facts
}

fn postgres_facts(conn: &mut AnyConnection) -> BTreeSet<Fact> {
    let mut facts = BTreeSet::new();
    let tables: Vec<Name> = diesel::sql_query(
        "SELECT table_name::text AS name FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
    )
    .load(conn)
    .unwrap();
    for Name { name: table } in tables {
        facts.insert(format!("table {table}"));
        let columns: Vec<PgColumn> = diesel::sql_query(format!(
            "SELECT column_name::text AS name, data_type::text AS kind, is_nullable::text AS nullable \
             FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '{table}'"
        ))
        .load(conn)
        .unwrap();
        for c in columns {
            let null = if c.nullable == "YES" {
                "null"
            } else {
                "not null"
            };
            facts.insert(format!(
                "column {table}.{} {} {null}",
                c.name,
                kind_of(&c.kind)
            ));
        }
        let indexes: Vec<PgIndex> = diesel::sql_query(format!(
            "SELECT indexname::text AS name, indexdef::text AS definition FROM pg_indexes \
             WHERE schemaname = 'public' AND tablename = '{table}'"
        ))
        .load(conn)
        .unwrap();
        for index in indexes {
            // SQLite's INTEGER PRIMARY KEY is the row id itself and has no index to compare.
            if index.name.ends_with("_pkey") {
                continue;
            }
            let (columns, predicate) = columns_and_predicate(&index.definition);
            let unique = if index.definition.starts_with("CREATE UNIQUE") {
                "unique "
            } else {
                ""
            };
            facts.insert(format!(
                "{unique}index {table}({columns}) where {predicate:?}"
            ));
        }
        let keys: Vec<ForeignKey> = diesel::sql_query(format!(
            "SELECT kcu.column_name::text AS from_column, ccu.table_name::text AS to_table, \
                    ccu.column_name::text AS to_column \
             FROM information_schema.table_constraints tc \
             JOIN information_schema.key_column_usage kcu ON tc.constraint_name = kcu.constraint_name \
             JOIN information_schema.constraint_column_usage ccu ON tc.constraint_name = ccu.constraint_name \
             WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_name = '{table}'"
        ))
        .load(conn)
        .unwrap();
        for k in keys {
            facts.insert(format!(
                "foreign key {table}.{} -> {}.{}",
                k.from_column, k.to_table, k.to_column
            ));
        }
    }
    facts
}

/// A connection to a database with the service's migrations applied.
fn migrated(
    url: &DatabaseUrl,
    connect: fn(&DatabaseUrl) -> shared::db::Pool,
) -> shared::db::PooledConnection {
    connect(url).get().unwrap()
}

fn compare(service: &str, connect: fn(&DatabaseUrl) -> shared::db::Pool) {
    let dir = tempfile::tempdir().unwrap();
    let sqlite_url = DatabaseUrl::Sqlite(dir.path().join(format!("{service}.db")));
    let postgres = TestDatabase::create(service, dir.path()).unwrap();
    assert!(
        !postgres.url.is_sqlite(),
        "{POSTGRES_URL_VARIABLE} makes PostgreSQL databases"
    );
    let sqlite = sqlite_facts(&mut migrated(&sqlite_url, connect));
    let pg = postgres_facts(&mut migrated(&postgres.url, connect));
    assert!(
        sqlite.iter().any(|f| f.starts_with("table")),
        "{service}: no tables found"
    );
    let only_sqlite: Vec<_> = sqlite.difference(&pg).collect();
    let only_pg: Vec<_> = pg.difference(&sqlite).collect();
    assert!(
        only_sqlite.is_empty() && only_pg.is_empty(),
        "{service}: the migrations differ.\nonly on SQLite: {only_sqlite:#?}\nonly on PostgreSQL: {only_pg:#?}"
    );
}

fn settings(url: &DatabaseUrl) -> shared::config::ServiceSettings {
    shared::config::ServiceSettings {
        address: [127, 0, 0, 1].into(),
        port: 0,
        database_url: url.clone(),
        pool: PoolSettings::default(),
        client_read_timeout: shared::config::DEFAULT_CLIENT_READ_TIMEOUT,
        trusted_proxies: Default::default(),
    }
}

fn postgres_available() -> bool {
    if std::env::var(POSTGRES_URL_VARIABLE).is_ok() {
        return true;
    }
    // The SQLite run cannot compare; `tasks test` runs this again on PostgreSQL.
    eprintln!("schema comparison runs on the PostgreSQL pass of `tasks test` ({POSTGRES_URL_VARIABLE} is not set)");
    false
}

#[test]
fn users_migrations_are_the_same_on_both_backends() {
    if postgres_available() {
        compare("users", |url| {
            shared::service::connect::<users::Users>(&settings(url)).unwrap()
        });
    }
}

#[test]
fn beers_migrations_are_the_same_on_both_backends() {
    if postgres_available() {
        compare("beers", |url| {
            shared::service::connect::<beers::Beers>(&settings(url)).unwrap()
        });
    }
}

#[test]
fn orders_migrations_are_the_same_on_both_backends() {
    if postgres_available() {
        compare("orders", |url| {
            shared::service::connect::<orders::Orders>(&settings(url)).unwrap()
        });
    }
}
