//! The data the scenarios read: an administrator, the catalogue, a customer with a token and
//! an open order, and the accounts the login storm picks from.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use super::processes::{Launcher, Service};
use super::BoxError;

const ADMIN: (&str, &str, &str) = ("benchadmin", "benchadmin@example.com", "BenchAdmin123");
/// The customer, and the password of every account of the login storm.
pub const USER: (&str, &str, &str) = ("benchuser", "benchuser@example.com", "BenchUser123");
/// The catalogue: `BEERS` beers with the SKUs `FIRST_SKU` onwards.
pub const FIRST_SKU: u32 = 200_000;
pub const BEERS: u32 = 100;

pub struct Data {
    /// The customer's token; their open order has one line.
    pub token: String,
    /// One form body per account of the login storm.
    pub login_bodies: String,
}

/// Makes the data through the services' own API (the administrator through
/// `tasks users create-admin`, which `exe` is).
pub async fn seed(
    exe: &Path,
    launcher: &Launcher,
    users: &Service,
    beers: &Service,
    orders: &Service,
    concurrency: u64,
) -> Result<Data, BoxError> {
    let http = &launcher.http;
    let mut create_admin = Command::new(exe)
        .args([
            "users",
            "create-admin",
            "--username",
            ADMIN.0,
            "--email",
            ADMIN.1,
            "--password-stdin",
        ])
        .envs(launcher.env("users", "users", users.port))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    if let Some(mut stdin) = create_admin.stdin.take() {
        std::io::Write::write_all(&mut stdin, format!("{}\n", ADMIN.2).as_bytes())?;
    }
    let status = create_admin.wait()?;
    if !status.success() {
        return Err("tasks users create-admin failed".into());
    }
    let admin_token = login(http, &users.url, ADMIN.0, ADMIN.2).await?;
    for i in 0..BEERS {
        let sku = (FIRST_SKU + i).to_string();
        let name = format!("Bench beer {i}");
        http.post(format!("{}/api/beers", beers.url))
            .header("Authorization", &admin_token)
            .form(&[("sku", &*sku), ("name", &name), ("price", "2.50")])
            .send()
            .await?
            .error_for_status()?;
    }
    http.post(format!("{}/api/users/register", users.url))
        .form(&[
            ("username", USER.0),
            ("mail", USER.1),
            ("first_name", "Bench"),
            ("last_name", "User"),
            ("password", USER.2),
        ])
        .send()
        .await?
        .error_for_status()?;
    let token = login(http, &users.url, USER.0, USER.2).await?;
    http.put(format!("{}/api/orders/current", orders.url))
        .header("Authorization", &token)
        .form(&[("sku", &*FIRST_SKU.to_string()), ("quantity", "1")])
        .send()
        .await?
        .error_for_status()?;
    // A pool of customers for the login storm: one account under 32 concurrent logins is
    // refused (429) by the per-username throttle, which counts attempts in flight.
    let pool_size = (2 * concurrency).max(64);
    let mut registering = tokio::task::JoinSet::new();
    for i in 0..pool_size {
        // A few at a time, so setup does not set the users service's peak memory.
        if registering.len() >= 4 {
            if let Some(done) = registering.join_next().await {
                done??;
            }
        }
        let http = http.clone();
        let url = format!("{}/api/users/register", users.url);
        registering.spawn(async move {
            http.post(url)
                .form(&[
                    ("username", format!("login{i}")),
                    ("mail", format!("login{i}@example.com")),
                    ("first_name", "Log".into()),
                    ("last_name", "In".into()),
                    ("password", USER.2.into()),
                ])
                .send()
                .await?
                .error_for_status()
                .map(drop)
        });
    }
    while let Some(done) = registering.join_next().await {
        done??;
    }
    let login_bodies = (0..pool_size)
        .map(|i| format!("username=login{i}&password={}\n", USER.2))
        .collect();
    Ok(Data {
        token,
        login_bodies,
    })
}

/// Logs in and answers the token.
async fn login(
    http: &reqwest::Client,
    users_url: &str,
    username: &str,
    password: &str,
) -> Result<String, BoxError> {
    let r = http
        .post(format!("{users_url}/api/users/login"))
        .form(&[("username", username), ("password", password)])
        .send()
        .await?;
    let body: Value = r.error_for_status()?.json().await?;
    body["token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| BoxError::from("login answered no token"))
}
