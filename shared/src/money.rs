//! Money: exact decimal amounts with two places. The one type for an amount in every
//! service's domain; cents appear only where a store writes and reads it (`from_cents`,
//! `cents`), and the contract's JSON carries the `Decimal` (`amount`).

use rust_decimal::Decimal;

/// An amount of money with exactly two decimal places, so it is always written as `"2.50"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Money(Decimal);

impl Money {
    pub const ZERO: Money = Money(Decimal::from_parts(0, 0, 0, false, 2));

    pub fn from_cents(cents: i64) -> Money {
        Money(Decimal::new(cents, 2))
    }

    /// A unit price as the catalogue gives it: above zero, whole cents, storable as cents.
    /// Anything finer than a cent is refused rather than rounded.
    pub fn price(amount: Decimal) -> Result<Money, String> {
        if amount <= Decimal::ZERO {
            return Err("must be above zero".into());
        }
        if amount.round_dp(2) != amount {
            return Err("must be whole cents".into());
        }
        let money = Money(with_two_places(amount));
        money.cents()?;
        Ok(money)
    }

    /// The amount in cents, if it fits the database's 64-bit integer.
    pub fn cents(self) -> Result<i64, String> {
        let amount = with_two_places(self.0);
        // A value too large for two places keeps fewer, and its mantissa is then not cents.
        match i64::try_from(amount.mantissa()) {
            Ok(cents) if amount.scale() == 2 => Ok(cents),
            _ => Err(format!("{} is too large to store", self.0)),
        }
    }

    pub fn amount(self) -> Decimal {
        self.0
    }

    /// The price of `count` items at this unit price. Cannot overflow for an order line: a
    /// unit price is at most an `i64` of cents (< 2^63) and a quantity at most 10000
    /// (< 2^14), far below the 2^96 a `Decimal` holds; beyond that it saturates.
    pub fn times(self, count: i64) -> Money {
        Money(self.0.saturating_mul(Decimal::from(count)))
    }

    /// The sum, or `None` if it would not fit a `Decimal`.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

fn with_two_places(mut amount: Decimal) -> Decimal {
    amount.rescale(2);
    amount
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn cents_are_written_with_two_places() {
        let cases = [
            (0, "0.00"),
            (5, "0.05"),
            (119, "1.19"),
            (200, "2.00"),
            (-150, "-1.50"),
        ];
        for (cents, text) in cases {
            assert_eq!(Money::from_cents(cents).to_string(), text, "{cents}");
            assert_eq!(Money::from_cents(cents).cents(), Ok(cents));
        }
        assert_eq!(Money::ZERO.to_string(), "0.00");
    }

    #[test]
    fn catalogue_prices_must_be_positive_whole_cents() {
        let cases: [(&str, Option<i64>); 9] = [
            ("1.19", Some(119)),
            ("2", Some(200)),
            ("2.5", Some(250)),
            ("2.500", Some(250)),
            ("999999.99", Some(99_999_999)),
            ("0", None),
            ("-1.00", None),
            ("1.999", None),
            ("79228162514264337593543950335", None),
        ];
        for (text, cents) in cases {
            let price = Money::price(dec(text));
            assert_eq!(
                price.clone().ok().and_then(|p| p.cents().ok()),
                cents,
                "{text}"
            );
            if let Ok(price) = price {
                assert_eq!(price.amount().scale(), 2, "{text}");
            }
        }
    }

    #[test]
    fn line_totals_are_exact() {
        let cases = [
            ("1.19", 3, "3.57"),
            ("0.10", 3, "0.30"),
            ("2.00", 1, "2.00"),
            ("999999.99", 10_000, "9999999900.00"),
            ("0.01", 10_000, "100.00"),
        ];
        for (price, quantity, total) in cases {
            let price = Money::price(dec(price)).unwrap();
            assert_eq!(
                price.times(quantity).to_string(),
                total,
                "{price} × {quantity}"
            );
        }
    }

    #[test]
    fn sums_are_exact_and_overflow_is_reported() {
        let tenth = Money::price(dec("0.10")).unwrap();
        let mut sum = Money::ZERO;
        for _ in 0..10 {
            sum = sum.checked_add(tenth).unwrap();
        }
        assert_eq!(sum.to_string(), "1.00");
        let huge = Money(Decimal::MAX);
        assert_eq!(huge.checked_add(Money::from_cents(100)), None);
        assert!(huge.cents().is_err());
    }
}
