//! The store against a real database: a temporary SQLite file, or a fresh PostgreSQL
//! database when `TRIO_TEST_POSTGRES_URL` names a server (`tasks test` runs both).

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};

use rust_decimal::Decimal;
use shared::db::Pool;
use shared::scratch::TestDatabase;

use super::*;

/// A database for one test, dropped with it, and a migrated pool on it.
struct TestDb {
    pool: Pool,
    _database: TestDatabase,
}

fn database() -> TestDb {
    let database = TestDatabase::fresh("orders").expect("a fresh database");
    let pool = database
        .migrated::<crate::Orders>()
        .expect("the database opens");
    TestDb {
        pool,
        _database: database,
    }
}

/// An owner no other test uses, so tests can share one PostgreSQL database.
fn new_owner() -> i64 {
    static NEXT: AtomicI64 = AtomicI64::new(0);
    let base = chrono::Utc::now().timestamp_micros() * 1000;
    base + NEXT.fetch_add(1, Ordering::Relaxed)
}

fn sku(text: &str) -> Sku {
    Sku::parse(text).unwrap()
}

fn qty(count: i64) -> Quantity {
    Quantity::from_count(count).unwrap()
}

fn price(text: &str) -> Money {
    Money::price(Decimal::from_str(text).unwrap()).unwrap()
}

fn add(db: &TestDb, owner: i64, sku_text: &str, count: i64, unit_price: &str) -> Added {
    let mut conn = db.pool.get().unwrap();
    add_to_open_order(
        &mut conn,
        owner,
        &sku(sku_text),
        qty(count),
        price(unit_price),
    )
    .unwrap()
}

fn open_order(db: &TestDb, owner: i64) -> (Order, Vec<OrderLine>) {
    open_order_for(&mut db.pool.get().unwrap(), owner).unwrap()
}

fn close(db: &TestDb, owner: i64, order_id: i64, prices: &[(&str, &str)]) -> Checkout {
    let prices: HashMap<Sku, Money> = prices.iter().map(|(s, p)| (sku(s), price(p))).collect();
    close_order(&mut db.pool.get().unwrap(), owner, order_id, &prices).unwrap()
}

fn adding_the_same_beer_again_adds_to_its_quantity(db: TestDb) {
    let owner = new_owner();
    let first = add(&db, owner, "123456", 2, "1.19");
    let second = add(&db, owner, "123456", 3, "1.25");
    assert_eq!(first, second, "both adds go to the one open order");
    let (order, lines) = open_order(&db, owner);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].quantity.get(), 5);
    assert_eq!(
        lines[0].unit_price,
        price("1.25"),
        "the latest price is recorded"
    );
    assert_eq!(order.total.to_string(), "6.25");
    assert!(order.is_open);
}

fn a_line_never_passes_10000(db: TestDb) {
    let owner = new_owner();
    add(&db, owner, "123456", 9_999, "1.00");
    assert_eq!(
        add(&db, owner, "123456", 2, "1.00"),
        Added::WouldPassLimit { in_order: 9_999 }
    );
    assert!(matches!(
        add(&db, owner, "123456", 1, "1.00"),
        Added::Added { .. }
    ));
    assert_eq!(open_order(&db, owner).1[0].quantity.get(), 10_000);
    assert_eq!(
        add(&db, owner, "123456", 1, "1.00"),
        Added::WouldPassLimit { in_order: 10_000 }
    );
}

fn each_owner_has_one_open_order(db: TestDb) {
    let (alice, bob) = (new_owner(), new_owner());
    let first = open_order(&db, alice).0;
    let again = open_order(&db, alice).0;
    assert_eq!(first.id, again.id);
    assert_eq!(first.total.to_string(), "0.00");
    assert_ne!(open_order(&db, bob).0.id, first.id);
}

fn concurrent_first_requests_make_one_open_order(db: TestDb) {
    let owner = new_owner();
    let ids: Vec<i64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| open_order(&db, owner).0.id))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
}

fn concurrent_adds_are_all_counted(db: TestDb) {
    let owner = new_owner();
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for _ in 0..25 {
                    add(&db, owner, "123456", 1, "1.19");
                }
            });
        }
    });
    let (order, lines) = open_order(&db, owner);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].quantity.get(), 200);
    assert_eq!(order.total.to_string(), "238.00");
}

fn checkout_closes_the_order_and_a_later_add_starts_a_new_one(db: TestDb) {
    let owner = new_owner();
    add(&db, owner, "123456", 2, "1.19");
    add(&db, owner, "123457", 1, "2.00");
    let (open, _) = open_order(&db, owner);

    let Checkout::Closed(closed, lines) = close(
        &db,
        owner,
        open.id,
        &[("123456", "1.19"), ("123457", "2.50")],
    ) else {
        panic!("the order closes");
    };
    assert_eq!(closed.id, open.id);
    assert!(!closed.is_open);
    assert_eq!(closed.total.to_string(), "4.88", "at the refreshed prices");
    assert_eq!(lines[1].unit_price, price("2.50"));
    assert_eq!(lines[1].line_total().to_string(), "2.50");

    let Added::Added { order_id } = add(&db, owner, "123456", 1, "9.99") else {
        panic!("the add goes through");
    };
    assert_ne!(order_id, closed.id, "a closed order takes no more lines");
    let (kept, kept_lines) = order_of(&mut db.pool.get().unwrap(), owner, closed.id)
        .unwrap()
        .unwrap();
    assert_eq!((kept, kept_lines), (closed.clone(), lines));
    assert_eq!(
        close(&db, owner, closed.id, &[("123456", "1.00")]),
        Checkout::Changed,
        "the closed order is not the open one"
    );
}

fn checkout_refuses_empty_and_changed_orders(db: TestDb) {
    let owner = new_owner();
    assert_eq!(close(&db, owner, 1, &[]), Checkout::Empty, "no open order");
    let (open, _) = open_order(&db, owner);
    assert_eq!(close(&db, owner, open.id, &[]), Checkout::Empty, "no lines");
    add(&db, owner, "123456", 1, "1.00");
    add(&db, owner, "123457", 1, "1.00");
    assert_eq!(
        close(&db, owner, open.id, &[("123456", "1.00")]),
        Checkout::Changed,
        "a line was not priced"
    );
    assert!(open_order(&db, owner).0.is_open);
}

fn removing_a_line_leaves_the_others(db: TestDb) {
    let owner = new_owner();
    let remove = |text: &str| {
        remove_from_open_order(&mut db.pool.get().unwrap(), owner, &sku(text)).unwrap()
    };
    assert!(!remove("123456"), "no open order yet");
    add(&db, owner, "123456", 1, "1.00");
    add(&db, owner, "123457", 2, "2.00");
    assert!(remove("123456"));
    assert!(!remove("123456"), "already gone");
    let (order, lines) = open_order(&db, owner);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].sku, sku("123457"));
    assert_eq!(order.total.to_string(), "4.00");
}

fn orders_are_listed_newest_first_and_only_to_their_owner(db: TestDb) {
    let (owner, stranger) = (new_owner(), new_owner());
    let mut ids = Vec::new();
    for _ in 0..3 {
        add(&db, owner, "123456", 1, "1.00");
        let (open, _) = open_order(&db, owner);
        assert!(matches!(
            close(&db, owner, open.id, &[("123456", "1.50")]),
            Checkout::Closed(..)
        ));
        ids.push(open.id);
    }
    let current = open_order(&db, owner).0.id;
    let mut conn = db.pool.get().unwrap();
    let all = orders_of(
        &mut conn,
        owner,
        Page {
            limit: 10,
            offset: 0,
        },
    )
    .unwrap();
    let listed: Vec<i64> = all.iter().map(|o| o.id).collect();
    assert_eq!(listed, vec![current, ids[2], ids[1], ids[0]]);
    assert_eq!(all[1].total.to_string(), "1.50");
    let page = orders_of(
        &mut conn,
        owner,
        Page {
            limit: 2,
            offset: 1,
        },
    )
    .unwrap();
    assert_eq!(
        page.iter().map(|o| o.id).collect::<Vec<_>>(),
        vec![ids[2], ids[1]]
    );
    assert!(orders_of(
        &mut conn,
        stranger,
        Page {
            limit: 10,
            offset: 0
        }
    )
    .unwrap()
    .is_empty());
    assert_eq!(order_of(&mut conn, stranger, ids[0]).unwrap(), None);
    assert!(existing_open_order(&mut conn, stranger).unwrap().is_none());
}

macro_rules! on_a_fresh_database {
    ($($name:ident),* $(,)?) => {
        mod on_a_fresh_database {
            $(
                #[test]
                fn $name() {
                    super::$name(super::database());
                }
            )*
        }
    };
}

on_a_fresh_database!(
    adding_the_same_beer_again_adds_to_its_quantity,
    a_line_never_passes_10000,
    each_owner_has_one_open_order,
    concurrent_first_requests_make_one_open_order,
    concurrent_adds_are_all_counted,
    checkout_closes_the_order_and_a_later_add_starts_a_new_one,
    checkout_refuses_empty_and_changed_orders,
    removing_a_line_leaves_the_others,
    orders_are_listed_newest_first_and_only_to_their_owner,
);

#[test]
fn postgres_placeholders_are_numbered() {
    let cases = [
        ("SELECT 1", "SELECT 1"),
        ("VALUES (?)", "VALUES ($1)"),
        (
            "INSERT INTO t (a, b) VALUES (?, ?) WHERE c = ?",
            "INSERT INTO t (a, b) VALUES ($1, $2) WHERE c = $3",
        ),
    ];
    for (sql, expected) in cases {
        assert_eq!(numbered_placeholders(sql), expected);
    }
    assert_eq!(
        numbered_placeholders(ADD_LINE).matches('$').count(),
        6,
        "one bind per value"
    );
}
