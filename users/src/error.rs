//! The users service's failures and the one place they become HTTP answers.

use rocket::response::{self, Responder};
use rocket::Request;
use shared::db::DbError;
use shared::{ApiError, FieldErrors};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Already phrased for the client.
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Store(#[from] DbError),
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error("a blocking task failed: {0}")]
    Task(String),
}

impl From<FieldErrors> for Error {
    fn from(errors: FieldErrors) -> Self {
        Error::Api(errors.into_error())
    }
}

impl From<rocket::tokio::task::JoinError> for Error {
    fn from(error: rocket::tokio::task::JoinError) -> Self {
        Error::Task(error.to_string())
    }
}

impl shared::db::StoreError for Error {
    fn as_db_error(&self) -> Option<&DbError> {
        match self {
            Error::Store(error) => Some(error),
            _ => None,
        }
    }
}

impl shared::idempotency::ClientError for Error {
    fn client_error(&self) -> Option<ApiError> {
        match self {
            Error::Api(error) => shared::idempotency::ClientError::client_error(error),
            Error::Store(_) | Error::Hashing(_) | Error::Task(_) => None,
        }
    }
}

impl<'r> Responder<'r, 'static> for Error {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let answer = match self {
            Error::Api(error) => error,
            Error::Store(error) => ApiError::from_store(req, &error),
            internal @ (Error::Hashing(_) | Error::Task(_)) => {
                ApiError::from_internal(req, &internal)
            }
        };
        answer.respond_to(req)
    }
}
