//! The JSON shapes of orders and their lines.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{Order, OrderLine};

/// An order as listed, without its lines.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderSummary {
    id: i64,
    is_open: bool,
    /// The sum of the lines while open; the total fixed at checkout once closed.
    #[schema(value_type = String, example = "4.88")]
    total: Decimal,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2026-11-22T10:00:00Z")]
    time_created: DateTime<Utc>,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2026-11-22T10:00:00Z")]
    time_modified: DateTime<Utc>,
}

/// An order with its lines.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderDetail {
    id: i64,
    is_open: bool,
    /// The sum of the lines while open; the total fixed at checkout once closed.
    #[schema(value_type = String, example = "4.88")]
    total: Decimal,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2026-11-22T10:00:00Z")]
    time_created: DateTime<Utc>,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2026-11-22T10:00:00Z")]
    time_modified: DateTime<Utc>,
    /// The lines, oldest first.
    beers: Vec<LineBody>,
}

/// One beer of an order.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineBody {
    id: i64,
    #[schema(example = "123456")]
    sku: String,
    #[schema(example = 2, minimum = 1, maximum = 10000)]
    quantity: i64,
    /// The price recorded when the beer was last added, or at checkout.
    #[schema(value_type = String, example = "1.19")]
    unit_price: Decimal,
    /// `unit_price × quantity`.
    #[schema(value_type = String, example = "2.38")]
    line_total: Decimal,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2026-11-22T10:00:00Z")]
    time_created: DateTime<Utc>,
    #[serde(with = "shared::time::rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2026-11-22T10:00:00Z")]
    time_modified: DateTime<Utc>,
}

impl OrderSummary {
    pub fn of(order: &Order) -> Self {
        OrderSummary {
            id: order.id,
            is_open: order.is_open,
            total: order.total.amount(),
            time_created: order.time_created,
            time_modified: order.time_modified,
        }
    }
}

impl OrderDetail {
    pub fn of(order: &Order, lines: &[OrderLine]) -> Self {
        OrderDetail {
            id: order.id,
            is_open: order.is_open,
            total: order.total.amount(),
            time_created: order.time_created,
            time_modified: order.time_modified,
            beers: lines.iter().map(LineBody::of).collect(),
        }
    }
}

impl LineBody {
    fn of(line: &OrderLine) -> Self {
        LineBody {
            id: line.id,
            sku: line.sku.as_str().to_owned(),
            quantity: line.quantity.get(),
            unit_price: line.unit_price.amount(),
            line_total: line.line_total().amount(),
            time_created: line.time_created,
            time_modified: line.time_modified,
        }
    }
}
