//! The orders service's failures and the one place they become HTTP answers.

use rocket::response::{self, Responder};
use rocket::Request;
use shared::clients::Unavailable;
use shared::db::DbError;
use shared::{ApiError, FieldErrors};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Already phrased for the client.
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Store(#[from] DbError),
}

impl From<FieldErrors> for Error {
    fn from(errors: FieldErrors) -> Self {
        Error::Api(errors.into_error())
    }
}

impl From<Unavailable> for Error {
    fn from(error: Unavailable) -> Self {
        Error::Api(error.into())
    }
}

impl shared::db::StoreError for Error {
    fn as_db_error(&self) -> Option<&DbError> {
        match self {
            Error::Store(error) => Some(error),
            Error::Api(_) => None,
        }
    }
}

impl shared::idempotency::ClientError for Error {
    fn client_error(&self) -> Option<ApiError> {
        match self {
            Error::Api(error) => shared::idempotency::ClientError::client_error(error),
            Error::Store(_) => None,
        }
    }
}

impl<'r> Responder<'r, 'static> for Error {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let answer = match self {
            Error::Api(error) => error,
            Error::Store(error) => ApiError::from_store(req, &error),
        };
        answer.respond_to(req)
    }
}
