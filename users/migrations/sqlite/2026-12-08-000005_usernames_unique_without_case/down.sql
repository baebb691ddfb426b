DROP TRIGGER users_username_key_default;
DROP INDEX users_by_username_key;
ALTER TABLE users DROP COLUMN username_key;
