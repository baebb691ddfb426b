//! A beer's stock-keeping unit, as the contract defines it: the one type for a SKU in the
//! catalogue, in orders and in the calls between them.

/// 1–64 characters of `A-Z a-z 0-9 _ -`, taken exactly as written: a SKU is an identifier,
/// so `" 123"` is not `"123"` but not a SKU at all, in a form as in a path or a query.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sku(String);

/// What is wrong with a text that is not a SKU.
pub const SKU_RULE: &str = "must be 1–64 characters of A-Z a-z 0-9 _ -";

impl Sku {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let valid_chars = raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
        // All characters are ASCII here, so the byte length is the character count.
        if (1..=64).contains(&raw.len()) && valid_chars {
            Ok(Sku(raw.to_owned()))
        } else {
            Err(SKU_RULE.into())
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
    fn skus_are_1_to_64_safe_characters_exactly_as_written() {
        let long = "S".repeat(64);
        let accepted = ["123456", "a", "x", "T-ab_12", "ABC_def-09", "-_-", &long];
        for raw in accepted {
            assert_eq!(Sku::parse(raw).map(|s| s.0), Ok(raw.to_owned()), "{raw:?}");
        }
        let too_long = "S".repeat(65);
        let rejected = [
            "",
            "   ",
            " 123",
            "  123457 ",
            "bad sku",
            "12 3",
            "sku!",
            "a/b",
            "12/3",
            "a.b",
            "12.3",
            "скю",
            "Бургаско",
            "ß1",
            "12\u{0}3",
            "a\tb",
            "a%2Fb",
            &too_long,
        ];
        for raw in rejected {
            assert_eq!(Sku::parse(raw), Err(SKU_RULE.to_owned()), "{raw:?}");
        }
    }

    #[test]
    fn a_sku_keeps_its_text() {
        assert_eq!(Sku::parse("T-1").unwrap().as_str(), "T-1");
        assert_eq!(Sku::parse("T-1").unwrap().to_string(), "T-1");
    }
}
