//! `journey`: customers registering, logging in, filling an order and checking out, over and
//! over against a running trio; prints what goose measured as JSON rows on stdout.
//!
//! `tasks bench` builds and runs it after its oha scenarios and reads the rows into its table.
//! It is a package of its own, outside the workspace, so that goose's reqwest features stay
//! out of the services' builds.

mod rows;
mod steps;

use std::process::ExitCode;

use clap::Parser;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Where the trio listens, how long to run, and the catalogue the bench set up.
#[derive(Parser)]
#[command(
    name = "journey",
    about = "Run the customer journey against a running trio"
)]
struct Args {
    /// The users service, e.g. http://127.0.0.1:5001.
    #[arg(long)]
    users_url: String,
    /// The beers service.
    #[arg(long)]
    beers_url: String,
    /// The orders service.
    #[arg(long)]
    orders_url: String,
    /// Seconds of load, after every goose user has started.
    #[arg(long)]
    seconds: u64,
    /// Goose users, each one customer session at a time.
    #[arg(long)]
    concurrency: u64,
    /// The catalogue's SKUs are `first_sku` .. `first_sku + skus`, all in stock.
    #[arg(long)]
    first_sku: u32,
    #[arg(long)]
    skus: u32,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("journey: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), BoxError> {
    if args.skus == 0 {
        return Err("--skus must be at least 1".into());
    }
    let seconds = args.seconds.max(1);
    let urls = steps::Trio {
        users: args.users_url,
        beers: args.beers_url,
        orders: args.orders_url,
        first_sku: args.first_sku,
        skus: args.skus,
    };
    let measured = steps::run(urls, seconds, args.concurrency.max(1)).await?;
    let mut rows: Vec<_> = steps::STEPS
        .iter()
        .map(|&(name, expected)| measured.step(name, expected, seconds).to_json())
        .collect();
    rows.push(measured.complete(seconds).to_json());
    println!("{}", serde_json::json!({ "rows": rows }));
    Ok(())
}
