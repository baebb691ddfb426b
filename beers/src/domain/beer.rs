//! A beer's identity and description: SKU, name and image, each parsed once at the edge.

use shared::Sku;

use super::Price;

/// What a beer is called: 1–255 characters after trimming, kept trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BeerName(String);

impl BeerName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if !(1..=255).contains(&name.chars().count()) {
            return Err("must be 1–255 characters after trimming".into());
        }
        // A line break or NUL in a name would corrupt every list and receipt it is printed on.
        if name.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        Ok(BeerName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

const IMAGE_MAX_CHARS: usize = 2048;

/// Where a picture of the beer is, if anywhere: at most 2048 characters; blank means none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Image(Option<String>);

impl Image {
    pub fn none() -> Self {
        Image(None)
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        let image = raw.trim();
        if image.is_empty() {
            return Ok(Image(None));
        }
        if image.chars().count() > IMAGE_MAX_CHARS {
            return Err(format!("must be at most {IMAGE_MAX_CHARS} characters"));
        }
        if image.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        Ok(Image(Some(image.to_owned())))
    }

    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

/// Everything about a beer that an update replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BeerDetails {
    pub name: BeerName,
    pub price: Price,
    pub image: Image,
}

/// A beer about to join the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBeer {
    pub sku: Sku,
    pub details: BeerDetails,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_1_to_255_characters() {
        let longest = "Б".repeat(255);
        let accepted = [
            ("Tuborg", "Tuborg"),
            ("  Загорка\t", "Загорка"),
            ("Пиринско светло", "Пиринско светло"),
            ("x", "x"),
            (longest.as_str(), longest.as_str()),
        ];
        for (raw, expected) in accepted {
            assert_eq!(
                BeerName::parse(raw).map(|n| n.0),
                Ok(expected.to_owned()),
                "{raw:?}"
            );
        }
        let too_long = "Б".repeat(256);
        let rejected = [
            "",
            "   ",
            "\n\t",
            "Two\nlines",
            "nul\u{0}",
            too_long.as_str(),
        ];
        for raw in rejected {
            assert!(BeerName::parse(raw).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn images_are_optional_and_at_most_2048_characters() {
        let longest = "i".repeat(2048);
        let accepted = [
            ("", None),
            ("   ", None),
            (
                "https://example.com/p.png",
                Some("https://example.com/p.png"),
            ),
            (" /img/tuborg.jpg ", Some("/img/tuborg.jpg")),
            (longest.as_str(), Some(longest.as_str())),
        ];
        for (raw, expected) in accepted {
            let image = Image::parse(raw);
            assert_eq!(image.as_ref().map(Image::as_deref), Ok(expected), "{raw:?}");
        }
        let too_long = "i".repeat(2049);
        let rejected = [too_long.as_str(), "a\nb", "\u{7}"];
        for raw in rejected {
            assert!(Image::parse(raw).is_err(), "{raw:?}");
        }
        assert_eq!(Image::none().as_deref(), None);
    }
}
