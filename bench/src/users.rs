//! `tessera-bench users`: creates N users through the Backend API, then
//! measures list, search and count requests one after the other.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::stream::{self, StreamExt};
use serde_json::json;

use crate::load::percentile;
use crate::server::{self, BenchServer, ServerArgs};

/// Benchmark the user store through the Backend API.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Users to create.
    #[arg(long, default_value_t = 100_000)]
    pub users: usize,
    /// Concurrent requests while creating.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Requests per read scenario.
    #[arg(long, default_value_t = 300)]
    pub samples: usize,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// A read scenario: its name and the request path for sample `k`.
type Scenario = (&'static str, Box<dyn Fn(usize) -> String>);

const FIRST: [&str; 8] = [
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken",
];
const LAST: [&str; 8] = [
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson",
];

fn report(name: &str, mut times: Vec<Duration>) {
    times.sort();
    println!(
        "{name:<44} n={:<6} p50={:>8.2} ms  p99={:>8.2} ms",
        times.len(),
        percentile(&times, 50.0).as_secs_f64() * 1e3,
        percentile(&times, 99.0).as_secs_f64() * 1e3,
    );
}

/// Runs the scenario.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let server = BenchServer::start(&args.server).await?;
    let base = server.base.clone();
    let secret = server.secret.clone();
    let http = server::http_client()?;
    println!(
        "backend: {}  users: {}  concurrency: {}",
        server.backend, args.users, args.concurrency
    );

    let (_, existing) = get(&http, &secret, &format!("{base}/users/count")).await?;
    if existing["total_count"].as_i64() != Some(0) {
        bail!("the benchmark needs an empty database");
    }

    let started = Instant::now();
    let creates: Vec<anyhow::Result<Duration>> = stream::iter(0..args.users)
        .map(|i| {
            let http = http.clone();
            let server = &server;
            async move {
                let body = json!({
                    "email_address": [format!("user{i}@bench{}.example.com", i % 97)],
                    "first_name": format!("{}{}", FIRST[i % 8], i),
                    "last_name": LAST[(i / 8) % 8],
                    "external_id": format!("ext-{i}"),
                    "skip_password_requirement": true,
                    "public_metadata": {"i": i},
                });
                let t = Instant::now();
                server.bapi_post(&http, "users", &body).await?;
                Ok(t.elapsed())
            }
        })
        .buffer_unordered(args.concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let times: Vec<Duration> = creates.into_iter().collect::<anyhow::Result<_>>()?;
    println!(
        "created {} users in {:.1} s = {:.0} users/s",
        times.len(),
        elapsed.as_secs_f64(),
        times.len() as f64 / elapsed.as_secs_f64()
    );
    report("POST /v1/users", times);

    let n = args.users.max(1);
    let scenarios: Vec<Scenario> = vec![
        (
            "GET /users?limit=10 (newest page)",
            Box::new(|_| "users?limit=10".to_owned()),
        ),
        (
            "GET /users?limit=100&offset=k (deep pages)",
            Box::new(move |k| {
                format!(
                    "users?limit=100&offset={}",
                    (k * 7919) % n.saturating_sub(100).max(1)
                )
            }),
        ),
        (
            "GET /users?email_address=… (exact)",
            Box::new(move |k| {
                format!(
                    "users?email_address=user{}@bench{}.example.com",
                    (k * 31) % n,
                    ((k * 31) % n) % 97
                )
            }),
        ),
        (
            "GET /users?external_id=… (exact)",
            Box::new(move |k| format!("users?external_id=ext-{}", (k * 131) % n)),
        ),
        (
            "GET /users?query=… (substring search)",
            Box::new(move |k| format!("users?query=user{}%40&limit=10", (k * 53) % n)),
        ),
        (
            "GET /users?name_query=…",
            Box::new(|k| format!("users?name_query={}&limit=10", LAST[k % 8])),
        ),
        (
            "GET /users?order_by=email_address&limit=10",
            Box::new(|_| "users?order_by=email_address&limit=10".to_owned()),
        ),
        ("GET /users/count", Box::new(|_| "users/count".to_owned())),
        ("GET /users/{id}", Box::new(|_| String::new())),
    ];
    let (_, sample) = get(&http, &secret, &format!("{base}/users?limit=100")).await?;
    let ids: Vec<String> = sample
        .as_array()
        .context("list")?
        .iter()
        .filter_map(|u| u["id"].as_str().map(str::to_owned))
        .collect();
    for (name, path) in scenarios {
        let mut times = Vec::with_capacity(args.samples);
        for k in 0..args.samples {
            let url = if name == "GET /users/{id}" {
                format!("{base}/users/{}", ids[k % ids.len().max(1)])
            } else {
                format!("{base}/{}", path(k))
            };
            let t = Instant::now();
            let (status, _) = get(&http, &secret, &url).await?;
            times.push(t.elapsed());
            if !status.is_success() {
                bail!("{name}: {status}");
            }
        }
        report(name, times);
    }
    server.stop().await
}

async fn get(
    http: &reqwest::Client,
    secret: &str,
    url: &str,
) -> anyhow::Result<(reqwest::StatusCode, serde_json::Value)> {
    let resp = http.get(url).bearer_auth(secret).send().await?;
    let status = resp.status();
    Ok((status, resp.json().await?))
}
