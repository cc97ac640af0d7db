//! `tessera-bench webhooks`: the Backend API's write latency without and with
//! a webhook endpoint, and how fast the dispatcher delivers to a local receiver.
//!
//! Phase 1 creates users with no endpoint; then an endpoint for every event
//! type is added (a receiver on loopback that answers 204 at once) and phase 2
//! creates users again. Each create emits one `user.created` message; the run
//! waits until the receiver has every one and reports deliveries per second
//! from its first to its last delivery.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::json;

use crate::load::{self, Measured, Row};
use crate::server::{http_client, BenchServer, ServerArgs};

/// Write latency with and without webhooks; delivery throughput.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Seconds of each measured phase.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Concurrent writers (closed loop: each sends its next write when the last is answered).
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Instead: writes started at this fixed rate per second (open loop), to
    /// compare latencies at a load the server carries both ways.
    #[arg(long)]
    pub rate: Option<f64>,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// What the receiver saw: deliveries and the times of the first and last.
#[derive(Default)]
struct Seen {
    count: AtomicUsize,
    span: Mutex<Option<(Instant, Instant)>>,
}

async fn start_receiver(seen: Arc<Seen>) -> anyhow::Result<String> {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let seen = seen.clone();
            async move {
                let now = Instant::now();
                seen.count.fetch_add(1, Ordering::SeqCst);
                if let Ok(mut span) = seen.span.lock() {
                    let first = span.map_or(now, |(f, _)| f);
                    *span = Some((first, now));
                }
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://127.0.0.1:{port}/hook"))
}

async fn write_phase(
    server: &BenchServer,
    http: &reqwest::Client,
    args: &Args,
    tag: &'static str,
    written: Arc<AtomicUsize>,
) -> anyhow::Result<Measured> {
    let base = server.base.clone();
    let secret = server.secret.clone();
    let http = http.clone();
    let write = move |key: String| {
        let (http, base, secret, written) =
            (http.clone(), base.clone(), secret.clone(), written.clone());
        async move {
            let resp = http
                .post(format!("{base}/users"))
                .bearer_auth(&secret)
                .json(&json!({
                    "email_address": [format!("{tag}-{key}@bench.example.com")],
                    "skip_password_requirement": true,
                }))
                .send()
                .await?;
            if !resp.status().is_success() {
                bail!("POST /v1/users: {} {}", resp.status(), resp.text().await?);
            }
            written.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    };
    let duration = Duration::from_secs(args.seconds);
    match args.rate {
        Some(rate) => load::open_loop(rate, duration, move |n| write(format!("o{n}"))).await,
        None => {
            load::closed_loop(args.concurrency, load::WARMUP, duration, move |w, n| {
                write(format!("{w}-{n}"))
            })
            .await
        }
    }
}

/// Runs the scenario.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let server = BenchServer::start(&args.server).await?;
    let load_kind = match args.rate {
        Some(rate) => format!("{rate} writes/s"),
        None => format!("{} concurrent writers", args.concurrency),
    };
    println!(
        "webhooks: {} s per phase, {load_kind}; {}",
        args.seconds,
        server.describe()
    );
    let http = http_client()?;
    let seen = Arc::new(Seen::default());
    let url = start_receiver(seen.clone()).await?;

    let without = write_phase(&server, &http, &args, "plain", Arc::default()).await?;
    server
        .bapi_post(&http, "webhooks/endpoints", &json!({ "url": url }))
        .await?;
    let written = Arc::new(AtomicUsize::new(0));
    let with = write_phase(&server, &http, &args, "hooked", written.clone()).await?;

    let expected = written.load(Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(300);
    while seen.count.load(Ordering::SeqCst) < expected {
        if Instant::now() > deadline {
            bail!(
                "only {} of {expected} deliveries arrived",
                seen.count.load(Ordering::SeqCst)
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let delivered = seen.count.load(Ordering::SeqCst);
    let span = seen
        .span
        .lock()
        .ok()
        .and_then(|s| *s)
        .map_or(Duration::ZERO, |(first, last)| last - first);
    println!("{delivered} deliveries of {expected} messages, first to last in {span:.2?}");
    load::print_table(&[
        Row {
            name: format!("POST /v1/users, no endpoint ({load_kind})"),
            raw: None,
            endpoint: without,
            goal: "-".to_owned(),
        },
        Row {
            name: format!("POST /v1/users, 1 endpoint ({load_kind})"),
            raw: None,
            endpoint: with,
            goal: "close to the row above".to_owned(),
        },
        Row {
            name: "deliveries to a local receiver".to_owned(),
            raw: None,
            endpoint: Measured::new(delivered, span, Vec::new()),
            goal: "-".to_owned(),
        },
    ]);
    server.stop().await
}
