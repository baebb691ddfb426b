//! The orders service's failures and the one place they become HTTP answers.

use rocket::response::{self, Responder};
use rocket::Request;
use shared::clients::Unavailable;
use shared::db::DbError;
use shared::request::RequestId;
use shared::{ApiError, FieldErrors};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Already phrased for the client.
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Store(#[from] DbError),
}

impl From<Unavailable> for Error {
    fn from(error: Unavailable) -> Self {
        Error::Api(error.into())
    }
}

impl From<FieldErrors> for Error {
    fn from(errors: FieldErrors) -> Self {
        Error::Api(errors.into_error())
    }
}

impl Error {
    pub fn into_api_error(self, request_id: &RequestId) -> ApiError {
        match self {
            Error::Api(error) => error,
            Error::Store(error) => {
                tracing::error!(request_id = %request_id.0, %error, "request failed");
                ApiError::storage(&error)
            }
        }
    }
}

impl<'r> Responder<'r, 'static> for Error {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        self.into_api_error(&RequestId::of(req)).respond_to(req)
    }
}
