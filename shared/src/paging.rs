//! `limit` and `offset` of list endpoints.

use crate::error::FieldErrors;

pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 1000;

/// A validated page: `limit` in 1..=1000 (default 100), `offset` ≥ 0 (default 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

impl Page {
    /// Parses both query fields, recording every bad one.
    pub fn parse(
        limit: Option<&str>,
        offset: Option<&str>,
        errors: &mut FieldErrors,
    ) -> Option<Page> {
        let limit = errors.check("limit", parse_number(limit, DEFAULT_LIMIT, 1, MAX_LIMIT));
        let offset = errors.check("offset", parse_number(offset, 0, 0, i64::MAX));
        Some(Page {
            limit: limit?,
            offset: offset?,
        })
    }
}

fn parse_number(raw: Option<&str>, default: i64, min: i64, max: i64) -> Result<i64, String> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(default);
    };
    match raw.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ if max == i64::MAX => Err(format!("must be a whole number of at least {min}")),
        _ => Err(format!("must be a whole number from {min} to {max}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_has_defaults_and_bounds() {
        type Case<'a> = (Option<&'a str>, Option<&'a str>, Option<(i64, i64)>);
        let cases: [Case; 8] = [
            (None, None, Some((100, 0))),
            (Some(""), Some(""), Some((100, 0))),
            (Some("5"), Some("10"), Some((5, 10))),
            (Some("1000"), None, Some((1000, 0))),
            (Some("0"), None, None),
            (Some("1001"), None, None),
            (None, Some("-1"), None),
            (Some("x"), Some("1.5"), None),
        ];
        for (limit, offset, expected) in cases {
            let mut errors = FieldErrors::new();
            let page = Page::parse(limit, offset, &mut errors).map(|p| (p.limit, p.offset));
            assert_eq!(page, expected, "{limit:?} {offset:?}");
            assert_eq!(errors.is_empty(), expected.is_some());
        }
    }
}
