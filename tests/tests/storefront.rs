//! The storefront's journeys in a real Chromium: the shell on its own port, each fragment
//! loaded from its service, every call real HTTP across origins (CORS).
//!
//! A test binary of its own, not a module of `trio`: each journey runs a Chromium (several
//! processes) with a deadline per step, which the rest of the suite running beside it would
//! turn into a race for the cores. Alone: `cargo test -p trio-tests --test storefront`.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use trio_tests::browser::{Browser, Shop};
use trio_tests::{Api, Options};

/// A journey that hangs fails instead of holding the suite.
const JOURNEY: Duration = Duration::from_secs(150);

async fn bounded(journey: impl std::future::Future<Output = ()>) {
    tokio::time::timeout(JOURNEY, journey)
        .await
        .expect("the journey finishes in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_registers_fills_the_cart_and_checks_out() {
    bounded(async {
        let shop = Shop::start().await;
        customer_journey(&shop, "").await;

        let phone = Browser::start_sized(390, 844).await;
        phone.goto(&shop.url).await;
        phone.wait_for_count(".cat-card", 3).await;
        phone.screenshot("phone").await;
        phone.close().await;
        shop.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_the_edge_a_customer_fills_the_cart_and_checks_out() {
    bounded(async {
        let shop = Shop::start_behind_the_edge().await;
        customer_journey(&shop, "edge-").await;
        shop.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_the_edge_with_orders_stopped_the_catalogue_still_works() {
    bounded(async {
        let mut shop = Shop::start_behind_the_edge().await;
        let customer = shop.trio.customer().await;
        shop.trio.orders.stop().await;
        let browser = Browser::start().await;
        browser.goto(&shop.url).await;
        browser.remember_token(&customer.token).await;
        browser.goto(&shop.url).await;
        browser
            .wait_for_text("brewery-cart", "orders is unavailable, try again shortly")
            .await;
        browser.wait_for_count(".cat-card", 3).await;
        browser.close().await;
        shop.stop().await;
    })
    .await;
}

/// Register → log in → three beers → a changed quantity → checkout → the past order's total.
async fn customer_journey(shop: &Shop, screenshots: &str) {
    let shot = |name: &str| format!("{screenshots}{name}");
    let browser = Browser::start().await;
    browser.goto(&shop.url).await;
    browser.wait_for_count(".cat-card", 3).await;
    browser.screenshot(&shot("catalogue")).await;

    // Register, then log in with the same account.
    let username = trio_tests::unique("shopper");
    browser
        .click(r#"brewery-account [data-mode="register"]"#)
        .await;
    browser
        .fill("brewery-account input[name=username]", &username)
        .await;
    browser
        .fill(
            "brewery-account input[name=mail]",
            &format!("{username}@example.com"),
        )
        .await;
    browser
        .fill("brewery-account input[name=first_name]", "Ana")
        .await;
    browser
        .fill("brewery-account input[name=last_name]", "Petrova")
        .await;
    // A commonly breached password is refused, and said beside the password.
    browser
        .fill("brewery-account input[name=password]", "password1")
        .await;
    browser.click("brewery-account button[type=submit]").await;
    browser
        .wait_for_text(r#"brewery-account [data-error-for="password"]"#, "breached")
        .await;
    browser.screenshot(&shot("register")).await;
    browser
        .fill("brewery-account input[name=password]", "Hoppy-Lager-42")
        .await;
    browser.click("brewery-account button[type=submit]").await;
    browser
        .wait_for_text("brewery-account .acc-status", "Welcome, Ana")
        .await;
    browser
        .fill("brewery-account input[name=password]", "Hoppy-Lager-42")
        .await;
    browser.click("brewery-account button[type=submit]").await;
    browser
        .wait_for_text("brewery-account .acc-user", &username)
        .await;

    // Three beers, one at a time as a shopper clicks.
    for (sku, lines) in [("123456", 1), ("123457", 2), ("123458", 3)] {
        browser
            .click(&format!(r#".cat-card[data-sku="{sku}"] .cat-add"#))
            .await;
        browser
            .wait_for_count("brewery-cart .ord-line", lines)
            .await;
    }
    // Each add is shown as pending at once and then as orders has it: wait for the latter.
    browser
        .wait_for_count("brewery-cart .ord-line.ord-pending", 0)
        .await;
    browser
        .wait_for_text("brewery-cart .ord-total-amount", "4.69")
        .await;

    // Three of the first: 3 × 1.19 + 2.00 + 1.50.
    browser
        .fill(
            r#"brewery-cart .ord-line[data-sku="123456"] .ord-quantity"#,
            "3",
        )
        .await;
    browser
        .click(r#"brewery-cart .ord-line[data-sku="123456"] .ord-update"#)
        .await;
    browser
        .wait_for_text("brewery-cart .ord-note", "Quantity changed")
        .await;
    browser
        .wait_for_text("brewery-cart .ord-total-amount", "7.07")
        .await;
    browser
        .wait_for_text(r#".ord-line[data-sku="123456"] .ord-line-total"#, "3.57")
        .await;
    browser.screenshot(&shot("cart")).await;

    browser.click("brewery-cart .ord-checkout").await;
    browser
        .wait_for_text("brewery-cart .ord-note", "Thank you")
        .await;
    browser
        .wait_for_text("brewery-cart .ord-note", "7.07")
        .await;
    let order = browser
        .wait_for_text("brewery-orders .ord-past li", "7.07")
        .await;
    assert!(order.contains("Order"), "{order}");
    browser.click("brewery-orders .ord-past summary").await;
    browser
        .wait_for_text("brewery-orders .ord-past-lines", "3.57")
        .await;
    browser.screenshot(&shot("past-orders")).await;

    browser.click("brewery-account .acc-logout").await;
    browser
        .wait_for_text("brewery-account .acc-status", "You have logged out")
        .await;
    browser
        .wait_for_text("brewery-cart", "Log in to fill your cart")
        .await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_adds_a_beer_and_a_customer_sees_it() {
    bounded(async {
        let shop = Shop::start().await;
        admin_journey(&shop, "").await;
        shop.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_the_edge_an_administrator_adds_a_beer_and_a_customer_sees_it() {
    bounded(async {
        let shop = Shop::start_behind_the_edge().await;
        admin_journey(&shop, "edge-").await;
        shop.stop().await;
    })
    .await;
}

/// An administrator adds a beer (a bad price said beside the field first), changes its price
/// and deletes another; a customer then sees the catalogue as changed, without admin controls.
async fn admin_journey(shop: &Shop, screenshots: &str) {
    let shot = |name: &str| format!("{screenshots}{name}");
    let admin = shop.trio.admin().await;
    let browser = Browser::start().await;
    browser.goto(&shop.url).await;
    browser
        .fill("brewery-account input[name=username]", &admin.username)
        .await;
    browser
        .fill("brewery-account input[name=password]", "Admin1234")
        .await;
    browser.click("brewery-account button[type=submit]").await;
    browser
        .wait_for_text("brewery-account .acc-user", "administrator")
        .await;

    browser.click("brewery-catalogue .cat-admin summary").await;
    let sku = trio_tests::unique_sku();
    browser.fill(".cat-admin input[name=sku]", &sku).await;
    browser
        .fill(".cat-admin input[name=name]", "Пиринско")
        .await;
    // A third decimal is refused, and said beside the price.
    browser.fill(".cat-admin input[name=price]", "2.355").await;
    browser.click(".cat-admin button[type=submit]").await;
    browser
        .wait_for_text(r#".cat-admin [data-error-for="price"]"#, "decimal")
        .await;
    browser.screenshot(&shot("admin-validation")).await;
    browser.fill(".cat-admin input[name=price]", "2.35").await;
    browser.click(".cat-admin button[type=submit]").await;
    browser
        .wait_for_text(
            &format!(r#".cat-card[data-sku="{sku}"] .cat-price"#),
            "2.35",
        )
        .await;
    browser.screenshot(&shot("admin")).await;

    // A changed price, and a beer taken off the catalogue (asked twice).
    let card = format!(r#".cat-card[data-sku="{sku}"]"#);
    browser.click(&format!("{card} .cat-edit")).await;
    browser
        .fill(&format!("{card} input[name=price]"), "2.40")
        .await;
    browser.click(&format!("{card} button[type=submit]")).await;
    browser
        .wait_for_text(&format!("{card} .cat-price"), "2.40")
        .await;
    let tuborg = r#".cat-card[data-sku="123458"] .cat-delete"#;
    browser.click(tuborg).await;
    browser.wait_for_text(tuborg, "Really delete").await;
    browser.click(tuborg).await;
    browser.wait_for_count(".cat-card", 3).await;
    browser.close().await;

    let customer = shop.trio.customer().await;
    let browser = Browser::start().await;
    browser.goto(&shop.url).await;
    browser.remember_token(&customer.token).await;
    browser.goto(&shop.url).await;
    browser
        .wait_for_text("brewery-account .acc-user", &customer.username)
        .await;
    browser
        .wait_for_text(
            &format!(r#".cat-card[data-sku="{sku}"] .cat-name"#),
            "Пиринско",
        )
        .await;
    browser
        .wait_for_text(
            &format!(r#".cat-card[data-sku="{sku}"] .cat-price"#),
            "2.40",
        )
        .await;
    assert_eq!(browser.count(r#".cat-card[data-sku="123458"]"#).await, 0);
    assert_eq!(browser.count("brewery-catalogue .cat-admin").await, 0);
    assert_eq!(browser.count("brewery-catalogue .cat-edit").await, 0);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_orders_stopped_the_catalogue_still_works_and_the_cart_says_so() {
    bounded(async {
        let mut shop = Shop::start().await;
        let customer = shop.trio.customer().await;
        shop.trio.orders.stop().await;
        let browser = Browser::start().await;
        browser.goto(&shop.url).await;
        browser.remember_token(&customer.token).await;
        browser.goto(&shop.url).await;
        browser
            .wait_for_text("brewery-cart", "orders is unavailable, try again shortly")
            .await;
        browser
            .wait_for_text("brewery-orders", "orders is unavailable")
            .await;
        browser.wait_for_count(".cat-card", 3).await;
        browser
            .click(r#".cat-card[data-sku="123457"] .cat-open"#)
            .await;
        browser.wait_for_text("#cat-detail-title", "Загорка").await;
        browser.screenshot("beer").await;
        browser.click(".cat-back").await;
        browser.wait_for_count(".cat-card", 3).await;
        browser
            .wait_for_text("brewery-account .acc-user", &customer.username)
            .await;
        browser.screenshot("orders-down").await;
        browser.close().await;
        shop.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_said_on_the_login_form() {
    bounded(async {
        let shop = Shop::start().await;
        wrong_password_journey(&shop, "").await;
        shop.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_the_edge_a_wrong_password_is_said_on_the_login_form() {
    bounded(async {
        let shop = Shop::start_behind_the_edge().await;
        wrong_password_journey(&shop, "edge-").await;
        shop.stop().await;
    })
    .await;
}

async fn wrong_password_journey(shop: &Shop, screenshots: &str) {
    let customer = shop.trio.customer().await;
    let browser = Browser::start().await;
    browser.goto(&shop.url).await;
    browser
        .fill("brewery-account input[name=username]", &customer.username)
        .await;
    // With the keyboard only: Enter in the password field sends the form.
    browser
        .fill("brewery-account input[name=password]", "Wrong1234\u{E007}")
        .await;
    browser
        .wait_for_text(
            "brewery-account .acc-status",
            "Invalid username and / or password",
        )
        .await;
    browser
        .screenshot(&format!("{screenshots}wrong-password"))
        .await;
    assert_eq!(browser.count("brewery-account .acc-user").await, 0);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_login_says_when_to_retry_and_a_revoked_token_asks_for_a_login() {
    bounded(async {
        let shop = Shop::start_with(Options {
            login_throttle: users::domain::LoginThrottle {
                // The customer logs in from where it logged in before: its own budget.
                per_known_client: 1,
                ..users::domain::LoginThrottle::default()
            },
            ..Options::default()
        })
        .await;
        let customer = shop.trio.customer().await;
        let browser = Browser::start().await;
        browser.goto(&shop.url).await;
        browser.remember_token(&customer.token).await;
        browser.goto(&shop.url).await;
        browser
            .wait_for_text("brewery-account .acc-user", &customer.username)
            .await;

        // The token is revoked elsewhere (another device logs out): the next call is a 401.
        let (status, _) = shop.trio.logout(&customer.token).await;
        assert_eq!(status, reqwest::StatusCode::OK);
        browser
            .click(r#".cat-card[data-sku="123456"] .cat-add"#)
            .await;
        browser
            .wait_for_text("brewery-account .acc-status", "log in again")
            .await;

        // One failure is allowed, the next login is a 429 that says when to try again.
        for answer in ["Invalid username and / or password", "Try again in"] {
            browser
                .fill("brewery-account input[name=username]", &customer.username)
                .await;
            browser
                .fill("brewery-account input[name=password]", "Wrong1234")
                .await;
            browser.click("brewery-account button[type=submit]").await;
            browser
                .wait_for_text("brewery-account .acc-status", answer)
                .await;
        }
        let said = browser
            .wait_for_text("brewery-account .acc-status", "Try again in")
            .await;
        assert!(
            said.contains("minutes") || said.contains("second"),
            "{said}"
        );
        browser.screenshot("throttled-login").await;
        browser.close().await;
        shop.stop().await;
    })
    .await;
}

/// Signs `browser` in with `token`, as a login in an earlier visit would have.
async fn signed_in(shop: &Shop, token: &str, username: &str) -> Browser {
    let browser = Browser::start().await;
    browser.goto(&shop.url).await;
    browser.remember_token(token).await;
    browser.goto(&shop.url).await;
    browser
        .wait_for_text("brewery-account .acc-user", username)
        .await;
    browser
}

/// The other browser's next action (adding a beer to the cart) finds its session ended and is
/// sent back to log in.
async fn is_sent_back_to_log_in(browser: &Browser) {
    browser
        .click(r#".cat-card[data-sku="123456"] .cat-add"#)
        .await;
    browser
        .wait_for_text("brewery-account .acc-status", "log in again")
        .await;
    browser
        .wait_for_text("brewery-cart", "Log in to fill your cart")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_password_and_logging_out_everywhere_end_the_other_browsers_session() {
    bounded(async {
        let shop = Shop::start().await;
        let customer = shop.trio.customer().await;
        let other_token = shop.trio.login(&customer.username, "Hoppy-Lager-42").await;
        let laptop = signed_in(&shop, &customer.token, &customer.username).await;
        let phone = signed_in(&shop, &other_token, &customer.username).await;

        // A wrong current password and a too short new one are said beside their fields.
        laptop.click("brewery-account .acc-security summary").await;
        laptop
            .fill(
                "brewery-account .acc-change-password input[name=password]",
                "Hoppy-Lager-42",
            )
            .await;
        laptop
            .fill(
                "brewery-account .acc-change-password input[name=new_password]",
                "short",
            )
            .await;
        laptop.click("brewery-account .acc-change").await;
        laptop
            .wait_for_text(
                r#"brewery-account [data-error-for="new_password"]"#,
                "characters",
            )
            .await;
        laptop
            .fill(
                "brewery-account .acc-change-password input[name=password]",
                "Wrong-guess-1",
            )
            .await;
        laptop
            .fill(
                "brewery-account .acc-change-password input[name=new_password]",
                "Fresh-Hops-Passw0rd-42",
            )
            .await;
        laptop.click("brewery-account .acc-change").await;
        laptop
            .wait_for_text(
                r#"brewery-account [data-error-for="password"]"#,
                "current password is wrong",
            )
            .await;
        laptop.screenshot("change-password-wrong").await;

        laptop
            .fill(
                "brewery-account .acc-change-password input[name=password]",
                "Hoppy-Lager-42",
            )
            .await;
        laptop
            .fill(
                "brewery-account .acc-change-password input[name=new_password]",
                "Fresh-Hops-Passw0rd-42",
            )
            .await;
        laptop.click("brewery-account .acc-change").await;
        laptop
            .wait_for_text("brewery-account .acc-status", "password is changed")
            .await;
        laptop.screenshot("change-password").await;
        is_sent_back_to_log_in(&phone).await;
        phone.screenshot("session-ended").await;

        // The phone logs in with the new password; the laptop logs out everywhere.
        phone
            .fill("brewery-account input[name=username]", &customer.username)
            .await;
        phone
            .fill(
                "brewery-account input[name=password]",
                "Fresh-Hops-Passw0rd-42",
            )
            .await;
        phone.click("brewery-account button[type=submit]").await;
        phone
            .wait_for_text("brewery-account .acc-user", &customer.username)
            .await;
        laptop.click("brewery-account .acc-logout-all").await;
        laptop
            .wait_for_text(
                "brewery-account .acc-status",
                "You have logged out everywhere",
            )
            .await;
        laptop.screenshot("logged-out-everywhere").await;
        is_sent_back_to_log_in(&phone).await;
        phone.close().await;
        laptop.close().await;
        shop.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_check_sees_an_inline_script_the_shells_policy_refuses() {
    bounded(async {
        let shop = Shop::start().await;
        let browser = Browser::start().await;
        browser.goto(&shop.url).await;
        browser.wait_for_count(".cat-card", 3).await;
        assert_eq!(browser.policy_violations().await, Vec::<String>::new());
        // What an injected `<script>` would do: the policy refuses it and the console says so.
        let ran = browser
            .client
            .execute(
                "const script = document.createElement('script');
                 script.textContent = 'window.injected = true;';
                 document.head.append(script);
                 return window.injected === true;",
                vec![],
            )
            .await
            .expect("the script runs");
        assert_eq!(ran, serde_json::json!(false), "the inline script ran");
        let violations = browser.policy_violations().await;
        assert!(
            violations.iter().any(|m| m.contains("inline script")),
            "{violations:?}"
        );
        browser.close().await;
        shop.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docs_page_works_under_its_policy() {
    bounded(async {
        let shop = Shop::start().await;
        let browser = Browser::start().await;
        for base in [&shop.trio.users.url, &shop.trio.beers.url] {
            browser.goto(&format!("{base}/docs")).await;
            // Swagger UI ran, fetched /openapi.json and laid out the operations.
            browser
                .wait_for_text(".swagger-ui .opblock-tag-section", "/")
                .await;
            assert!(browser.count(".swagger-ui .opblock").await > 3, "{base}");
        }
        browser.close().await;
        shop.stop().await;
    })
    .await;
}

// Offline. The network is cut for real: the test stops the shell and the three services (it
// owns them) and starts them again on the same ports and databases. Chromium's emulated offline
// mode is not used: whether it reaches a service worker's own fetches differs between versions.

/// A customer whose shop has been seen online once with the worker in control: the catalogue,
/// the cart (with `in_cart` put in it through the API) and past orders are kept on the device.
async fn seen_online(shop: &Shop, in_cart: &[(&str, i64)]) -> (Browser, trio_tests::Account) {
    let customer = shop.trio.customer().await;
    let browser = seen_online_by(shop, &customer, in_cart).await;
    (browser, customer)
}

async fn seen_online_by(
    shop: &Shop,
    customer: &trio_tests::Account,
    in_cart: &[(&str, i64)],
) -> Browser {
    for (sku, quantity) in in_cart {
        let (status, _) = trio_tests::call(
            shop.trio
                .orders(Method::PUT, "/api/orders/current")
                .header("Authorization", &customer.token)
                .json(&json!({"sku": sku, "quantity": quantity})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let browser = Browser::start().await;
    browser.goto(&shop.url).await;
    browser.remember_token(&customer.token).await;
    browser.wait_for_worker().await;
    // The first visit's answers came before the worker; the next visit's are kept.
    browser.goto(&shop.url).await;
    browser.wait_for_count(".cat-card", 3).await;
    browser
        .wait_for_count("brewery-cart .ord-line", in_cart.len())
        .await;
    browser
}

/// The open order's quantities by SKU, as orders has them.
async fn quantities(shop: &Shop, token: &str) -> Vec<(String, i64)> {
    let (status, order) = trio_tests::call(
        shop.trio
            .orders(Method::GET, "/api/orders/current")
            .header("Authorization", token),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{order}");
    let mut lines: Vec<(String, i64)> = order["beers"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|line| {
            (
                line["sku"].as_str().expect("a sku").to_owned(),
                line["quantity"].as_i64().expect("a quantity"),
            )
        })
        .collect();
    lines.sort();
    lines
}

fn expected(lines: &[(&str, i64)]) -> Vec<(String, i64)> {
    lines.iter().map(|(sku, n)| (sku.to_string(), *n)).collect()
}

/// Adds `quantity` of `sku` from its catalogue card.
async fn add_from_card(browser: &Browser, sku: &str, quantity: i64) {
    let card = format!(r#".cat-card[data-sku="{sku}"]"#);
    browser
        .fill(&format!("{card} .cat-quantity"), &quantity.to_string())
        .await;
    browser.click(&format!("{card} .cat-add")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_a_reload_shows_the_last_catalogue_and_cart_with_a_banner_and_checkout_needs_the_network(
) {
    bounded(async {
        let mut shop = Shop::start().await;
        // A past order (1.50) and an open one.
        let customer = shop.trio.customer().await;
        for request in [
            shop.trio
                .orders(Method::PUT, "/api/orders/current")
                .json(&json!({"sku": "123458", "quantity": 1})),
            shop.trio.orders(Method::POST, "/api/orders/checkout"),
        ] {
            let (status, body) =
                trio_tests::call(request.header("Authorization", &customer.token)).await;
            assert!(status.is_success(), "{status} {body}");
        }
        let browser = seen_online_by(&shop, &customer, &[("123457", 2)]).await;
        browser
            .wait_for_text("brewery-orders .ord-past-total", "1.50")
            .await;
        assert_eq!(browser.count(".network:not([hidden])").await, 0);

        shop.cut_network().await;
        browser.goto(&shop.url).await;
        browser.wait_for_text(".network", "You are offline").await;
        browser.wait_for_count(".cat-card", 3).await;
        browser
            .wait_for_text(r#".cat-card[data-sku="123456"] .cat-name"#, "Бургаско")
            .await;
        browser
            .wait_for_text("brewery-cart .ord-total-amount", "4.00")
            .await;
        browser
            .wait_for_text("brewery-orders .ord-past-total", "1.50")
            .await;
        browser.click("brewery-cart .ord-checkout").await;
        browser
            .wait_for_text("brewery-cart .ord-note", "Checking out needs the network")
            .await;
        browser
            .wait_for_text("brewery-account .acc-status", "as last seen")
            .await;
        browser.screenshot("offline").await;

        // Back: the banner says so and goes; checkout works again.
        shop.restore_network().await;
        browser.wait_for_text(".network", "back online").await;
        browser
            .wait_until(
                "the account asked users again",
                "return !document.querySelector('brewery-account .acc-status')
                   .textContent.includes('last seen');",
            )
            .await;
        browser.click("brewery-cart .ord-checkout").await;
        browser
            .wait_for_text("brewery-cart .ord-note", "Thank you")
            .await;
        browser.close().await;
        shop.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_adds_and_a_removal_made_offline_are_sent_once_each_when_the_network_is_back() {
    bounded(async {
        let shop = Shop::start().await;
        queued_changes_journey(shop, "").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_the_edge_changes_made_offline_are_sent_once_each_when_the_network_is_back() {
    bounded(async {
        let shop = Shop::start_behind_the_edge().await;
        queued_changes_journey(shop, "edge-").await;
    })
    .await;
}

/// Offline: the last catalogue under the banner; two adds and a removal shown as pending, each
/// with its own key on the device; back online, each sent once and the cart the server's.
async fn queued_changes_journey(mut shop: Shop, screenshots: &str) {
    let shot = |name: &str| format!("{screenshots}{name}");
    {
        let (browser, customer) = seen_online(&shop, &[("123456", 1)]).await;

        shop.cut_network().await;
        browser.goto(&shop.url).await;
        browser.wait_for_text(".network", "You are offline").await;
        add_from_card(&browser, "123457", 2).await;
        browser
            .wait_for_count("brewery-cart .ord-line.ord-pending", 1)
            .await;
        add_from_card(&browser, "123458", 1).await;
        browser
            .wait_for_count("brewery-cart .ord-line.ord-pending", 2)
            .await;
        browser
            .click(r#"brewery-cart .ord-line[data-sku="123456"] .ord-remove"#)
            .await;
        browser
            .wait_for_count("brewery-cart .ord-line.ord-removing", 1)
            .await;
        browser
            .wait_for_text("brewery-cart .ord-waiting", "3 changes wait")
            .await;
        // 2 × 2.00 + 1.50, the removed line left out.
        browser
            .wait_for_text("brewery-cart .ord-total-amount", "5.50")
            .await;
        browser.screenshot(&shot("offline-pending")).await;

        let queued = browser.queued_changes().await;
        let keys: std::collections::HashSet<&str> = queued
            .iter()
            .map(|change| change["key"].as_str().expect("a key"))
            .collect();
        assert_eq!((queued.len(), keys.len()), (3, 3), "{queued:?}");

        shop.restore_network().await;
        browser
            .wait_for_count("brewery-cart .ord-line.ord-pending", 0)
            .await;
        browser.wait_for_count("brewery-cart .ord-line", 2).await;
        browser
            .wait_for_text("brewery-cart .ord-total-amount", "5.50")
            .await;
        assert_eq!(
            browser.queued_changes().await,
            Vec::<serde_json::Value>::new()
        );
        assert_eq!(
            quantities(&shop, &customer.token).await,
            expected(&[("123457", 2), ("123458", 1)])
        );
        browser.screenshot(&shot("back-online")).await;
        browser.close().await;
    }
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_cut_off_midway_still_applies_each_add_once() {
    bounded(async {
        let mut shop = Shop::start().await;
        let (browser, customer) = seen_online(&shop, &[]).await;

        shop.cut_network().await;
        browser.goto(&shop.url).await;
        browser.wait_for_text(".network", "You are offline").await;
        for (sku, quantity) in [("123456", 1), ("123457", 2), ("123458", 3)] {
            add_from_card(&browser, sku, quantity).await;
        }
        browser
            .wait_for_count("brewery-cart .ord-line.ord-pending", 3)
            .await;
        let queued = browser.queued_changes().await;
        assert_eq!(queued.len(), 3, "{queued:?}");

        // The network comes back while the shop is not open, and the first change reaches
        // orders with the device's key, but its answer is lost: the network drops again.
        browser.goto("about:blank").await;
        shop.restore_network().await;
        let first = &queued[0];
        let response = shop
            .trio
            .http
            .put(first["url"].as_str().expect("a url"))
            .header("Authorization", format!("Bearer {}", customer.token))
            .header("Idempotency-Key", first["key"].as_str().expect("a key"))
            .header("Content-Type", "application/json")
            .body(first["body"].as_str().expect("a body").to_owned())
            .send()
            .await
            .expect("orders answers");
        assert_eq!(response.status(), StatusCode::CREATED);
        assert!(response.headers().get("Idempotency-Replayed").is_none());
        shop.cut_network().await;

        // Still offline, the device still holds all three, none of them answered.
        browser.goto(&shop.url).await;
        browser.wait_for_text(".network", "You are offline").await;
        browser
            .wait_for_count("brewery-cart .ord-line.ord-pending", 3)
            .await;

        // Back for good: the first is sent again (and replayed), the others once each.
        shop.restore_network().await;
        browser
            .wait_for_count("brewery-cart .ord-line.ord-pending", 0)
            .await;
        browser.wait_for_count("brewery-cart .ord-line", 3).await;
        assert_eq!(
            browser.queued_changes().await,
            Vec::<serde_json::Value>::new()
        );
        assert_eq!(
            quantities(&shop, &customer.token).await,
            expected(&[("123456", 1), ("123457", 2), ("123458", 3)])
        );
        browser
            .wait_for_text("brewery-cart .ord-total-amount", "9.69")
            .await;
        browser.close().await;
        shop.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_version_of_the_shell_takes_over_from_the_old_worker() {
    bounded(async {
        let mut shop = Shop::start().await;
        let (browser, _) = seen_online(&shop, &[]).await;
        let old = storefront::Shell::embedded();
        let mut names = browser.cache_names().await;
        names.sort();
        assert_eq!(
            names,
            vec![
                "brewery-data".to_owned(),
                format!("brewery-shell-{}", old.version())
            ]
        );

        // A new release of the shell: another tagline.
        let tagline = "Fresh from the cellar, straight to your cart.";
        let page = old.page_template().replace(
            "Bulgarian and Danish lagers, poured into your cart.",
            tagline,
        );
        assert!(page.contains(tagline));
        let new = storefront::Shell::new(&page, STYLE, SCRIPT);
        shop.storefront.replace(new.clone()).await;

        browser.goto(&shop.url).await;
        browser.wait_for_text(".tagline", tagline).await;
        let wanted = vec![
            "brewery-data".to_owned(),
            format!("brewery-shell-{}", new.version()),
        ];
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            let mut names = browser.cache_names().await;
            names.sort();
            if names == wanted {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the caches are {names:?}, not {wanted:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }

        // Offline, the page is the new one, from the new worker's cache.
        shop.cut_network().await;
        browser.goto(&shop.url).await;
        browser.wait_for_text(".network", "You are offline").await;
        browser.wait_for_text(".tagline", tagline).await;
        browser.wait_for_count(".cat-card", 3).await;
        browser.close().await;
        shop.stop().await;
    })
    .await;
}

const STYLE: &str = include_str!("../../storefront/shell/shop.css");
const SCRIPT: &str = include_str!("../../storefront/shell/shell.js");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shell_is_installable_with_a_manifest_icons_and_a_favicon() {
    bounded(async {
        let shop = Shop::start().await;
        let http = reqwest::Client::new();
        let manifest: serde_json::Value = http
            .get(format!("{}/manifest.webmanifest", shop.url))
            .send()
            .await
            .expect("the manifest")
            .json()
            .await
            .expect("JSON");
        assert_eq!(manifest["start_url"], "/");
        assert_eq!(manifest["display"], "standalone");
        let icons = manifest["icons"].as_array().expect("icons");
        for icon in icons {
            let src = icon["src"].as_str().expect("a src");
            let response = http
                .get(format!("{}{src}", shop.url))
                .send()
                .await
                .expect("the icon");
            assert_eq!(response.status(), StatusCode::OK, "{src}");
            assert_eq!(
                response.headers()["content-type"],
                icon["type"].as_str().expect("a type"),
                "{src}"
            );
        }
        assert!(icons.iter().any(|icon| icon["sizes"] == "512x512"));
        let favicon = http
            .get(format!("{}/favicon.ico", shop.url))
            .send()
            .await
            .expect("the favicon");
        assert_eq!(favicon.status(), StatusCode::OK);

        // The page loads without one failed request in the console (the favicon's 404 was one).
        let browser = Browser::start().await;
        browser.goto(&shop.url).await;
        browser.wait_for_worker().await;
        browser.wait_for_count(".cat-card", 3).await;
        let failures: Vec<String> = browser
            .console()
            .await
            .into_iter()
            .filter(|message| message.contains("Failed to load"))
            .collect();
        assert_eq!(failures, Vec::<String>::new());
        browser.close().await;
        shop.stop().await;
    })
    .await;
}
