//! What the users service does with accounts, whoever asks: the registration route and
//! `tasks users create-admin` both go through [`register`], and the login route asks
//! [`admit_login`] whether the throttle lets an attempt be checked and tells
//! [`record_login`] of a success.

use std::time::Duration;

use shared::db::{run, Pool};
use shared::dto::User;
use shared::error::TAKEN;
use shared::idempotency::{Answer, Claim};
use shared::{ApiError, FieldErrors};

use shared::client::ClientAddress;

use crate::audit::{self, Event, Outcome};
use crate::domain::{Email, LoginThrottle, Password, PersonName, TokenHash, Username};
use crate::error::Error;
use crate::hashing::Hashing;
use crate::store::{self, NewAccount, Taken, UserRow};

/// A registration's fields as given, by their names in the API; `None` when absent.
#[derive(Debug, Clone, Copy, Default)]
pub struct NewUser<'a> {
    pub username: Option<&'a str>,
    pub mail: Option<&'a str>,
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    pub password: Option<&'a str>,
}

/// What a new account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Customer,
    Administrator,
}

/// Checks every field, refuses a taken username or address together with every other problem
/// (added to `errors`, which may already hold some), hashes the password and stores the
/// account. A registration that loses a race for its username or address to a concurrent one
/// is refused the same way.
pub async fn register(
    pool: &Pool,
    hashing: &Hashing,
    fields: NewUser<'_>,
    errors: FieldErrors,
    role: Role,
) -> Result<User, Error> {
    register_claimed(Claim::none(), pool, hashing, fields, errors, role).await
}

/// [`register`], the account stored together with the answer of the request's
/// `Idempotency-Key` (see [`Claim::write`]).
pub async fn register_claimed(
    claim: Claim,
    pool: &Pool,
    hashing: &Hashing,
    fields: NewUser<'_>,
    mut errors: FieldErrors,
    role: Role,
) -> Result<User, Error> {
    let username = errors.required("username", fields.username, Username::parse);
    let email = errors.required("mail", fields.mail, Email::parse);
    let first_name = errors.required("first_name", fields.first_name, PersonName::parse);
    let last_name = errors.required("last_name", fields.last_name, PersonName::parse);
    let password = errors.required("password", fields.password, Password::parse);

    let (username_taken, email_taken) = {
        let (username, email) = (username.clone(), email.clone());
        run(pool, move |conn| -> Result<_, Error> {
            let username_taken = match &username {
                Some(u) => store::username_exists(conn, u.as_str())?,
                None => false,
            };
            let email_taken = match &email {
                Some(e) => store::email_exists(conn, e)?,
                None => false,
            };
            Ok((username_taken, email_taken))
        })
        .await?
    };
    if username_taken {
        errors.add("username", TAKEN);
    }
    if email_taken {
        errors.add("mail", TAKEN);
    }
    let (Some(username), Some(email), Some(first_name), Some(last_name), Some(password)) =
        (username, email, first_name, last_name, password)
    else {
        return Err(errors.into());
    };
    if !errors.is_empty() {
        return Err(errors.into());
    }

    let password_hash = hashing.hash(password.expose().to_owned()).await?;
    let (user, _) = run(pool, move |conn| {
        claim.write(conn, |conn| {
            let inserted = store::insert_account(
                conn,
                &NewAccount {
                    username: &username,
                    email: &email,
                    first_name: &first_name,
                    last_name: &last_name,
                    password_hash: &password_hash,
                    is_admin: role == Role::Administrator,
                },
            )?;
            match inserted {
                Ok(row) => {
                    let user = row.to_user();
                    let answer = Answer::json(rocket::http::Status::Ok, &user);
                    Ok((user, answer))
                }
                Err(Taken::Username) => Err(ApiError::invalid_field("username", TAKEN)),
                Err(Taken::Email) => Err(ApiError::invalid_field("mail", TAKEN)),
            }
            .map_err(Error::from)
        })
    })
    .await?;
    Ok(user)
}

/// What `create_admin` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminOutcome {
    Created,
    Promoted,
}

/// What `create_admin` may do when the username belongs to an account already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Refuse: anyone can register a name before the administrator is made, and must not
    /// become the administrator that way.
    Refuse,
    /// Make it an administrator, if its address is the one given (`--promote`).
    Promote,
}

/// Why `create_admin` changed nothing, by the field that decided it.
fn refusal(field: &str, problem: &str) -> Error {
    let mut error = ApiError::invalid_field(field, problem);
    error.message = "The existing account was not changed".into();
    error.into()
}

/// Registers a new account as an administrator, named "Administrator". An account that has
/// the username already is refused unless `existing` is [`Existing::Promote`] and its address
/// is `email` (compared as registration compares addresses: trimmed, in lower case); then it
/// is made an administrator, its password and address left as they are. Every refusal names
/// the field and why; nothing is changed then.
pub async fn create_admin(
    pool: &Pool,
    username: &str,
    email: &str,
    password: &str,
    existing: Existing,
) -> Result<(User, AdminOutcome), Error> {
    if let Ok(name) = Username::parse(username) {
        let given = Email::parse(email).ok();
        let promoted = run(pool, move |conn| -> Result<Option<UserRow>, Error> {
            let Some(row) = store::user_by_username(conn, name.as_str())? else {
                return Ok(None);
            };
            if existing == Existing::Refuse {
                return Err(refusal(
                    "username",
                    "belongs to an existing account; --promote makes it an administrator",
                ));
            }
            let theirs = Email::parse(&row.email).ok();
            if given.is_none() || given != theirs {
                return Err(refusal(
                    "mail",
                    "is not the address of the existing account",
                ));
            }
            Ok(Some(store::make_admin(conn, row.id)?))
        })
        .await?;
        if let Some(row) = promoted {
            audit::log(
                Event::RoleChange,
                Outcome::Promoted,
                &row.username,
                "local",
                None,
            );
            return Ok((row.to_user(), AdminOutcome::Promoted));
        }
    }
    let fields = NewUser {
        username: Some(username),
        mail: Some(email),
        first_name: Some("Administrator"),
        last_name: Some("Administrator"),
        password: Some(password),
    };
    let hashing = Hashing::new(1);
    let user = register(
        pool,
        &hashing,
        fields,
        FieldErrors::new(),
        Role::Administrator,
    )
    .await?;
    audit::log(
        Event::RoleChange,
        Outcome::Created,
        &user.username,
        "local",
        None,
    );
    Ok((user, AdminOutcome::Created))
}

/// Whether a login attempt may be checked.
pub enum Admission {
    /// Check the password against this account (`None`: no such user, check a dummy hash).
    /// The attempt stays recorded, as a failure, unless [`record_login`] forgets it.
    Check {
        attempt: i64,
        account: Option<UserRow>,
    },
    /// Too many recent failures on this account or from this client (see [`LoginThrottle`]):
    /// wait this long.
    Refused(Duration),
}

/// Records a login attempt and counts it among those before it (see
/// [`store::record_attempt`]): guesses sent at once are refused together rather than all
/// checked. A refused attempt is not a failure, so it does not prolong the wait.
pub async fn admit_login(
    pool: &Pool,
    throttle: LoginThrottle,
    username: String,
    client: ClientAddress,
) -> Result<Admission, Error> {
    let client = client.to_string();
    run(pool, move |conn| -> Result<_, Error> {
        let now = shared::time::now();
        let attempt = store::record_attempt(conn, &username, &client, now, &throttle)?;
        match throttle.wait_after(&attempt.earlier, now) {
            Some(wait) => {
                store::forget_attempt(conn, attempt.id)?;
                Ok(Admission::Refused(wait))
            }
            None => Ok(Admission::Check {
                attempt: attempt.id,
                account: store::user_by_username(conn, &username)?,
            }),
        }
    })
    .await
}

/// A login whose password was right: its attempt is forgotten, the address it came from
/// becomes (or stays) one the owner is known to log in from, and the token is stored; one
/// transaction.
pub async fn record_login(
    pool: &Pool,
    throttle: LoginThrottle,
    attempt: i64,
    user_id: i64,
    client: ClientAddress,
    token: TokenHash,
    expires: chrono::NaiveDateTime,
) -> Result<(), Error> {
    let client = client.to_string();
    run(pool, move |conn| -> Result<_, Error> {
        let known_since = throttle.known_since(shared::time::now());
        Ok(store::record_login(
            conn,
            attempt,
            user_id,
            &client,
            known_since,
            &token,
            expires,
        )?)
    })
    .await
}
