//! The reference catalogue the original project shipped with.

use super::{BeerDetails, BeerName, Image, NewBeer, Price, Sku};

/// SKU, name and price of each reference beer, in the order they are added.
const REFERENCE: [(&str, &str, &str); 3] = [
    ("123456", "Бургаско", "1.19"),
    ("123457", "Загорка", "2.00"),
    ("123458", "Tuborg", "1.50"),
];

/// The reference beers, in order. Every entry is checked by the tests below, so none is
/// ever dropped for failing to parse.
pub fn reference_catalogue() -> Vec<NewBeer> {
    REFERENCE
        .iter()
        .filter_map(|(sku, name, price)| {
            Some(NewBeer {
                sku: Sku::parse(sku).ok()?,
                details: BeerDetails {
                    name: BeerName::parse(name).ok()?,
                    price: Price::parse(price).ok()?,
                    image: Image::none(),
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_catalogue_has_its_three_beers() {
        let beers: Vec<_> = reference_catalogue()
            .into_iter()
            .map(|b| {
                (
                    b.sku.as_str().to_owned(),
                    b.details.name.as_str().to_owned(),
                    b.details.price.to_string(),
                )
            })
            .collect();
        let expected: Vec<_> = REFERENCE
            .iter()
            .map(|(s, n, p)| (s.to_string(), n.to_string(), p.to_string()))
            .collect();
        assert_eq!(beers, expected);
    }
}
