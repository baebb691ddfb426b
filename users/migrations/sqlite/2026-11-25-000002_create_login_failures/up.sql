-- Failed logins, kept for the throttling window: by username and by client address, so
-- every replica of users sees the same count.
CREATE TABLE login_failures (
    id INTEGER PRIMARY KEY NOT NULL,
    username TEXT NOT NULL,
    client TEXT NOT NULL,
    time_failed TIMESTAMP NOT NULL
);

CREATE INDEX login_failures_username ON login_failures(username, time_failed);
CREATE INDEX login_failures_client ON login_failures(client, time_failed);
