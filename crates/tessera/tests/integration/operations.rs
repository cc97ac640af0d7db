//! Operating the binary: start-up errors are one-line messages, a stored
//! instance changes only on purpose, replicas agree, the pool size holds, and
//! a database survives backup, restore and copies between backends.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Connection;
use tessera::config::Settings;

use crate::cli::{bin, free_port, sigterm, temp_dir, wait_exit};
use crate::support::{pg_admin_url, unique, with_database, Backend, TestApp};

const KEY_ONE: &str = "sk_test_0123456789abcdef0123456789abcdef";
const KEY_TWO: &str = "sk_test_fedcba9876543210fedcba9876543210";
const LIVE_KEY: &str = "sk_live_0123456789abcdef0123456789abcdef";

/// A `serve` process that printed its banner.
struct Server {
    child: Child,
    banner: String,
}

impl Server {
    /// Stops it on SIGTERM; returns what it logged.
    fn stop(mut self) -> String {
        sigterm(&self.child);
        assert!(wait_exit(&mut self.child).success());
        let mut log = String::new();
        if let Some(mut err) = self.child.stderr.take() {
            err.read_to_string(&mut log).unwrap();
        }
        log
    }
}

/// Runs `tessera serve` on a free port with `dir` as its data folder and
/// `env`; the server once its banner is out, or what it said when it exited.
fn serve(dir: &Path, env: &[(&str, &str)]) -> Result<Server, String> {
    let port = free_port();
    let mut cmd = bin();
    cmd.args([
        "serve",
        "--addr",
        &format!("127.0.0.1:{port}"),
        "--data-dir",
    ])
    .arg(dir)
    .env("RUST_BACKTRACE", "1")
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut banner = String::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        banner.push_str(&line);
        banner.push('\n');
        if line.contains("database") {
            return Ok(Server { child, banner });
        }
    }
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(!status.success(), "serve exited 0 without a banner: {err}");
    Err(err)
}

/// Runs a command to its end; (success, stdout, stderr).
fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.env("RUST_BACKTRACE", "1").output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A refusal: one line starting `error:`, naming `words`, with no backtrace.
fn assert_message(err: &str, words: &[&str]) {
    let line = err
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line in {err:?}"));
    for word in words {
        assert!(line.contains(word), "{word:?} missing from {line:?}");
    }
    assert!(
        !err.to_lowercase().contains("backtrace"),
        "configuration errors are messages, not panics: {err}"
    );
}

/// `tessera instance` on `dir`, as JSON.
fn instance(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (Value, String) {
    let mut cmd = bin();
    cmd.arg("instance").args(args).arg("--data-dir").arg(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let (ok, out, err) = run(&mut cmd);
    assert!(ok, "{err}");
    (serde_json::from_str(&out).unwrap(), err)
}

#[test]
fn start_up_errors_are_one_line_messages() {
    let dir = temp_dir("startup");
    // PostgreSQL not running: said at once, with where.
    let port = free_port();
    let started = Instant::now();
    let (ok, _, err) = run(bin().args([
        "migrate",
        "--database-url",
        &format!("postgres://postgres:pw@127.0.0.1:{port}/tessera"),
    ]));
    assert!(!ok);
    assert_message(&err, &["connection refused", &format!("127.0.0.1:{port}")]);
    assert!(!err.contains("pw@"), "no password in messages: {err}");
    assert!(started.elapsed() < Duration::from_secs(5), "{err}");

    // A sqlite:// URL without ?mode=rwc creates its file; a missing folder is named.
    let file = dir.join("plain.db");
    let (ok, _, err) = run(bin()
        .current_dir(&dir)
        .args(["migrate", "--database-url"])
        .arg(format!("sqlite://{}", file.display())));
    assert!(ok, "{err}");
    assert!(file.exists());
    assert!(
        !dir.join("tessera-data").exists(),
        "no data folder when the database is elsewhere"
    );
    let (ok, _, err) = run(bin()
        .args(["migrate", "--database-url"])
        .arg(format!("sqlite://{}/missing/t.db", dir.display())));
    assert!(!ok);
    assert_message(&err, &["missing", "does not exist"]);

    // A data folder that is a file.
    let taken = dir.join("taken");
    std::fs::write(&taken, "").unwrap();
    let (ok, _, err) = run(bin().args(["migrate", "--data-dir"]).arg(&taken));
    assert!(!ok);
    assert_message(&err, &["is a file"]);

    // A malformed secret key.
    let err = serve(
        &dir.join("data"),
        &[("TESSERA_SECRET_KEY", "sk_test_short")],
    )
    .err()
    .unwrap();
    assert_message(&err, &["TESSERA_SECRET_KEY", "16"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_stored_instance_changes_only_on_purpose() {
    let dir = temp_dir("identity");
    let first = serve(&dir, &[("TESSERA_SECRET_KEY", KEY_ONE)]).unwrap();
    let log = first.stop();
    assert!(
        !log.contains('\u{1b}'),
        "no colours in a log that is not a terminal: {log}"
    );

    // Another secret key, or the other environment: refused, stored instance untouched.
    let stored = instance(&dir, &[], &[]).0;
    let err = serve(&dir, &[("TESSERA_SECRET_KEY", KEY_TWO)])
        .err()
        .unwrap();
    assert_message(&err, &["does not match", "set-secret-key"]);
    assert!(!err.contains(KEY_TWO) && !err.contains(KEY_ONE), "{err}");
    let err = serve(
        &dir,
        &[
            ("TESSERA_INSTANCE", "production"),
            ("TESSERA_SMTP_URL", "smtp://127.0.0.1:1"),
        ],
    )
    .err()
    .unwrap();
    assert_message(&err, &["development instance", "production"]);
    assert_eq!(instance(&dir, &[], &[]).0, stored);
    // Replacing the key with itself is a mistake, said as one.
    let (ok, _, err) = run(bin()
        .args(["instance", "set-secret-key", "--data-dir"])
        .arg(&dir)
        .env("TESSERA_SECRET_KEY", KEY_ONE));
    assert!(!ok);
    assert_message(&err, &["already"]);

    // The secret key is replaced on purpose, and logged.
    let (inst, log) = instance(
        &dir,
        &["set-secret-key"],
        &[("TESSERA_SECRET_KEY", KEY_TWO)],
    );
    assert!(
        inst["secret_key"].as_str().unwrap().ends_with("3210"),
        "{inst}"
    );
    assert!(log.contains("secret key replaced"), "{log}");
    assert!(serve(&dir, &[("TESSERA_SECRET_KEY", KEY_ONE)]).is_err());
    serve(&dir, &[("TESSERA_SECRET_KEY", KEY_TWO)])
        .unwrap()
        .stop();
    // Without TESSERA_SECRET_KEY a new one is made and printed once.
    let (inst, _) = instance(&dir, &["set-secret-key"], &[]);
    assert_eq!(inst["secret_key_masked"], false);
    let fresh = inst["secret_key"].as_str().unwrap().to_owned();
    assert!(fresh.starts_with("sk_test_") && fresh.len() > 40, "{inst}");
    assert!(serve(&dir, &[("TESSERA_SECRET_KEY", KEY_TWO)]).is_err());

    // A derived frontend URL follows the listen address (one server on SQLite)…
    let before = instance(&dir, &[], &[]).0;
    let server = serve(&dir, &[]).unwrap();
    let after = instance(&dir, &[], &[]).0;
    assert_ne!(before["frontend_url"], after["frontend_url"]);
    assert!(server
        .banner
        .contains(after["publishable_key"].as_str().unwrap()));
    assert!(server.stop().contains("follows the listen address"));
    // …a configured one is kept when later starts do not say it…
    let configured = format!("http://127.0.0.1:{}", free_port());
    serve(&dir, &[("TESSERA_FRONTEND_URL", &configured)])
        .unwrap()
        .stop();
    let server = serve(&dir, &[]).unwrap();
    assert!(server.banner.contains(&configured), "{}", server.banner);
    server.stop();
    assert_eq!(instance(&dir, &[], &[]).0["frontend_url"], configured);
    // …and another configured one is refused until the instance is moved.
    let moved = "https://auth.example.com";
    let err = serve(&dir, &[("TESSERA_FRONTEND_URL", moved)])
        .err()
        .unwrap();
    assert_message(&err, &[&configured, moved, "set-frontend-url"]);
    let (inst, log) = instance(&dir, &["set-frontend-url", moved], &[]);
    assert_eq!(inst["frontend_url"], moved);
    assert!(log.contains("frontend URL changed"), "{log}");
    let server = serve(&dir, &[("TESSERA_FRONTEND_URL", moved)]).unwrap();
    assert!(server
        .banner
        .contains(inst["publishable_key"].as_str().unwrap()));
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn production_needs_a_live_key_email_and_https() {
    let dir = temp_dir("production");
    let smtp = ("TESSERA_SMTP_URL", "smtp://127.0.0.1:1");
    let prod = ("TESSERA_INSTANCE", "production");
    let err = serve(&dir, &[prod, smtp, ("TESSERA_SECRET_KEY", KEY_ONE)])
        .err()
        .unwrap();
    assert_message(&err, &["sk_live_"]);
    let err = serve(&dir, &[prod, ("TESSERA_SECRET_KEY", LIVE_KEY)])
        .err()
        .unwrap();
    assert_message(&err, &["TESSERA_SMTP_URL"]);
    let err = serve(
        &dir,
        &[
            prod,
            smtp,
            ("TESSERA_SECRET_KEY", LIVE_KEY),
            ("TESSERA_FRONTEND_URL", "http://auth.example.com"),
        ],
    )
    .err()
    .unwrap();
    assert_message(&err, &["https://"]);
    // Nothing was stored by the refused starts: plain http on loopback is a
    // trial, allowed with a warning.
    let server = serve(&dir, &[prod, smtp, ("TESSERA_SECRET_KEY", LIVE_KEY)]).unwrap();
    assert!(server.banner.contains("(production)"), "{}", server.banner);
    let log = server.stop();
    assert!(log.contains("plain http"), "{log}");
    // No SMS provider: codes are never written to a production log.
    assert!(log.contains("SMS codes cannot be sent"), "{log}");
    // The stored environment needs no TESSERA_INSTANCE, and still needs email.
    let err = serve(&dir, &[]).err().unwrap();
    assert_message(&err, &["TESSERA_SMTP_URL"]);
    serve(&dir, &[smtp]).unwrap().stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_without_a_frontend_url_agree() {
    let Some(app) = TestApp::start(Backend::Postgres).await else {
        return;
    };
    let replica = app.replica().await;
    assert_ne!(app.base, replica.base, "two servers on two ports");
    let (one, two) = (app.core().instance(), replica.core().instance());
    assert_eq!(one.publishable_key, two.publishable_key);
    assert_eq!(app.core().frontend_url, replica.core().frontend_url);
    assert_eq!(app.core().frontend_url, app.base, "the first server's URL");
    replica.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_starts_at_once_make_one_instance() {
    let Some(db) = PgDatabase::create().await else {
        return;
    };
    let dirs = [
        temp_dir("first-a"),
        temp_dir("first-b"),
        temp_dir("first-c"),
    ];
    let starts = dirs.iter().map(|dir| {
        let settings = Settings::for_test(dir.clone(), db.url.clone(), KEY_ONE.to_owned());
        async move { tessera::start(&settings).await.unwrap() }
    });
    let servers = futures::future::join_all(starts).await;
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql);
    assert_eq!(
        count("SELECT COUNT(*) FROM instance")
            .fetch_one(&mut conn)
            .await
            .unwrap(),
        1
    );
    let active = count("SELECT COUNT(*) FROM signing_keys WHERE retired_at IS NULL");
    assert_eq!(active.fetch_one(&mut conn).await.unwrap(), 1);
    conn.close().await.ok();
    let keys: Vec<_> = servers
        .iter()
        .map(|s| s.core.instance().publishable_key.clone())
        .collect();
    assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
    for server in servers {
        server.shutdown().await.unwrap();
    }
    db.drop().await;
    for dir in dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// A fresh PostgreSQL database: its URL and a guard that drops it.
struct PgDatabase {
    admin: String,
    name: String,
    url: String,
}

impl PgDatabase {
    async fn create() -> Option<Self> {
        let admin = pg_admin_url()?;
        let name = unique("tessera_ops");
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.ok();
        let url = with_database(&admin, &name);
        Some(Self { admin, name, url })
    }

    /// Connections open to this database now.
    async fn connections(&self) -> i64 {
        let mut conn = sqlx::PgConnection::connect(&self.admin).await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = $1")
            .bind(&self.name)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        conn.close().await.ok();
        n
    }

    async fn drop(self) {
        let mut conn = sqlx::PgConnection::connect(&self.admin).await.unwrap();
        let _ = sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut conn)
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_migration_logs_nothing() {
    let Some(db) = PgDatabase::create().await else {
        return;
    };
    let migrate = || {
        run(bin()
            .env_remove("RUST_LOG")
            .args(["migrate", "--database-url", &db.url]))
    };
    let (ok, _, err) = migrate();
    assert!(ok, "{err}");
    // PostgreSQL's "relation already exists, skipping" notice is not the operator's business.
    let (ok, _, err) = migrate();
    assert!(ok, "{err}");
    assert!(err.is_empty(), "{err}");
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_size_bounds_connections() {
    let Some(db) = PgDatabase::create().await else {
        return;
    };
    let dir = temp_dir("pool");
    let settings = Settings {
        database_pool_size: Some(2),
        ..Settings::for_test(dir.clone(), db.url.clone(), KEY_ONE.to_owned())
    };
    let running = tessera::start(&settings).await.unwrap();
    let base = format!("http://{}", running.addr);
    let http = reqwest::Client::new();
    let requests = (0..24).map(|i| {
        http.get(format!("{base}/v1/users?limit={}", i + 1))
            .bearer_auth(KEY_ONE)
            .send()
    });
    for resp in futures::future::join_all(requests).await {
        assert_eq!(resp.unwrap().status(), StatusCode::OK);
    }
    // Two pooled connections and the one that listens for client changes.
    let open = db.connections().await;
    assert!(open <= 3, "{open} connections with a pool of 2");
    running.shutdown().await.unwrap();
    db.drop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// What a restored or copied database must still hold: the user, the
/// signing keys, the webhook endpoint, and the secret key.
struct Fixture {
    user_id: String,
    image: Vec<u8>,
    jwks: Value,
    endpoints: usize,
}

async fn bapi(base: &str, path: &str) -> (StatusCode, Value) {
    let resp = reqwest::Client::new()
        .get(format!("{base}/v1{path}"))
        .bearer_auth(KEY_ONE)
        .send()
        .await
        .unwrap();
    crate::support::read(resp).await
}

/// A server on `database_url` serves everything the fixture names.
async fn assert_holds(fixture: &Fixture, database_url: &str) {
    let dir = temp_dir("restored");
    let settings = Settings::for_test(dir.clone(), database_url.to_owned(), KEY_ONE.to_owned());
    let running = tessera::start(&settings).await.unwrap();
    let base = format!("http://{}", running.addr);
    let (status, user) = bapi(&base, &format!("/users/{}", fixture.user_id)).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(bapi(&base, "/jwks").await.1, fixture.jwks);
    let (_, endpoints) = bapi(&base, "/webhooks/endpoints").await;
    assert_eq!(endpoints["total_count"], fixture.endpoints, "{endpoints}");
    let image = reqwest::get(format!("{base}/v1/images/users/{}", fixture.user_id))
        .await
        .unwrap();
    assert_eq!(image.bytes().await.unwrap().to_vec(), fixture.image);
    let (_, sessions) = bapi(&base, &format!("/sessions?user_id={}", fixture.user_id)).await;
    assert_eq!(sessions.as_array().map(Vec::len), Some(1), "{sessions}");
    // The copy takes writes (PostgreSQL's sequences moved past copied rows).
    let resp = reqwest::Client::new()
        .post(format!("{base}/v1/users"))
        .bearer_auth(KEY_ONE)
        .json(
            &json!({"email_address": [format!("{}@example.com", unique("after"))],
                      "password": "correct horse battery"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    running.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A SQLite server with a user, a webhook endpoint and a few messages.
async fn fixture_server(dir: &Path) -> (tessera::Running, Fixture, String) {
    let url = format!("sqlite://{}", dir.join("tessera.db").display());
    let settings = Settings::for_test(dir.to_owned(), url.clone(), KEY_ONE.to_owned());
    let running = tessera::start(&settings).await.unwrap();
    let base = format!("http://{}", running.addr);
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{base}/v1/webhooks/endpoints"))
        .bearer_auth(KEY_ONE)
        .json(&json!({"url": "http://127.0.0.1:9/hooks"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = http
        .post(format!("{base}/v1/users"))
        .bearer_auth(KEY_ONE)
        .json(&json!({"email_address": ["kept@example.com"], "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    let user: Value = resp.json().await.unwrap();
    let uid = user["id"].as_str().unwrap();
    // Bytes travel too (a profile image), and sessions with their clients.
    let png: Vec<u8> = [b"\x89PNG\r\n\x1a\n".as_slice(), &[7u8; 32]].concat();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(png).file_name("a.png"),
    );
    let resp = http
        .post(format!("{base}/v1/users/{uid}/profile_image"))
        .bearer_auth(KEY_ONE)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = http
        .post(format!("{base}/v1/sessions"))
        .bearer_auth(KEY_ONE)
        .json(&json!({"user_id": uid}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let image = http
        .get(format!("{base}/v1/images/users/{uid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(image.status(), StatusCode::OK);
    let fixture = Fixture {
        image: image.bytes().await.unwrap().to_vec(),
        user_id: user["id"].as_str().unwrap().to_owned(),
        jwks: bapi(&base, "/jwks").await.1,
        endpoints: 1,
    };
    (running, fixture, url)
}

fn tessera_ok(args: &[&str], database_url: &str) -> String {
    let (ok, out, err) = run(bin().args(args).args(["--database-url", database_url]));
    assert!(ok, "tessera {args:?}: {err}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_online_sqlite_backup_restores() {
    let dir = temp_dir("backup");
    let (running, fixture, url) = fixture_server(&dir).await;
    // While the server runs.
    let file = dir.join("backup.db");
    let out = tessera_ok(&["backup", file.to_str().unwrap()], &url);
    assert!(out.contains("backed up"), "{out}");
    let (ok, _, err) = run(bin()
        .args(["backup", file.to_str().unwrap(), "--database-url"])
        .arg(&url));
    assert!(!ok && err.contains("exists"), "never overwrites: {err}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "a backup holds private keys");
    }
    // A mistyped source is an error, not a new empty database.
    let typo = dir.join("typo");
    let (ok, _, err) = run(bin()
        .args([
            "backup",
            dir.join("other.db").to_str().unwrap(),
            "--data-dir",
        ])
        .arg(&typo));
    assert!(!ok && err.contains("no database"), "{err}");
    assert!(!typo.exists() && !dir.join("other.db").exists());
    running.shutdown().await.unwrap();
    // Restored as another server's database file.
    let restored = temp_dir("restore");
    std::fs::copy(&file, restored.join("tessera.db")).unwrap();
    assert_holds(
        &fixture,
        &format!("sqlite://{}", restored.join("tessera.db").display()),
    )
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&restored);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_between_backends_and_pg_dump_restores() {
    let dir = temp_dir("copy");
    let (running, fixture, sqlite_url) = fixture_server(&dir).await;
    running.shutdown().await.unwrap();

    // Into a database that is not empty: refused, nothing written.
    let copy = |from: &str, to: &str| tessera_ok(&["copy", "--to", to], from);
    let again = format!("sqlite://{}", dir.join("again.db").display());
    copy(&sqlite_url, &again);
    let (ok, _, err) = run(bin()
        .args(["copy", "--to", &again, "--database-url"])
        .arg(&sqlite_url));
    assert!(!ok && err.contains("not empty"), "{err}");
    assert_holds(&fixture, &again).await;

    let Some(pg) = PgDatabase::create().await else {
        let _ = std::fs::remove_dir_all(&dir);
        return;
    };
    // SQLite -> PostgreSQL -> SQLite.
    let out = copy(&sqlite_url, &pg.url);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["rows"]["users"], 1, "{report}");
    assert_holds(&fixture, &pg.url).await;
    let back = format!("sqlite://{}", dir.join("back.db").display());
    copy(&pg.url, &back);
    assert_holds(&fixture, &back).await;

    // pg_dump and pg_restore into a fresh database.
    let dump = dir.join("tessera.dump");
    let restored = PgDatabase::create().await.unwrap();
    pg_tool(
        Command::new("pg_dump")
            .args(["-Fc", "-f"])
            .arg(&dump)
            .args(["-d", &pg.url]),
    );
    pg_tool(
        Command::new("pg_restore")
            .args(["--no-owner", "-d", &restored.url])
            .arg(&dump),
    );
    // The restored database holds one user more: assert_holds made it on pg.
    assert_holds(&fixture, &restored.url).await;
    pg.drop().await;
    restored.drop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs a PostgreSQL client tool, which CI has (it installs the server).
fn pg_tool(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
