//! `tasks`: the brewery trio's command line — serve, set up, seed, create an admin.

mod bench;
mod data;
use tasks::pg;

mod serve_all;
mod shop;
mod test;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use shared::service;

#[derive(Parser)]
#[command(
    name = "tasks",
    about = "Run and manage the brewery trio (users, beers, orders)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve all three services (ports 5001–5003 by default), output prefixed by service, and
    /// the storefront's shell (STOREFRONT_PORT, default 5000). Ctrl-C stops them all. Unless
    /// TRUSTED_PROXIES is set, the services believe forwarded client addresses only from
    /// `tasks edge` (127.0.0.80).
    Serve,
    /// Put a throwaway nginx (Debian's `nginx`) in front of the running trio and a shell of its
    /// own: one HTTPS origin, configured by deploy/nginx/edge.conf.template; its plain port
    /// redirects to HTTPS. Files under target/edge/<port>, its certificate under target/edge/tls.
    Edge {
        /// The address both ports listen on (0.0.0.0 for every interface).
        #[arg(long, env = "EDGE_ADDRESS", default_value = "127.0.0.1")]
        address: std::net::IpAddr,
        /// HTTPS.
        #[arg(long, env = "EDGE_PORT", default_value_t = 8443)]
        port: u16,
        /// Plain HTTP, which redirects to HTTPS.
        #[arg(long, env = "EDGE_HTTP_PORT", default_value_t = 8080)]
        http_port: u16,
        /// A certificate (PEM, with its chain) instead of the one made for localhost.
        #[arg(long, env = "EDGE_CERT", requires = "key")]
        cert: Option<std::path::PathBuf>,
        /// The certificate's key (PEM).
        #[arg(long, env = "EDGE_KEY", requires = "cert")]
        key: Option<std::path::PathBuf>,
    },
    /// Make a certificate for the edge (localhost, 127.0.0.1, ::1 and any --name), signed by a
    /// CA made for it alone: ca.pem (to trust), cert.pem and key.pem (for nginx). Compose
    /// mounts deploy/compose/tls.
    EdgeCert {
        /// Where the files go.
        #[arg(long, default_value = "deploy/compose/tls")]
        dir: std::path::PathBuf,
        /// Another host name or address the certificate is for (repeatable).
        #[arg(long = "name")]
        names: Vec<String>,
    },
    /// Serve only the storefront's shell page (STOREFRONT_ADDRESS, STOREFRONT_PORT).
    Storefront {
        /// The page calls the services on its own origin (behind the edge) instead of on their
        /// ports (USERS_PORT, BEERS_PORT, ORDERS_PORT) of the page's host.
        #[arg(long)]
        same_origin: bool,
    },
    /// The users service: accounts, passwords, sessions, roles.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// The beers service: the catalogue.
    Beers {
        #[command(subcommand)]
        command: BeersCommand,
    },
    /// The orders service: each user's open order and past orders.
    Orders {
        #[command(subcommand)]
        command: ServiceCommand,
    },
    /// Run every test: the whole workspace on SQLite, then the whole workspace again on a
    /// throwaway PostgreSQL cluster (set TRIO_SKIP_POSTGRES=1 to skip that second run).
    Test {
        /// Extra arguments for `cargo test`, e.g. a test name filter.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        cargo_args: Vec<String>,
    },
    /// Load-test the trio beside a bare Rocket ceiling (needs `oha`; installs it if missing).
    /// Writes a table to stdout and target/bench/report.json.
    Bench {
        /// Seconds per scenario.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Concurrent connections per scenario.
        #[arg(long, default_value_t = 32)]
        concurrency: u64,
        /// One second per scenario, and small large databases (for CI).
        #[arg(long)]
        smoke: bool,
        /// The databases to run every scenario on: sqlite, postgres or both, one after the
        /// other in one run.
        #[arg(long, value_enum, default_value = "both")]
        backend: bench::Backends,
        /// A PostgreSQL server for the postgres run (a URL without a database, whose role may
        /// create databases; the bench makes its own, `trio_bench_*`), instead of a
        /// throwaway cluster under target/bench/pg.
        #[arg(long, value_name = "URL")]
        postgres_url: Option<String>,
    },
    /// A throwaway local PostgreSQL cluster under target/pg (needs the server programs).
    Pg {
        #[command(subcommand)]
        command: PgCommand,
    },
}

#[derive(Subcommand)]
enum PgCommand {
    /// Create and start the cluster with databases users, beers, orders; print their URLs.
    Start,
    /// Stop the cluster and delete its folder.
    Stop,
    /// Say whether it runs, and print the URLs to export.
    Status,
}

/// What every service can be asked to do.
#[derive(Subcommand)]
enum ServiceCommand {
    /// Serve it (on <SERVICE>_PORT: users 5001, beers 5002, orders 5003); unless
    /// TRUSTED_PROXIES is set, it believes forwarded client addresses only from `tasks edge`.
    Serve,
    /// Apply pending database migrations, then exit.
    Setup,
}

impl ServiceCommand {
    fn run<S: service::Service>(self) -> ExitCode {
        match self {
            // A service's process life is the same under tasks as in its own binary, but for
            // the proxy it trusts: the local edge (`tasks edge`).
            ServiceCommand::Serve => {
                serve_all::trust_the_local_edge_unless_told();
                service::run::<S>()
            }
            ServiceCommand::Setup => finish(service::setup::<S>()),
        }
    }
}

#[derive(Subcommand)]
enum UsersCommand {
    #[command(flatten)]
    Service(ServiceCommand),
    /// Create an administrator, or (with --promote) make an existing account one.
    ///
    /// The password is asked for on the terminal without echo, or read from the first line of
    /// standard input (--password-stdin) or of a file (--password-file); never from the command
    /// line, where the process list and the shell history would show it.
    CreateAdmin(CreateAdmin),
}

#[derive(clap::Args)]
struct CreateAdmin {
    /// The administrator's username.
    #[arg(long)]
    username: String,
    /// The administrator's e-mail address (with --promote: the existing account's).
    #[arg(long)]
    email: String,
    /// Read the password from the first line of standard input (for scripts).
    #[arg(long, conflicts_with = "password_file")]
    password_stdin: bool,
    /// Read the password from the first line of this file (for scripts).
    #[arg(long, value_name = "PATH")]
    password_file: Option<std::path::PathBuf>,
    /// An account with this username exists already: make it an administrator, if --email is
    /// its address (its password stays as it is). Without it such an account is refused.
    #[arg(long)]
    promote: bool,
    /// Refused: kept only to say so, without echoing the value.
    #[arg(long, hide = true, num_args = 0..=1)]
    password: Option<Option<String>>,
}

#[derive(Subcommand)]
enum BeersCommand {
    #[command(flatten)]
    Service(ServiceCommand),
    /// Add the reference catalogue (Бургаско, Загорка, Tuborg) where absent.
    Seed,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> ExitCode {
    // `.env` first, so that it also sets the command line's variables (EDGE_PORT, …).
    shared::startup::prepare();
    // As for every other setting, an empty variable (as .env.example has them) means unset.
    for name in [
        "EDGE_ADDRESS",
        "EDGE_PORT",
        "EDGE_HTTP_PORT",
        "EDGE_CERT",
        "EDGE_KEY",
    ] {
        if std::env::var_os(name).is_some_and(|value| value.is_empty()) {
            std::env::remove_var(name);
        }
    }
    let cli = Cli::parse();
    if matches!(
        cli.command,
        Command::Serve | Command::Users { .. } | Command::Beers { .. } | Command::Orders { .. }
    ) {
        data::anchor();
    }
    let result = match cli.command {
        Command::Serve => {
            serve_all::trust_the_local_edge_unless_told();
            return serve_all::run();
        }
        Command::Edge {
            address,
            port,
            http_port,
            cert,
            key,
        } => tokio::runtime::Runtime::new()
            .map_err(BoxError::from)
            .and_then(|runtime| {
                runtime.block_on(shop::edge(shop::EdgeOptions {
                    address,
                    port,
                    http_port,
                    tls: cert
                        .zip(key)
                        .map(|(cert, key)| tasks::edge::Tls { cert, key }),
                }))
            }),
        Command::EdgeCert { dir, names } => edge_cert(&dir, &names),
        Command::Storefront { same_origin } => tokio::runtime::Runtime::new()
            .map_err(BoxError::from)
            .and_then(|runtime| runtime.block_on(shop::serve(same_origin))),
        Command::Users {
            command: UsersCommand::Service(command),
        } => return command.run::<users::Users>(),
        Command::Beers {
            command: BeersCommand::Service(command),
        } => return command.run::<beers::Beers>(),
        Command::Orders { command } => return command.run::<orders::Orders>(),
        Command::Users {
            command: UsersCommand::CreateAdmin(args),
        } => return create_admin(args),
        Command::Beers {
            command: BeersCommand::Seed,
        } => seed(),
        Command::Pg { command } => pg_command(command),
        Command::Test { cargo_args } => test::run(&cargo_args),
        Command::Bench {
            seconds,
            concurrency,
            smoke,
            backend,
            postgres_url,
        } => bench::run(bench::Options {
            seconds,
            concurrency,
            smoke,
            backends: backend,
            postgres_url,
        }),
    };
    finish(result)
}

/// Success, or the error said and its exit code: 2 for bad configuration (as every service
/// binary and `tasks <service> serve` exit), else 1.
fn finish(result: Result<(), BoxError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            if error.is::<shared::config::ConfigError>() {
                ExitCode::from(service::BAD_CONFIGURATION)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// The ways to give create-admin a password, for the messages that need to list them.
const PASSWORD_WAYS: &str = "type it at the prompt (on a terminal), or give --password-stdin \
     (first line of standard input) or --password-file PATH";

/// `tasks users create-admin`: exit code 2 for a usage problem (a password on the command line,
/// none given and no terminal to ask on) or bad configuration, 1 for a refusal or a failure.
fn create_admin(args: CreateAdmin) -> ExitCode {
    if args.password.is_some() {
        eprintln!(
            "error: --password is not accepted (the process list and the shell history would \
             show it); {PASSWORD_WAYS}"
        );
        return ExitCode::from(2);
    }
    // The configuration and the database first: nobody types a password to learn that.
    let pool = match service::open::<users::Users>() {
        Ok((_, pool)) => pool,
        Err(error) => return finish(Err(error)),
    };
    let password = match read_password(&args) {
        Ok(password) => password,
        Err(PasswordProblem::Usage(why)) => {
            eprintln!("error: {why}");
            return ExitCode::from(2);
        }
        Err(PasswordProblem::Failed(why)) => {
            eprintln!("error: {why}");
            return ExitCode::FAILURE;
        }
    };
    let existing = if args.promote {
        users::Existing::Promote
    } else {
        users::Existing::Refuse
    };
    finish(make_admin(
        &pool,
        &args.username,
        &args.email,
        &password,
        existing,
    ))
}

enum PasswordProblem {
    /// No way to get one was given or usable (exit code 2).
    Usage(String),
    /// A way was given and failed.
    Failed(String),
}

/// The password from the file, standard input or a prompt without echo; the line's end is
/// not part of it.
fn read_password(args: &CreateAdmin) -> Result<String, PasswordProblem> {
    use std::io::{BufRead, IsTerminal};
    let first_line = |text: &str| text.lines().next().unwrap_or("").to_owned();
    if let Some(path) = &args.password_file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            PasswordProblem::Failed(format!(
                "cannot read --password-file {}: {e}",
                path.display()
            ))
        })?;
        return Ok(first_line(&text));
    }
    if args.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| PasswordProblem::Failed(format!("cannot read standard input: {e}")))?;
        return Ok(first_line(&line));
    }
    if !std::io::stdin().is_terminal() {
        return Err(PasswordProblem::Usage(format!(
            "no password given and no terminal to ask on: {PASSWORD_WAYS}"
        )));
    }
    let prompt = |text: &str| {
        rpassword::prompt_password(text)
            .map_err(|e| PasswordProblem::Failed(format!("cannot read the password: {e}")))
    };
    let password = prompt(&format!("Password for {}: ", args.username))?;
    if prompt("The same password again: ")? != password {
        return Err(PasswordProblem::Failed(
            "the two passwords differ; nothing was changed".into(),
        ));
    }
    Ok(password)
}

fn make_admin(
    pool: &shared::db::Pool,
    username: &str,
    email: &str,
    password: &str,
    existing: users::Existing,
) -> Result<(), BoxError> {
    let created = tokio::runtime::Runtime::new()?.block_on(users::create_admin(
        pool, username, email, password, existing,
    ));
    let (user, outcome) = created.map_err(|e| match e {
        users::Error::Api(shared::ApiError {
            message,
            errors: Some(errors),
            ..
        }) => {
            // The command's flag is --email where the API's field is `mail`.
            let problems: Vec<String> = errors
                .iter()
                .map(|(field, problem)| match field.as_str() {
                    "mail" => format!("--email {problem}"),
                    // Never given as a flag (--password is refused).
                    "password" => format!("the password {problem}"),
                    flag => format!("--{flag} {problem}"),
                })
                .collect();
            format!("{message}: {}", problems.join("; "))
        }
        other => other.to_string(),
    })?;
    let done = match outcome {
        users::AdminOutcome::Created => "created as an administrator",
        users::AdminOutcome::Promoted => "is now an administrator (its password is unchanged)",
    };
    println!(
        "user {} (id {}) {done}, in {}",
        user.username,
        user.id,
        pool.database()
    );
    Ok(())
}

fn edge_cert(dir: &std::path::Path, names: &[String]) -> Result<(), BoxError> {
    let made = tasks::edge::LocalCertificate::make(dir, names)?;
    println!(
        "wrote {} and {} (for nginx) and {} (the CA to trust)",
        made.cert.display(),
        made.key.display(),
        made.ca.display()
    );
    Ok(())
}

fn seed() -> Result<(), BoxError> {
    let (settings, pool) = service::open::<beers::Beers>()?;
    let added = beers::seed(&pool)?;
    let database = &settings.service.database_url;
    if added.is_empty() {
        println!("the reference catalogue is already in {database}; nothing added");
    } else {
        println!(
            "added {} beers to {database}: {}",
            added.len(),
            added.join(", ")
        );
    }
    Ok(())
}

fn pg_command(command: PgCommand) -> Result<(), BoxError> {
    let cluster = pg::Cluster::at(pg::cluster_dir());
    match command {
        PgCommand::Start => {
            cluster.start()?;
            pg::print_status(&cluster);
        }
        PgCommand::Stop => {
            let was_running = cluster.is_running();
            cluster.stop()?;
            if was_running {
                println!("PostgreSQL stopped and its folder removed");
            } else {
                println!("no PostgreSQL cluster was running; nothing to stop");
            }
        }
        // Fails when there is no cluster, so `eval "$(tasks pg status | grep ^export)"`
        // in a script stops there rather than quietly going on with SQLite.
        PgCommand::Status if !pg::print_status(&cluster) => {
            return Err("no PostgreSQL cluster is running".into())
        }
        PgCommand::Status => {}
    }
    Ok(())
}
