//! Who someone is: username, e-mail address and names, each parsed once at the edge.

use shared::text::{is_invisible_or_bidi_control, INVISIBLE_OR_BIDI};
use unicode_normalization::UnicodeNormalization;

pub const USERNAME_MAX_CHARS: usize = 64;

/// 3–64 characters of `A-Z a-z 0-9 _ . -`, kept as written; unique by its [`key`](Self::key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, String> {
        // Bytes are characters in a valid name: the length is checked first, so a
        // 65,000-byte name is refused without reading it.
        let valid = (3..=USERNAME_MAX_CHARS).contains(&raw.len())
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if valid {
            Ok(Username(raw.to_owned()))
        } else {
            Err("must be 3–64 characters of A-Z a-z 0-9 _ . -".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What makes two usernames the same account name: `Boss`, `boss` and `BOSS` share one.
    pub fn key(&self) -> String {
        username_key(&self.0)
    }
}

/// A name's uniqueness key: NFKC, then lower case. Usernames are ASCII, for which both steps
/// are plain lower-casing; they are spelled out so that the key stays right if the alphabet
/// ever widens.
pub fn username_key(name: &str) -> String {
    name.nfkc().collect::<String>().to_lowercase()
}

/// An e-mail address, kept in lower case so that one mailbox has one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let address = raw.trim().to_lowercase();
        if is_plausible_address(&address) {
            Ok(Email(address))
        } else {
            Err("must be a valid e-mail address".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `local@domain.tld`: a printable local part without spaces, a domain of dot-separated
/// labels of letters, digits and hyphens. Deliberately simpler than RFC 5322: the only real
/// proof of an address is mail that arrives.
fn is_plausible_address(address: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| {
            c.is_ascii_graphic()
                && !matches!(
                    c,
                    '@' | '"' | '(' | ')' | ',' | ':' | ';' | '<' | '>' | '[' | '\\' | ']'
                )
        });
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    local_ok && domain_ok && address.len() <= 254
}

/// A first or last name: 1–255 characters after trimming, no control characters, no
/// bidirectional controls or zero-width characters (see [`is_invisible_or_bidi_control`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        let length = name.chars().count();
        if !(1..=255).contains(&length) {
            return Err("must be 1–255 characters after trimming".into());
        }
        if name.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        if name.chars().any(is_invisible_or_bidi_control) {
            return Err(INVISIBLE_OR_BIDI.into());
        }
        Ok(PersonName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_3_to_64_safe_characters() {
        let accepted = ["abc", "john.doe", "a_b-c", "A12", &"x".repeat(64)];
        let rejected = [
            "ab",
            "",
            "john doe",
            "jöhn",
            "a/b",
            "a@b",
            &"x".repeat(65),
            &"x".repeat(65_000),
            "adm\u{200B}in",
            "\u{202E}nimda",
            "ａdmin",
        ];
        for raw in accepted {
            assert!(Username::parse(raw).is_ok(), "{raw}");
        }
        for raw in rejected {
            assert!(Username::parse(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn usernames_are_kept_as_written_and_keyed_without_case() {
        let boss = Username::parse("Boss").unwrap();
        assert_eq!(boss.as_str(), "Boss");
        for same in ["boss", "BOSS", "bOsS"] {
            assert_eq!(Username::parse(same).unwrap().key(), boss.key(), "{same}");
        }
        assert_ne!(Username::parse("b0ss").unwrap().key(), boss.key());
        assert_eq!(username_key("John.Doe_1"), "john.doe_1");
        // NFKC first: the full-width letters a future alphabet might admit key as ASCII.
        assert_eq!(username_key("ＢＯＳＳ"), "boss");
    }

    #[test]
    fn email_addresses_are_checked_and_lower_cased() {
        assert_eq!(
            Email::parse(" John@Example.COM ").unwrap().as_str(),
            "john@example.com"
        );
        let accepted = [
            "a@b.co",
            "first.last+tag@mail.example.org",
            "x_y@sub-domain.io",
        ];
        let rejected = [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a b@c.com",
            "a@b..com",
            "a@-b.com",
            ".a@b.com",
            "a..b@c.com",
            "a@b.c_m",
            "a@@b.com",
        ];
        for raw in accepted {
            assert!(Email::parse(raw).is_ok(), "{raw}");
        }
        for raw in rejected {
            assert!(Email::parse(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn names_with_bidi_controls_or_zero_width_characters_are_refused() {
        for raw in [
            "Ad\u{200B}min",
            "\u{202E}nivI",
            "Iv\u{200D}an",
            "\u{2066}Ivan\u{2069}",
            "Ivan\u{200F}",
            "\u{FEFF}Ivan",
            "Iv\u{2060}an",
            "Ива\u{061C}н",
        ] {
            assert_eq!(
                PersonName::parse(raw).err().as_deref(),
                Some(INVISIBLE_OR_BIDI),
                "{raw:?}"
            );
        }
        for raw in ["Иван", "محمد", "Zoë", "O'Brien", "Jean-Luc", "李"] {
            assert!(PersonName::parse(raw).is_ok(), "{raw}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(PersonName::parse("  Иван ").unwrap().as_str(), "Иван");
        for raw in ["", "   ", "a\u{0}b", &"n".repeat(256)] {
            assert!(PersonName::parse(raw).is_err(), "{raw:?}");
        }
        assert!(PersonName::parse(&"n".repeat(255)).is_ok());
    }
}
