//! The users database, one schema for SQLite and PostgreSQL.

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        email -> Text,
        first_name -> Text,
        last_name -> Text,
        password_hash -> Text,
        is_admin -> Bool,
        time_registered -> Timestamp,
        time_modified -> Timestamp,
    }
}

diesel::table! {
    tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        token_hash -> Text,
        time_created -> Timestamp,
        time_expires -> Timestamp,
    }
}

diesel::joinable!(tokens -> users (user_id));
diesel::joinable!(login_known_clients -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, tokens, login_attempts, login_known_clients);

diesel::table! {
    login_attempts (id) {
        id -> BigInt,
        username -> Text,
        client -> Text,
        time_attempted -> Timestamp,
    }
}

diesel::table! {
    login_known_clients (id) {
        id -> BigInt,
        user_id -> BigInt,
        client -> Text,
        time_last_login -> Timestamp,
    }
}
