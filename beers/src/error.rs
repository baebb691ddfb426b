//! The beers service's failures and the one place they become HTTP answers.

use rocket::response::{self, Responder};
use rocket::Request;
use shared::db::DbError;
use shared::error::TAKEN;
use shared::{ApiError, FieldErrors};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Already phrased for the client (bad fields, mostly).
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("no beer has this SKU")]
    NoSuchBeer,
    #[error("another beer has this SKU")]
    Taken,
    #[error(transparent)]
    Store(#[from] DbError),
}

impl From<FieldErrors> for Error {
    fn from(errors: FieldErrors) -> Self {
        Error::Api(errors.into_error())
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

impl Error {
    /// What the client is told about a failure that is not the store's.
    fn into_api_error(self) -> ApiError {
        match self {
            Error::Api(error) => error,
            Error::NoSuchBeer => ApiError::not_found("There is no beer with this SKU"),
            Error::Taken => ApiError::invalid_field("sku", TAKEN),
            Error::Store(error) => ApiError::storage(&error),
        }
    }
}

impl shared::idempotency::ClientError for Error {
    fn client_error(&self) -> Option<ApiError> {
        match self {
            Error::Api(error) => shared::idempotency::ClientError::client_error(error),
            Error::NoSuchBeer => Some(ApiError::not_found("There is no beer with this SKU")),
            Error::Taken => Some(ApiError::invalid_field("sku", TAKEN)),
            Error::Store(_) => None,
        }
    }
}

impl<'r> Responder<'r, 'static> for Error {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let answer = match self {
            Error::Store(error) => ApiError::from_store(req, &error),
            other => other.into_api_error(),
        };
        answer.respond_to(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rocket::http::Status;

    #[test]
    fn each_failure_has_its_status_and_says_nothing_internal() {
        let cases = [
            (Error::NoSuchBeer, Status::NotFound),
            (Error::Taken, Status::BadRequest),
            (
                Error::Store(DbError::Task("secret detail".into())),
                Status::InternalServerError,
            ),
            (
                Error::Store(DbError::Connect("secret detail".into())),
                Status::ServiceUnavailable,
            ),
        ];
        for (error, status) in cases {
            let answer = error.into_api_error();
            assert_eq!(answer.status, status);
            assert!(!answer.message.contains("secret"));
        }
        let taken = Error::Taken.into_api_error().errors.unwrap();
        assert_eq!(taken["sku"], TAKEN);
    }
}
