DROP INDEX login_attempts_username;
DROP INDEX login_attempts_client;
ALTER TABLE login_attempts RENAME COLUMN time_attempted TO time_failed;
ALTER TABLE login_attempts RENAME TO login_failures;
CREATE INDEX login_failures_username ON login_failures(username, time_failed);
CREATE INDEX login_failures_client ON login_failures(client, time_failed);
