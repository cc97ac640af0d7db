//! `tessera-bench tokens`: session-token refresh (`POST /v1/client/sessions/{id}/tokens`)
//! against raw RS256 signing with the server's own key ring on as many threads
//! as the server has workers.

use std::time::Duration;

use tessera_core::keyring::SessionClaims;
use tessera_core::Core;

use crate::fapi::{Harness, SignedIn, ORIGIN};
use crate::load::{self, Row};
use crate::server::ServerArgs;

/// Token refresh throughput against raw RS256 signatures.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Seconds of each measured phase (raw signing, then the endpoint).
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Concurrent token requests.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Signed-in browsers the requests rotate over.
    #[arg(long, default_value_t = 16)]
    pub sessions: usize,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// The claims the server signs for `session` (same shape and sizes).
pub fn claims(core: &Core, session: &SignedIn) -> SessionClaims {
    let iat = tessera_core::clock::now_ms() / 1000;
    SessionClaims {
        azp: Some(ORIGIN.to_owned()),
        exp: iat + tessera_core::sessions::TOKEN_LIFETIME_SECS,
        fva: [0, -1],
        iat,
        iss: core.frontend_url.clone(),
        nbf: iat - 10,
        sid: session.session_id.clone(),
        sts: "active".to_owned(),
        sub: session.user_id.clone(),
        v: 2,
    }
}

/// Raw RS256: the server's key ring signing Clerk claims on `threads` threads.
pub async fn raw_rs256(
    core: &Core,
    session: &SignedIn,
    threads: usize,
    duration: Duration,
) -> anyhow::Result<load::Measured> {
    let core = core.clone();
    let claims = claims(&core, session);
    load::raw_threads(threads, load::WARMUP, duration, move || {
        core.keyring.sign(&claims)?;
        Ok(())
    })
    .await
}

/// Runs the scenario.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let plan = format!(
        "tokens: {} s per phase, {} concurrent requests over {} sessions",
        args.seconds, args.concurrency, args.sessions
    );
    let bench = Harness::start(&args.server, plan).await?;
    let server = &bench.server;
    let duration = Duration::from_secs(args.seconds);
    let sessions = bench.signed_in("token", args.sessions).await?;

    let raw = raw_rs256(&server.core, &sessions[0], server.threads, duration).await?;
    println!(
        "raw RS256 on {} threads: {:.0} signatures/s",
        server.threads,
        raw.rate()
    );
    let fapi = bench.fapi.clone();
    let endpoint = load::closed_loop(
        args.concurrency,
        load::WARMUP,
        duration,
        move |worker, _| {
            let fapi = fapi.clone();
            let sessions = sessions.clone();
            async move { fapi.token(&sessions[worker % sessions.len()]).await }
        },
    )
    .await?;
    load::print_table(&[Row {
        name: format!("POST …/tokens ({} concurrent)", args.concurrency),
        raw: Some(raw.rate()),
        endpoint,
        goal: "ratio >= 0.90".to_owned(),
    }]);
    bench.stop().await
}
