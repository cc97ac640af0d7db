//! Webhooks: events written with the change, delivered with Svix signatures,
//! retried, filtered, rotated, replayed, disabled and recovered; a slow
//! receiver does not slow the API; a server killed mid-burst loses nothing.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::sync::Semaphore;

use crate::both_backends;
use crate::support::{assert_error, Backend, TestApp};

both_backends!(
    events_are_signed_and_delivered,
    filters_rotation_and_resend,
    failing_receiver_gets_everything_once_it_recovers,
    slow_receiver_does_not_slow_the_api,
    management_errors,
    a_message_written_while_disabled_never_reaches_the_endpoint,
);

/// One delivery as the receiver saw it.
#[derive(Clone, Debug)]
pub struct Delivered {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
    pub json: Value,
}

/// A webhook receiver on loopback: records what it accepts; can fail the
/// next N requests with 500, or hold every request until released.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    got: Arc<Mutex<Vec<Delivered>>>,
    fail_next: Arc<AtomicUsize>,
    pub requests: Arc<AtomicUsize>,
    gate: Arc<Semaphore>,
}

impl Receiver {
    pub async fn start() -> Self {
        let r = Self {
            url: String::new(),
            got: Arc::default(),
            fail_next: Arc::default(),
            requests: Arc::default(),
            gate: Arc::new(Semaphore::new(Semaphore::MAX_PERMITS)),
        };
        let state = r.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let s = state.clone();
                async move {
                    s.requests.fetch_add(1, Ordering::SeqCst);
                    let _permit = s.gate.acquire().await.unwrap();
                    if s.fail_next
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok()
                    {
                        return (StatusCode::INTERNAL_SERVER_ERROR, "receiver says no");
                    }
                    let h = |k: &str| {
                        headers
                            .get(k)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned()
                    };
                    s.got.lock().unwrap().push(Delivered {
                        id: h("svix-id"),
                        timestamp: h("svix-timestamp"),
                        signature: h("svix-signature"),
                        json: serde_json::from_str(&body).unwrap_or(Value::Null),
                        body,
                    });
                    (StatusCode::OK, "ok")
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            url: format!("http://127.0.0.1:{port}/hook"),
            ..r
        }
    }

    pub fn fail_next(&self, n: usize) {
        self.fail_next.store(n, Ordering::SeqCst);
    }

    /// Holds every request until [`Receiver::release`].
    pub fn block(&self) {
        let held = self.gate.available_permits();
        self.gate.forget_permits(held);
    }

    pub fn release(&self) {
        self.gate
            .add_permits(Semaphore::MAX_PERMITS - self.gate.available_permits());
    }

    pub fn all(&self) -> Vec<Delivered> {
        self.got.lock().unwrap().clone()
    }

    /// Waits (up to `secs`) until an event about each of `ids` has arrived.
    pub async fn wait_for_ids(&self, secs: u64, ids: &[String]) -> Vec<Delivered> {
        self.wait_for(secs, |all| {
            ids.iter()
                .all(|id| all.iter().any(|d| d.json["data"]["id"] == id.as_str()))
        })
        .await
    }

    /// Waits (up to `secs`) until `done` holds for what was received.
    pub async fn wait_for(&self, secs: u64, done: impl Fn(&[Delivered]) -> bool) -> Vec<Delivered> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let all = self.all();
            if done(&all) {
                return all;
            }
            assert!(
                Instant::now() < deadline,
                "receiver timed out; got {:?}",
                all.iter()
                    .map(|d| d.json["type"].clone())
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Checks `svix-signature` the way Svix receivers do: some `v1,` signature
/// over "{id}.{timestamp}.{body}" made with `secret`.
pub fn signed_with(d: &Delivered, secret: &str) -> bool {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", d.id, d.timestamp, d.body).as_bytes());
    let expected = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    d.signature.split(' ').any(|s| s == expected)
}

/// Creates an endpoint; returns (id, secret).
pub async fn endpoint(app: &TestApp, body: Value) -> (String, String) {
    let (status, e) = app.post("/webhooks/endpoints", body).await;
    assert_eq!(status, StatusCode::OK, "{e}");
    (
        e["id"].as_str().unwrap().to_owned(),
        e["secret"].as_str().unwrap().to_owned(),
    )
}

/// Waits until the endpoint has nothing pending (every attempt recorded);
/// returns the endpoint.
pub async fn settled(app: &TestApp, ep: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, e) = app.get(&format!("/webhooks/endpoints/{ep}")).await;
        if e["deliveries"]["pending"] == 0 {
            return e;
        }
        assert!(Instant::now() < deadline, "deliveries still pending: {e}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Creates `n` users through the Backend API; their ids.
async fn create_users(app: &TestApp, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        let u = app.user(json!({ "email_address": [email()] })).await;
        ids.push(u["id"].as_str().unwrap().to_owned());
    }
    ids
}

fn email() -> String {
    format!("wh{:08x}@example.com", rand::random::<u32>())
}

async fn events_are_signed_and_delivered(app: &TestApp) {
    let rx = Receiver::start().await;
    let (ep, secret) = endpoint(app, json!({ "url": rx.url, "description": "all" })).await;
    assert!(secret.starts_with("whsec_"));
    let user = app.user(json!({ "email_address": [email()] })).await;
    let uid = user["id"].as_str().unwrap();
    let (_, _) = app
        .patch(&format!("/users/{uid}"), json!({ "first_name": "Ada" }))
        .await;
    let (_, session) = app.post("/sessions", json!({ "user_id": uid })).await;
    let sid = session["id"].as_str().unwrap();
    app.post(&format!("/sessions/{sid}/revoke"), json!({}))
        .await;
    app.delete(&format!("/users/{uid}")).await;

    // A refused write emits nothing: another user's address is taken.
    let other = app.user(json!({ "email_address": [email()] })).await;
    let (status, _) = app
        .post(
            "/users",
            json!({ "email_address": [other["email_addresses"][0]["email_address"]] }),
        )
        .await;
    assert!(status.is_client_error());

    let order = [
        "user.created",
        "user.updated",
        "session.created",
        "session.revoked",
        "user.deleted",
    ];
    let got = rx
        .wait_for(20, |all| {
            order
                .iter()
                .all(|t| all.iter().any(|d| d.json["type"] == *t))
                && all
                    .iter()
                    .filter(|d| d.json["type"] == "user.created")
                    .count()
                    >= 2
        })
        .await;
    for d in &got {
        assert!(signed_with(d, &secret), "signature of {}", d.body);
        assert!(d.id.starts_with("msg_"), "{}", d.id);
        let ts: i64 = d.timestamp.parse().unwrap();
        assert!((ts - chrono_now()).abs() < 60, "timestamp {ts}");
        assert_eq!(d.json["object"], "event");
        assert!(d.json["instance_id"].as_str().unwrap().starts_with("ins_"));
        assert!(d.json["timestamp"].as_i64().unwrap() > 1_600_000_000_000);
        assert!(d.json["event_attributes"]["http_request"].is_object());
    }
    let created: Vec<_> = got
        .iter()
        .filter(|d| d.json["type"] == "user.created")
        .collect();
    assert_eq!(created.len(), 2, "the refused create emitted nothing");
    let mine = created
        .iter()
        .find(|d| d.json["data"]["id"] == uid)
        .unwrap();
    assert_eq!(mine.json["data"]["object"], "user");
    assert_eq!(
        mine.json["event_attributes"]["http_request"]["client_ip"], "127.0.0.1",
        "the request that caused the event"
    );
    let updated = got
        .iter()
        .find(|d| d.json["type"] == "user.updated")
        .unwrap();
    assert_eq!(updated.json["data"]["first_name"], "Ada");
    let revoked = got
        .iter()
        .find(|d| d.json["type"] == "session.revoked")
        .unwrap();
    assert_eq!(revoked.json["data"]["id"], sid);
    assert_eq!(revoked.json["data"]["status"], "revoked");
    let deleted = got
        .iter()
        .find(|d| d.json["type"] == "user.deleted")
        .unwrap();
    assert_eq!(
        deleted.json["data"],
        json!({ "object": "user", "id": uid, "deleted": true })
    );
    let ids: HashSet<_> = got.iter().map(|d| d.id.clone()).collect();
    assert_eq!(ids.len(), got.len(), "one svix-id per message");

    // The log: messages and attempts.
    let e = settled(app, &ep).await;
    let (_, msgs) = app.get("/webhooks/messages?event_type=user.deleted").await;
    assert_eq!(msgs["data"][0]["id"], deleted.id.as_str());
    assert_eq!(msgs["data"][0]["payload"]["data"]["id"], uid);
    let (_, attempts) = app.get(&format!("/webhooks/endpoints/{ep}/attempts")).await;
    let first = &attempts["data"][0];
    assert_eq!(first["response_status_code"], 200, "{attempts}");
    assert_eq!(first["status"], "succeeded");
    assert_eq!(first["response"], "ok");
    assert_eq!(e["deliveries"]["failed"], 0);
    assert!(e["deliveries"]["succeeded"].as_i64().unwrap() >= 6, "{e}");
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn filters_rotation_and_resend(app: &TestApp) {
    let rx = Receiver::start().await;
    let (ep, old) = endpoint(
        app,
        json!({ "url": rx.url, "filter_types": ["user.deleted"] }),
    )
    .await;
    let user = app.user(json!({ "email_address": [email()] })).await;
    let uid = user["id"].as_str().unwrap().to_owned();
    app.delete(&format!("/users/{uid}")).await;
    let got = rx.wait_for(10, |all| !all.is_empty()).await;
    assert!(
        got.iter().all(|d| d.json["type"] == "user.deleted"),
        "filtered"
    );

    // Rotation: the new secret signs, and the old one beside it for a day.
    let (status, rotated) = app
        .post(
            &format!("/webhooks/endpoints/{ep}/secret/rotate"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new = rotated["key"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    let (_, current) = app.get(&format!("/webhooks/endpoints/{ep}/secret")).await;
    assert_eq!(current["key"], new.as_str());
    let second = app.user(json!({ "email_address": [email()] })).await;
    app.delete(&format!("/users/{}", second["id"].as_str().unwrap()))
        .await;
    let got = rx.wait_for(10, |all| all.len() >= 2).await;
    let latest = got.last().unwrap();
    assert_eq!(
        latest.signature.split(' ').count(),
        2,
        "{}",
        latest.signature
    );
    assert!(signed_with(latest, &new) && signed_with(latest, &old));

    // Resend: the same message (same svix-id) once more.
    let first_id = got[0].id.clone();
    let (status, _) = app
        .post(
            &format!("/webhooks/messages/{first_id}/endpoints/{ep}/resend"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let got = rx
        .wait_for(10, |all| {
            all.iter().filter(|d| d.id == first_id).count() == 2
        })
        .await;
    let again = got.iter().rfind(|d| d.id == first_id).unwrap();
    assert!(signed_with(again, &new));
    settled(app, &ep).await;
    let (_, attempts) = app
        .get(&format!("/webhooks/messages/{first_id}/attempts"))
        .await;
    assert_eq!(attempts["data"].as_array().unwrap().len(), 2);

    // Changing the filter to all types.
    let (status, e) = app
        .patch(
            &format!("/webhooks/endpoints/{ep}"),
            json!({ "filter_types": null }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{e}");
    assert_eq!(e["filter_types"], Value::Null);
    app.user(json!({ "email_address": [email()] })).await;
    rx.wait_for(10, |all| {
        all.iter().any(|d| d.json["type"] == "user.created")
    })
    .await;
}

async fn failing_receiver_gets_everything_once_it_recovers(app: &TestApp) {
    let rx = Receiver::start().await;
    // Three failures per message at most: the test schedule has five attempts.
    rx.fail_next(6);
    let (ep, secret) = endpoint(
        app,
        json!({ "url": rx.url, "filter_types": ["user.created"] }),
    )
    .await;
    let ids = create_users(app, 3).await;
    let got = rx.wait_for_ids(20, &ids).await;
    assert!(got.iter().all(|d| signed_with(d, &secret)));
    let e = settled(app, &ep).await;
    let (_, attempts) = app
        .get(&format!("/webhooks/endpoints/{ep}/attempts?limit=100"))
        .await;
    let list = attempts["data"].as_array().unwrap();
    let failed: Vec<_> = list
        .iter()
        .filter(|a| a["response_status_code"] == 500)
        .collect();
    assert_eq!(failed.len(), 6, "{attempts}");
    assert_eq!(failed[0]["response"], "receiver says no");
    assert_eq!(failed[0]["status"], "failed");
    // Success ends the failure streak.
    assert_eq!(e["failing_since"], Value::Null);
    assert_eq!(e["disabled"], false);
}

async fn slow_receiver_does_not_slow_the_api(app: &TestApp) {
    let rx = Receiver::start().await;
    rx.block();
    endpoint(
        app,
        json!({ "url": rx.url, "filter_types": ["user.created"] }),
    )
    .await;
    let ids = create_users(app, 20).await;
    // Every write answered while the receiver still holds its requests.
    assert!(rx.all().is_empty());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        rx.requests.load(Ordering::SeqCst) > 0,
        "the dispatcher is sending"
    );
    rx.release();
    rx.wait_for_ids(20, &ids).await;
}

async fn management_errors(app: &TestApp) {
    let (status, body) = app
        .post("/webhooks/endpoints", json!({ "url": "not a url" }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["meta"]["param_name"], "url");
    let (status, body) = app
        .post(
            "/webhooks/endpoints",
            json!({ "url": "http://127.0.0.1:9/x", "secret": "whsec_short" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = app
        .post(
            "/webhooks/endpoints",
            json!({ "url": "http://127.0.0.1:9/x", "filter_types": ["bad type!"] }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = app.get("/webhooks/endpoints/ep_missing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "resource_not_found");
    let (status, _) = app.get("/webhooks/messages/msg_missing/attempts").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let unauth = app
        .http
        .get(format!("{}/v1/webhooks/endpoints", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(unauth.status(), StatusCode::UNAUTHORIZED);

    // Disable, enable, delete; Clerk's svix operations point at this API.
    let (ep, _) = endpoint(app, json!({ "url": "http://127.0.0.1:9/x" })).await;
    let (_, e) = app
        .post(&format!("/webhooks/endpoints/{ep}/disable"), json!({}))
        .await;
    assert_eq!(e["disabled"], true);
    let (_, e) = app
        .post(&format!("/webhooks/endpoints/{ep}/enable"), json!({}))
        .await;
    assert_eq!(e["disabled"], false);
    let (_, svix) = app.post("/webhooks/svix_url", json!({})).await;
    assert!(svix["svix_url"]
        .as_str()
        .unwrap()
        .ends_with("/v1/webhooks/endpoints"));
    let (status, body) = app.delete(&format!("/webhooks/endpoints/{ep}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["deleted"], true);
    let (_, list) = app.get("/webhooks/endpoints").await;
    assert!(list["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["id"] != ep.as_str()));
}

/// The fan-out runs after the write that made a message, so an endpoint may
/// be enabled again in between; a message written while the endpoint was
/// disabled still never reaches it. A message written while it was disabled
/// but not yet fanned out is planted in the outbox directly, as a fan-out that
/// fell behind would find it.
async fn a_message_written_while_disabled_never_reaches_the_endpoint(app: &TestApp) {
    let rx = Receiver::start().await;
    let (ep, _) = endpoint(app, json!({ "url": rx.url })).await;
    let (status, e) = app
        .post(&format!("/webhooks/endpoints/{ep}/disable"), json!({}))
        .await;
    assert_eq!(
        (status, &e["disabled"]),
        (StatusCode::OK, &json!(true)),
        "{e}"
    );
    let while_disabled = tessera_core::clock::now_ms();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let (_, e) = app
        .post(&format!("/webhooks/endpoints/{ep}/enable"), json!({}))
        .await;
    assert_eq!(e["disabled"], false);
    let core = app.core();
    let mut tx = core.begin().await.unwrap();
    let late = tessera_domain::ids::MessageId::generate(while_disabled);
    tessera_store::webhooks::insert_message(
        &mut tx,
        &tessera_store::webhooks::Message {
            id: late.as_str().to_owned(),
            event_type: "user.deleted".to_owned(),
            payload: json!({ "type": "user.deleted", "data": { "id": "user_late" } }).to_string(),
            created_at: while_disabled,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    // Enabling an enabled endpoint again changes nothing.
    app.post(&format!("/webhooks/endpoints/{ep}/enable"), json!({}))
        .await;
    let u = app.user(json!({ "email_address": [email()] })).await;
    let got = rx.wait_for(10, |all| !all.is_empty()).await;
    assert_eq!(got[0].json["data"]["id"], u["id"]);
    settled(app, &ep).await;
    let ids: Vec<Value> = rx
        .all()
        .iter()
        .map(|d| d.json["data"]["id"].clone())
        .collect();
    assert_eq!(
        ids,
        vec![u["id"].clone()],
        "only what was written while enabled"
    );
}

/// An endpoint that never succeeds is disabled once it has failed for longer
/// than `disable_after`; enabling it and recovering sends what it missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_failing_too_long_is_disabled_then_recovered() {
    let mut cfg = crate::support::test_webhooks();
    cfg.disable_after = Duration::from_millis(300);
    let app = TestApp::start_configured(
        Backend::Sqlite,
        tessera_domain::settings::EnvironmentType::Development,
        cfg,
    )
    .await
    .unwrap();
    let rx = Receiver::start().await;
    rx.fail_next(usize::MAX);
    let (ep, _) = endpoint(
        &app,
        json!({ "url": rx.url, "filter_types": ["user.created"] }),
    )
    .await;
    let since = chrono_now() * 1000 - 1000;
    let u = app.user(json!({ "email_address": [email()] })).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let e = loop {
        let (_, e) = app.get(&format!("/webhooks/endpoints/{ep}")).await;
        if e["disabled"] == true && e["deliveries"]["pending"] == 0 {
            break e;
        }
        assert!(Instant::now() < deadline, "never disabled: {e}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        e["disabled_reason"].as_str().unwrap().contains("failed"),
        "{e}"
    );
    assert_eq!(e["deliveries"]["failed"], 1);
    // A disabled endpoint gets no new messages.
    app.user(json!({ "email_address": [email()] })).await;

    rx.fail_next(0);
    let (_, e) = app
        .post(&format!("/webhooks/endpoints/{ep}/enable"), json!({}))
        .await;
    assert_eq!(e["disabled"], false);
    let (status, out) = app
        .post(
            &format!("/webhooks/endpoints/{ep}/recover"),
            json!({ "since": since }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["recovered"], 1);
    let got = rx.wait_for(10, |all| !all.is_empty()).await;
    assert_eq!(got[0].json["data"]["id"], u["id"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        rx.all().len(),
        1,
        "the message sent while disabled is not queued"
    );
    app.stop().await;
}

/// A fresh database for a server started as a separate process.
async fn fresh_database(backend: Backend, dir: &std::path::Path) -> Option<String> {
    match backend {
        Backend::Sqlite => Some(format!("sqlite://{}?mode=rwc", dir.join("t.db").display())),
        Backend::Postgres => {
            use sqlx::Connection as _;
            let admin = crate::support::pg_admin_url()?;
            let db = crate::support::unique("tessera_crash");
            let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {db}"))
                .execute(&mut conn)
                .await
                .unwrap();
            conn.close().await.ok();
            Some(crate::support::with_database(&admin, &db))
        }
    }
}

fn spawn_server(
    dir: &std::path::Path,
    database_url: &str,
    port: u16,
    secret: &str,
) -> std::process::Child {
    crate::cli::bin()
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir)
        .env("DATABASE_URL", database_url)
        .env("TESSERA_SECRET_KEY", secret)
        .env(
            "TESSERA_WEBHOOK_RETRY_SCHEDULE",
            "0s,100ms,200ms,400ms,800ms",
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// A server process that is killed when the test ends, passing or failing.
struct Server(std::process::Child);

impl Server {
    /// SIGKILL: no shutdown; leases and queues stay as they are.
    fn kill(&mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }

    /// SIGTERM, and wait for the exit.
    fn stop(&mut self) {
        crate::cli::sigterm(&self.0);
        crate::cli::wait_exit(&mut self.0);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn serve(dir: &std::path::Path, database_url: &str, port: u16, secret: &str) -> Server {
    Server(spawn_server(dir, database_url, port, secret))
}

async fn wait_healthy(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while http.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "the server did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// SIGKILL in the middle of a burst of user writes, restart: every user the
/// database holds (every committed change) is delivered at least once.
async fn crash_mid_burst_loses_nothing(backend: Backend) {
    let dir = crate::cli::temp_dir("crash");
    let Some(database_url) = fresh_database(backend, &dir).await else {
        return;
    };
    let port = crate::cli::free_port();
    let secret = format!("sk_test_{:032x}", rand::random::<u128>());
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let rx = Receiver::start().await;
    let mut child = serve(&dir, &database_url, port, &secret);
    wait_healthy(&http, &base).await;
    let created = http
        .post(format!("{base}/v1/webhooks/endpoints"))
        .bearer_auth(&secret)
        .json(&json!({ "url": rx.url, "filter_types": ["user.created"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::OK);

    // Four writers until the server dies under them.
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut writers = Vec::new();
    for _ in 0..4 {
        let (http, base, secret, acked) = (
            http.clone(),
            base.clone(),
            secret.clone(),
            acknowledged.clone(),
        );
        writers.push(tokio::spawn(async move {
            loop {
                let sent = http
                    .post(format!("{base}/v1/users"))
                    .bearer_auth(&secret)
                    .json(&json!({ "email_address": [email()], "skip_password_requirement": true }))
                    .send()
                    .await;
                let Ok(resp) = sent else { break };
                let Ok(body) = resp.json::<Value>().await else {
                    break;
                };
                let Some(id) = body["id"].as_str() else {
                    panic!("a write was refused: {body}")
                };
                acked.lock().unwrap().push(id.to_owned());
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged.lock().unwrap().len() < 30 {
        assert!(Instant::now() < deadline, "the burst did not get going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill(); // SIGKILL: no shutdown, leases and queues as they are
    for w in writers {
        w.await.unwrap();
    }

    let mut child = serve(&dir, &database_url, port, &secret);
    wait_healthy(&http, &base).await;
    let users: Value = http
        .get(format!("{base}/v1/users?limit=500"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let committed: HashSet<String> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    let acked: HashSet<String> = acknowledged.lock().unwrap().iter().cloned().collect();
    assert!(
        acked.is_subset(&committed),
        "every acknowledged write is committed"
    );
    rx.wait_for(60, |all| {
        let delivered: HashSet<&str> = all
            .iter()
            .filter_map(|d| d.json["data"]["id"].as_str())
            .collect();
        committed.iter().all(|id| delivered.contains(id.as_str()))
    })
    .await;
    child.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_mid_burst_loses_nothing_sqlite() {
    crash_mid_burst_loses_nothing(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_mid_burst_loses_nothing_postgres() {
    crash_mid_burst_loses_nothing(Backend::Postgres).await;
}

fn cli(dir: &std::path::Path, args: &[&str]) -> Value {
    let out = crate::cli::bin()
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tessera {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `tessera webhooks …` manages endpoints on the database directly.
#[test]
fn webhooks_cli_manages_endpoints() {
    let dir = crate::cli::temp_dir("whcli");
    cli(&dir, &["keys"]); // creates the instance
    let e = cli(
        &dir,
        &[
            "webhooks",
            "add",
            "http://127.0.0.1:9/hook",
            "--events",
            "user.created,user.deleted",
        ],
    );
    let id = e["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("ep_"));
    assert!(e["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(e["filter_types"], json!(["user.created", "user.deleted"]));
    let list = cli(&dir, &["webhooks", "list"]);
    assert_eq!(list[0]["id"], id.as_str());
    let rotated = cli(&dir, &["webhooks", "secret", &id, "--rotate"]);
    assert_ne!(rotated["key"], e["secret"]);
    let shown = cli(&dir, &["webhooks", "secret", &id]);
    assert_eq!(shown["key"], rotated["key"]);
    let disabled = cli(&dir, &["webhooks", "disable", &id]);
    assert_eq!(disabled["disabled"], true);
    let enabled = cli(&dir, &["webhooks", "enable", &id]);
    assert_eq!(enabled["disabled"], false);
    assert_eq!(cli(&dir, &["webhooks", "attempts", &id]), json!([]));
    assert_eq!(
        cli(&dir, &["webhooks", "recover", &id, "--since", "1h"])["recovered"],
        0
    );
    cli(&dir, &["webhooks", "remove", &id]);
    assert_eq!(cli(&dir, &["webhooks", "list"]), json!([]));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two servers on one PostgreSQL database share the dispatching: every
/// message is delivered, and none twice (nothing crashed, so nothing needed a
/// second try).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_the_work_postgres() {
    let dir = crate::cli::temp_dir("replicas");
    let Some(database_url) = fresh_database(Backend::Postgres, &dir).await else {
        return;
    };
    let secret = format!("sk_test_{:032x}", rand::random::<u128>());
    let http = reqwest::Client::new();
    let rx = Receiver::start().await;
    let mut servers = Vec::new();
    for i in 0..2 {
        let port = crate::cli::free_port();
        let sub = dir.join(format!("r{i}"));
        std::fs::create_dir_all(&sub).unwrap();
        let child = serve(&sub, &database_url, port, &secret);
        let base = format!("http://127.0.0.1:{port}");
        wait_healthy(&http, &base).await;
        servers.push((child, base));
    }
    let created = http
        .post(format!("{}/v1/webhooks/endpoints", servers[0].1))
        .bearer_auth(&secret)
        .json(&json!({ "url": rx.url, "filter_types": ["user.created"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::OK);
    let mut ids = Vec::new();
    for i in 0..40 {
        let base = &servers[i % 2].1;
        let body: Value = http
            .post(format!("{base}/v1/users"))
            .bearer_auth(&secret)
            .json(&json!({ "email_address": [email()], "skip_password_requirement": true }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    let got = rx.wait_for_ids(30, &ids).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got_all = rx.all();
    let distinct: HashSet<&str> = got_all.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(distinct.len(), got_all.len(), "a message was sent twice");
    assert!(got.len() >= ids.len());
    for (mut child, _) in servers {
        child.stop();
    }
    let _ = std::fs::remove_dir_all(&dir);
}
