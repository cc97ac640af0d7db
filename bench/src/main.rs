//! `tessera-bench`: load scenarios for Tessera. Each starts a real server on
//! loopback (SQLite in a temporary folder, or the PostgreSQL database given)
//! on its own thread and tokio runtime, drives it over HTTP from a separate
//! runtime, prints figures and stops by itself. Traffic stays on 127.0.0.1.
//!
//! - `users`: the user store through the Backend API;
//! - `tokens`: session-token refresh against raw RS256 signing;
//! - `signin`: password sign-ins against raw argon2id;
//! - `mixed`: token refresh latency while sign-ins saturate the hashing pool;
//! - `webhooks`: write latency without and with an endpoint, and deliveries per second;
//! - `orgs`: member lists of a 10,000-member organization, tokens with an active organization.

mod conn;
mod fapi;
mod load;
mod mixed;
mod orgs;
mod server;
mod signin;
mod tokens;
mod users;
mod webhooks;

use clap::{Parser, Subcommand};

/// Load scenarios against a real Tessera server on loopback.
#[derive(Parser, Debug)]
#[command(name = "tessera-bench")]
struct Cli {
    /// Worker threads of the load generator's runtime (the server has its own).
    #[arg(long, global = true, default_value_t = 1)]
    client_threads: usize,
    /// Runs the load generator's threads as `SCHED_BATCH`: a woken generator
    /// then waits for the end of a server thread's time slice instead of
    /// preempting it. With enough requests in flight (`tokens --concurrency
    /// 32`) the server never waits for work, and the figure shows the server
    /// with the generator's interference mostly out of the way.
    #[arg(long, global = true)]
    generator_batch: bool,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand, Debug)]
enum Scenario {
    /// The user store: create N users, then time list, search and count requests.
    Users(users::Args),
    /// Token refresh throughput against raw RS256 signatures.
    Tokens(tokens::Args),
    /// Password sign-in throughput against raw argon2id.
    Signin(signin::Args),
    /// Token refresh latency during a password sign-in storm.
    Mixed(mixed::Args),
    /// Write latency without and with a webhook endpoint; deliveries per second.
    Webhooks(webhooks::Args),
    /// An organization with many members: member lists, and tokens with an active organization.
    Orgs(orgs::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let batch = cli.generator_batch;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cli.client_threads.max(1))
        .thread_name("bench-client")
        .on_thread_start(move || {
            if batch {
                load::schedule_as_batch();
            }
        })
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.scenario {
            Scenario::Users(args) => users::run(args).await,
            Scenario::Tokens(args) => tokens::run(args).await,
            Scenario::Signin(args) => signin::run(args).await,
            Scenario::Mixed(args) => mixed::run(args).await,
            Scenario::Webhooks(args) => webhooks::run(args).await,
            Scenario::Orgs(args) => orgs::run(args).await,
        }
    })
}
