//! Passwords: what is acceptable, and hashing them with argon2id.

use std::cell::RefCell;
use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

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

thread_local! {
    /// This thread's argon2 working memory, kept from one hash to the next. argon2's own
    /// `hash_password` allocates and zeroes 19 MiB for every hash: the page faults cost time,
    /// and the blocks of several threads piled up in the allocator.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// argon2 of `password` and `salt` into `out`, in this thread's kept memory (which argon2
/// overwrites completely, so nothing carries over from the previous hash).
fn hash_into(
    argon2: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    BLOCKS.with_borrow_mut(|blocks| {
        let needed = argon2.params().block_count();
        if blocks.len() < needed {
            blocks.resize(needed, Block::default());
        }
        argon2.hash_password_into_with_memory(password, salt, out, &mut blocks[..needed])
    })
}

impl PasswordHasher {
    /// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) with a fresh random salt.
    pub fn hash(&self, password: &str) -> Result<String, String> {
        let salt = SaltString::generate(&mut OsRng);
        let mut salt_bytes = [0u8; Salt::MAX_LENGTH];
        let salt_bytes = salt
            .as_salt()
            .decode_b64(&mut salt_bytes)
            .map_err(|e| e.to_string())?;
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        hash_into(&self.argon2, password.as_bytes(), salt_bytes, &mut out)
            .map_err(|e| e.to_string())?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(self.argon2.params()).map_err(|e| e.to_string())?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(|e| e.to_string())?),
        };
        Ok(phc.to_string())
    }

    /// Whether `password` matches `stored`. With `stored = None` (no such user) it verifies
    /// against a dummy hash, so an unknown username costs as much as a wrong password.
    pub fn verify(&self, password: &str, stored: Option<&str>) -> bool {
        let stored = stored.unwrap_or_else(|| self.dummy_hash());
        Self::matches(password, stored) == Some(true) && stored != self.dummy_hash()
    }

    /// Recomputes the hash with the algorithm, version, parameters and salt that `stored`
    /// names; `None` when `stored` is not a usable PHC string.
    fn matches(password: &str, stored: &str) -> Option<bool> {
        let parsed = PasswordHash::new(stored).ok()?;
        let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
        let version = match parsed.version {
            Some(version) => Version::try_from(version).ok()?,
            None => Version::default(),
        };
        let params = Params::try_from(&parsed).ok()?;
        let expected = parsed.hash?;
        let mut salt_bytes = [0u8; Salt::MAX_LENGTH];
        let salt_bytes = parsed.salt?.decode_b64(&mut salt_bytes).ok()?;
        let mut out = vec![0u8; expected.len()];
        let argon2 = Argon2::new(algorithm, version, params);
        hash_into(&argon2, password.as_bytes(), salt_bytes, &mut out).ok()?;
        // `Output`'s equality is constant-time.
        Some(Output::new(&out).ok()? == expected)
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
    fn hashes_are_argon2s_own_and_verify_argon2s_own() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier};
        let ours = PasswordHasher::default();
        let library = ours.argon2.clone();
        // A hash made here verifies with the library, and the other way round.
        let made_here = ours.hash("Secret123").unwrap();
        let parsed = PasswordHash::new(&made_here).unwrap();
        assert!(library.verify_password(b"Secret123", &parsed).is_ok());
        assert!(library.verify_password(b"Secret124", &parsed).is_err());
        let salt = SaltString::generate(&mut OsRng);
        let made_there = library
            .hash_password(b"Secret123", &salt)
            .unwrap()
            .to_string();
        assert!(ours.verify("Secret123", Some(&made_there)));
        assert!(!ours.verify("Secret124", Some(&made_there)));
        // Other parameters (an older or stronger setting) are read from the stored hash.
        let stronger = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(MEMORY_KIB + 1024, PASSES + 1, 1, None).unwrap(),
        );
        let stored = stronger
            .hash_password(b"Secret123", &salt)
            .unwrap()
            .to_string();
        assert!(ours.verify("Secret123", Some(&stored)));
        assert!(!ours.verify("Secret12", Some(&stored)));
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
