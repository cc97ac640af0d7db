//! The test harness: a real server on a loopback port per test, on SQLite in a
//! fresh folder or on a fresh PostgreSQL database.
//!
//! PostgreSQL is used when `TEST_DATABASE_URL` points at a server (an admin
//! URL; each test creates and drops its own database). Without it the
//! PostgreSQL variants report that they were skipped, on the terminal, and
//! pass, unless `TESSERA_REQUIRE_POSTGRES=1` (as in CI) makes that a failure.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

use rand::Rng;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sqlx::Connection;
use tessera::config::Settings;
use tessera::Running;
use tessera_domain::settings::EnvironmentType;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);
static SKIP_NOTICE: Once = Once::new();

/// A running server and a client for it.
pub struct TestApp {
    pub base: String,
    pub secret: String,
    pub http: reqwest::Client,
    pub running: Option<Running>,
    pub smtp: crate::smtp::SmtpSink,
    pub sms: crate::smtp::SmsSink,
    settings: Settings,
    dir: PathBuf,
    pg: Option<(String, String)>,
}

pub fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let r: u32 = rand::thread_rng().gen();
    format!("{prefix}_{}_{n}_{r:08x}", std::process::id())
}

pub fn pg_admin_url() -> Option<String> {
    let url = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        if std::env::var("TESSERA_REQUIRE_POSTGRES").as_deref() == Ok("1") {
            panic!("TESSERA_REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set");
        }
        SKIP_NOTICE.call_once(|| {
            // Written past the test harness's output capture on purpose, so it is always seen.
            let _ = writeln!(
                std::io::stderr(),
                "\nNOTE: PostgreSQL half of the integration tests SKIPPED (TEST_DATABASE_URL not set; \
                 run scripts/postgres-up and export TEST_DATABASE_URL=<its output>)\n"
            );
        });
    }
    url
}

pub fn with_database(admin_url: &str, db: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin_url, String::new()),
    };
    let root = base.rsplit_once('/').map_or(base, |(r, _)| r);
    format!("{root}/{db}{query}")
}

impl TestApp {
    /// Starts a server on `backend`; `None` when PostgreSQL is not configured.
    pub async fn start(backend: Backend) -> Option<Self> {
        Self::start_with(backend, EnvironmentType::Development).await
    }

    /// Starts a server of the given environment type.
    pub async fn start_with(backend: Backend, environment: EnvironmentType) -> Option<Self> {
        Self::start_configured(backend, environment, test_webhooks()).await
    }

    /// Starts a development server whose settings `tune` adjusts first.
    pub async fn start_tuned(backend: Backend, tune: impl FnOnce(&mut Settings)) -> Option<Self> {
        Self::start_inner(backend, EnvironmentType::Development, test_webhooks(), tune).await
    }

    /// Starts a server with the given webhook dispatcher settings.
    pub async fn start_configured(
        backend: Backend,
        environment: EnvironmentType,
        webhooks: tessera_core::webhooks::WebhookConfig,
    ) -> Option<Self> {
        Self::start_inner(backend, environment, webhooks, |_| {}).await
    }

    async fn start_inner(
        backend: Backend,
        environment: EnvironmentType,
        webhooks: tessera_core::webhooks::WebhookConfig,
        tune: impl FnOnce(&mut Settings),
    ) -> Option<Self> {
        let dir = std::env::temp_dir().join(unique("tessera-test"));
        std::fs::create_dir_all(&dir).unwrap();
        let (database_url, pg) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}?mode=rwc", dir.join("t.db").display()),
                None,
            ),
            Backend::Postgres => {
                let admin = pg_admin_url()?;
                let db = unique("tessera_test");
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .expect("connect to TEST_DATABASE_URL");
                sqlx::query(&format!("CREATE DATABASE {db}"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                conn.close().await.ok();
                (with_database(&admin, &db), Some((admin, db)))
            }
        };
        let secret = format!(
            "sk_{}_{:032x}",
            environment.key_kind(),
            rand::thread_rng().gen::<u128>()
        );
        let smtp = crate::smtp::SmtpSink::start().await;
        let sms = crate::smtp::SmsSink::start().await;
        let settings = Settings {
            environment: Some(environment),
            hash_concurrency: 2,
            smtp_url: Some(smtp.url()),
            sms_webhook_url: Some(sms.url.clone()),
            webhooks,
            ..Settings::for_test(dir.clone(), database_url, secret.clone())
        };
        let mut settings = settings;
        tune(&mut settings);
        Some(Self::launch(settings, smtp, sms, dir, pg).await)
    }

    /// Starts a server with `settings`, whose sinks and folder are given.
    async fn launch(
        settings: Settings,
        smtp: crate::smtp::SmtpSink,
        sms: crate::smtp::SmsSink,
        dir: PathBuf,
        pg: Option<(String, String)>,
    ) -> Self {
        let running = tessera::start(&settings).await.expect("server starts");
        Self {
            base: format!("http://{}", running.addr),
            secret: settings.secret_key.clone().unwrap(),
            http: reqwest::Client::new(),
            running: Some(running),
            smtp,
            sms,
            settings,
            dir,
            pg,
        }
    }

    /// Starts a second server on this one's database (PostgreSQL), with the
    /// same keys; stopping it leaves the database to this one.
    pub async fn replica(&self) -> Self {
        self.replica_at(self.settings.database_url.clone()).await
    }

    /// [`Self::replica`], reaching the database at `database_url` (the same
    /// database through another way, such as a relay).
    pub async fn replica_at(&self, database_url: String) -> Self {
        assert!(self.pg.is_some(), "replicas share a PostgreSQL database");
        let dir = crate::cli::temp_dir("replica");
        let smtp = crate::smtp::SmtpSink::start().await;
        let sms = crate::smtp::SmsSink::start().await;
        let settings = Settings {
            data_dir: dir.clone(),
            database_url,
            smtp_url: Some(smtp.url()),
            sms_webhook_url: Some(sms.url.clone()),
            ..self.settings.clone()
        };
        Self::launch(settings, smtp, sms, dir, None).await
    }

    /// The server's data folder.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.settings.data_dir
    }

    /// The database this server uses.
    pub fn database_url(&self) -> &str {
        &self.settings.database_url
    }

    /// The running server's services (for checks the API does not show).
    pub fn core(&self) -> &tessera_core::Core {
        &self.running.as_ref().unwrap().core
    }

    /// Sends a BAPI request with the secret key; returns status and JSON (or `null`).
    pub async fn bapi(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/v1{path}", self.base))
            .bearer_auth(&self.secret);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        read(resp).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.bapi(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.bapi(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.bapi(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.bapi(Method::DELETE, path, None).await
    }

    /// Creates a user with a unique email and a password; returns its JSON.
    pub async fn user(&self, extra: Value) -> Value {
        let mut body = serde_json::json!({
            "email_address": [format!("{}@example.com", unique("u").to_lowercase())],
            "password": "correct horse battery",
        });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        let (status, user) = self.post("/users", body).await;
        assert_eq!(status, StatusCode::OK, "{user}");
        user
    }

    /// Stops the server and removes its database.
    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await.unwrap();
        }
        if let Some((admin, db)) = self.pg.take() {
            if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await;
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Reads a response as (status, JSON or `null` when empty).
pub async fn read(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.unwrap();
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, json)
}

/// The first email address of a user's JSON (Backend or Frontend API shape).
pub fn first_email(user: &Value) -> String {
    user["email_addresses"][0]["email_address"]
        .as_str()
        .unwrap_or_else(|| panic!("a user without an email address: {user}"))
        .to_owned()
}

/// Asserts a Clerk error envelope with `code` (and the trace id).
#[track_caller]
pub fn assert_error(body: &Value, code: &str) {
    let err = &body["errors"][0];
    assert_eq!(err["code"], code, "{body}");
    assert!(
        err["message"].is_string() && err["long_message"].is_string(),
        "{body}"
    );
    assert!(err["meta"].is_object(), "{body}");
    assert!(body["clerk_trace_id"].is_string(), "{body}");
}

/// Asserts a Clerk-shaped id: prefix, `_`, 27 base62 characters.
#[track_caller]
pub fn assert_id(value: &Value, prefix: &str) {
    let id = value.as_str().unwrap_or_default();
    let body = id
        .strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('_'))
        .unwrap_or_default();
    assert!(
        body.len() == 27 && body.bytes().all(|b| b.is_ascii_alphanumeric()),
        "bad id {value}"
    );
}

/// Runs a test body on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use $crate::support::{Backend, TestApp};
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = TestApp::start(Backend::Sqlite).await.unwrap();
                super::$name(&app).await;
                app.stop().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = TestApp::start(Backend::Postgres).await {
                    super::$name(&app).await;
                    app.stop().await;
                }
            }
        }
    )*};
}

/// Webhook settings for tests: retries within a second, the rest as shipped.
pub fn test_webhooks() -> tessera_core::webhooks::WebhookConfig {
    tessera_core::webhooks::WebhookConfig {
        schedule: [0, 100, 200, 400, 800]
            .into_iter()
            .map(std::time::Duration::from_millis)
            .collect(),
        timeout: std::time::Duration::from_secs(5),
        poll: std::time::Duration::from_millis(200),
        ..Default::default()
    }
}

/// The claims of a JWT, unverified (tests read what the server put in).
pub fn claims_of(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

/// The wall clock in milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Rate limits count in fixed windows aligned to the epoch (a minute, ten
/// minutes). A test that counts hits up to a limit waits here for the next
/// window when less than 15 s of the current one are left, so that its run
/// cannot straddle two windows and see a fresh budget halfway.
pub async fn inside_one_window(window_ms: i64) {
    let left = window_ms - now_ms().rem_euclid(window_ms);
    if left < 15_000 {
        tokio::time::sleep(std::time::Duration::from_millis(left as u64 + 100)).await;
    }
}
