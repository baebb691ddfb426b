//! The services as real processes: SIGTERM lets requests in flight finish; SIGKILL loses no
//! acknowledged write; bad configuration ends a service or a task with exit code 2, said once;
//! every task finds the same data folder from any working folder;
//! `tasks users create-admin` takes no password on the command line and takes over no account.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;
use reqwest::{Method, StatusCode};
use serde_json::json;
use trio_tests::process::{free_port, ServiceProcess};
use trio_tests::{call, silent_address, unique, Api, Client, Trio};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_request_in_flight_finish_then_exits_0() {
    let trio = Trio::start().await;
    let customer = trio.customer().await;
    // The request stays in flight while orders waits 1.5 s for a users service that never answers.
    let (silent, listener) = silent_address().await;
    let orders = ServiceProcess::start(
        "orders",
        free_port(),
        &[
            (
                "ORDERS_DATABASE_URL",
                trio.databases.orders.url.to_setting(),
            ),
            ("USERS_URL", silent),
            ("BEERS_URL", trio.beers.url.clone()),
            ("UPSTREAM_TIMEOUT_MS", "1500".into()),
        ],
    )
    .await;
    let process = Client {
        orders: orders.url.clone(),
        ..trio.client()
    };
    let in_flight = tokio::spawn(async move { process.current_order(&customer).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    orders.signal(Signal::SIGTERM);

    let (status, body) = in_flight.await.unwrap();
    assert_eq!(
        (status, body),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"message": "users service unavailable"})
        ),
        "the request got its answer rather than a cut connection"
    );
    let exit = orders.wait().await;
    assert!(exit.success(), "{exit:?}");
    listener.abort();
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_add_survives_a_sigkill() {
    let trio = Trio::start().await;
    trio.seed_beers().await;
    let customer = trio.customer().await;
    let port = free_port();
    let env = [
        (
            "ORDERS_DATABASE_URL",
            trio.databases.orders.url.to_setting(),
        ),
        ("USERS_URL", trio.users.url.clone()),
        ("BEERS_URL", trio.beers.url.clone()),
    ];
    let orders = ServiceProcess::start("orders", port, &env).await;
    let process = Client {
        orders: orders.url.clone(),
        ..trio.client()
    };

    let acknowledged = Arc::new(AtomicUsize::new(0));
    let adds: Vec<_> = (0..200)
        .map(|_| {
            // Sent as is: the kill cuts some off, and a cut connection is no failure here.
            let request = process
                .orders_as(&customer, Method::PUT, "/api/orders/current")
                .form(&[("sku", "123456"), ("quantity", "1")]);
            let acknowledged = acknowledged.clone();
            tokio::spawn(async move {
                if let Ok(response) = request.send().await {
                    if response.status() == StatusCode::CREATED {
                        acknowledged.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    while acknowledged.load(Ordering::SeqCst) < 20 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    orders.signal(Signal::SIGKILL);
    for add in adds {
        let _ = add.await;
    }
    let _ = orders.wait().await;
    let acknowledged = acknowledged.load(Ordering::SeqCst);

    // A new process on the same database (and port) answers for what the killed one
    // acknowledged.
    let restarted = ServiceProcess::start("orders", port, &env).await;
    let (status, order) = process.current_order(&customer).await;
    assert_eq!(status, StatusCode::OK);
    let stored = order["beers"][0]["quantity"].as_u64().unwrap_or(0) as usize;
    assert!(
        (acknowledged..=200).contains(&stored),
        "{acknowledged} adds were acknowledged, {stored} are stored"
    );
    let (status, _) = trio.order_list(&customer, "").await;
    assert_eq!(status, StatusCode::OK);
    drop(restarted);
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_id_is_followed_across_two_services_logs_and_no_secret_is_logged() {
    let dir = tempfile::tempdir().unwrap();
    let databases = trio_tests::Databases::fresh(&dir).unwrap();
    let (users_log, orders_log) = (dir.path().join("users.log"), dir.path().join("orders.log"));
    let users = ServiceProcess::start_logging_to(
        "users",
        free_port(),
        &[("USERS_DATABASE_URL", databases.users.url.to_setting())],
        Some(&users_log),
    )
    .await;
    let orders = ServiceProcess::start_logging_to(
        "orders",
        free_port(),
        &[
            ("ORDERS_DATABASE_URL", databases.orders.url.to_setting()),
            ("USERS_URL", users.url.clone()),
            ("BEERS_URL", "http://127.0.0.1:9".into()),
            ("LOG_FORMAT", "json".into()),
        ],
        Some(&orders_log),
    )
    .await;
    let processes = Client::new(&users.url, "", &orders.url);
    let password = "Sup3rSecretPass";
    let (status, _) = processes
        .register([
            ("username", "tracer"),
            ("mail", "tracer@example.com"),
            ("first_name", "T"),
            ("last_name", "R"),
            ("password", password),
        ])
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = processes.try_login("tracer", password).await;
    let token = body["token"].as_str().unwrap().to_owned();

    let response = processes
        .orders_as(&token, Method::GET, "/api/orders/current")
        .header("X-Request-Id", "trace-7f3a")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-request-id"], "trace-7f3a");
    // Beers is nowhere (port 9): a failing request logs more than its request line.
    let (status, _) = call(
        processes
            .orders_as(&token, Method::PUT, "/api/orders/current")
            .header("X-Request-Id", "trace-down")
            .form(&[("sku", "123456"), ("quantity", "1")]),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);

    users.signal(Signal::SIGTERM);
    orders.signal(Signal::SIGTERM);
    let _ = (users.wait().await, orders.wait().await);
    let users_text = std::fs::read_to_string(&users_log).unwrap();
    let orders_text = std::fs::read_to_string(&orders_log).unwrap();
    assert!(
        users_text
            .lines()
            .any(|l| l.contains("trace-7f3a") && l.contains("/api/users/check_token")),
        "users logged the id it was passed: {users_text}"
    );
    let traced: Vec<&str> = orders_text
        .lines()
        .filter(|l| l.contains("trace-7f3a"))
        .collect();
    assert!(!traced.is_empty(), "orders logged the id: {orders_text}");
    let about_requests: Vec<&str> = orders_text
        .lines()
        // Start-up and shut-down lines are about the process, not a request.
        .filter(|l| {
            !l.contains("is listening on")
                && !l.contains("is shutting down")
                && !l.contains("open files limit")
        })
        // The harness's own readiness probes are other requests, with ids of their own.
        .filter(|l| !l.contains("\"path\":\"/health\""))
        .collect();
    assert!(about_requests.len() >= 3, "{orders_text}");
    for line in about_requests {
        assert!(
            line.contains("trace-7f3a") || line.contains("trace-down"),
            "a line about a request without its id: {line}"
        );
    }
    for line in &traced {
        let parsed: serde_json::Value =
            serde_json::from_str(line).expect("LOG_FORMAT=json gives JSON lines");
        assert!(parsed.is_object());
    }
    for (service, text) in [("users", &users_text), ("orders", &orders_text)] {
        assert!(!text.contains(password), "{service} logged a password");
        assert!(!text.contains(&token), "{service} logged a token");
    }
    drop(databases);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_users_process_gives_503_and_orders_recovers_when_it_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let databases = trio_tests::Databases::fresh(&dir).unwrap();
    let port = free_port();
    let env = [("USERS_DATABASE_URL", databases.users.url.to_setting())];
    let users = ServiceProcess::start("users", port, &env).await;
    let options = trio_tests::Options::default();
    let mut beers = trio_tests::start_beers(&databases, &options, &users.url, 0)
        .await
        .unwrap();
    let mut orders = trio_tests::start_orders(&databases, &options, &users.url, &beers.url, 0)
        .await
        .unwrap();
    let client = Client::new(&users.url, &beers.url, &orders.url);
    let (status, _) = client
        .register([
            ("username", "phoenix"),
            ("mail", "phoenix@example.com"),
            ("first_name", "P"),
            ("last_name", "X"),
            ("password", "Hoppy-Lager-42"),
        ])
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = client.try_login("phoenix", "Hoppy-Lager-42").await;
    let token = body["token"].as_str().unwrap().to_owned();
    assert_eq!(client.current_order(&token).await.0, StatusCode::OK);

    users.signal(Signal::SIGKILL);
    let _ = users.wait().await;
    let (status, body) = client.current_order(&token).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"message": "users service unavailable"})
        )
    );

    let users = ServiceProcess::start("users", port, &env).await;
    assert_eq!(
        client.current_order(&token).await.0,
        StatusCode::OK,
        "no restart of orders needed"
    );
    drop(users);
    orders.stop().await;
    beers.stop().await;
}

#[test]
fn bad_configuration_ends_a_service_and_every_task_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let run = |program: &str, args: &[&str], variable: &str, value: &str| {
        let output = std::process::Command::new(trio_tests::process::binary(program))
            .args(args)
            .current_dir(dir.path())
            .env(variable, value)
            .output()
            .expect("it runs");
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status.code(), stderr)
    };
    for (program, args, variable) in [
        ("users", &[][..], "USERS_PORT"),
        ("orders", &[], "UPSTREAM_TIMEOUT_MS"),
        ("tasks", &["users", "serve"], "USERS_PORT"),
        ("tasks", &["beers", "setup"], "BEERS_DB_POOL_SIZE"),
        ("tasks", &["beers", "seed"], "BEERS_DB_POOL_SIZE"),
        ("tasks", &["orders", "setup"], "ORDERS_DB_TIMEOUT_MS"),
        (
            "tasks",
            &[
                "users",
                "create-admin",
                "--username",
                "a",
                "--email",
                "b",
                "--password-stdin",
            ],
            "USERS_TOKEN_TTL",
        ),
    ] {
        let (code, stderr) = run(program, args, variable, "abc");
        assert_eq!(
            code,
            Some(2),
            "{program} {args:?} with {variable}=abc: {stderr}"
        );
        assert!(
            stderr.contains("bad configuration") && stderr.contains(variable),
            "{program} {args:?}: {stderr}"
        );
    }
    // Nothing was created on the way out.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn bad_configuration_is_said_once_with_its_variable_and_accepted_form_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    // Where the databases would go if a bad value were let through: never the workspace's.
    let data = dir.path().join("data");
    for (program, args, variable, value, form) in [
        (
            "tasks",
            &["serve"][..],
            "STOREFRONT_PORT",
            "five",
            "0 to 65535",
        ),
        (
            "tasks",
            &["storefront"],
            "STOREFRONT_PORT",
            "five",
            "0 to 65535",
        ),
        (
            "tasks",
            &["serve"],
            "USERS_TOKEN_TTL",
            "1d",
            "whole number of seconds",
        ),
        (
            "tasks",
            &["serve"],
            "ORDERS_ADDRESS",
            "localhost",
            "IP address",
        ),
        (
            "tasks",
            &["serve"],
            "UPSTREAM_TIMEOUT_MS",
            "2s",
            "milliseconds",
        ),
        (
            "users",
            &[],
            "USERS_LOGIN_KNOWN_CLIENT_DAYS",
            "90d",
            "whole number of days",
        ),
        (
            "tasks",
            &["serve"],
            "CORS_ALLOWED_ORIGINS",
            "127.0.0.1:5000",
            "scheme://host[:port]",
        ),
        (
            "beers",
            &[],
            "CORS_ALLOWED_ORIGINS",
            "http://localhost:5000/shop",
            "scheme://host[:port]",
        ),
        ("tasks", &["serve"], "LOG_FORMAT", "xml", "text or json"),
        ("orders", &[], "LOG_FORMAT", "xml", "text or json"),
        (
            "tasks",
            &["beers", "seed"],
            "LOG_FORMAT",
            "xml",
            "text or json",
        ),
    ] {
        let mut child = std::process::Command::new(trio_tests::process::binary(program))
            .args(args)
            .current_dir(dir.path())
            .env("TRIO_DATA_DIR", &data)
            .env(variable, value)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("it runs");
        // A value let through would leave the program serving: stop it, then fail below.
        let mut waited = 0;
        while child.try_wait().expect("it is waited for").is_none() && waited < 600 {
            std::thread::sleep(std::time::Duration::from_millis(100));
            waited += 1;
        }
        let _ = child.kill();
        let output = child.wait_with_output().expect("it ends");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let case = format!("{program} {args:?} with {variable}={value}: {said}");
        assert_eq!(output.status.code(), Some(2), "{case}");
        assert_eq!(said.matches(variable).count(), 1, "named once: {case}");
        assert!(said.contains(form), "the accepted form is said: {case}");
        assert!(
            said.contains(&format!("{value:?}")),
            "the value is quoted: {case}"
        );
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing was created on the way out"
    );
}

#[test]
fn a_storefront_port_in_use_is_said_with_its_variable_and_stops_the_trio() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    for args in [&["storefront"][..], &["serve"]] {
        let mut child = std::process::Command::new(trio_tests::process::binary("tasks"))
            .args(args)
            .current_dir(dir.path())
            .env("TRIO_DATA_DIR", dir.path())
            .envs([
                ("USERS_PORT", "0"),
                ("BEERS_PORT", "0"),
                ("ORDERS_PORT", "0"),
            ])
            .env("STOREFRONT_PORT", &port)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("it runs");
        // Had it not noticed, it would serve on: stop it, then fail below.
        let mut waited = 0;
        while child.try_wait().expect("it is waited for").is_none() && waited < 600 {
            std::thread::sleep(std::time::Duration::from_millis(100));
            waited += 1;
        }
        let _ = child.kill();
        let output = child.wait_with_output().expect("it ends");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "tasks {args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("cannot listen on 127.0.0.1:{port}"))
                && stderr.contains("set STOREFRONT_PORT"),
            "tasks {args:?}: {stderr}"
        );
    }
    drop(taken);
}

/// `tasks ARGS` run in `folder` with `env`: exit code and stdout, or a failure with stderr.
fn tasks_in(folder: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let output = std::process::Command::new(trio_tests::process::binary("tasks"))
        .args(args)
        .current_dir(folder)
        .env_remove("BEERS_DATABASE_URL")
        .envs(env.iter().copied())
        .output()
        .expect("tasks runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "tasks {args:?} in {}: {stdout}{}",
        folder.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn every_task_finds_the_same_data_folder_from_any_working_folder_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let (users_folder, deep) = (root.join("users"), root.join("beers").join("src"));
    std::fs::create_dir_all(&users_folder).unwrap();
    std::fs::create_dir_all(&deep).unwrap();
    let store = root.join("store");
    let database = store.join("beers.db");

    // A relative TRIO_DATA_DIR is taken from the working folder, once, and shown in full.
    let said = tasks_in(
        &users_folder,
        &["beers", "seed"],
        &[("TRIO_DATA_DIR", "../store")],
    );
    assert!(database.is_file(), "{said}");
    assert!(
        said.contains("added 3 beers")
            && said.contains(&format!("sqlite://{}", database.display())),
        "{said}"
    );
    // Another folder, the same data.
    let store_setting = store.display().to_string();
    let said = tasks_in(
        &deep,
        &["beers", "seed"],
        &[("TRIO_DATA_DIR", store_setting.as_str())],
    );
    assert!(
        said.contains("already in") && said.contains(&database.display().to_string()),
        "{said}"
    );
    let said = tasks_in(
        &deep,
        &["beers", "setup"],
        &[("TRIO_DATA_DIR", store_setting.as_str())],
    );
    assert!(said.contains(&database.display().to_string()), "{said}");
    // The service's own setting wins, and a relative one is the working folder's.
    let said = tasks_in(
        &deep,
        &["beers", "seed"],
        &[
            ("TRIO_DATA_DIR", store_setting.as_str()),
            ("BEERS_DATABASE_URL", "own/beers.db"),
        ],
    );
    assert!(deep.join("own/beers.db").is_file(), "{said}");
    assert!(said.contains("added 3 beers"), "{said}");
    // Nothing else was made anywhere.
    assert!(!users_folder.join("data").exists() && !deep.join("data").exists());
}

/// What `tasks users create-admin ARGS` did on the trio's users database, with `stdin` as its
/// standard input (none: nothing to read, as in a script without input): exit code, stdout,
/// stderr.
async fn create_admin(
    trio: &Trio,
    args: &[&str],
    stdin: Option<&str>,
) -> (Option<i32>, String, String) {
    use std::io::Write;
    use std::process::Stdio;
    let url = match &trio.databases.users.url {
        shared::db::DatabaseUrl::Postgres(url) => url.clone(),
        shared::db::DatabaseUrl::Sqlite(path) => path.display().to_string(),
    };
    let args: Vec<String> = ["users", "create-admin"]
        .iter()
        .chain(args)
        .map(|arg| arg.to_string())
        .collect();
    let stdin = stdin.map(str::to_owned);
    let dir = trio.dir.path().to_owned();
    tokio::task::spawn_blocking(move || {
        let mut child = std::process::Command::new(trio_tests::process::binary("tasks"))
            .args(&args)
            .current_dir(dir)
            .env("USERS_DATABASE_URL", url)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tasks runs");
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes())
                .expect("the input is written");
        }
        let output = child.wait_with_output().expect("tasks ends");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    })
    .await
    .expect("tasks is waited for")
}

/// Whether `username` logs in with `password`, and is an administrator then.
async fn logs_in_as_admin(trio: &Trio, username: &str, password: &str) -> Option<bool> {
    let (status, body) = trio.try_login(username, password).await;
    if status != StatusCode::OK {
        return None;
    }
    let token = body["token"].as_str().expect("a token");
    let (status, user) = trio.check_token(token).await;
    assert_eq!(status, StatusCode::OK);
    user["is_admin"].as_bool()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_admin_takes_over_an_existing_account_only_with_promote_and_its_address() {
    let trio = Trio::start().await;
    // Someone registers the name first, with a password of their own.
    let name = unique("admin");
    let mail = format!("{name}@example.com");
    let (status, _) = trio
        .register([
            ("username", name.as_str()),
            ("mail", mail.as_str()),
            ("first_name", "Early"),
            ("last_name", "Bird"),
            ("password", "Squatter1"),
        ])
        .await;
    assert_eq!(status, StatusCode::OK);
    let admin_password = Some("Admin1234\n");

    let (code, _, stderr) = create_admin(
        &trio,
        &["--username", &name, "--email", &mail, "--password-stdin"],
        admin_password,
    )
    .await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("not changed") && stderr.contains("--promote"),
        "{stderr}"
    );
    assert_eq!(
        logs_in_as_admin(&trio, &name, "Squatter1").await,
        Some(false)
    );

    let (code, _, stderr) = create_admin(
        &trio,
        &[
            "--username",
            &name,
            "--email",
            "someone.else@example.com",
            "--password-stdin",
            "--promote",
        ],
        admin_password,
    )
    .await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("--email is not the address of the existing account"),
        "{stderr}"
    );
    assert_eq!(
        logs_in_as_admin(&trio, &name, "Squatter1").await,
        Some(false)
    );
    assert_eq!(logs_in_as_admin(&trio, &name, "Admin1234").await, None);

    // Told so, with the account's address (as registration compares it: any case).
    let (code, stdout, stderr) = create_admin(
        &trio,
        &[
            "--username",
            &name,
            "--email",
            &mail.to_uppercase(),
            "--password-stdin",
            "--promote",
        ],
        admin_password,
    )
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("is now an administrator"), "{stdout}");
    // Its password stays the one its owner chose.
    assert_eq!(
        logs_in_as_admin(&trio, &name, "Squatter1").await,
        Some(true)
    );
    trio.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_admin_takes_the_password_from_stdin_or_a_file_never_the_command_line() {
    let trio = Trio::start().await;

    let on_the_command_line = unique("admin");
    let mail = format!("{on_the_command_line}@example.com");
    let (code, _, stderr) = create_admin(
        &trio,
        &[
            "--username",
            &on_the_command_line,
            "--email",
            &mail,
            "--password",
            "Visible123",
        ],
        None,
    )
    .await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--password is not accepted")
            && stderr.contains("--password-stdin")
            && stderr.contains("--password-file"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("Visible123"),
        "the password is echoed: {stderr}"
    );

    // No way given, and no terminal to ask on.
    let (code, _, stderr) = create_admin(
        &trio,
        &["--username", &on_the_command_line, "--email", &mail],
        None,
    )
    .await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("no password given") && stderr.contains("--password-stdin"),
        "{stderr}"
    );
    let (_, exists) = trio.username_exists(&on_the_command_line).await;
    assert_eq!(exists, json!(false), "nothing was created");

    // A refusal is said in the command's words, not the API's.
    let (code, _, stderr) = create_admin(
        &trio,
        &[
            "--username",
            &on_the_command_line,
            "--email",
            "no-address",
            "--password-stdin",
        ],
        Some("Stdin1234\n"),
    )
    .await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("No administrator was created: --email ")
            && !stderr.contains("The request has invalid fields"),
        "{stderr}"
    );

    let from_stdin = unique("admin");
    let mail = format!("{from_stdin}@example.com");
    let (code, stdout, stderr) = create_admin(
        &trio,
        &[
            "--username",
            &from_stdin,
            "--email",
            &mail,
            "--password-stdin",
        ],
        Some("Stdin1234\nthe second line is not read\n"),
    )
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("created as an administrator"), "{stdout}");
    assert_eq!(
        logs_in_as_admin(&trio, &from_stdin, "Stdin1234").await,
        Some(true)
    );

    let from_file = unique("admin");
    let mail = format!("{from_file}@example.com");
    let file = trio.dir.path().join("admin-password");
    std::fs::write(&file, "File12345\n").unwrap();
    let (code, _, stderr) = create_admin(
        &trio,
        &[
            "--username",
            &from_file,
            "--email",
            &mail,
            "--password-file",
            file.to_str().unwrap(),
        ],
        None,
    )
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        logs_in_as_admin(&trio, &from_file, "File12345").await,
        Some(true)
    );
    trio.stop().await;
}
