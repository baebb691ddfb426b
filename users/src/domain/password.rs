//! Passwords: what is acceptable, and hashing them with argon2id.

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use unicode_normalization::UnicodeNormalization;

/// 8–128 characters of anything, as NIST SP 800-63B asks: no composition rules, refused
/// only when among the most commonly breached passwords. Kept in Unicode's NFKC form, so the
/// same password typed on two keyboards (a precomposed `é` or `e` + U+0301, a full-width
/// `Ａ` or `A`) is one password; characters are counted after normalising.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

pub const PASSWORD_MIN_CHARS: usize = 8;
pub const PASSWORD_MAX_CHARS: usize = 128;
pub const BREACHED: &str = "is among the most commonly breached passwords; choose another";

impl Password {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let password = normalise(raw);
        let length = password.chars().count();
        if length < PASSWORD_MIN_CHARS {
            return Err(format!("must be at least {PASSWORD_MIN_CHARS} characters"));
        }
        if length > PASSWORD_MAX_CHARS {
            return Err(format!("must be at most {PASSWORD_MAX_CHARS} characters"));
        }
        if is_commonly_breached(&password) {
            return Err(BREACHED.into());
        }
        Ok(Password(password))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A password as it is hashed: NFKC (NIST SP 800-63B, 5.1.1.2).
fn normalise(raw: &str) -> String {
    raw.nfkc().collect()
}

/// zxcvbn's list of the 30,000 most common passwords (its licence heads the file), read once
/// into a set: a lookup is one hash, whatever the list's length.
fn is_commonly_breached(password: &str) -> bool {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    let list = LIST.get_or_init(|| {
        include_str!("breached-passwords.txt")
            .lines()
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .collect()
    });
    list.contains(password.to_lowercase().as_str())
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
    ///
    /// The password is normalised (NFKC) as it was when hashed. A hash stored before
    /// passwords were normalised was made of the characters as typed: when they are not
    /// already in NFKC form and the normalised ones do not match, they are tried as typed.
    /// An unknown username takes the same path (the dummy hash matches neither).
    pub fn verify(&self, password: &str, stored: Option<&str>) -> bool {
        let stored = stored.unwrap_or_else(|| self.dummy_hash());
        let normalised = normalise(password);
        let matches = Self::matches(&normalised, stored) == Some(true)
            || (normalised != password && Self::matches(password, stored) == Some(true));
        matches && stored != self.dummy_hash()
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
    fn passwords_are_8_to_128_characters_of_anything_and_not_commonly_breached() {
        let longest = "x".repeat(127) + "é";
        let accepted = [
            "aB3aB3aB",
            "alllowercase but long",
            "NOUPPERCASE-NO-DIGITS",
            "        🍺",
            "        ",
            "Пароль без цифр",
            "pässwörd-of-mine",
            longest.as_str(),
        ];
        for raw in accepted {
            assert!(Password::parse(raw).is_ok(), "{raw:?}");
        }
        let too_long = "x".repeat(129);
        let ligatures = "\u{FB01}".repeat(65);
        let rejected = [
            ("", "must be at least 8 characters"),
            ("seven77", "must be at least 8 characters"),
            ("🍺🍺🍺🍺🍺🍺🍺", "must be at least 8 characters"),
            (too_long.as_str(), "must be at most 128 characters"),
            (ligatures.as_str(), "must be at most 128 characters"),
            ("Password1", BREACHED),
            ("password123", BREACHED),
            ("PASSWORD123", BREACHED),
            ("Secret123", BREACHED),
            ("qwertyuiop", BREACHED),
            ("iloveyou", BREACHED),
            // Full-width letters are the same password once normalised.
            ("\u{FF30}assword1", BREACHED),
        ];
        for (raw, rule) in rejected {
            assert_eq!(Password::parse(raw).err().as_deref(), Some(rule), "{raw:?}");
        }
    }

    #[test]
    fn passwords_are_kept_in_nfkc_form() {
        let composed = Password::parse("caf\u{E9} au lait").unwrap();
        let decomposed = Password::parse("cafe\u{301} au lait").unwrap();
        assert_eq!(composed, decomposed);
        assert_eq!(composed.expose(), "caf\u{E9} au lait");
        let full_width = Password::parse("\u{FF21}\u{FF22}\u{FF23}-brewing").unwrap();
        assert_eq!(full_width.expose(), "ABC-brewing");
    }

    #[test]
    fn the_breached_list_is_read_whole() {
        let entries = include_str!("breached-passwords.txt")
            .lines()
            .filter(|line| !line.starts_with('#'))
            .count();
        assert_eq!(entries, 30_000);
        // The first, the last and one with an apostrophe in between.
        for common in ["123456", "geekboy", "pic's"] {
            assert!(is_commonly_breached(common), "{common}");
        }
        assert!(!is_commonly_breached("# the licence is not a password"));
    }

    #[test]
    fn a_password_verifies_in_either_normal_form() {
        let hasher = PasswordHasher::default();
        let password = Password::parse("cafe\u{301} au lait").unwrap();
        let hash = hasher.hash(password.expose()).unwrap();
        assert!(hasher.verify("caf\u{E9} au lait", Some(&hash)));
        assert!(hasher.verify("cafe\u{301} au lait", Some(&hash)));
        // A hash made before passwords were normalised: of the characters as typed.
        let typed = "cafe\u{301} au lait, as typed";
        let legacy = hasher.hash(typed).unwrap();
        assert!(hasher.verify(typed, Some(&legacy)));
        assert!(!hasher.verify("cafe au lait, as typed", Some(&legacy)));
        assert!(!hasher.verify(typed, None));
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
        let password = Password::parse("Hoppy-Lager-42").unwrap();
        assert!(!format!("{password:?}").contains("Hoppy"));
    }
}
