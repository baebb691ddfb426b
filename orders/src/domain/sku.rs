//! A beer's stock-keeping unit, by the same rule as the beers catalogue.

/// 1–64 characters of `A-Z a-z 0-9 _ -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sku(String);

impl Sku {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let valid_chars = raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
        if (1..=64).contains(&raw.chars().count()) && valid_chars {
            Ok(Sku(raw.to_owned()))
        } else {
            Err("must be 1–64 characters of A-Z a-z 0-9 _ -".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Sku {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skus_follow_the_catalogue_rule() {
        let long = "a".repeat(64);
        let too_long = "a".repeat(65);
        let cases: [(&str, bool); 12] = [
            ("123456", true),
            ("T-ab_12", true),
            ("x", true),
            (&long, true),
            ("", false),
            (&too_long, false),
            (" 123", false),
            ("12 3", false),
            ("12.3", false),
            ("12/3", false),
            ("Бургаско", false),
            ("a%2Fb", false),
        ];
        for (raw, accepted) in cases {
            assert_eq!(Sku::parse(raw).is_ok(), accepted, "{raw:?}");
        }
    }

    #[test]
    fn a_sku_keeps_its_text() {
        assert_eq!(Sku::parse("T-1").unwrap().as_str(), "T-1");
        assert_eq!(Sku::parse("T-1").unwrap().to_string(), "T-1");
    }
}
