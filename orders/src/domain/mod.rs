//! The rules of ordering: what a quantity may be, money, and what an order is (a SKU is
//! the contract's, `shared::Sku`).

mod order;
mod quantity;

pub use order::{order_total, Order, OrderLine};
pub use quantity::Quantity;
pub use shared::Money;
pub use shared::Sku;
