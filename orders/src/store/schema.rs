//! The orders database, one schema for SQLite and PostgreSQL.

diesel::table! {
    orders (id) {
        id -> BigInt,
        owner_id -> BigInt,
        is_open -> Bool,
        total_cents -> Nullable<BigInt>,
        time_created -> Timestamp,
        time_modified -> Timestamp,
    }
}

diesel::table! {
    order_lines (id) {
        id -> BigInt,
        order_id -> BigInt,
        sku -> Text,
        quantity -> BigInt,
        unit_price_cents -> BigInt,
        time_created -> Timestamp,
        time_modified -> Timestamp,
    }
}

diesel::joinable!(order_lines -> orders (order_id));
diesel::allow_tables_to_appear_in_same_query!(orders, order_lines);
