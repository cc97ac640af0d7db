//! The harness: a real Tessera server on a loopback port (SQLite in a fresh
//! folder), sessions made through its Backend API, and a JWKS proxy that
//! counts requests and can be switched off.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::Rng;
use reqwest::Method;
use serde_json::{json, Value};
use tessera::config::Settings;
use tessera::Running;
use tokio::net::TcpListener;

/// A running Tessera server.
pub struct Server {
    pub base: String,
    pub secret: String,
    pub http: reqwest::Client,
    running: Option<Running>,
    dir: PathBuf,
}

/// A user's session and a token for it.
pub struct Session {
    pub user_id: String,
    pub session_id: String,
    pub jwt: String,
}

impl Server {
    pub async fn start() -> Self {
        let tag: u64 = rand::thread_rng().gen();
        let dir = std::env::temp_dir().join(format!("tessera-sdk-test-{tag:016x}"));
        std::fs::create_dir_all(&dir).unwrap();
        let secret = format!("sk_test_{:032x}", rand::thread_rng().gen::<u128>());
        let settings = Settings::for_test(
            dir.clone(),
            format!("sqlite://{}?mode=rwc", dir.join("t.db").display()),
            secret.clone(),
        );
        let running = tessera::start(&settings).await.expect("server starts");
        Self {
            base: format!("http://{}", running.addr),
            secret,
            http: reqwest::Client::new(),
            running: Some(running),
            dir,
        }
    }

    /// The public JWKS URL.
    pub fn jwks_url(&self) -> String {
        format!("{}/.well-known/jwks.json", self.base)
    }

    /// A Backend API call with the secret key; `origin` becomes the token's `azp`.
    pub async fn bapi(
        &self,
        method: Method,
        path: &str,
        body: Value,
        origin: Option<&str>,
    ) -> Value {
        let mut request = self
            .http
            .request(method, format!("{}/v1{path}", self.base))
            .bearer_auth(&self.secret)
            .json(&body);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    /// A new user, a session for them, and a token (60 s) with no `azp`.
    pub async fn session(&self) -> Session {
        let n: u64 = rand::thread_rng().gen();
        let user = self
            .bapi(
                Method::POST,
                "/users",
                json!({"email_address": [format!("u{n:016x}@example.com")],
                       "password": "correct horse battery"}),
                None,
            )
            .await;
        let user_id = user["id"].as_str().unwrap().to_owned();
        let session = self
            .bapi(Method::POST, "/sessions", json!({"user_id": user_id}), None)
            .await;
        let session_id = session["id"].as_str().unwrap().to_owned();
        let jwt = self.token(&session_id, json!({}), None).await;
        Session {
            user_id,
            session_id,
            jwt,
        }
    }

    /// A fresh token for a session; `body` may set `expires_in_seconds`.
    pub async fn token(&self, session_id: &str, body: Value, origin: Option<&str>) -> String {
        let path = format!("/sessions/{session_id}/tokens");
        let answer = self.bapi(Method::POST, &path, body, origin).await;
        answer["jwt"].as_str().unwrap().to_owned()
    }

    /// Rotates the signing key of the running server; returns the new key id.
    pub async fn rotate_signing_key(&self) -> String {
        let running = self.running.as_ref().unwrap();
        running.core.settings().rotate_signing_key().await.unwrap()
    }

    /// The current signing key's public half, PEM.
    pub fn public_key_pem(&self) -> String {
        let running = self.running.as_ref().unwrap();
        running.core.keyring.current_public_pem().unwrap()
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await.unwrap();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A JWKS endpoint on its own port that forwards to the server's, counts
/// the requests it gets, and answers 503 while switched off.
#[derive(Clone)]
pub struct JwksProxy {
    pub url: String,
    state: Arc<ProxyState>,
}

struct ProxyState {
    upstream: String,
    http: reqwest::Client,
    requests: AtomicU64,
    down: AtomicBool,
}

async fn forward(State(state): State<Arc<ProxyState>>) -> Response {
    state.requests.fetch_add(1, Ordering::SeqCst);
    if state.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let body = state
        .http
        .get(&state.upstream)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    ([("content-type", "application/json")], body).into_response()
}

impl JwksProxy {
    pub async fn start(upstream: String) -> Self {
        let state = Arc::new(ProxyState {
            upstream,
            http: reqwest::Client::new(),
            requests: AtomicU64::new(0),
            down: AtomicBool::new(false),
        });
        let app = Router::new()
            .route("/jwks.json", get(forward))
            .with_state(Arc::clone(&state));
        let url = serve(app).await;
        Self {
            url: format!("{url}/jwks.json"),
            state,
        }
    }

    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::SeqCst)
    }

    pub fn set_down(&self, down: bool) {
        self.state.down.store(down, Ordering::SeqCst);
    }
}

/// Serves `app` on a loopback port in the background; returns its base URL.
pub async fn serve(app: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// The JSON payload of a JWT (unverified).
pub fn payload(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// `jwt` with its payload replaced by `payload` (the signature no longer matches).
pub fn with_payload(jwt: &str, payload: &Value) -> String {
    let parts: Vec<&str> = jwt.split('.').collect();
    let body = URL_SAFE_NO_PAD.encode(payload.to_string());
    format!("{}.{body}.{}", parts[0], parts[2])
}

/// `jwt` with its header replaced by `header` (the signature no longer matches).
pub fn with_header(jwt: &str, header: &Value) -> String {
    let parts: Vec<&str> = jwt.split('.').collect();
    let head = URL_SAFE_NO_PAD.encode(header.to_string());
    format!("{head}.{}.{}", parts[1], parts[2])
}

/// A port on loopback where nothing listens.
pub async fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/.well-known/jwks.json")
}
