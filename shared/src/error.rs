//! The one JSON error body every service answers with, and the catchers that make Rocket use it.

use std::collections::BTreeMap;

use rocket::http::{Header, Status};
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use rocket::{Catcher, Request};
use serde::Serialize;

/// A failure as the client sees it: a status and `{"message": ..., "errors": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: Status,
    pub message: String,
    pub errors: Option<BTreeMap<String, String>>,
    /// Extra response headers, such as `Retry-After` or `Allow`.
    pub headers: Vec<(&'static str, String)>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// One human sentence.
    pub message: String,
    /// One entry per bad field, present on validation failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<BTreeMap<String, String>>,
}

impl ApiError {
    pub fn new(status: Status, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            errors: None,
            headers: Vec::new(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(Status::BadRequest, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(Status::Unauthorized, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(Status::Forbidden, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Status::NotFound, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(Status::Conflict, message)
    }

    /// A neighbouring service could not be used; the contract's wording is fixed.
    pub fn unavailable(service: &str) -> Self {
        Self::new(
            Status::ServiceUnavailable,
            format!("{service} service unavailable"),
        )
    }

    /// What a storage failure tells the client: 503 when the database cannot be used (as
    /// `/ready` says then; retrying later helps), 507 when its disk is full (nothing was
    /// written), else a 500 that says nothing internal. The caller logs the cause once.
    pub fn storage(error: &crate::db::DbError) -> Self {
        match error.outage() {
            Some(crate::db::Outage::Unavailable) => {
                Self::new(Status::ServiceUnavailable, "The database does not answer")
            }
            Some(crate::db::Outage::DiskFull) => Self::new(
                Status::InsufficientStorage,
                "The database's disk is full: nothing was written",
            ),
            None => Self::internal(),
        }
    }

    /// A 500 that says nothing internal; the caller logs the cause once.
    pub fn internal() -> Self {
        Self::new(Status::InternalServerError, "Internal server error")
    }

    /// The 400 for one bad field (as [`FieldErrors::into_error`] words it for several).
    pub fn invalid_field(field: &str, problem: impl Into<String>) -> Self {
        let mut errors = FieldErrors::new();
        errors.add(field, problem);
        errors.into_error()
    }

    /// What a failure of the store tells the client ([`ApiError::storage`]), logged here, once,
    /// where the request id is at hand: every service's `Error` answers a store failure so.
    pub fn from_store(req: &Request<'_>, error: &crate::db::DbError) -> Self {
        crate::db::log_failure(req, error);
        Self::storage(error)
    }

    /// A 500 for a failure that is neither the client's nor the store's, logged once with the
    /// request id.
    pub fn from_internal(req: &Request<'_>, error: &dyn std::fmt::Display) -> Self {
        let request_id = crate::request::RequestId::of(req);
        tracing::error!(request_id = %request_id.0, error = %error, "request failed");
        Self::internal()
    }

    pub fn with_field(mut self, field: &str, problem: impl Into<String>) -> Self {
        self.errors
            .get_or_insert_with(BTreeMap::new)
            .insert(field.to_owned(), problem.into());
        self
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            message: self.message.clone(),
            errors: self.errors.clone(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl<'r> Responder<'r, 'static> for ApiError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let mut response = Json(self.body()).respond_to(req)?;
        response.set_status(self.status);
        for (name, value) in self.headers {
            response.set_header(Header::new(name, value));
        }
        Ok(response)
    }
}

/// What a field says when its value must be unique and another record has it (a username,
/// an address, a SKU).
pub const TAKEN: &str = "is already taken";

/// Collects every bad field of one request, so that all of them are reported at once.
#[derive(Debug, Default)]
pub struct FieldErrors(BTreeMap<String, String>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, problem: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_insert_with(|| problem.into());
    }

    /// Parses a required field; a missing or bad value is recorded and gives `None`.
    pub fn required<T>(
        &mut self,
        field: &str,
        raw: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        match raw {
            None => {
                self.add(field, "is required");
                None
            }
            Some(raw) => self.check(field, parse(raw)),
        }
    }

    /// Parses an optional field: absent gives `Some(None)`, bad gives `None`.
    pub fn optional<T>(
        &mut self,
        field: &str,
        raw: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<Option<T>> {
        match raw {
            None => Some(None),
            Some(raw) => self.check(field, parse(raw)).map(Some),
        }
    }

    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        result.map_err(|problem| self.add(field, problem)).ok()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The 400 that names every field recorded so far.
    pub fn into_error(self) -> ApiError {
        let mut error = ApiError::bad_request("The request has invalid fields");
        error.errors = Some(self.0);
        error
    }
}

impl From<FieldErrors> for ApiError {
    fn from(errors: FieldErrors) -> Self {
        errors.into_error()
    }
}

/// The error a request guard failed with, kept so the catcher can answer with it.
struct GuardFailure(Option<ApiError>);

/// Records why a guard failed; the catcher for its status will answer with this error.
pub fn remember_guard_failure(req: &Request<'_>, error: ApiError) -> (Status, ApiError) {
    let status = error.status;
    req.local_cache(|| GuardFailure(Some(error.clone())));
    (status, error)
}

#[rocket::catch(default)]
fn json_catcher(status: Status, req: &Request<'_>) -> ApiError {
    if let Some(error) = &req.local_cache(|| GuardFailure(None)).0 {
        return error.clone();
    }
    if status == Status::NotFound {
        let allowed = allowed_methods(req);
        if !allowed.is_empty() {
            return default_error(Status::MethodNotAllowed)
                .with_header("Allow", allowed.join(", "));
        }
    }
    default_error(status)
}

/// The methods the service's routes accept for this request's path, when none accepts its
/// method: a known address asked with the wrong method is a 405, not a 404.
pub(crate) fn allowed_methods(req: &Request<'_>) -> Vec<String> {
    let segments: Vec<&str> = req.uri().path().segments().collect();
    let matching: Vec<_> = req
        .rocket()
        .routes()
        .filter(|route| path_matches(route.uri.path(), &segments))
        .collect();
    if matching.iter().any(|route| route.method == req.method()) {
        return Vec::new();
    }
    let mut methods: Vec<String> = matching.iter().map(|r| r.method.to_string()).collect();
    methods.sort();
    methods.dedup();
    methods
}

/// Whether a route path such as `/api/beers/<sku>` matches the request's path segments.
fn path_matches(template: &str, segments: &[&str]) -> bool {
    let parts: Vec<&str> = template.split('/').filter(|p| !p.is_empty()).collect();
    for (i, part) in parts.iter().enumerate() {
        if part.starts_with('<') && part.ends_with("..>") {
            return true;
        }
        match segments.get(i) {
            Some(segment) if part.starts_with('<') || part == segment => {}
            _ => return false,
        }
    }
    parts.len() == segments.len()
}

/// What a status means when no handler or guard said more.
pub fn default_error(status: Status) -> ApiError {
    match status.code {
        // Rocket's own parse failures are bad input, which the contract answers with 400.
        400 | 422 => ApiError::bad_request("The request could not be understood"),
        401 => ApiError::unauthorized("Authentication is required"),
        403 => ApiError::forbidden("You are not allowed to do this"),
        404 => ApiError::not_found("There is nothing at this address"),
        405 => ApiError::new(status, "This method is not allowed here"),
        413 => ApiError::new(status, "The request body is larger than 64 KiB"),
        415 => ApiError::new(
            status,
            "Send the body as application/x-www-form-urlencoded or application/json",
        ),
        code if code >= 500 => ApiError::new(
            status,
            status
                .reason()
                .unwrap_or("Internal server error")
                .to_owned(),
        ),
        _ => ApiError::new(
            status,
            status.reason().unwrap_or("Request failed").to_owned(),
        ),
    }
}

/// JSON catchers for every status Rocket can produce.
pub fn catchers() -> Vec<Catcher> {
    rocket::catchers![json_catcher]
}

#[cfg(test)]
mod tests {
    use super::path_matches;

    #[test]
    fn route_templates_match_paths() {
        let cases = [
            ("/api/beers", vec!["api", "beers"], true),
            ("/api/beers/<sku>", vec!["api", "beers", "123"], true),
            ("/api/beers/<sku>", vec!["api", "beers"], false),
            ("/api/beers", vec!["api", "beers", "1"], false),
            ("/docs/<_..>", vec!["docs", "a", "b"], true),
            ("/", vec![], true),
        ];
        for (template, segments, expected) in cases {
            assert_eq!(
                path_matches(template, &segments),
                expected,
                "{template} {segments:?}"
            );
        }
    }
}
