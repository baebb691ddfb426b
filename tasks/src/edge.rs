//! The edge: a throwaway nginx (Debian's package) in front of the trio and the storefront's
//! shell, configured by the one file `deploy/nginx/edge.conf.template`.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The routing, limits and timeouts, as compose and the nginx image use them too.
pub const TEMPLATE: &str = include_str!("../../deploy/nginx/edge.conf.template");

/// Where the edge listens and where it sends each path (`host:port` each).
#[derive(Debug, Clone)]
pub struct Upstreams {
    pub edge_port: u16,
    pub users: String,
    pub beers: String,
    pub orders: String,
    pub storefront: String,
}

/// The template with its `${…}` filled in; nginx's own `$variables` are left as they are.
pub fn render(upstreams: &Upstreams) -> String {
    TEMPLATE
        .replace("${EDGE_PORT}", &upstreams.edge_port.to_string())
        .replace("${USERS_UPSTREAM}", &upstreams.users)
        .replace("${BEERS_UPSTREAM}", &upstreams.beers)
        .replace("${ORDERS_UPSTREAM}", &upstreams.orders)
        .replace("${STOREFRONT_UPSTREAM}", &upstreams.storefront)
}

/// Where nginx's log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logs {
    /// Errors to this process's stderr, one access line per request to its stdout.
    Terminal,
    /// `error.log` in the prefix folder, no access log (tests).
    Quiet,
}

/// A running nginx; stopping or dropping it ends its master and workers.
pub struct Edge {
    pub url: String,
    pub prefix: PathBuf,
    master: Option<Child>,
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

impl Edge {
    /// Writes the configuration under `prefix` and starts nginx; returns once it accepts
    /// connections on the edge port.
    pub fn start(prefix: &Path, upstreams: &Upstreams, logs: Logs) -> Result<Edge, BoxError> {
        let nginx = nginx_program()?;
        let temp = prefix.join("temp");
        for dir in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
            std::fs::create_dir_all(temp.join(dir))?;
        }
        std::fs::write(prefix.join("edge.conf"), render(upstreams))?;
        let user = worker_user(&temp)?;
        let p = prefix.display();
        let (error_log, access_log) = match logs {
            Logs::Terminal => ("stderr".to_owned(), "/dev/stdout"),
            Logs::Quiet => (format!("{p}/error.log"), "off"),
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
             \x20   access_log {access_log};\n\
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
        let mut edge = Edge {
            url: format!("http://127.0.0.1:{}", upstreams.edge_port),
            prefix: prefix.to_owned(),
            master: Some(master),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", upstreams.edge_port)).is_ok() {
                return Ok(edge);
            }
            let exited = edge.master.as_mut().map(|m| m.try_wait());
            if let Some(Ok(Some(status))) = exited {
                edge.master = None;
                let log = std::fs::read_to_string(prefix.join("stderr.log")).unwrap_or_default();
                return Err(format!("nginx exited ({status}) {log}").into());
            }
            if Instant::now() > deadline {
                return Err(format!("nginx did not listen on {}", edge.url).into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_is_filled_in_and_nginx_variables_are_kept() {
        let text = render(&Upstreams {
            edge_port: 8080,
            users: "127.0.0.1:5001".into(),
            beers: "beers:5002".into(),
            orders: "10.0.0.3:5003".into(),
            storefront: "127.0.0.1:5000".into(),
        });
        assert!(text.contains("listen 8080;"));
        assert!(text.contains("server 127.0.0.1:5001;"));
        assert!(text.contains("server beers:5002;"));
        assert!(text.contains("server 10.0.0.3:5003;"));
        assert!(text.contains("server 127.0.0.1:5000;"));
        assert!(text.contains("$binary_remote_addr"));
        assert!(!text.contains("${"));
    }
}
