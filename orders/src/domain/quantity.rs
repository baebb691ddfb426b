//! How many of one beer a line holds.

/// A whole number from 1 to 10000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quantity(i64);

const PROBLEM: &str = "must be a whole number from 1 to 10000";

impl Quantity {
    /// The most one line of an order may hold, also after several adds.
    pub const MAX: i64 = 10_000;

    /// Digits only (surrounding spaces allowed): `"2.5"`, `"-1"`, `"+1"` and `"1e3"` are refused,
    /// not rounded or reinterpreted.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let digits = raw.trim();
        if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PROBLEM.into());
        }
        digits
            .parse::<i64>()
            .map_err(|_| PROBLEM.to_owned())
            .and_then(Self::from_count)
    }

    pub fn from_count(count: i64) -> Result<Self, String> {
        if (1..=Self::MAX).contains(&count) {
            Ok(Quantity(count))
        } else {
            Err(PROBLEM.into())
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl std::fmt::Display for Quantity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_whole_numbers_from_1_to_10000() {
        let cases: [(&str, Option<i64>); 17] = [
            ("1", Some(1)),
            ("2", Some(2)),
            ("10000", Some(10_000)),
            (" 7 ", Some(7)),
            ("007", Some(7)),
            ("0", None),
            ("10001", None),
            ("-1", None),
            ("+1", None),
            ("2.5", None),
            ("2.0", None),
            ("1e3", None),
            ("x", None),
            ("", None),
            ("   ", None),
            ("99999999999999999999999", None),
            ("1 000", None),
        ];
        for (raw, expected) in cases {
            assert_eq!(
                Quantity::parse(raw).ok().map(Quantity::get),
                expected,
                "{raw:?}"
            );
        }
    }

    #[test]
    fn counts_outside_the_range_are_refused() {
        let cases = [
            (i64::MIN, false),
            (0, false),
            (1, true),
            (10_000, true),
            (10_001, false),
        ];
        for (count, accepted) in cases {
            assert_eq!(Quantity::from_count(count).is_ok(), accepted, "{count}");
        }
    }

    #[test]
    fn the_problem_names_the_range() {
        assert_eq!(
            Quantity::parse("0").unwrap_err(),
            "must be a whole number from 1 to 10000"
        );
    }
}
