//! The beers service's failures and the one place they become HTTP answers.

use rocket::response::{self, Responder};
use rocket::Request;
use shared::db::DbError;
use shared::{ApiError, FieldErrors};

pub const SKU_TAKEN: &str = "is already taken";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Already phrased for the client (bad fields, mostly).
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("no beer has this SKU")]
    NoSuchBeer,
    #[error("another beer has this SKU")]
    SkuTaken,
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
    /// What the client is told; storage failures become a 500 that says nothing internal.
    fn into_api_error(self) -> ApiError {
        match self {
            Error::Api(error) => error,
            Error::NoSuchBeer => ApiError::not_found("There is no beer with this SKU"),
            Error::SkuTaken => {
                let mut errors = FieldErrors::new();
                errors.add("sku", SKU_TAKEN);
                errors.into_error()
            }
            Error::Store(error) => ApiError::storage(&error),
        }
    }
}

impl<'r> Responder<'r, 'static> for Error {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        // Logged here, once, where the request id is at hand.
        if let Error::Store(error) = &self {
            shared::db::log_failure(req, error);
        }
        self.into_api_error().respond_to(req)
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
            (Error::SkuTaken, Status::BadRequest),
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
        let taken = Error::SkuTaken.into_api_error().errors.unwrap();
        assert_eq!(taken["sku"], SKU_TAKEN);
    }
}
