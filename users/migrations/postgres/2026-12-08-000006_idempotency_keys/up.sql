-- One row per Idempotency-Key a caller sent to a write (shared::idempotency): while
-- `status` is NULL the first request holds it (`lease`, renewed at `time_locked`); then
-- the answer it got, replayed to every retry with the same key until the key expires.
CREATE TABLE idempotency_keys (
    -- The token's user; 0 where no token is needed (register).
    caller_id BIGINT NOT NULL,
    request_key TEXT NOT NULL,
    -- SHA-256 of the request's method, path and query, and body.
    fingerprint TEXT NOT NULL,
    lease TEXT NOT NULL,
    status INTEGER,
    body TEXT,
    location TEXT,
    time_created TIMESTAMP NOT NULL,
    time_locked TIMESTAMP NOT NULL,
    PRIMARY KEY (caller_id, request_key)
);

CREATE INDEX idempotency_keys_by_age ON idempotency_keys(time_created);
