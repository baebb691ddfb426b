//! Request fields, taken alike from a form body or a JSON object (the contract accepts both).

use std::collections::HashMap;
use std::time::Duration;

use rocket::data::{self, Data, FromData, ToByteUnit};
use rocket::http::{ContentType, Status};
use rocket::tokio::io::AsyncReadExt;
use rocket::Request;

use crate::error::{remember_guard_failure, ApiError, FieldErrors};

/// Bodies over this many bytes are refused with 413.
pub const BODY_LIMIT_BYTES: u64 = 64 * 1024;

/// The Rocket setting (seconds) that bounds how long a client may take to send a request's
/// head (read by our patched Rocket) and, through [`BodyReadTimeout`], its body.
pub const HEAD_TIMEOUT_KEY: &str = "header_read_timeout";

/// How long [`Fields`] waits for a whole body before answering 408: the same number of
/// seconds as the request head gets, taken from Rocket's configuration once at start
/// (see `shared::ops::stage`). A client trickling its body must not keep the request, and
/// what it holds, for ever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyReadTimeout(pub Duration);

impl BodyReadTimeout {
    pub fn from_figment(figment: &rocket::figment::Figment) -> Self {
        let default = crate::config::DEFAULT_CLIENT_READ_TIMEOUT;
        let secs = figment
            .extract_inner::<u64>(HEAD_TIMEOUT_KEY)
            .unwrap_or(default.as_secs());
        BodyReadTimeout(Duration::from_secs(secs.max(1)))
    }
}

/// The fields of one request body, as text. JSON numbers and booleans arrive as their text,
/// JSON `null` as absent, so a handler parses every field the same way whatever the encoding.
#[derive(Debug, Default, Clone)]
pub struct Fields {
    values: HashMap<String, String>,
    /// Fields whose JSON value was an array or object.
    not_scalar: Vec<String>,
    /// The SHA-256 of the body as it arrived, when one was read (an `Idempotency-Key`
    /// compares requests by it).
    body_digest: Option<[u8; 32]>,
}

impl Fields {
    /// The SHA-256 of the raw body (of an empty one when none was read).
    pub fn body_digest(&self) -> [u8; 32] {
        self.body_digest
            .unwrap_or_else(|| crate::idempotency::body_digest(b""))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// A fresh error collector that already knows about fields of the wrong JSON type.
    pub fn errors(&self) -> FieldErrors {
        let mut errors = FieldErrors::new();
        for name in &self.not_scalar {
            errors.add(name, "must be a string or a number");
        }
        errors
    }

    pub fn from_form(body: &str) -> Self {
        let mut values = HashMap::new();
        for (key, value) in form_urlencoded::parse(body.as_bytes()) {
            // The first occurrence wins, as in the reference's Flask `request.form`.
            values
                .entry(key.into_owned())
                .or_insert_with(|| value.into_owned());
        }
        Fields {
            values,
            not_scalar: Vec::new(),
            body_digest: None,
        }
    }

    pub fn from_json(body: &str) -> Result<Self, ApiError> {
        let value: serde_json::Value = serde_json::from_str(body).map_err(|e| {
            ApiError::bad_request(format!("The request body is not valid JSON: {e}"))
        })?;
        let serde_json::Value::Object(object) = value else {
            return Err(ApiError::bad_request(
                "The request body must be a JSON object",
            ));
        };
        let mut fields = Fields::default();
        for (key, value) in object {
            match value {
                serde_json::Value::Null => {}
                serde_json::Value::String(text) => {
                    fields.values.insert(key, text);
                }
                // With serde_json's `arbitrary_precision`, a number keeps the exact text it
                // was sent as: `1.0000000000000001` must be refused, not rounded by an f64.
                serde_json::Value::Number(n) => {
                    fields.values.insert(key, n.to_string());
                }
                serde_json::Value::Bool(b) => {
                    fields.values.insert(key, b.to_string());
                }
                serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                    fields.not_scalar.push(key)
                }
            }
        }
        Ok(fields)
    }

    /// Parses a body by its content type; without one, by its first character.
    pub fn parse(content_type: Option<&ContentType>, body: &str) -> Result<Self, ApiError> {
        // No body is no fields, whatever the content type says (a DELETE often has none).
        if body.trim().is_empty() {
            return Ok(Fields::default());
        }
        match content_type {
            Some(ct) if ct.is_json() || ct.sub().as_str().ends_with("+json") => {
                Self::from_json(body)
            }
            Some(ct) if ct.is_form() => Ok(Self::from_form(body)),
            Some(_) => Err(crate::error::default_error(Status::UnsupportedMediaType)),
            None if body.trim_start().starts_with(['{', '[']) => Self::from_json(body),
            None => Ok(Self::from_form(body)),
        }
    }
}

/// The fields of the query string, read like a form: the first occurrence of a repeated
/// field counts, as it does in bodies (`?limit=1&limit=abc` is `limit=1`), unless a handler
/// asks for every occurrence ([`QueryFields::all`]).
#[derive(Debug, Default, Clone)]
pub struct QueryFields {
    fields: Fields,
    query: String,
}

impl QueryFields {
    pub fn parse(query: &str) -> Self {
        QueryFields {
            fields: Fields::from_form(query),
            query: query.to_owned(),
        }
    }

    /// Every value of a field that may be repeated (`?sku=a&sku=b`), in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        form_urlencoded::parse(self.query.as_bytes())
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
            .collect()
    }
}

impl std::ops::Deref for QueryFields {
    type Target = Fields;

    fn deref(&self) -> &Fields {
        &self.fields
    }
}

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for QueryFields {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> rocket::request::Outcome<Self, Self::Error> {
        let query = req.uri().query().map(|q| q.as_str()).unwrap_or_default();
        rocket::request::Outcome::Success(QueryFields::parse(query))
    }
}

#[rocket::async_trait]
impl<'r> FromData<'r> for Fields {
    type Error = ApiError;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        let fail = |error: ApiError| data::Outcome::Error(remember_guard_failure(req, error));
        // One byte past the limit tells a body over it from one exactly at it. Rocket's
        // `into_bytes` would copy through a zeroed 8 KiB buffer on every request (6 % of
        // users' instructions in `check_token`); this reads into a vector of the body's size.
        let mut stream = data.open((BODY_LIMIT_BYTES + 1).bytes());
        let mut body = Vec::with_capacity(stream.hint());
        // No guard of any route holds a database connection while this runs (request guards
        // run first and keep none), so a slow body costs a task and a socket, and this bounds both.
        let BodyReadTimeout(limit) = req
            .rocket()
            .state::<BodyReadTimeout>()
            .copied()
            .unwrap_or(BodyReadTimeout(crate::config::DEFAULT_CLIENT_READ_TIMEOUT));
        match rocket::tokio::time::timeout(limit, stream.read_to_end(&mut body)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                return fail(ApiError::bad_request(format!(
                    "The request body could not be read: {e}"
                )));
            }
            Err(_) => {
                return fail(ApiError::new(
                    Status::RequestTimeout,
                    format!(
                        "The request body did not arrive within {} s",
                        limit.as_secs()
                    ),
                ));
            }
        }
        if body.len() as u64 > BODY_LIMIT_BYTES {
            return fail(crate::error::default_error(Status::PayloadTooLarge));
        }
        let digest = crate::idempotency::body_digest(&body);
        let Ok(body) = String::from_utf8(body) else {
            return fail(ApiError::bad_request("The request body is not valid UTF-8"));
        };
        match Fields::parse(req.content_type(), &body) {
            Ok(fields) => data::Outcome::Success(Fields {
                body_digest: Some(digest),
                ..fields
            }),
            Err(error) => fail(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_and_json_give_the_same_fields() {
        let form = Fields::from_form("sku=123&quantity=2&name=%D0%91");
        let json = Fields::from_json(r#"{"sku": "123", "quantity": 2, "name": "Б"}"#).unwrap();
        for name in ["sku", "quantity", "name"] {
            assert_eq!(form.get(name), json.get(name), "{name}");
        }
    }

    #[test]
    fn json_null_is_absent_and_nested_values_are_reported() {
        let fields = Fields::from_json(r#"{"image": null, "sku": [1], "x": {"a": 1}}"#).unwrap();
        assert_eq!(fields.get("image"), None);
        let errors = fields.errors().into_error().errors.unwrap();
        assert!(errors.contains_key("sku") && errors.contains_key("x"));
    }

    #[test]
    fn malformed_or_non_object_json_is_a_bad_request() {
        for body in ["{", "[1, 2]", "\"text\"", "12"] {
            let error = Fields::from_json(body).unwrap_err();
            assert_eq!(error.status, Status::BadRequest, "{body}");
        }
    }

    #[test]
    fn json_numbers_keep_their_exact_text() {
        let fields = Fields::from_json(
            r#"{"a": 1.0000000000000001, "b": 2.50, "c": 99999999999999999999999}"#,
        )
        .unwrap();
        assert_eq!(fields.get("a"), Some("1.0000000000000001"));
        assert_eq!(fields.get("b"), Some("2.50"));
        assert_eq!(fields.get("c"), Some("99999999999999999999999"));
    }

    #[test]
    fn an_empty_body_is_no_fields_whatever_its_type() {
        for ct in [ContentType::JSON, ContentType::Form, ContentType::Plain] {
            assert_eq!(Fields::parse(Some(&ct), "").unwrap().get("a"), None);
        }
    }

    #[test]
    fn a_body_without_content_type_is_sniffed() {
        assert_eq!(
            Fields::parse(None, "{\"a\": 1}").unwrap().get("a"),
            Some("1")
        );
        assert_eq!(Fields::parse(None, "a=1").unwrap().get("a"), Some("1"));
        assert_eq!(Fields::parse(None, "").unwrap().get("a"), None);
    }

    #[test]
    fn other_content_types_are_unsupported() {
        let error = Fields::parse(Some(&ContentType::Plain), "a=1").unwrap_err();
        assert_eq!(error.status, Status::UnsupportedMediaType);
    }
}
