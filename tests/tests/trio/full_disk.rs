//! A full disk under SQLite: the three services' databases on a small tmpfs that fills up.
//! Writes answer a JSON 507 naming the cause, reads keep working, every write that got a 2xx
//! is there afterwards, the files pass `PRAGMA integrity_check`, writes work again once space
//! is freed (no restart), and each service logs the condition once, not once per request.
//! Mounting needs root (CI runs as root); the test says so and does nothing otherwise.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use diesel::{Connection, RunQueryDsl};
use reqwest::StatusCode;
use serde_json::Value;
use shared::scratch::POSTGRES_VARIABLE;
use trio_tests::process::{free_port, ServiceProcess};
use trio_tests::{call, unique, unique_sku, Api, Client};

/// A tmpfs of `size` mounted on a fresh folder, unmounted when dropped.
struct SmallDisk {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk");
        std::fs::create_dir(&path).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .status()
            .expect("mount runs");
        assert!(status.success(), "mounting a tmpfs");
        SmallDisk { path, _dir: dir }
    }

    /// Fills every free byte with one file, then frees `room` bytes of it again.
    fn fill_leaving(&self, room: u64) -> PathBuf {
        let filler = self.path.join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0xA5u8; 64 * 1024];
        let mut written = 0u64;
        loop {
            match file.write(&chunk) {
                Ok(0) => break,
                Ok(n) => written += n as u64,
                Err(error) if error.raw_os_error() == Some(nix::libc::ENOSPC) => break,
                Err(error) => panic!("filling the disk: {error}"),
            }
        }
        file.set_len(written.saturating_sub(room)).unwrap();
        file.sync_all().unwrap();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
    }
}

fn is_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

/// A 507 that names the cause in JSON, as every refused write must be.
fn assert_disk_full(what: &str, status: StatusCode, body: &Value) {
    assert_eq!(
        status,
        StatusCode::INSUFFICIENT_STORAGE,
        "{what} on a full disk: {body}"
    );
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains("disk is full"), "{what}: {body}");
}

fn integrity(path: &Path) -> String {
    #[derive(diesel::QueryableByName)]
    struct Check {
        #[diesel(sql_type = diesel::sql_types::Text)]
        integrity_check: String,
    }
    let mut conn = diesel::SqliteConnection::establish(&path.to_string_lossy()).unwrap();
    let rows: Vec<Check> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut conn)
        .unwrap();
    rows.into_iter()
        .map(|row| row.integrity_check)
        .collect::<Vec<_>>()
        .join("; ")
}

fn lines_saying(log: &Path, words: &str) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|line| line.contains(words))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_keeps_every_acknowledged_one_and_recovers_by_itself() {
    if std::env::var(POSTGRES_VARIABLE).is_ok() {
        eprintln!("runs on the SQLite pass of `tasks test` (the databases are SQLite files)");
        return;
    }
    if !is_root() {
        eprintln!("SKIPPED: mounting a small tmpfs needs root (CI runs this as root)");
        return;
    }
    let disk = SmallDisk::mount("8m");
    let logs = tempfile::tempdir().unwrap();
    let db = |name: &str| disk.path.join(format!("{name}.db"));
    let log = |name: &str| logs.path().join(format!("{name}.log"));
    let (users_port, beers_port) = (free_port(), free_port());
    let users_url = format!("http://127.0.0.1:{users_port}");
    let beers_url = format!("http://127.0.0.1:{beers_port}");
    let setting = |name: &str| db(name).to_string_lossy().into_owned();
    let users = ServiceProcess::start_logging_to(
        "users",
        users_port,
        &[("USERS_DATABASE_URL", setting("users"))],
        Some(&log("users")),
    )
    .await;
    let neighbours = |name: &str| {
        vec![
            (
                if name == "beers" {
                    "BEERS_DATABASE_URL"
                } else {
                    "ORDERS_DATABASE_URL"
                },
                setting(name),
            ),
            ("USERS_URL", users_url.clone()),
            ("BEERS_URL", beers_url.clone()),
        ]
    };
    let beers = ServiceProcess::start_logging_to(
        "beers",
        beers_port,
        &neighbours("beers"),
        Some(&log("beers")),
    )
    .await;
    let orders = ServiceProcess::start_logging_to(
        "orders",
        free_port(),
        &neighbours("orders"),
        Some(&log("orders")),
    )
    .await;
    let api = Client::new(&users.url, &beers.url, &orders.url);

    let register = |username: String| {
        let mail = format!("{username}@example.com");
        api.register([
            ("username", username),
            ("mail", mail),
            ("first_name", "Disk".into()),
            ("last_name", "Full".into()),
            ("password", "Secret123".into()),
        ])
    };
    let admin_name = unique("admin");
    assert_eq!(register(admin_name.clone()).await.0, StatusCode::OK);
    let users_db = shared::db::DatabaseUrl::Sqlite(db("users"));
    let name = admin_name.clone();
    let pool = tokio::task::spawn_blocking(move || {
        shared::db::connect(
            &users_db,
            &shared::db::PoolSettings::default(),
            users::store::SQLITE_MIGRATIONS,
            users::store::POSTGRES_MIGRATIONS,
        )
        .unwrap()
    })
    .await
    .unwrap();
    let mail = format!("{name}@example.com");
    users::create_admin(&pool, &name, &mail, "", users::Existing::Promote)
        .await
        .unwrap();
    let token_of = |body: Value| body["token"].as_str().unwrap().to_owned();
    let admin = token_of(api.try_login(&admin_name, "Secret123").await.1);
    let customer_name = unique("customer");
    assert_eq!(register(customer_name.clone()).await.0, StatusCode::OK);
    let customer = token_of(api.try_login(&customer_name, "Secret123").await.1);
    let new_beer = |sku: &str| {
        let form = [
            ("sku", sku.to_owned()),
            ("name", "Full disk".into()),
            ("price", "2.00".into()),
        ];
        api.try_create_beer(&admin, form)
    };
    let add = || api.add(&customer, "FD-BASE", "1");
    assert_eq!(new_beer("FD-BASE").await.0, StatusCode::CREATED);
    assert_eq!(add().await.0, StatusCode::CREATED);

    // The disk fills up while writes go on: some still fit, then none does.
    let filler = disk.fill_leaving(192 * 1024);
    let mut kept = Vec::new();
    let mut refused = 0;
    for _ in 0..3000 {
        let sku = unique_sku();
        let (status, body) = new_beer(&sku).await;
        if status == StatusCode::CREATED {
            kept.push(sku);
        } else {
            assert_disk_full("adding a beer", status, &body);
            refused += 1;
            if refused == 50 {
                break;
            }
        }
    }
    assert_eq!(
        refused,
        50,
        "the disk filled up ({} beers fitted)",
        kept.len()
    );
    let (status, body) = register(unique("late")).await;
    assert_disk_full("registering", status, &body);
    let (status, body) = api.try_login(&customer_name, "Secret123").await;
    assert_disk_full("logging in (it records the attempt)", status, &body);
    let mut adds = 1;
    loop {
        let (status, body) = add().await;
        if status == StatusCode::CREATED {
            adds += 1;
            assert!(adds < 5000, "an add to the order was refused in the end");
            continue;
        }
        assert_disk_full("adding to the order", status, &body);
        break;
    }

    // Reads keep working.
    let (status, body) = api.beer("FD-BASE").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = api.current_order(&customer).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["beers"][0]["quantity"], adds, "every acknowledged add");
    for url in [&users.url, &beers.url, &orders.url] {
        let (status, body) = call(api.http.get(format!("{url}/ready"))).await;
        assert_eq!(status, StatusCode::OK, "{url}/ready: {body}");
    }

    // Space comes back: writes work again, with no restart.
    std::fs::remove_file(&filler).unwrap();
    let late = unique_sku();
    assert_eq!(new_beer(&late).await.0, StatusCode::CREATED);
    kept.push(late);
    assert_eq!(register(unique("later")).await.0, StatusCode::OK);
    assert_eq!(add().await.0, StatusCode::CREATED);

    // Every acknowledged write is there, and the files are sound.
    for sku in &kept {
        let (status, _) = api.beer(sku).await;
        assert_eq!(status, StatusCode::OK, "acknowledged beer {sku} is kept");
    }
    let (_, body) = api.current_order(&customer).await;
    assert_eq!(body["beers"][0]["quantity"], adds + 1);
    for name in ["users", "beers", "orders"] {
        let path = db(name);
        let check = tokio::task::spawn_blocking(move || integrity(&path))
            .await
            .unwrap();
        assert_eq!(check, "ok", "{name}.db");
    }

    // Each service said it once, however many requests it refused.
    tokio::time::sleep(Duration::from_millis(200)).await;
    for name in ["users", "beers", "orders"] {
        assert_eq!(
            lines_saying(&log(name), "disk is full"),
            1,
            "{name} logs the full disk once"
        );
        assert_eq!(
            lines_saying(&log(name), "writes are kept again"),
            1,
            "{name} logs the recovery once"
        );
    }
    eprintln!(
        "full disk: {} beers acknowledged and kept, {refused} refused with 507; {adds} adds kept",
        kept.len()
    );
    drop((users, beers, orders));
}
