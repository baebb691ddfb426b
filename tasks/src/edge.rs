//! The edge: a throwaway nginx (Debian's package) in front of the trio and the storefront's
//! shell, configured by the one file `deploy/nginx/edge.conf.template`: HTTPS on one port, a
//! redirect to it on another, every answer of its own in JSON.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The routing, limits and timeouts, as compose and the nginx image use them too.
pub const TEMPLATE: &str = include_str!("../../deploy/nginx/edge.conf.template");

/// Where the edge sends each path (`host:port` each).
#[derive(Debug, Clone)]
pub struct Upstreams {
    pub users: String,
    pub beers: String,
    pub orders: String,
    pub storefront: String,
}

/// A certificate (with its chain, if any) and its key, PEM files nginx reads.
#[derive(Debug, Clone)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Everything the template is filled in with.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where both ports listen (`EDGE_ADDRESS`).
    pub address: IpAddr,
    /// HTTPS (`EDGE_PORT`).
    pub https_port: u16,
    /// Plain HTTP, redirecting to HTTPS (`EDGE_HTTP_PORT`).
    pub http_port: u16,
    pub tls: Tls,
    /// The address nginx connects to the services from; `None` for any.
    pub proxy_bind: Option<IpAddr>,
    pub upstreams: Upstreams,
}

impl Config {
    /// On loopback, connecting to the services from [`shared::config::LOCAL_EDGE_SOURCE`],
    /// with a certificate made (once) in `tls_dir`.
    pub fn local(
        https_port: u16,
        http_port: u16,
        tls_dir: &Path,
        upstreams: Upstreams,
    ) -> Result<Config, BoxError> {
        let made = LocalCertificate::ensure(tls_dir)?;
        Ok(Config {
            address: Ipv4Addr::LOCALHOST.into(),
            https_port,
            http_port,
            tls: made.tls(),
            proxy_bind: Some(shared::config::LOCAL_EDGE_SOURCE.into()),
            upstreams,
        })
    }
}

/// The template with its `${…}` filled in; nginx's own `$variables` are left as they are.
pub fn render(config: &Config, instance: &str, logs: Logs) -> String {
    let address = match config.address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    };
    let proxy_bind = config
        .proxy_bind
        .map_or_else(|| "off".to_owned(), |a| a.to_string());
    TEMPLATE
        .replace("${EDGE_ADDRESS}", &address)
        .replace("${EDGE_PORT}", &config.https_port.to_string())
        .replace("${EDGE_HTTP_PORT}", &config.http_port.to_string())
        .replace("${EDGE_PUBLIC_PORT}", &config.https_port.to_string())
        .replace("${EDGE_CERT}", &config.tls.cert.display().to_string())
        .replace("${EDGE_KEY}", &config.tls.key.display().to_string())
        .replace("${EDGE_PROXY_BIND}", &proxy_bind)
        .replace("${EDGE_INSTANCE}", instance)
        .replace(
            "${EDGE_ACCESS_LOG}",
            match logs {
                Logs::Terminal => "/dev/stdout brewery_edge",
                Logs::Quiet => "off",
            },
        )
        .replace("${USERS_UPSTREAM}", &config.upstreams.users)
        .replace("${BEERS_UPSTREAM}", &config.upstreams.beers)
        .replace("${ORDERS_UPSTREAM}", &config.upstreams.orders)
        .replace("${STOREFRONT_UPSTREAM}", &config.upstreams.storefront)
}

/// A certificate for `localhost`, 127.0.0.1 and ::1 (plus any extra names), signed by a CA
/// made for it alone: `ca.pem` is what a client trusts, `cert.pem` (the leaf, then the CA) and
/// `key.pem` (mode 0600) are what nginx serves. The CA's key is never written, so it can sign
/// nothing else.
#[derive(Debug, Clone)]
pub struct LocalCertificate {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl LocalCertificate {
    fn at(dir: &Path) -> LocalCertificate {
        LocalCertificate {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        }
    }

    /// The one in `dir`, made there first if it is not all there.
    pub fn ensure(dir: &Path) -> Result<LocalCertificate, BoxError> {
        let files = Self::at(dir);
        if files.ca.is_file() && files.cert.is_file() && files.key.is_file() {
            return Ok(files);
        }
        Self::make(dir, &[])
    }

    /// Makes a new one in `dir` (replacing what is there), also valid for `extra_names`
    /// (host names or addresses).
    pub fn make(dir: &Path, extra_names: &[String]) -> Result<LocalCertificate, BoxError> {
        use rcgen::{
            BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
            IsCa, KeyPair, KeyUsagePurpose,
        };
        std::fs::create_dir_all(dir)?;
        let files = Self::at(dir);
        // Valid from last year to two years ahead (whole years: rcgen takes dates).
        let year = 1970
            + (std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_secs()
                / 31_556_952) as i32;
        let (not_before, not_after) = (
            rcgen::date_time_ymd(year - 1, 1, 1),
            rcgen::date_time_ymd(year + 2, 1, 1),
        );

        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca.distinguished_name
            .push(DnType::CommonName, "brewery trio local edge CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        (ca.not_before, ca.not_after) = (not_before, not_after);
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;

        let mut names = vec!["localhost".to_owned(), "127.0.0.1".into(), "::1".into()];
        names.extend(extra_names.iter().cloned());
        let mut leaf = CertificateParams::new(names)?;
        leaf.distinguished_name
            .push(DnType::CommonName, "brewery trio edge");
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        (leaf.not_before, leaf.not_after) = (not_before, not_after);
        let key = KeyPair::generate()?;
        let cert = leaf.signed_by(&key, &*ca)?;

        // Each file whole or not at all: written aside, then renamed into place.
        let write = |path: &Path, text: &str, mode: u32| -> Result<(), BoxError> {
            let aside = path.with_extension("pem.new");
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(mode)
                .open(&aside)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&aside, path)?;
            Ok(())
        };
        write(&files.key, &key.serialize_pem(), 0o600)?;
        write(&files.cert, &format!("{}{}", cert.pem(), ca.pem()), 0o644)?;
        write(&files.ca, &ca.pem(), 0o644)?;
        Ok(files)
    }

    pub fn tls(&self) -> Tls {
        Tls {
            cert: self.cert.clone(),
            key: self.key.clone(),
        }
    }
}

/// Where nginx's log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logs {
    /// Errors to this process's stderr, one access line per request (without query strings)
    /// to its stdout.
    Terminal,
    /// `error.log` in the prefix folder, no access log (tests).
    Quiet,
}

/// A running nginx; stopping or dropping it ends its master and workers.
pub struct Edge {
    /// The HTTPS origin, e.g. `https://127.0.0.1:8443`.
    pub url: String,
    /// The plain origin, which redirects to `url`.
    pub http_url: String,
    pub prefix: PathBuf,
    master: Option<Child>,
    /// Held while this instance runs: a second one on the same folder is refused.
    _lock: nix::fcntl::Flock<File>,
}

fn nginx_program() -> Result<PathBuf, BoxError> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("nginx"))
            .find(|candidate| candidate.is_file())
    });
    on_path
        .or_else(|| Some(PathBuf::from("/usr/sbin/nginx")).filter(|p| p.is_file()))
        .ok_or_else(|| "nginx is not installed (apt-get install nginx)".into())
}

/// As root, nginx's workers drop to `nobody`, so the folders they write must be theirs; as
/// anyone else they run as that user and nginx ignores `user`.
fn worker_user(temp: &Path) -> Result<String, BoxError> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(String::new());
    }
    let user = nix::unistd::User::from_name("nobody")?.ok_or("there is no user nobody")?;
    let group = nix::unistd::Group::from_gid(user.gid)?.ok_or("nobody has no group")?;
    for entry in std::fs::read_dir(temp)? {
        nix::unistd::chown(&entry?.path(), Some(user.uid), Some(user.gid))?;
    }
    Ok(format!("user {} {};\n", user.name, group.name))
}

/// Where a client reaches a listener on `address` (loopback for a wildcard address).
fn reachable(address: IpAddr, port: u16) -> SocketAddr {
    let host = match address {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        other => other,
    };
    SocketAddr::new(host, port)
}

/// "host:port" for URLs.
fn origin(address: SocketAddr) -> String {
    match address.ip() {
        IpAddr::V4(v4) => format!("{v4}:{}", address.port()),
        IpAddr::V6(v6) => format!("[{v6}]:{}", address.port()),
    }
}

/// Can this process listen on `address:port`? Named by the variable that sets it.
fn check_bind(address: IpAddr, port: u16, variable: &str) -> Result<(), BoxError> {
    TcpListener::bind((address, port)).map(drop).map_err(|e| {
        let at = origin(SocketAddr::new(address, port));
        let hint = match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                format!("another program listens there; set {variable} to a free port")
            }
            std::io::ErrorKind::AddrNotAvailable => {
                "no interface of this machine has that address; set EDGE_ADDRESS".to_owned()
            }
            std::io::ErrorKind::PermissionDenied => {
                format!("ports under 1024 need privileges; set {variable} to 1024 or above")
            }
            _ => format!("check EDGE_ADDRESS and {variable}"),
        };
        format!("the edge cannot listen on {at} ({variable}): {e}; {hint}").into()
    })
}

/// Does the nginx on `at` answer this instance's name? (A 204 for its path; anything else,
/// e.g. another program's answer or a redirect, is not it.)
fn answers_instance(at: SocketAddr, instance: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&at, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!(
        "GET /.well-known/edge-instance/{instance} HTTP/1.0\r\nHost: {}\r\n\r\n",
        origin(at)
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 204")
}

impl Edge {
    /// Writes the configuration under `prefix` and starts nginx; returns once the nginx
    /// listening on the plain port is this one (it answers this run's instance name; nginx
    /// opens every listening socket before it serves, so the HTTPS one is then open too).
    /// Refuses when another `Edge` runs on the same `prefix`, or a port cannot be bound.
    pub fn start(prefix: &Path, config: &Config, logs: Logs) -> Result<Edge, BoxError> {
        let nginx = nginx_program()?;
        std::fs::create_dir_all(prefix)?;
        let lock = nix::fcntl::Flock::lock(
            File::create(prefix.join("lock"))?,
            nix::fcntl::FlockArg::LockExclusiveNonblock,
        )
        .map_err(|_| {
            format!(
                "another edge is running from {} (on port {}); stop it first, or set EDGE_PORT \
                 to another port",
                prefix.display(),
                config.https_port
            )
        })?;
        check_bind(config.address, config.https_port, "EDGE_PORT")?;
        check_bind(config.address, config.http_port, "EDGE_HTTP_PORT")?;

        let temp = prefix.join("temp");
        for dir in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
            std::fs::create_dir_all(temp.join(dir))?;
        }
        let instance = format!("{:032x}", rand_u128());
        std::fs::write(prefix.join("edge.conf"), render(config, &instance, logs))?;
        let user = worker_user(&temp)?;
        let p = prefix.display();
        let error_log = match logs {
            Logs::Terminal => "stderr".to_owned(),
            Logs::Quiet => format!("{p}/error.log"),
        };
        let main = format!(
            "# Written by `tasks edge` for one run; the routing is deploy/nginx/edge.conf.template.\n\
             daemon off;\n\
             worker_processes 1;\n\
             pid {p}/nginx.pid;\n\
             error_log {error_log} warn;\n\
             {user}\
             events {{ worker_connections 512; }}\n\
             http {{\n\
             \x20   access_log off;\n\
             \x20   client_body_temp_path {p}/temp/client_body;\n\
             \x20   proxy_temp_path {p}/temp/proxy;\n\
             \x20   fastcgi_temp_path {p}/temp/fastcgi;\n\
             \x20   uwsgi_temp_path {p}/temp/uwsgi;\n\
             \x20   scgi_temp_path {p}/temp/scgi;\n\
             \x20   include {p}/edge.conf;\n\
             }}\n"
        );
        std::fs::File::create(prefix.join("nginx.conf"))?.write_all(main.as_bytes())?;
        let stderr = match logs {
            Logs::Terminal => Stdio::inherit(),
            Logs::Quiet => Stdio::from(std::fs::File::create(prefix.join("stderr.log"))?),
        };
        let master = Command::new(nginx)
            .arg("-p")
            .arg(prefix)
            .arg("-c")
            .arg(prefix.join("nginx.conf"))
            .args(["-e", "stderr"])
            .stdin(Stdio::null())
            .stdout(match logs {
                Logs::Terminal => Stdio::inherit(),
                Logs::Quiet => Stdio::null(),
            })
            .stderr(stderr)
            // Its own process group with its workers: one signal reaches them all.
            .process_group(0)
            .spawn()?;
        let https = reachable(config.address, config.https_port);
        let http = reachable(config.address, config.http_port);
        let mut edge = Edge {
            url: format!("https://{}", origin(https)),
            http_url: format!("http://{}", origin(http)),
            prefix: prefix.to_owned(),
            master: Some(master),
            _lock: lock,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if answers_instance(http, &instance) {
                return Ok(edge);
            }
            if let Some(status) = edge.exited() {
                let log = std::fs::read_to_string(prefix.join("stderr.log")).unwrap_or_default();
                return Err(format!(
                    "nginx exited ({status}) before it served on {} and {} \
                     (EDGE_ADDRESS, EDGE_PORT, EDGE_HTTP_PORT) {log}",
                    origin(https),
                    origin(http)
                )
                .into());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "nginx did not answer on {} within 10 s (EDGE_HTTP_PORT)",
                    edge.http_url
                )
                .into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether nginx's master has exited (and how); `None` while it runs.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        let status = self.master.as_mut()?.try_wait().ok().flatten()?;
        self.master = None;
        Some(status)
    }

    /// Fast shutdown (SIGTERM to the master), then anything left in its group is killed.
    pub fn stop(&mut self) {
        let Some(mut master) = self.master.take() else {
            return;
        };
        let pid = Pid::from_raw(master.id() as i32);
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = master.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = killpg(pid, Signal::SIGKILL);
        let _ = master.wait();
    }
}

impl Drop for Edge {
    fn drop(&mut self) {
        self.stop();
    }
}

/// 128 bits from the OS, for the instance name (no guessing another run's).
fn rand_u128() -> u128 {
    let mut bytes = [0u8; 16];
    if let Ok(mut urandom) = File::open("/dev/urandom") {
        let _ = urandom.read_exact(&mut bytes);
    }
    u128::from_le_bytes(bytes) ^ std::process::id() as u128
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_is_filled_in_and_nginx_variables_are_kept() {
        let config = Config {
            address: Ipv4Addr::LOCALHOST.into(),
            https_port: 8443,
            http_port: 8080,
            tls: Tls {
                cert: "/tls/cert.pem".into(),
                key: "/tls/key.pem".into(),
            },
            proxy_bind: Some(shared::config::LOCAL_EDGE_SOURCE.into()),
            upstreams: Upstreams {
                users: "127.0.0.1:5001".into(),
                beers: "beers:5002".into(),
                orders: "10.0.0.3:5003".into(),
                storefront: "127.0.0.1:5000".into(),
            },
        };
        let text = render(&config, "abc", Logs::Terminal);
        assert!(text.contains("listen 127.0.0.1:8443 ssl;"));
        assert!(text.contains("listen 127.0.0.1:8080;"));
        assert!(text.contains("return 301 https://$host:8443$request_uri;"));
        assert!(text.contains("ssl_certificate /tls/cert.pem;"));
        assert!(text.contains("proxy_bind 127.0.0.80;"));
        assert!(text.contains("/.well-known/edge-instance/abc "));
        assert!(text.contains("server 127.0.0.1:5001;"));
        assert!(text.contains("server beers:5002;"));
        assert!(text.contains("server 10.0.0.3:5003;"));
        assert!(text.contains("server 127.0.0.1:5000;"));
        assert!(text.contains("access_log /dev/stdout brewery_edge;"));
        assert!(text.contains("$binary_remote_addr"));
        assert!(!text.contains("${"));

        let text = render(
            &Config {
                address: "::".parse().unwrap(),
                proxy_bind: None,
                ..config
            },
            "abc",
            Logs::Quiet,
        );
        assert!(text.contains("listen [::]:8443 ssl;"));
        assert!(text.contains("proxy_bind off;"));
        assert!(text.contains("access_log off;"));
    }

    #[test]
    fn the_local_certificate_is_made_once_and_its_key_is_private() {
        let dir = tempfile_dir();
        let made = LocalCertificate::ensure(&dir).unwrap();
        let cert = std::fs::read_to_string(&made.cert).unwrap();
        assert_eq!(cert.matches("BEGIN CERTIFICATE").count(), 2, "leaf and CA");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&made.key).unwrap().permissions(),
        );
        assert_eq!(mode & 0o077, 0, "the key is the owner's alone");
        LocalCertificate::ensure(&dir).unwrap();
        assert_eq!(std::fs::read_to_string(&made.cert).unwrap(), cert, "kept");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("edge-cert-{:x}", rand_u128()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
