//! The rules of accounts: what a username, address, name and password may be; tokens.

mod password;
mod person;
mod token;

pub use password::{Password, PasswordHasher};
pub use person::{Email, PersonName, Username};
pub use token::{Token, TokenHash};
