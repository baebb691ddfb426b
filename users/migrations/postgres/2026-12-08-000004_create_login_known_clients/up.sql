-- The addresses each account's owner logged in from, and when last: a login attempt from one
-- of them is throttled on its own failures only, so strangers elsewhere cannot lock the
-- owner out. Kept for USERS_LOGIN_KNOWN_CLIENT_DAYS (90) after the last login from there, at
-- most 10 per account (pruned at each login).
CREATE TABLE login_known_clients (
    id BIGSERIAL PRIMARY KEY NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client TEXT NOT NULL,
    time_last_login TIMESTAMP NOT NULL
);

CREATE UNIQUE INDEX login_known_clients_user_client ON login_known_clients(user_id, client);

