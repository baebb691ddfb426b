//! The users API: registration, login, logout, existence and token checks, password changes
//! and logging out everywhere.

mod accounts;
mod credentials;
mod sessions;
mod ui;

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
        credentials::change_password,
        credentials::logout_all,
        ui::fragment,
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
        credentials::change_password,
        credentials::logout_all,
        ui::fragment,
    ),
    components(schemas(
        shared::dto::User,
        shared::error::ErrorBody,
        accounts::RegistrationFields,
        sessions::LoginFields,
        sessions::TokenFields,
        sessions::TokenBody,
        credentials::PasswordChangeFields,
    )),
    modifiers(&TokenAuth),
    tags(
        (name = "users", description = "Accounts and sessions"),
        (name = "storefront", description = "The account fragment of the storefront (a custom element)"),
    )
)]
pub struct ApiDoc;
