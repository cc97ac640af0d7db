//! `tessera-bench tokens`: session-token refresh (`POST /v1/client/sessions/{id}/tokens`)
//! against raw RS256 signing with the server's own key ring on as many threads
//! as the server has workers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use tessera_core::keyring::SessionClaims;
use tessera_core::Core;

use crate::conn::{Conn, Request};
use crate::fapi::{check_token, Harness, SignedIn, ORIGIN};
use crate::load::{self, Row};
use crate::server::ServerArgs;

/// Token refresh throughput against raw RS256 signatures.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Seconds measured of each (raw signing and the endpoint).
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Alternating rounds (raw, endpoint, raw, …) the seconds are split into.
    #[arg(long, default_value_t = 5)]
    pub rounds: u32,
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
    warmup: Duration,
    duration: Duration,
) -> anyhow::Result<load::Measured> {
    let core = core.clone();
    let claims = claims(&core, session);
    load::raw_threads(threads, warmup, duration, move || {
        core.keyring.sign(&claims)?;
        Ok(())
    })
    .await
}

/// `count` keep-alive connections to the server, one per closed-loop worker.
pub async fn connections(addr: SocketAddr, count: usize) -> anyhow::Result<Vec<Mutex<Conn>>> {
    let mut conns = Vec::with_capacity(count);
    for _ in 0..count.max(1) {
        conns.push(Mutex::new(Conn::connect(addr).await?));
    }
    Ok(conns)
}

/// Runs the scenario.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let plan = format!(
        "tokens: {} s of each, in {} alternating rounds; {} concurrent requests over {} sessions",
        args.seconds, args.rounds, args.concurrency, args.sessions
    );
    let bench = Harness::start(&args.server, plan).await?;
    let server = &bench.server;
    let sessions = bench.signed_in("token", args.sessions).await?;
    let requests: Arc<Vec<Request>> = Arc::new(
        sessions
            .iter()
            .map(|s| bench.fapi.token_request(s))
            .collect(),
    );
    let conns = Arc::new(connections(server.addr, args.concurrency).await?);
    let (raw, endpoint) = load::alternate(
        args.rounds,
        Duration::from_secs(args.seconds),
        |warmup, slice| raw_rs256(&server.core, &sessions[0], server.threads, warmup, slice),
        |warmup, slice| {
            let (conns, requests) = (conns.clone(), requests.clone());
            load::closed_loop(args.concurrency, warmup, slice, move |worker, _| {
                let (conns, requests) = (conns.clone(), requests.clone());
                async move {
                    let mut conn = conns[worker].lock().await;
                    let answer = conn.send(&requests[worker % requests.len()]).await?;
                    check_token(&answer)
                }
            })
        },
    )
    .await?;
    load::print_table(&[Row {
        name: format!(
            "POST …/tokens ({} concurrent) vs RS256 on {} threads",
            args.concurrency, server.threads
        ),
        raw: Some(raw.rate()),
        endpoint,
        goal: "ratio >= 0.90".to_owned(),
    }]);
    bench.stop().await
}
