//! What a browser does on the Frontend API, as clerk-js sends it: form bodies,
//! the page's Origin, and the `__client` cookie.

use std::sync::Arc;

use anyhow::{bail, Context};
use futures::stream::{self, StreamExt, TryStreamExt};
use serde_json::{json, Value};

use crate::conn::{Answer, Request};
use crate::load;
use crate::server::{http_client, BenchServer, ServerArgs};

/// The page origin every request comes from (it becomes the token's `azp`).
pub const ORIGIN: &str = "http://127.0.0.1:3000";
/// Every benchmark user's password.
pub const PASSWORD: &str = "bench-correct-horse-battery-7";

/// A browser signed in to one session.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The `__client` cookie value.
    pub cookie: String,
    /// The session created by the sign-in.
    pub session_id: String,
    /// Its user.
    pub user_id: String,
}

/// The Frontend API of one server.
#[derive(Clone)]
pub struct Fapi {
    http: reqwest::Client,
    base: String,
}

impl Fapi {
    /// Talks to `server` through `http`.
    pub fn new(http: reqwest::Client, server: &BenchServer) -> Self {
        Self {
            http,
            base: server.base.clone(),
        }
    }

    /// `POST /v1/client/sign_ins` with identifier and password from a browser
    /// without a cookie (a fresh client); the sign-in must complete.
    pub async fn sign_in(&self, identifier: &str, password: &str) -> anyhow::Result<SignedIn> {
        let resp = self
            .http
            .post(format!("{}/client/sign_ins", self.base))
            .header("origin", ORIGIN)
            .form(&[
                ("strategy", "password"),
                ("identifier", identifier),
                ("password", password),
            ])
            .send()
            .await?;
        let status = resp.status();
        let cookie = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| c.strip_prefix("__client="))
            .and_then(|rest| rest.split(';').next())
            .filter(|v| !v.is_empty())
            .map(str::to_owned);
        let body: Value = resp.json().await?;
        if !status.is_success() || body["response"]["status"] != "complete" {
            bail!("sign-in of {identifier}: {status} {body}");
        }
        let session = &body["client"]["sessions"][0];
        Ok(SignedIn {
            cookie: cookie.context("no __client cookie after sign-in")?,
            session_id: body["response"]["created_session_id"]
                .as_str()
                .context("no created_session_id")?
                .to_owned(),
            user_id: session["user"]["id"]
                .as_str()
                .context("no user in the session")?
                .to_owned(),
        })
    }

    /// The bytes of `POST /v1/client/sessions/{id}/tokens` from `signed_in`'s
    /// browser, for a [`Conn`].
    pub fn token_request(&self, signed_in: &SignedIn) -> Request {
        let (host, path) = self
            .base
            .strip_prefix("http://")
            .and_then(|rest| rest.split_once('/'))
            .unwrap_or(("127.0.0.1", "v1"));
        let cookie = format!("__client={}", signed_in.cookie);
        Request::new(
            "POST",
            &format!("/{path}/client/sessions/{}/tokens", signed_in.session_id),
            host,
            &[("origin", ORIGIN), ("cookie", &cookie)],
        )
    }

    /// `POST /v1/client/sessions/{id}/tokens`: a fresh session token.
    pub async fn token(&self, signed_in: &SignedIn) -> anyhow::Result<()> {
        let resp = self
            .http
            .post(format!(
                "{}/client/sessions/{}/tokens",
                self.base, signed_in.session_id
            ))
            .header("origin", ORIGIN)
            .header("cookie", format!("__client={}", signed_in.cookie))
            .send()
            .await?;
        let status = resp.status();
        let body: Value = resp.json().await?;
        if !status.is_success() || !body["jwt"].is_string() {
            bail!("token for {}: {status} {body}", signed_in.session_id);
        }
        Ok(())
    }
}

/// Checks a token answer read by a [`crate::conn::Conn`]: 200 and a JWT.
pub fn check_token(answer: &Answer<'_>) -> anyhow::Result<()> {
    if answer.status != 200 || !answer.body.windows(7).any(|w| w == b"\"jwt\":\"") {
        bail!(
            "token: {} {}",
            answer.status,
            String::from_utf8_lossy(answer.body)
        );
    }
    Ok(())
}

/// A scenario's server, its HTTP client and its Frontend API.
pub struct Harness {
    /// The server under test.
    pub server: BenchServer,
    /// Keep-alive HTTP client.
    pub http: reqwest::Client,
    /// The server's Frontend API.
    pub fapi: Fapi,
}

impl Harness {
    /// Starts the server; prints the set-up, `plan` and the load average.
    pub async fn start(args: &ServerArgs, plan: String) -> anyhow::Result<Self> {
        let server = BenchServer::start(args).await?;
        let http = http_client()?;
        let fapi = Fapi::new(http.clone(), &server);
        println!("{}", server.describe());
        println!("{plan}; load average {}", load::load_average());
        Ok(Self { server, http, fapi })
    }

    /// Creates `count` users with [`PASSWORD`] through `POST /v1/users` (the
    /// server hashes each password); returns their email addresses.
    pub async fn create_users(
        &self,
        prefix: &str,
        count: usize,
    ) -> anyhow::Result<Arc<Vec<String>>> {
        let emails = stream::iter(0..count.max(1))
            .map(|i| async move {
                let email = format!("{prefix}{i}@bench.example.com");
                let body = json!({"email_address": [email], "password": PASSWORD});
                self.server.bapi_post(&self.http, "users", &body).await?;
                anyhow::Ok(email)
            })
            .buffered(4)
            .try_collect()
            .await?;
        Ok(Arc::new(emails))
    }

    /// Creates `count` users and signs each in once, each on its own fresh client.
    pub async fn signed_in(
        &self,
        prefix: &str,
        count: usize,
    ) -> anyhow::Result<Arc<Vec<SignedIn>>> {
        let emails = self.create_users(prefix, count).await?;
        let sessions = stream::iter(emails.iter())
            .map(|email| self.fapi.sign_in(email, PASSWORD))
            .buffered(4)
            .try_collect()
            .await?;
        Ok(Arc::new(sessions))
    }

    /// Stops the server.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.server.stop().await
    }
}
