//! `tessera-bench signin`: password sign-ins (`POST /v1/client/sign_ins`, each
//! from a fresh client, completing to a session) against raw argon2id
//! verifications with the server's parameters at the hashing pool's parallelism.

use std::sync::Arc;
use std::time::Duration;

use tessera_core::passwords::{Password, Verdict, NATIVE_HASHER};
use tessera_core::Core;

use crate::fapi::{Fapi, Harness, PASSWORD};
use crate::load::{self, Row};
use crate::server::ServerArgs;

/// Password sign-in throughput against raw argon2id.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Seconds measured of each (raw argon2id and the endpoint).
    #[arg(long, default_value_t = 15)]
    pub seconds: u64,
    /// Alternating rounds (raw, endpoint, raw, …) the seconds are split into.
    #[arg(long, default_value_t = 3)]
    pub rounds: u32,
    /// Concurrent sign-ins (more than the hashing pool, so it never idles).
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Users the sign-ins rotate over.
    #[arg(long, default_value_t = 32)]
    pub users: usize,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// A stored hash of [`PASSWORD`] made by the server's own hasher (its parameters).
pub async fn stored_hash(core: &Core) -> anyhow::Result<String> {
    Ok(core.hasher.hash(Password::new(PASSWORD.to_owned())).await?)
}

/// Raw argon2id: what the server's hashing threads do for one sign-in (verify
/// a stored PHC hash made by its own hasher, with the same code), on `threads`
/// threads of their own.
pub async fn raw_argon2id(
    core: &Core,
    stored: &str,
    threads: usize,
    warmup: Duration,
    duration: Duration,
) -> anyhow::Result<load::Measured> {
    let (hasher, stored) = (core.hasher.clone(), stored.to_owned());
    let password = Password::new(PASSWORD.to_owned());
    load::raw_threads(threads, warmup, duration, move || {
        match hasher.verify_here(&password, &stored, NATIVE_HASHER) {
            Verdict::Match => Ok(()),
            other => anyhow::bail!("the stored hash did not verify: {other:?}"),
        }
    })
    .await
}

/// Closed-loop sign-ins over `emails`, each from a fresh client.
pub async fn sign_in_load(
    fapi: Fapi,
    emails: Arc<Vec<String>>,
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
) -> anyhow::Result<load::Measured> {
    load::closed_loop(concurrency, warmup, duration, move |worker, n| {
        let fapi = fapi.clone();
        let email = emails[(worker + n * concurrency) % emails.len()].clone();
        async move { fapi.sign_in(&email, PASSWORD).await.map(drop) }
    })
    .await
}

/// Runs the scenario.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let plan = format!(
        "signin: {} s of each, in {} alternating rounds; {} concurrent sign-ins over {} users",
        args.seconds, args.rounds, args.concurrency, args.users
    );
    let bench = Harness::start(&args.server, plan).await?;
    let server = &bench.server;
    let emails = bench.create_users("signin", args.users).await?;
    let stored = stored_hash(&server.core).await?;
    let (raw, endpoint) = load::alternate(
        args.rounds,
        Duration::from_secs(args.seconds),
        |warmup, slice| {
            raw_argon2id(
                &server.core,
                &stored,
                server.hash_concurrency,
                warmup,
                slice,
            )
        },
        |warmup, slice| {
            sign_in_load(
                bench.fapi.clone(),
                emails.clone(),
                args.concurrency,
                warmup,
                slice,
            )
        },
    )
    .await?;
    load::print_table(&[Row {
        name: format!(
            "POST /client/sign_ins ({} concurrent) vs argon2id on {} threads",
            args.concurrency, server.hash_concurrency
        ),
        raw: Some(raw.rate()),
        endpoint,
        goal: "ratio >= 0.95".to_owned(),
    }]);
    bench.stop().await
}
