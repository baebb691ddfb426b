//! Accounts and sessions in the database: rows, queries, migrations.

pub mod schema;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use shared::db::{write_transaction, AnyConnection, DbError};
use shared::dto::User;

use crate::domain::{
    EarlierAttempts, Email, LoginThrottle, PersonName, TokenHash, Username,
    KNOWN_CLIENTS_PER_ACCOUNT,
};
use schema::{login_attempts, login_known_clients, tokens, users};

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(Debug, Clone, Queryable)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub password_hash: String,
    pub is_admin: bool,
    pub time_registered: NaiveDateTime,
    pub time_modified: NaiveDateTime,
}

impl UserRow {
    /// The account as clients see it: no hash, no tokens.
    pub fn to_user(&self) -> User {
        User {
            id: self.id,
            username: self.username.clone(),
            email: self.email.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            is_admin: self.is_admin,
            time_registered: shared::time::to_utc(self.time_registered),
            time_modified: shared::time::to_utc(self.time_modified),
        }
    }
}

/// A validated registration, ready to store.
pub struct NewAccount<'a> {
    pub username: &'a Username,
    pub email: &'a Email,
    pub first_name: &'a PersonName,
    pub last_name: &'a PersonName,
    pub password_hash: &'a str,
    pub is_admin: bool,
}

/// Which unique field a failed insert collided with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    Username,
    Email,
}

pub fn user_by_username(
    conn: &mut AnyConnection,
    username: &str,
) -> Result<Option<UserRow>, DbError> {
    // PostgreSQL text cannot hold NUL (it would be an error, not a miss); no username has one.
    if username.contains('\0') {
        return Ok(None);
    }
    Ok(users::table
        .filter(users::username.eq(username))
        .first::<UserRow>(conn)
        .optional()?)
}

pub fn username_exists(conn: &mut AnyConnection, username: &str) -> Result<bool, DbError> {
    Ok(user_by_username(conn, username)?.is_some())
}

pub fn email_exists(conn: &mut AnyConnection, email: &Email) -> Result<bool, DbError> {
    let count: i64 = users::table
        .filter(users::email.eq(email.as_str()))
        .count()
        .get_result(conn)?;
    Ok(count > 0)
}

/// Inserts the account; a username or address that is already taken (also by a concurrent
/// insert) comes back as `Err(Ok(Taken))`, so callers never see a raw constraint error.
pub fn insert_account(
    conn: &mut AnyConnection,
    account: &NewAccount<'_>,
) -> Result<Result<UserRow, Taken>, DbError> {
    let now = shared::time::now();
    let inserted = write_transaction(conn, |conn| {
        diesel::insert_into(users::table)
            .values((
                users::username.eq(account.username.as_str()),
                users::email.eq(account.email.as_str()),
                users::first_name.eq(account.first_name.as_str()),
                users::last_name.eq(account.last_name.as_str()),
                users::password_hash.eq(account.password_hash),
                users::is_admin.eq(account.is_admin),
                users::time_registered.eq(now),
                users::time_modified.eq(now),
            ))
            .returning(users::all_columns)
            .get_result::<UserRow>(conn)
            .map_err(DbError::from)
    });
    match inserted {
        Ok(row) => Ok(Ok(row)),
        Err(error) => match error.unique_violation() {
            Some(text) if text.contains("email") => Ok(Err(Taken::Email)),
            Some(_) => Ok(Err(Taken::Username)),
            None => Err(error),
        },
    }
}

pub fn make_admin(conn: &mut AnyConnection, user_id: i64) -> Result<UserRow, DbError> {
    write_transaction(conn, |conn| {
        Ok(diesel::update(users::table.find(user_id))
            .set((
                users::is_admin.eq(true),
                users::time_modified.eq(shared::time::now()),
            ))
            .returning(users::all_columns)
            .get_result(conn)?)
    })
}

fn add_token(
    conn: &mut AnyConnection,
    user_id: i64,
    hash: &TokenHash,
    expires: NaiveDateTime,
) -> Result<(), DbError> {
    let now = shared::time::now();
    // Expired tokens of this user are of no use to anyone; clear them while we are here.
    diesel::delete(
        tokens::table
            .filter(tokens::user_id.eq(user_id))
            .filter(tokens::time_expires.le(now)),
    )
    .execute(conn)?;
    diesel::insert_into(tokens::table)
        .values((
            tokens::user_id.eq(user_id),
            tokens::token_hash.eq(hash.as_str()),
            tokens::time_created.eq(now),
            tokens::time_expires.eq(expires),
        ))
        .execute(conn)?;
    Ok(())
}

/// The owner of a token that exists and has not expired.
pub fn user_by_token(
    conn: &mut AnyConnection,
    hash: &TokenHash,
) -> Result<Option<UserRow>, DbError> {
    let now = shared::time::now();
    Ok(shared::on_backend!(conn, |c| tokens::table
        .inner_join(users::table)
        .filter(tokens::token_hash.eq(hash.as_str()))
        .filter(tokens::time_expires.gt(now))
        .select(users::all_columns)
        .first::<UserRow>(c)
        .optional())?)
}

/// Revokes one token; whether it existed (and had not expired).
pub fn delete_token(conn: &mut AnyConnection, hash: &TokenHash) -> Result<bool, DbError> {
    write_transaction(conn, |conn| {
        let live = user_by_token(conn, hash)?.is_some();
        diesel::delete(tokens::table.filter(tokens::token_hash.eq(hash.as_str()))).execute(conn)?;
        Ok(live)
    })
}

/// Which login attempts to count: those for one username, those from one client address, or
/// those for one username from one client address.
#[derive(Debug, Clone, Copy)]
pub enum AttemptsOf<'a> {
    Username(&'a str),
    Client(&'a str),
    UsernameFromClient(&'a str, &'a str),
}

/// The times of the newest `limit` login attempts since `since` that came before attempt
/// `before` (by id), newest first.
fn earlier_attempts(
    conn: &mut AnyConnection,
    of: AttemptsOf<'_>,
    since: NaiveDateTime,
    before: i64,
    limit: u32,
) -> Result<Vec<NaiveDateTime>, DbError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let query = login_attempts::table
        .select(login_attempts::time_attempted)
        .filter(login_attempts::time_attempted.gt(since))
        .filter(login_attempts::id.lt(before))
        .order(login_attempts::id.desc())
        .limit(i64::from(limit))
        .into_boxed();
    let query = match of {
        AttemptsOf::Username(name) => query.filter(login_attempts::username.eq(name.to_owned())),
        AttemptsOf::Client(client) => query.filter(login_attempts::client.eq(client.to_owned())),
        AttemptsOf::UsernameFromClient(name, client) => query
            .filter(login_attempts::username.eq(name.to_owned()))
            .filter(login_attempts::client.eq(client.to_owned())),
    };
    Ok(query.load(conn)?)
}

/// Whether the owner of the account named `username` logged in from `client` since `since`.
fn is_known_client(
    conn: &mut AnyConnection,
    username: &str,
    client: &str,
    since: NaiveDateTime,
) -> Result<bool, DbError> {
    let found = shared::on_backend!(conn, |c| login_known_clients::table
        .inner_join(users::table)
        .filter(users::username.eq(username))
        .filter(login_known_clients::client.eq(client))
        .filter(login_known_clients::time_last_login.gt(since))
        .select(login_known_clients::user_id)
        .first::<i64>(c)
        .optional())?;
    Ok(found.is_some())
}

/// A login attempt as recorded, with the attempts before it that the throttle counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedAttempt {
    pub id: i64,
    pub earlier: EarlierAttempts,
}

/// Records a login attempt before its password is checked and counts the attempts before it
/// that the throttle weighs (see [`EarlierAttempts`]: from an address the account's owner
/// logged in from, only that address's on the account; else the account's and the
/// address's), so that guesses sent in parallel are counted before any of them is verified;
/// forgets attempts no window counts any more. A failed attempt stays as the record of the
/// failure.
///
/// Recording and counting are one transaction, serialised with every other attempt for the
/// same username or client: on SQLite by `BEGIN IMMEDIATE`, on PostgreSQL by transaction
/// advisory locks. Without that an attempt could miss one that took its id earlier but
/// committed later, and a burst of parallel guesses got one more check than the limit.
pub fn record_attempt(
    conn: &mut AnyConnection,
    username: &str,
    client: &str,
    now: NaiveDateTime,
    throttle: &LoginThrottle,
) -> Result<RecordedAttempt, DbError> {
    let since = throttle.window_start(now);
    write_transaction(conn, |conn| {
        if let AnyConnection::Postgresql(pg) = conn {
            // Always in the same order, so two attempts never wait for each other's lock.
            let mut keys = [
                format!("login of {username}"),
                format!("login from {client}"),
            ];
            keys.sort();
            for key in keys {
                diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                    .bind::<diesel::sql_types::Text, _>(key)
                    .execute(pg)?;
            }
        }
        diesel::delete(login_attempts::table.filter(login_attempts::time_attempted.le(since)))
            .execute(conn)?;
        let id = diesel::insert_into(login_attempts::table)
            .values((
                login_attempts::username.eq(username),
                login_attempts::client.eq(client),
                login_attempts::time_attempted.eq(now),
            ))
            .returning(login_attempts::id)
            .get_result(conn)?;
        let earlier = if is_known_client(conn, username, client, throttle.known_since(now))? {
            EarlierAttempts::FromKnownClient {
                on_account_from_here: earlier_attempts(
                    conn,
                    AttemptsOf::UsernameFromClient(username, client),
                    since,
                    id,
                    throttle.per_known_client,
                )?,
            }
        } else {
            EarlierAttempts::FromElsewhere {
                on_account: earlier_attempts(
                    conn,
                    AttemptsOf::Username(username),
                    since,
                    id,
                    throttle.per_username,
                )?,
                from_client: earlier_attempts(
                    conn,
                    AttemptsOf::Client(client),
                    since,
                    id,
                    throttle.per_client,
                )?,
            }
        };
        Ok(RecordedAttempt { id, earlier })
    })
}

/// Makes `client` known for the account (or refreshes it), in one statement so that two
/// logins from the same address at once cannot collide. Numbered placeholders: PostgreSQL's
/// `$1`, which SQLite reads as `?1`.
const REMEMBER_CLIENT: &str = "INSERT INTO login_known_clients (user_id, client, time_last_login) \
     VALUES ($1, $2, $3) \
     ON CONFLICT (user_id, client) DO UPDATE SET time_last_login = excluded.time_last_login";

/// What a successful login does, in one transaction: forgets its attempt (a success is no
/// failure), makes the address it came from known for the account (forgetting addresses
/// unused since `known_since` and all but the newest [`KNOWN_CLIENTS_PER_ACCOUNT`]), and
/// stores the new token.
pub fn record_login(
    conn: &mut AnyConnection,
    attempt: i64,
    user_id: i64,
    client: &str,
    known_since: NaiveDateTime,
    token: &TokenHash,
    expires: NaiveDateTime,
) -> Result<(), DbError> {
    write_transaction(conn, |conn| {
        diesel::delete(login_attempts::table.find(attempt)).execute(conn)?;
        let remember = match conn {
            AnyConnection::Sqlite(_) => REMEMBER_CLIENT.replace('$', "?"),
            AnyConnection::Postgresql(_) => REMEMBER_CLIENT.to_owned(),
        };
        diesel::sql_query(remember)
            .bind::<diesel::sql_types::BigInt, _>(user_id)
            .bind::<diesel::sql_types::Text, _>(client)
            .bind::<diesel::sql_types::Timestamp, _>(shared::time::now())
            .execute(conn)?;
        let mine = login_known_clients::table.filter(login_known_clients::user_id.eq(user_id));
        diesel::delete(mine.filter(login_known_clients::time_last_login.le(known_since)))
            .execute(conn)?;
        let newest_first: Vec<String> = mine
            .select(login_known_clients::client)
            .order((
                login_known_clients::time_last_login.desc(),
                login_known_clients::client.asc(),
            ))
            .load(conn)?;
        for old in newest_first.iter().skip(KNOWN_CLIENTS_PER_ACCOUNT as usize) {
            diesel::delete(mine.filter(login_known_clients::client.eq(old))).execute(conn)?;
        }
        add_token(conn, user_id, token, expires)
    })
}

/// Forgets one attempt: one that succeeded, or one that was refused before being checked.
pub fn forget_attempt(conn: &mut AnyConnection, id: i64) -> Result<(), DbError> {
    write_transaction(conn, |conn| {
        diesel::delete(login_attempts::table.find(id)).execute(conn)?;
        Ok(())
    })
}

/// Sets a new password hash for the owner of the live token `keep` and ends every other
/// session of that account, in one transaction: no session that was open before the change
/// outlives it, except the caller's. `false` when `keep` is no longer live (nothing changed).
pub fn change_password(
    conn: &mut AnyConnection,
    keep: &TokenHash,
    password_hash: &str,
) -> Result<bool, DbError> {
    write_transaction(conn, |conn| {
        let Some(owner) = user_by_token(conn, keep)? else {
            return Ok(false);
        };
        diesel::update(users::table.find(owner.id))
            .set((
                users::password_hash.eq(password_hash),
                users::time_modified.eq(shared::time::now()),
            ))
            .execute(conn)?;
        diesel::delete(
            tokens::table
                .filter(tokens::user_id.eq(owner.id))
                .filter(tokens::token_hash.ne(keep.as_str())),
        )
        .execute(conn)?;
        Ok(true)
    })
}

/// Ends every session of the owner of the live token `any`, that one too; the owner, or
/// `None` when `any` is not live.
pub fn end_every_session(
    conn: &mut AnyConnection,
    any: &TokenHash,
) -> Result<Option<UserRow>, DbError> {
    write_transaction(conn, |conn| {
        let Some(owner) = user_by_token(conn, any)? else {
            return Ok(None);
        };
        diesel::delete(tokens::table.filter(tokens::user_id.eq(owner.id))).execute(conn)?;
        Ok(Some(owner))
    })
}

/// The owner of a token that is live now, and revokes it (as [`delete_token`]): for a logout
/// that says whose session ended.
pub fn end_session(conn: &mut AnyConnection, hash: &TokenHash) -> Result<Option<UserRow>, DbError> {
    write_transaction(conn, |conn| {
        let owner = user_by_token(conn, hash)?;
        diesel::delete(tokens::table.filter(tokens::token_hash.eq(hash.as_str()))).execute(conn)?;
        Ok(owner)
    })
}
