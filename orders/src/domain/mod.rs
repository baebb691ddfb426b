//! The rules of ordering: what a SKU and a quantity may be, money, and what an order is.

mod money;
mod order;
mod quantity;
mod sku;

pub use money::Money;
pub use order::{order_total, Order, OrderLine};
pub use quantity::Quantity;
pub use sku::Sku;
