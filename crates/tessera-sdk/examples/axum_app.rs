//! A small axum app whose `/me` route needs a Tessera session token.
//!
//! ```sh
//! cargo run -p tessera -- serve                       # in one terminal
//! cargo run -p tessera-sdk --example axum_app          # in another
//! curl -s localhost:3000/public
//! curl -s localhost:3000/me -H "Authorization: Bearer $JWT"
//! ```
//!
//! Environment: `TESSERA_URL` (default `http://127.0.0.1:8080`), `APP_ADDR`
//! (default `127.0.0.1:3000`), `AUTHORIZED_PARTIES` (comma-separated origins;
//! unset accepts every `azp`). See the crate README for getting a token.

use anyhow::Context;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use tessera_sdk::axum::Auth;
use tessera_sdk::Verifier;

/// Anyone may call this.
async fn public() -> Json<Value> {
    Json(json!({ "message": "anyone can see this" }))
}

/// Only a signed-in session gets here; the extractor answered 401 otherwise.
async fn me(Auth(claims): Auth) -> Json<Value> {
    Json(json!({
        "user_id": claims.user_id,
        "session_id": claims.session_id,
    }))
}

fn env(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let server = env("TESSERA_URL", "http://127.0.0.1:8080");
    let addr = env("APP_ADDR", "127.0.0.1:3000");
    let parties: Vec<String> = env("AUTHORIZED_PARTIES", "")
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();

    let verifier = Verifier::from_server_url(&server)
        .authorized_parties(parties)
        .build()?;
    // Optional: load the keys now to report a wrong URL at start-up rather
    // than on the first request (which would fetch them anyway).
    if let Err(e) = verifier.refresh().await {
        eprintln!("warning: {e} (is `tessera serve` running at {server}?)");
    }

    // The verifier is the whole state here; in a bigger app, keep it in your
    // state struct and `impl FromRef<AppState> for Verifier`.
    let app = Router::new()
        .route("/public", get(public))
        .route("/me", get(me))
        .with_state(verifier);

    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    println!("example app on http://{addr} (keys from {server}/.well-known/jwks.json)");
    axum::serve(listener, app).await?;
    Ok(())
}
