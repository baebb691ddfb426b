-- The table records every login attempt before its password is checked (a success is
-- removed afterwards), so it is named for what it holds.
ALTER TABLE login_failures RENAME TO login_attempts;
ALTER TABLE login_attempts RENAME COLUMN time_failed TO time_attempted;
DROP INDEX login_failures_username;
DROP INDEX login_failures_client;
CREATE INDEX login_attempts_username ON login_attempts(username, time_attempted);
CREATE INDEX login_attempts_client ON login_attempts(client, time_attempted);
