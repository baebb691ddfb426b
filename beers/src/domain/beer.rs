//! A beer's identity and description: SKU, name and image, each parsed once at the edge.

use shared::text::{is_invisible_or_bidi_control, INVISIBLE_OR_BIDI};
use shared::Sku;

use super::Price;

/// What a beer is called: 1–255 characters after trimming, kept trimmed; no control, bidi
/// control or zero-width characters, as in a person's name (a shopper must be able to trust
/// that the name on the receipt is the one on the shelf).
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
        if name.chars().any(is_invisible_or_bidi_control) {
            return Err(INVISIBLE_OR_BIDI.into());
        }
        Ok(BeerName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

const IMAGE_MAX_CHARS: usize = 2048;

/// Where a picture of the beer is, if anywhere: an `https:` URL or a path on the catalogue's
/// own origin (`/img/tuborg.jpg`), at most 2048 characters; blank means none. Every shopper's
/// browser fetches it, so nothing else is taken: no `javascript:` or `data:`, no plain
/// `http:`, no `//host/…` (a path to the browser, another host in fact).
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
        let refused = || "must be an https: URL or a path starting with / on this site".to_owned();
        let address = if image.starts_with('/') {
            same_origin_path(image)
        } else {
            https_url(image)
        };
        match address {
            Some(address) if address.chars().count() <= IMAGE_MAX_CHARS => Ok(Image(Some(address))),
            Some(_) => Err(format!("must be at most {IMAGE_MAX_CHARS} characters")),
            None => Err(refused()),
        }
    }

    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

/// An absolute `https:` URL with a host and no credentials, as a browser reads it (the WHATWG
/// parser), kept in the form the parser writes, which is the form browsers fetch.
fn https_url(image: &str) -> Option<String> {
    let url = url::Url::parse(image).ok()?;
    let acceptable = url.scheme() == "https"
        && url.host().is_some()
        && url.username().is_empty()
        && url.password().is_none();
    acceptable.then(|| url.to_string())
}

/// A path on the catalogue's own origin: read the way a browser reads it relative to the
/// page, it must stay on that page's origin. `//evil.example/x` and `/\evil.example/x` (a
/// browser turns `\` into `/`) leave it, so they are refused. Kept as the path, query and
/// fragment the parser writes (spaces and the like percent-encoded).
fn same_origin_path(image: &str) -> Option<String> {
    let page = url::Url::parse("https://catalogue.invalid/").ok()?;
    let resolved = page.join(image).ok()?;
    if image.contains('\\') || image.starts_with("//") || resolved.origin() != page.origin() {
        return None;
    }
    Some(resolved[url::Position::BeforePath..].to_owned())
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
            "Tu\u{200B}borg",
            "\u{202E}grobuT",
            "\u{2066}Tuborg\u{2069}",
            too_long.as_str(),
        ];
        for raw in rejected {
            assert!(BeerName::parse(raw).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn images_are_optional_https_or_same_origin_paths_of_at_most_2048_characters() {
        let longest_url = format!("https://example.com/{}", "i".repeat(2048 - 20));
        let longest_path = format!("/{}", "i".repeat(2047));
        let accepted = [
            ("", None),
            ("   ", None),
            (
                "https://example.com/p.png",
                Some("https://example.com/p.png"),
            ),
            (
                "https://cdn.example.com:8443/a/b.jpg?w=200#top",
                Some("https://cdn.example.com:8443/a/b.jpg?w=200#top"),
            ),
            // As a browser reads it: host in lower case, a space percent-encoded.
            (
                "HTTPS://Example.COM/a b.png",
                Some("https://example.com/a%20b.png"),
            ),
            (" /img/tuborg.jpg ", Some("/img/tuborg.jpg")),
            ("/img/../beer.png?v=2", Some("/beer.png?v=2")),
            ("/img/a b.png", Some("/img/a%20b.png")),
            (longest_url.as_str(), Some(longest_url.as_str())),
            (longest_path.as_str(), Some(longest_path.as_str())),
        ];
        for (raw, expected) in accepted {
            let image = Image::parse(raw);
            assert_eq!(image.as_ref().map(Image::as_deref), Ok(expected), "{raw:?}");
        }
        let too_long = format!("https://example.com/{}", "i".repeat(2049 - 20));
        let rejected = [
            too_long.as_str(),
            "a\nb",
            "\u{7}",
            "javascript:alert(1)",
            "JavaScript:alert(document.cookie)",
            "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=",
            "http://example.com/p.png",
            "ftp://example.com/p.png",
            "//evil.example/p.png",
            "/\\evil.example/p.png",
            "\\\\evil.example\\p.png",
            "https://user:secret@example.com/p.png",
            "https://user@example.com/p.png",
            "https://",
            "img/tuborg.jpg",
            "tuborg.jpg",
            "?x=1",
            "#top",
        ];
        for raw in rejected {
            assert!(Image::parse(raw).is_err(), "{raw:?}");
        }
        assert_eq!(Image::none().as_deref(), None);
    }
}
