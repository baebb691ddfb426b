//! `tasks`: the brewery trio's command line — serve, set up, seed, create an admin.

mod bench;
use tasks::pg;

mod serve_all;
mod shop;
mod test;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    /// the storefront's shell (STOREFRONT_PORT, default 5000). Ctrl-C stops them all.
    Serve,
    /// Put a throwaway nginx (Debian's `nginx`) in front of the running trio and a shell of its
    /// own: one origin, configured by deploy/nginx/edge.conf.template; files under target/edge.
    Edge {
        /// Where the edge listens.
        #[arg(long, env = "EDGE_PORT", default_value_t = 8080)]
        port: u16,
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
        command: OrdersCommand,
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
        /// One second per scenario (for CI).
        #[arg(long)]
        smoke: bool,
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

#[derive(Subcommand)]
enum UsersCommand {
    /// Serve the users service (USERS_PORT, default 5001).
    Serve,
    /// Apply pending database migrations, then exit.
    Setup,
    /// Create an administrator, or make an existing account one.
    CreateAdmin {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
    },
}

#[derive(Subcommand)]
enum BeersCommand {
    /// Serve the beers service (BEERS_PORT, default 5002).
    Serve,
    /// Apply pending database migrations, then exit.
    Setup,
    /// Add the reference catalogue (Бургаско, Загорка, Tuborg) where absent.
    Seed,
}

#[derive(Subcommand)]
enum OrdersCommand {
    /// Serve the orders service (ORDERS_PORT, default 5003).
    Serve,
    /// Apply pending database migrations, then exit.
    Setup,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    shared::startup::prepare();
    let result = match cli.command {
        Command::Serve => return serve_all::run(),
        Command::Edge { port } => tokio::runtime::Runtime::new()
            .map_err(BoxError::from)
            .and_then(|runtime| runtime.block_on(shop::edge(port))),
        Command::Storefront { same_origin } => tokio::runtime::Runtime::new()
            .map_err(BoxError::from)
            .and_then(|runtime| runtime.block_on(shop::serve(same_origin))),
        Command::Users { command } => users_command(command),
        Command::Beers { command } => beers_command(command),
        Command::Orders { command } => orders_command(command),
        Command::Pg { command } => pg_command(command),
        Command::Test { cargo_args } => test::run(&cargo_args),
        Command::Bench {
            seconds,
            concurrency,
            smoke,
        } => bench::run(bench::Options {
            seconds,
            concurrency,
            smoke,
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one service's `serve` on a Rocket runtime.
fn serve<S, F, Fut>(
    name: &str,
    settings: Result<S, shared::config::ConfigError>,
    serve: F,
) -> Result<(), BoxError>
where
    S: AsRef<shared::config::ServiceSettings>,
    F: FnOnce(S) -> Fut,
    Fut: std::future::Future<Output = Result<(), BoxError>> + Send,
{
    let settings = settings.map_err(|e| format!("{name}: bad configuration: {e}"))?;
    let pool = settings.as_ref().pool.clone();
    shared::startup::run(&pool, serve(settings))?
}

fn users_command(command: UsersCommand) -> Result<(), BoxError> {
    match command {
        UsersCommand::Serve => serve("users", users::Settings::from_env(), users::serve),
        UsersCommand::Setup => {
            let settings = users::Settings::from_env()?;
            users::connect(&settings)?;
            println!(
                "users: database at {} is up to date",
                settings.service.database_url
            );
            Ok(())
        }
        UsersCommand::CreateAdmin {
            username,
            email,
            password,
        } => {
            let settings = users::Settings::from_env()?;
            let pool = users::connect(&settings)?;
            let (user, outcome) = users::create_admin(&pool, &username, &email, &password)
                .map_err(|e| match e.errors {
                    Some(errors) => format!("{}: {errors:?}", e.message),
                    None => e.message,
                })?;
            let done = match outcome {
                users::AdminOutcome::Created => "created as an administrator",
                users::AdminOutcome::Promoted => "is now an administrator",
            };
            println!("user {} (id {}) {done}", user.username, user.id);
            Ok(())
        }
    }
}

fn beers_command(command: BeersCommand) -> Result<(), BoxError> {
    match command {
        BeersCommand::Serve => serve("beers", beers::Settings::from_env(), beers::serve),
        BeersCommand::Setup => {
            let settings = beers::Settings::from_env()?;
            beers::connect(&settings)?;
            println!(
                "beers: database at {} is up to date",
                settings.service.database_url
            );
            Ok(())
        }
        BeersCommand::Seed => {
            let settings = beers::Settings::from_env()?;
            let pool = beers::connect(&settings)?;
            let added = beers::seed(&pool)?;
            if added.is_empty() {
                println!("the reference catalogue is already there; nothing added");
            } else {
                println!("added {} beers: {}", added.len(), added.join(", "));
            }
            Ok(())
        }
    }
}

fn orders_command(command: OrdersCommand) -> Result<(), BoxError> {
    match command {
        OrdersCommand::Serve => serve("orders", orders::Settings::from_env(), orders::serve),
        OrdersCommand::Setup => {
            let settings = orders::Settings::from_env()?;
            orders::connect(&settings)?;
            println!(
                "orders: database at {} is up to date",
                settings.service.database_url
            );
            Ok(())
        }
    }
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
