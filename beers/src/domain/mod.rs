//! The rules of the catalogue: what a SKU, a beer's name, a price and an image may be.

mod beer;
mod catalogue;
mod price;

pub use beer::{BeerDetails, BeerName, Image, NewBeer};
pub use catalogue::reference_catalogue;
pub use price::Price;
pub use shared::Sku;
