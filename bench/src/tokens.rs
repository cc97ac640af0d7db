//! `tessera-bench tokens`: session-token refresh (`POST /v1/client/sessions/{id}/tokens`)
//! against raw RS256 signing with the server's own key ring on as many threads
//! as the server has workers.
//!
//! Two endpoint figures come from every run, in alternating slices with the raw
//! one. Throughput (the goal's figure): enough requests in flight that the server
//! never waits for the generator, sent from a `SCHED_BATCH` thread that takes
//! its share of the two cores but does not preempt a server thread in the middle
//! of a signature for every answer (a generator on another machine would not run
//! on the server's cores at all). Latency: fewer requests in flight from a
//! generator at the normal policy, the harsher co-located figure.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
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
    /// Alternating rounds (raw, throughput, latency, raw, …) the seconds are split into.
    #[arg(long, default_value_t = 5)]
    pub rounds: u32,
    /// Requests in flight for the throughput figure (batch-scheduled generator).
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Requests in flight for the latency figure (generator at the normal policy).
    #[arg(long, default_value_t = 8)]
    pub latency_concurrency: usize,
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
        fea: None,
        fva: [0, -1],
        iat,
        iss: core.frontend_url.clone(),
        nbf: iat - 10,
        o: None,
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

/// One closed-loop worker per connection of `conns`, each asking for the token
/// of one of `requests` (worker `n` for request `n mod len`).
async fn refresh_loop(
    conns: Arc<Vec<Mutex<Conn>>>,
    requests: Arc<Vec<Request>>,
    warmup: Duration,
    slice: Duration,
) -> anyhow::Result<load::Measured> {
    load::closed_loop(conns.len(), warmup, slice, move |worker, _| {
        let (conns, requests) = (conns.clone(), requests.clone());
        async move {
            let mut conn = conns[worker].lock().await;
            let answer = conn.send(&requests[worker % requests.len()]).await?;
            check_token(&answer)
        }
    })
    .await
}

/// Runs the scenario.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let plan = format!(
        "tokens: {} s of each, in {} alternating rounds; throughput with {} requests in flight \
         (SCHED_BATCH generator), latency with {} (normal generator); {} sessions",
        args.seconds, args.rounds, args.concurrency, args.latency_concurrency, args.sessions
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
    let latency_conns = Arc::new(connections(server.addr, args.latency_concurrency).await?);
    let (addr, concurrency) = (server.addr, args.concurrency);
    let phases: Vec<load::Phase<'_>> = vec![
        Box::new(|warmup, slice| {
            raw_rs256(&server.core, &sessions[0], server.threads, warmup, slice).boxed_local()
        }),
        Box::new(|warmup, slice| {
            let requests = requests.clone();
            load::on_batch_thread(move || async move {
                let conns = Arc::new(connections(addr, concurrency).await?);
                refresh_loop(conns, requests, warmup, slice).await
            })
            .boxed_local()
        }),
        Box::new(|warmup, slice| {
            refresh_loop(latency_conns.clone(), requests.clone(), warmup, slice).boxed_local()
        }),
    ];
    let measured =
        load::alternate_all(args.rounds, Duration::from_secs(args.seconds), phases).await?;
    let [raw, throughput, latency]: [load::Measured; 3] = measured
        .try_into()
        .map_err(|_| anyhow::anyhow!("a phase of the measurement is missing"))?;
    let raw = raw.rate();
    load::print_table(&[
        Row {
            name: format!(
                "POST …/tokens, {} in flight, batch generator, vs RS256 on {} threads",
                args.concurrency, server.threads
            ),
            raw: Some(raw),
            endpoint: throughput,
            goal: "ratio >= 0.90".to_owned(),
        },
        Row {
            name: format!(
                "POST …/tokens, {} in flight, normal generator",
                args.latency_concurrency
            ),
            raw: Some(raw),
            endpoint: latency,
            goal: "p50/p99 (no goal)".to_owned(),
        },
    ]);
    bench.stop().await
}
