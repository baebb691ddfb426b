//! Who is calling: request guards that check the `Authorization` token with the users service.

use rocket::http::Status;
use rocket::request::{FromRequest, Outcome};
use rocket::Request;

use crate::clients::UsersClient;
use crate::dto::User;
use crate::error::{remember_guard_failure, ApiError};
use crate::request::RequestId;

/// The token of `Authorization: <token>` or `Authorization: Bearer <token>`.
/// `None` when the header is absent; an empty string when it holds no token.
pub fn token_from_header(value: Option<&str>) -> Option<&str> {
    let value = value?.trim();
    let token = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => value,
    };
    Some(token)
}

/// A caller whose token the users service vouched for.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Caller {
    type Error = ApiError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ApiError> {
        match authenticate(req).await {
            Ok(user) => Outcome::Success(Caller { user }),
            Err(error) => Outcome::Error(remember_guard_failure(req, error)),
        }
    }
}

async fn authenticate(req: &Request<'_>) -> Result<User, ApiError> {
    let Some(token) = token_from_header(req.headers().get_one("Authorization")) else {
        return Err(ApiError::bad_request("The Authorization header is missing"));
    };
    if token.is_empty() {
        return Err(ApiError::unauthorized(
            "The Authorization header holds no token",
        ));
    }
    let Some(users) = req.rocket().state::<UsersClient>() else {
        tracing::error!("no users client is managed; the service was wired wrongly");
        return Err(ApiError::internal());
    };
    match users.check_token(token, &RequestId::of(req)).await? {
        Some(user) => Ok(user),
        None => Err(ApiError::unauthorized(
            "The token is unknown, revoked or expired",
        )),
    }
}

/// A caller who is an administrator.
#[derive(Debug, Clone)]
pub struct Admin {
    pub user: User,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Admin {
    type Error = ApiError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ApiError> {
        let caller = match Caller::from_request(req).await {
            Outcome::Success(caller) => caller,
            Outcome::Error(failure) => return Outcome::Error(failure),
            Outcome::Forward(status) => return Outcome::Forward(status),
        };
        if caller.user.is_admin {
            Outcome::Success(Admin { user: caller.user })
        } else {
            let error = ApiError::new(Status::Forbidden, "Only an administrator may do this");
            Outcome::Error(remember_guard_failure(req, error))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_come_raw_or_as_bearer() {
        let cases = [
            (None, None),
            (Some("abc"), Some("abc")),
            (Some("Bearer abc"), Some("abc")),
            (Some("bearer  abc "), Some("abc")),
            (Some("Bearer"), Some("Bearer")),
            (Some(""), Some("")),
        ];
        for (header, expected) in cases {
            assert_eq!(token_from_header(header), expected, "{header:?}");
        }
    }
}
