//! What an order is: a user's open basket of lines, or a closed order with a fixed total.

use chrono::{DateTime, Utc};

use super::{Money, Quantity, Sku};

/// One beer in an order, at the price recorded when it was last added (or at checkout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLine {
    pub id: i64,
    pub sku: Sku,
    pub quantity: Quantity,
    pub unit_price: Money,
    pub time_created: DateTime<Utc>,
    pub time_modified: DateTime<Utc>,
}

impl OrderLine {
    pub fn line_total(&self) -> Money {
        self.unit_price.times(self.quantity.get())
    }
}

/// An order. `total` is the sum of the lines while it is open, and the total fixed at
/// checkout once it is closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: i64,
    pub is_open: bool,
    pub total: Money,
    pub time_created: DateTime<Utc>,
    pub time_modified: DateTime<Utc>,
}

/// The sum of the lines' totals, exact; `Err` only if it would not fit a decimal.
pub fn order_total<'a>(lines: impl IntoIterator<Item = &'a OrderLine>) -> Result<Money, String> {
    lines.into_iter().try_fold(Money::ZERO, |sum, line| {
        sum.checked_add(line.line_total())
            .ok_or_else(|| "the order total is too large".to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(price_cents: i64, quantity: i64) -> OrderLine {
        let now = Utc::now();
        OrderLine {
            id: 1,
            sku: Sku::parse("123456").unwrap(),
            quantity: Quantity::from_count(quantity).unwrap(),
            unit_price: Money::from_cents(price_cents),
            time_created: now,
            time_modified: now,
        }
    }

    #[test]
    fn a_line_total_is_its_price_times_its_quantity() {
        let cases = [
            (119, 1, "1.19"),
            (119, 3, "3.57"),
            (150, 2, "3.00"),
            (1, 10_000, "100.00"),
        ];
        for (cents, quantity, total) in cases {
            assert_eq!(line(cents, quantity).line_total().to_string(), total);
        }
    }

    #[test]
    fn an_order_total_is_the_sum_of_its_lines() {
        let cases: [(Vec<(i64, i64)>, &str); 4] = [
            (vec![], "0.00"),
            (vec![(119, 2)], "2.38"),
            (vec![(119, 2), (200, 1), (150, 3)], "8.88"),
            (vec![(10, 1); 10], "1.00"),
        ];
        for (lines, total) in cases {
            let lines: Vec<OrderLine> = lines.iter().map(|&(c, q)| line(c, q)).collect();
            assert_eq!(order_total(&lines).unwrap().to_string(), total, "{lines:?}");
        }
    }
}
