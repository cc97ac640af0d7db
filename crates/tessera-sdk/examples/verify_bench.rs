//! Verifications per second on one thread, with the JWKS cached.
//!
//! Starts a Tessera server in-process (SQLite in a temporary folder), makes a
//! user, a session and a token through the Backend API, then verifies that
//! token in a loop on a single-threaded runtime and prints the rate:
//!
//! ```sh
//! cargo run --release -p tessera-sdk --example verify_bench
//! ```

use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{json, Value};
use tessera::config::Settings;
use tessera_sdk::Verifier;

async fn post(
    http: &reqwest::Client,
    url: String,
    secret: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let response = http
        .post(&url)
        .bearer_auth(secret)
        .json(&body)
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    anyhow::ensure!(status.is_success(), "POST {url}: {status} {body}");
    Ok(body)
}

fn field(body: &Value, name: &str) -> anyhow::Result<String> {
    body[name]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no {name} in {body}"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("tessera-sdk-bench-{}", std::process::id()));
    let secret = "sk_test_0123456789abcdef0123456789abcdef".to_owned();
    std::fs::create_dir_all(&dir)?;
    let settings = Settings::for_test(
        dir.clone(),
        format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()),
        secret.clone(),
    );
    let running = tessera::start(&settings).await?;
    let base = format!("http://{}", running.addr);
    let http = reqwest::Client::new();

    let user = post(
        &http,
        format!("{base}/v1/users"),
        &secret,
        json!({"email_address": ["bench@example.com"], "password": "correct horse battery"}),
    )
    .await?;
    let session = post(
        &http,
        format!("{base}/v1/sessions"),
        &secret,
        json!({"user_id": field(&user, "id")?}),
    )
    .await?;
    let token = post(
        &http,
        format!("{base}/v1/sessions/{}/tokens", field(&session, "id")?),
        &secret,
        json!({"expires_in_seconds": 3600}),
    )
    .await?;
    let jwt = field(&token, "jwt")?;

    let verifier = Verifier::from_server_url(&base).build()?;
    for _ in 0..200 {
        verifier.verify(&jwt).await?;
    }
    let mut count: u64 = 0;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3) {
        for _ in 0..100 {
            verifier.verify(&jwt).await?;
        }
        count += 100;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{count} verifications in {elapsed:.2} s: {:.0} verifications/s on one thread \
         ({:.1} µs each), {} JWKS fetch(es)",
        count as f64 / elapsed,
        elapsed * 1e6 / count as f64,
        verifier.jwks_fetch_count()
    );

    running.shutdown().await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
