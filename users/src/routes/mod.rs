//! The users API: registration, login, logout, existence and token checks.

mod accounts;
mod sessions;

use rocket::Route;
use shared::ops::TokenAuth;
use utoipa::OpenApi;

pub fn routes() -> Vec<Route> {
    rocket::routes![
        accounts::register,
        accounts::exists,
        sessions::login,
        sessions::logout,
        sessions::check_token,
    ]
}

#[derive(OpenApi)]
#[openapi(
    info(title = "users", description = "Accounts, passwords, sessions (tokens) and roles of the brewery trio."),
    paths(
        accounts::register,
        accounts::exists,
        sessions::login,
        sessions::logout,
        sessions::check_token,
    ),
    components(schemas(
        shared::dto::User,
        shared::error::ErrorBody,
        accounts::Registration,
        sessions::Credentials,
        sessions::TokenField,
        sessions::TokenBody,
    )),
    modifiers(&TokenAuth),
    tags((name = "users", description = "Accounts and sessions"))
)]
pub struct ApiDoc;
