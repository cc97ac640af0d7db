//! `tessera-bench mixed`: token refreshes at a steady rate, first alone, then
//! while a storm of password sign-ins keeps the hashing pool saturated.

use std::sync::Arc;
use std::time::Duration;

use crate::fapi::{Fapi, Harness, SignedIn};
use crate::load::{self, Row};
use crate::server::ServerArgs;
use crate::signin::sign_in_load;

/// Token refresh latency during a sign-in storm.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Seconds of each measured phase (tokens alone, then tokens during the storm).
    #[arg(long, default_value_t = 15)]
    pub seconds: u64,
    /// Token requests per second (started on schedule, whatever the answers take).
    #[arg(long, default_value_t = 200.0)]
    pub token_rate: f64,
    /// Signed-in browsers the token requests rotate over.
    #[arg(long, default_value_t = 32)]
    pub sessions: usize,
    /// Concurrent sign-ins in the storm.
    #[arg(long, default_value_t = 8)]
    pub storm: usize,
    /// Users the storm signs in.
    #[arg(long, default_value_t = 32)]
    pub users: usize,
    #[command(flatten)]
    pub server: ServerArgs,
}

async fn tokens_at_rate(
    fapi: &Fapi,
    sessions: &Arc<Vec<SignedIn>>,
    rate: f64,
    duration: Duration,
) -> anyhow::Result<load::OpenLoop> {
    let fapi = fapi.clone();
    let sessions = sessions.clone();
    load::open_loop_timed(rate, duration, move |n| {
        let fapi = fapi.clone();
        let sessions = sessions.clone();
        async move { fapi.token(&sessions[n % sessions.len()]).await }
    })
    .await
}

/// Runs the scenario.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let plan = format!(
        "mixed: {} s per phase, {:.0} token requests/s over {} sessions, storm of {} concurrent sign-ins",
        args.seconds, args.token_rate, args.sessions, args.storm
    );
    let bench = Harness::start(&args.server, plan).await?;
    let fapi = &bench.fapi;
    let duration = Duration::from_secs(args.seconds);
    let sessions = bench.signed_in("token", args.sessions).await?;
    let emails = bench.create_users("storm", args.users).await?;

    // Warm the connections and caches, then tokens alone.
    tokens_at_rate(fapi, &sessions, args.token_rate, load::WARMUP).await?;
    let alone = tokens_at_rate(fapi, &sessions, args.token_rate, duration).await?;

    // The storm starts first and runs past the token phase, so the pool stays saturated.
    let storm = sign_in_load(
        fapi.clone(),
        emails,
        args.storm,
        load::WARMUP,
        duration + Duration::from_secs(1),
    );
    let during = async {
        tokio::time::sleep(load::WARMUP).await;
        tokens_at_rate(fapi, &sessions, args.token_rate, duration).await
    };
    let (storm, during) = tokio::join!(storm, during);
    let (storm, during) = (storm?, during?);

    println!(
        "generator lag against the schedule, p99: {:.2} ms alone, {:.2} ms during the storm",
        alone.lag.p(99.0),
        during.lag.p(99.0)
    );
    let row = |name: String, endpoint: load::Measured, goal: &str| Row {
        name,
        raw: None,
        endpoint,
        goal: goal.to_owned(),
    };
    let rate = args.token_rate;
    load::print_table(&[
        row(
            format!("…/tokens at {rate:.0}/s, alone"),
            alone.from_send,
            "",
        ),
        row(
            format!("…/tokens at {rate:.0}/s, during the storm"),
            during.from_send,
            "p99 < 5 ms",
        ),
        row(
            "  the same, from the scheduled start".to_owned(),
            during.from_schedule,
            "",
        ),
        row(
            format!(
                "sign-in storm ({} concurrent, pool {})",
                args.storm, bench.server.hash_concurrency
            ),
            storm,
            "",
        ),
    ]);
    bench.stop().await
}
