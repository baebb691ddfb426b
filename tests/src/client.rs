//! The three services' API as typed calls, so that a test reads like what it does:
//! `trio.add(&customer, "123456", "2")`, `trio.checkout(&customer)`.
//!
//! Each call sends one request the way docs/API.md writes it and returns the status and the
//! JSON body, asserting nothing: the test asserts what it means to. The helpers that do assert
//! success and hand back what a test builds on are on `Trio` itself (`customer`, `admin`,
//! `login`, `create_beer`); their answer-returning twins here are `try_login` and
//! `try_create_beer`. A request a test shapes on purpose (a JSON body, a path in its other
//! form, a header of its own) starts from `users_as`/`beers_as`/`orders_as`, or from
//! `Trio::users`/`beers`/`orders` when it carries no `Authorization` at all.

use reqwest::{Method, RequestBuilder, StatusCode};
use serde::Serialize;
use serde_json::Value;

use crate::{call, Account, Trio};

/// Whom a request is sent as: the value of its `Authorization` header.
pub trait Caller {
    fn authorization(&self) -> &str;
}

/// An account, by its token.
impl Caller for Account {
    fn authorization(&self) -> &str {
        &self.token
    }
}

/// Any value a test wants to try: a bare token, `Bearer <token>`, nonsense.
impl Caller for str {
    fn authorization(&self) -> &str {
        self
    }
}

impl Caller for String {
    fn authorization(&self) -> &str {
        self
    }
}

/// The API of one users, one beers and one orders service, one method per endpoint.
// The futures are awaited where the concrete `Trio` or `Client` is known, so whether they are
// `Send` is seen there; no caller is generic over `Api`.
#[allow(async_fn_in_trait)]
pub trait Api {
    fn http(&self) -> &reqwest::Client;
    fn users_url(&self) -> &str;
    fn beers_url(&self) -> &str;
    fn orders_url(&self) -> &str;

    /// A request to users as `who`, for the test to finish and send.
    fn users_as(&self, who: &(impl Caller + ?Sized), method: Method, path: &str) -> RequestBuilder {
        authorised(self.http(), self.users_url(), who, method, path)
    }

    /// A request to beers as `who`, for the test to finish and send.
    fn beers_as(&self, who: &(impl Caller + ?Sized), method: Method, path: &str) -> RequestBuilder {
        authorised(self.http(), self.beers_url(), who, method, path)
    }

    /// A request to orders as `who`, for the test to finish and send.
    fn orders_as(
        &self,
        who: &(impl Caller + ?Sized),
        method: Method,
        path: &str,
    ) -> RequestBuilder {
        authorised(self.http(), self.orders_url(), who, method, path)
    }

    /// `POST /api/users/register` with `form` (a registration's fields, any of them left out or
    /// wrong as the test likes).
    async fn register(&self, form: impl Serialize) -> (StatusCode, Value) {
        let url = format!("{}/api/users/register", self.users_url());
        call(self.http().post(url).form(&form)).await
    }

    /// `POST /api/users/login`, whatever it answers (`Trio::login` wants a token).
    async fn try_login(&self, username: &str, password: &str) -> (StatusCode, Value) {
        let url = format!("{}/api/users/login", self.users_url());
        let form = [("username", username), ("password", password)];
        call(self.http().post(url).form(&form)).await
    }

    /// `POST /api/users/logout` of `token`.
    async fn logout(&self, token: &str) -> (StatusCode, Value) {
        let url = format!("{}/api/users/logout", self.users_url());
        call(self.http().post(url).form(&[("token", token)])).await
    }

    /// `POST /api/users/check_token`: the token's user, or why not.
    async fn check_token(&self, token: &str) -> (StatusCode, Value) {
        let url = format!("{}/api/users/check_token", self.users_url());
        call(self.http().post(url).form(&[("token", token)])).await
    }

    /// `GET /api/users/exists?username=…`.
    async fn username_exists(&self, username: &str) -> (StatusCode, Value) {
        let url = format!("{}/api/users/exists", self.users_url());
        call(self.http().get(url).query(&[("username", username)])).await
    }

    /// `GET /api/beers/?{query}`: `query` as it goes on the wire (`limit=2&offset=1`,
    /// `sku=123456&sku=123458`), or empty for the first page.
    async fn beer_list(&self, query: &str) -> (StatusCode, Value) {
        let url = with_query(format!("{}/api/beers/", self.beers_url()), query);
        call(self.http().get(url)).await
    }

    /// `GET /api/beers/{sku}`.
    async fn beer(&self, sku: &str) -> (StatusCode, Value) {
        let url = format!("{}/api/beers/{sku}", self.beers_url());
        call(self.http().get(url)).await
    }

    /// `POST /api/beers/` as `who` with `form` (sku, name, price, image), whatever it answers
    /// (`Trio::create_beer` wants a 201).
    async fn try_create_beer(
        &self,
        who: &(impl Caller + ?Sized),
        form: impl Serialize,
    ) -> (StatusCode, Value) {
        call(self.beers_as(who, Method::POST, "/api/beers/").form(&form)).await
    }

    /// `PUT /api/beers/{sku}` as `who` with `form` (name, price, image).
    async fn update_beer(
        &self,
        who: &(impl Caller + ?Sized),
        sku: &str,
        form: impl Serialize,
    ) -> (StatusCode, Value) {
        let path = format!("/api/beers/{sku}");
        call(self.beers_as(who, Method::PUT, &path).form(&form)).await
    }

    /// `DELETE /api/beers/{sku}` as `who`.
    async fn delete_beer(&self, who: &(impl Caller + ?Sized), sku: &str) -> (StatusCode, Value) {
        call(self.beers_as(who, Method::DELETE, &format!("/api/beers/{sku}"))).await
    }

    /// `GET /api/orders/current`: `who`'s open order, made if there is none.
    async fn current_order(&self, who: &(impl Caller + ?Sized)) -> (StatusCode, Value) {
        call(self.orders_as(who, Method::GET, "/api/orders/current")).await
    }

    /// `PUT /api/orders/current`: `quantity` more of `sku` in `who`'s open order (`quantity` as
    /// the form carries it, so also `2.5`, `x` or nothing).
    async fn add(
        &self,
        who: &(impl Caller + ?Sized),
        sku: &str,
        quantity: &str,
    ) -> (StatusCode, Value) {
        let form = [("sku", sku), ("quantity", quantity)];
        call(
            self.orders_as(who, Method::PUT, "/api/orders/current")
                .form(&form),
        )
        .await
    }

    /// `DELETE /api/orders/current`: `sku`'s line out of `who`'s open order.
    async fn remove(&self, who: &(impl Caller + ?Sized), sku: &str) -> (StatusCode, Value) {
        let form = [("sku", sku)];
        call(
            self.orders_as(who, Method::DELETE, "/api/orders/current")
                .form(&form),
        )
        .await
    }

    /// `POST /api/orders/checkout`: closes `who`'s open order.
    async fn checkout(&self, who: &(impl Caller + ?Sized)) -> (StatusCode, Value) {
        call(self.orders_as(who, Method::POST, "/api/orders/checkout")).await
    }

    /// `GET /api/orders/{id}` as `who`.
    async fn order(&self, who: &(impl Caller + ?Sized), id: i64) -> (StatusCode, Value) {
        call(self.orders_as(who, Method::GET, &format!("/api/orders/{id}"))).await
    }

    /// `GET /api/orders/?{query}`: `who`'s orders, `query` as it goes on the wire or empty.
    async fn order_list(&self, who: &(impl Caller + ?Sized), query: &str) -> (StatusCode, Value) {
        let path = with_query("/api/orders/".to_owned(), query);
        call(self.orders_as(who, Method::GET, &path)).await
    }

    /// `POST /api/users/password` as `who`: the current password and the new one.
    async fn change_password(
        &self,
        who: &(impl Caller + ?Sized),
        password: &str,
        new_password: &str,
    ) -> (StatusCode, Value) {
        let form = [("password", password), ("new_password", new_password)];
        call(
            self.users_as(who, Method::POST, "/api/users/password")
                .form(&form),
        )
        .await
    }

    /// `POST /api/users/logout_all` as `who`.
    async fn logout_all(&self, who: &(impl Caller + ?Sized)) -> (StatusCode, Value) {
        call(self.users_as(who, Method::POST, "/api/users/logout_all")).await
    }
}

fn authorised(
    http: &reqwest::Client,
    base: &str,
    who: &(impl Caller + ?Sized),
    method: Method,
    path: &str,
) -> RequestBuilder {
    http.request(method, format!("{base}{path}"))
        .header("Authorization", who.authorization())
}

fn with_query(path: String, query: &str) -> String {
    if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    }
}

impl Api for Trio {
    fn http(&self) -> &reqwest::Client {
        &self.http
    }

    fn users_url(&self) -> &str {
        &self.users.url
    }

    fn beers_url(&self) -> &str {
        &self.beers.url
    }

    fn orders_url(&self) -> &str {
        &self.orders.url
    }
}

/// The API at addresses of the test's choosing: a second instance of a service, a service
/// running as a process, a neighbour that misbehaves.
#[derive(Debug, Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub users: String,
    pub beers: String,
    pub orders: String,
}

impl Client {
    /// The services at these base URLs (`http://127.0.0.1:<port>`); one a test never calls may
    /// be left empty.
    pub fn new(users: &str, beers: &str, orders: &str) -> Client {
        Client {
            http: reqwest::Client::new(),
            users: users.to_owned(),
            beers: beers.to_owned(),
            orders: orders.to_owned(),
        }
    }
}

impl Trio {
    /// The trio's own addresses as a `Client`, for a test to point one of them elsewhere:
    /// `Client { orders: other.url.clone(), ..trio.client() }`.
    pub fn client(&self) -> Client {
        Client {
            http: self.http.clone(),
            users: self.users.url.clone(),
            beers: self.beers.url.clone(),
            orders: self.orders.url.clone(),
        }
    }
}

impl Api for Client {
    fn http(&self) -> &reqwest::Client {
        &self.http
    }

    fn users_url(&self) -> &str {
        &self.users
    }

    fn beers_url(&self) -> &str {
        &self.beers
    }

    fn orders_url(&self) -> &str {
        &self.orders
    }
}
