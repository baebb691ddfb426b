//! The rules of accounts: what a username, address, name and password may be; tokens.

mod password;
mod person;
mod throttle;
mod token;

pub use password::{Password, PasswordHasher};
pub use person::{Email, PersonName, Username};
pub use throttle::{retry_after_secs, EarlierAttempts, LoginThrottle, KNOWN_CLIENTS_PER_ACCOUNT};
pub use token::{Token, TokenHash};
