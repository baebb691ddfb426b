//! What a beer costs: an exact amount of money, parsed from a decimal string, never rounded.

use rust_decimal::Decimal;
use shared::Money;

/// The dearest a beer may be, in cents (999999.99).
pub const MAX_CENTS: i64 = 99_999_999;

/// A price above zero and at most 999999.99, exact to the cent: validated whole cents, read
/// as [`Money`] (`money`, `to_decimal`) and stored as cents (`cents`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Price(i64);

impl Price {
    /// Digits, optionally followed by `.` and more digits. Trailing zeros after the point do
    /// not count as places (`2.500` is 2.50), but `1.999` is refused rather than rounded.
    pub fn parse(raw: &str) -> Result<Self, String> {
        const FORMAT: &str = "must be a decimal number such as 2.50";
        let text = raw.trim();
        let (whole, fraction) = match text.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (text, None),
        };
        let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(whole) || !fraction.is_none_or(all_digits) {
            return Err(FORMAT.into());
        }
        let fraction = fraction.unwrap_or("").trim_end_matches('0');
        if fraction.len() > 2 {
            return Err("must have at most two decimal places".into());
        }
        // Checking the length first keeps any number of digits from overflowing.
        let whole = whole.trim_start_matches('0');
        if whole.len() > 6 {
            return Err(TOO_DEAR.into());
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| FORMAT.to_owned())?
        };
        let cents_text = format!("{fraction:0<2}");
        let cents: i64 = cents_text.parse().map_err(|_| FORMAT.to_owned())?;
        Self::from_cents(whole * 100 + cents)
    }

    pub fn from_cents(cents: i64) -> Result<Self, String> {
        if cents <= 0 {
            Err("must be more than 0".into())
        } else if cents > MAX_CENTS {
            Err(TOO_DEAR.into())
        } else {
            Ok(Price(cents))
        }
    }

    /// The amount, as the domain and the contract use money.
    pub fn money(self) -> Money {
        Money::from_cents(self.0)
    }

    /// The amount in cents, as the store keeps it.
    pub fn cents(self) -> i64 {
        self.0
    }

    /// The amount with exactly two places, as the contract writes money.
    pub fn to_decimal(self) -> Decimal {
        self.money().amount()
    }
}

const TOO_DEAR: &str = "must be at most 999999.99";

impl std::fmt::Display for Price {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.to_decimal())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_exact_to_the_cent() {
        let accepted = [
            ("2.50", 250),
            ("2.5", 250),
            ("2.500", 250),
            ("3", 300),
            ("0.01", 1),
            ("1.19", 119),
            ("007.10", 710),
            ("999999.99", MAX_CENTS),
            ("999999.990000", MAX_CENTS),
            ("0000001000.00", 100_000),
            (" 4.2 ", 420),
        ];
        for (raw, cents) in accepted {
            assert_eq!(Price::parse(raw).map(Price::cents), Ok(cents), "{raw:?}");
        }
    }

    #[test]
    fn prices_that_are_not_plain_positive_decimals_are_refused() {
        let huge = "9".repeat(400);
        let rejected = [
            ("1.999", "two decimal places"),
            ("0.001", "two decimal places"),
            ("0", "more than 0"),
            ("0.00", "more than 0"),
            ("000", "more than 0"),
            ("1000000", "at most"),
            ("999999.991", "two decimal places"),
            ("1000000.00", "at most"),
            (huge.as_str(), "at most"),
            ("-1.00", "decimal number"),
            ("+1.00", "decimal number"),
            ("1e2", "decimal number"),
            ("1E2", "decimal number"),
            ("NaN", "decimal number"),
            ("inf", "decimal number"),
            ("1_000", "decimal number"),
            ("1,50", "decimal number"),
            ("1 000", "decimal number"),
            ("", "decimal number"),
            ("   ", "decimal number"),
            (".5", "decimal number"),
            ("3.", "decimal number"),
            ("1.2.3", "decimal number"),
            ("١٢", "decimal number"),
            ("abc", "decimal number"),
            ("0x10", "decimal number"),
        ];
        for (raw, problem) in rejected {
            let error = Price::parse(raw).expect_err(raw);
            assert!(error.contains(problem), "{raw:?}: {error}");
        }
    }

    #[test]
    fn prices_are_written_with_two_places() {
        let cases = [
            ("2.5", "2.50"),
            ("3", "3.00"),
            ("0.01", "0.01"),
            ("1.19", "1.19"),
        ];
        for (raw, written) in cases {
            let price = Price::parse(raw).expect(raw);
            assert_eq!(price.to_string(), written);
            assert_eq!(price.to_decimal().to_string(), written);
        }
    }

    #[test]
    fn cents_outside_the_range_are_refused() {
        for cents in [0, -1, MAX_CENTS + 1, i64::MIN, i64::MAX] {
            assert!(Price::from_cents(cents).is_err(), "{cents}");
        }
        assert_eq!(Price::from_cents(1).map(Price::cents), Ok(1));
    }
}
