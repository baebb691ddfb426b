-- Usernames are unique without regard to case: `Boss` cannot register beside `boss`. Each
-- account gets a key, its username in lower case (usernames are ASCII, so this is also the
-- NFKC-then-lower-case key the service computes), under a unique index.
--
-- Accounts registered earlier may already collide (`boss` and `Boss`). Nothing is deleted
-- or renamed: the oldest account of each colliding group (the smallest id) keeps the plain
-- key; every later one gets the key `<lower-case name>#<id>`. `#` is not a username
-- character, so no new registration can take such a key. A later account still logs in by
-- its exact name; any other spelling of the name reaches the oldest account. The accounts
-- with such a key are the collisions:
--   SELECT id, username FROM users WHERE username_key LIKE '%#%';
-- Their owners should be asked to choose another name.
ALTER TABLE users ADD COLUMN username_key TEXT NOT NULL DEFAULT '';

UPDATE users SET username_key = lower(username)
WHERE id IN (SELECT min(id) FROM users GROUP BY lower(username));
UPDATE users SET username_key = lower(username) || '#' || id WHERE username_key = '';

CREATE UNIQUE INDEX users_by_username_key ON users(username_key);

-- While replicas roll over, the previous version still inserts accounts without a key: a
-- trigger gives such a row its key (and the unique index refuses it if the name is taken).
CREATE TRIGGER users_username_key_default AFTER INSERT ON users
WHEN NEW.username_key = ''
BEGIN
    UPDATE users SET username_key = lower(NEW.username) WHERE id = NEW.id;
END;
