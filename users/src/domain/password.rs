//! Passwords: what is acceptable, and hashing them with argon2id.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// 8–128 characters with at least one digit, one upper-case and one lower-case letter.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let length = raw.chars().count();
        let rule = "must be 8–128 characters with a digit, an upper-case and a lower-case letter";
        let has = |test: fn(&char) -> bool| raw.chars().any(|c| test(&c));
        if (8..=128).contains(&length)
            && has(char::is_ascii_digit)
            && has(|c| c.is_uppercase())
            && has(|c| c.is_lowercase())
        {
            Ok(Password(raw.to_owned()))
        } else {
            Err(rule.into())
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Never print a password, not even in a debug log.
impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(…)")
    }
}

/// argon2id with OWASP's minimum: 19 MiB of memory, 2 passes, 1 lane.
#[derive(Clone)]
pub struct PasswordHasher {
    argon2: Argon2<'static>,
}

pub const MEMORY_KIB: u32 = 19 * 1024;
pub const PASSES: u32 = 2;

impl Default for PasswordHasher {
    fn default() -> Self {
        // The parameters are constants within argon2's documented bounds.
        let params = Params::new(MEMORY_KIB, PASSES, 1, None)
            .unwrap_or_else(|_| unreachable!("constant argon2 parameters are valid"));
        PasswordHasher {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
        }
    }
}

impl PasswordHasher {
    /// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) with a fresh random salt.
    pub fn hash(&self, password: &str) -> Result<String, String> {
        let salt = SaltString::generate(&mut OsRng);
        self.argon2
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| e.to_string())
    }

    /// Whether `password` matches `stored`. With `stored = None` (no such user) it verifies
    /// against a dummy hash, so an unknown username costs as much as a wrong password.
    pub fn verify(&self, password: &str, stored: Option<&str>) -> bool {
        let stored = stored.unwrap_or_else(|| self.dummy_hash());
        match PasswordHash::new(stored) {
            Ok(parsed) => {
                self.argon2
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
                    && stored != self.dummy_hash()
            }
            Err(_) => false,
        }
    }

    fn dummy_hash(&self) -> &'static str {
        static DUMMY: OnceLock<String> = OnceLock::new();
        DUMMY.get_or_init(|| {
            self.hash("no account has this password")
                .unwrap_or_default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_need_length_digit_and_both_cases() {
        let accepted = [
            "Secret123",
            "aB3aB3aB",
            &format!("Aa1{}", "x".repeat(125)),
            "Пароль12a",
        ];
        let rejected = [
            "",
            "Short1a",
            "alllower123",
            "ALLUPPER123",
            "NoDigitsHere",
            &format!("Aa1{}", "x".repeat(126)),
        ];
        for raw in accepted {
            assert!(Password::parse(raw).is_ok(), "{raw}");
        }
        for raw in rejected {
            assert!(Password::parse(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hasher = PasswordHasher::default();
        let hash = hasher.hash("Secret123").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(hasher.verify("Secret123", Some(&hash)));
        assert!(!hasher.verify("Secret124", Some(&hash)));
        assert!(!hasher.verify("Secret123", Some("not a hash")));
    }

    #[test]
    fn an_unknown_user_never_verifies() {
        let hasher = PasswordHasher::default();
        assert!(!hasher.verify("no account has this password", None));
        assert!(!hasher.verify("Secret123", None));
    }

    #[test]
    fn passwords_are_not_printed() {
        let password = Password::parse("Secret123").unwrap();
        assert!(!format!("{password:?}").contains("Secret"));
    }
}
