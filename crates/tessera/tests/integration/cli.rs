//! The binary itself: first start prints keys, config layering, `keys`,
//! `keys rotate`, `migrate`, and a clean stop on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub(crate) fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
    for var in [
        "TESSERA_ADDR",
        "TESSERA_DATA_DIR",
        "DATABASE_URL",
        "TESSERA_SECRET_KEY",
        "TESSERA_CONFIG",
        "TESSERA_FRONTEND_URL",
        "TESSERA_INSTANCE",
        "TESSERA_TRUSTED_PROXIES",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

pub(crate) fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tessera-{name}-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Reads the server's stdout until the banner is complete; returns its lines.
fn banner(child: &mut Child) -> Vec<String> {
    let out = child.stdout.take().unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(out).lines() {
        let line = line.unwrap();
        let done = line.contains("database");
        lines.push(line);
        if done {
            break;
        }
    }
    lines
}

pub(crate) fn sigterm(child: &Child) {
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
}

pub(crate) fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn first_start_prints_keys_and_sigterm_stops_cleanly() {
    let dir = temp_dir("serve");
    let port = free_port();
    let mut child = bin()
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(&dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = banner(&mut child).join("\n");
    assert!(lines.contains("pk_test_"), "{lines}");
    assert!(
        lines.contains("generated now"),
        "a new secret key is shown once: {lines}"
    );
    let secret = lines
        .split_whitespace()
        .find(|w| w.starts_with("sk_test_"))
        .unwrap()
        .to_owned();
    let resp = reqwest::blocking_get(&format!("http://127.0.0.1:{port}/healthz"));
    assert_eq!(resp, 200);
    sigterm(&child);
    assert!(wait_exit(&mut child).success());

    // Second start: same keys, secret masked.
    let mut child = bin()
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(&dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = banner(&mut child).join("\n");
    assert!(lines.contains("(masked)"), "{lines}");
    assert!(
        !lines.contains(&secret),
        "the secret is never printed again"
    );
    sigterm(&child);
    assert!(wait_exit(&mut child).success());

    let out = bin()
        .args(["keys", "--data-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    let keys: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(keys["publishable_key"]
        .as_str()
        .unwrap()
        .starts_with("pk_test_"));
    assert_eq!(keys["secret_key_masked"], true);
    assert!(keys["public_key_pem"]
        .as_str()
        .unwrap()
        .contains("BEGIN PUBLIC KEY"));
    assert_eq!(keys["jwks"]["keys"].as_array().unwrap().len(), 1);

    let out = bin()
        .args(["keys", "rotate", "--data-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = bin()
        .args(["keys", "--data-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    let keys: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        keys["jwks"]["keys"].as_array().unwrap().len(),
        2,
        "old key stays for the overlap"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn flags_beat_environment_beat_file() {
    let dir = temp_dir("layers");
    let file = dir.join("tessera.toml");
    std::fs::write(&file, "addr = \"127.0.0.1:1\"\ninstance = \"production\"\nfrontend_url = \"https://auth.example.com\"\n").unwrap();
    let data = dir.join("data");
    // The file says production and a frontend URL; keys shows both took effect.
    let out = bin()
        .args(["keys", "--config"])
        .arg(&file)
        .arg("--data-dir")
        .arg(&data)
        .env("TESSERA_SECRET_KEY", "sk_live_0123456789abcdef0123")
        .env("TESSERA_SMTP_URL", "smtp://127.0.0.1:2525")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let keys: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(keys["environment"], "production");
    assert!(keys["publishable_key"]
        .as_str()
        .unwrap()
        .starts_with("pk_live_"));

    // The environment beats the file, the flag beats the environment.
    let port = free_port();
    let mut child = bin()
        .args(["serve", "--config"])
        .arg(&file)
        .arg("--data-dir")
        .arg(&data)
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .env("TESSERA_ADDR", "127.0.0.1:2")
        .env("TESSERA_SECRET_KEY", "sk_live_0123456789abcdef0123")
        .env("TESSERA_SMTP_URL", "smtp://127.0.0.1:2525")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = banner(&mut child).join("\n");
    assert!(lines.contains(&format!("127.0.0.1:{port}")), "{lines}");
    assert!(lines.contains("(production)"), "{lines}");
    sigterm(&child);
    assert!(wait_exit(&mut child).success());

    // Unknown keys in the file are refused with the key's name.
    std::fs::write(&file, "adress = \"x\"\n").unwrap();
    let out = bin()
        .args(["migrate", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("adress"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn help_explains_flags_and_bad_config_fails_clearly() {
    let out = bin().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for word in [
        "serve",
        "migrate",
        "keys",
        "--addr",
        "--data-dir",
        "--database-url",
        "TESSERA_SECRET_KEY",
        "--trusted-proxies",
        "TESSERA_TRUSTED_PROXIES",
    ] {
        assert!(help.contains(word), "help lacks {word}: {help}");
    }
    let out = bin()
        .args(["migrate", "--database-url", "mysql://x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("sqlite://"));
    let out = bin()
        .args(["serve", "--addr", "not-an-address"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("addr"));
}

/// A `serve` process on a fresh SQLite folder: the child, its base URL, its
/// secret key and the folder.
struct Served(Child, String, String, std::path::PathBuf);

impl Served {
    /// Stops it on SIGTERM and removes its folder.
    fn stop(mut self) {
        sigterm(&self.0);
        assert!(wait_exit(&mut self.0).success());
        let _ = std::fs::remove_dir_all(&self.3);
    }
}

/// Starts `serve` with `extra` environment.
fn serve_with(name: &str, extra: &[(&str, &str)]) -> Served {
    let dir = temp_dir(name);
    let port = free_port();
    let mut cmd = bin();
    cmd.args([
        "serve",
        "--addr",
        &format!("127.0.0.1:{port}"),
        "--data-dir",
    ])
    .arg(&dir)
    .stdout(Stdio::piped());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let lines = banner(&mut child).join("\n");
    let secret = lines
        .split_whitespace()
        .find(|w| w.starts_with("sk_test_"))
        .unwrap()
        .to_owned();
    Served(child, format!("http://127.0.0.1:{port}"), secret, dir)
}

/// Signs a new user in through the Frontend API with `X-Forwarded-For: xff`;
/// returns the IP the server recorded on the session (`latest_activity.ip_address`).
async fn session_ip(base: &str, secret: &str, xff: &str) -> Value {
    session_activity(base, secret, &[("x-forwarded-for", xff)]).await["ip_address"].clone()
}

/// Signs a new user in through the Frontend API with these extra headers;
/// returns the session's `latest_activity` as the Backend API shows it.
async fn session_activity(base: &str, secret: &str, headers: &[(&str, &str)]) -> Value {
    let http = ::reqwest::Client::new();
    let email = format!("ip{:08x}@example.com", rand::random::<u32>());
    let created = http
        .post(format!("{base}/v1/users"))
        .bearer_auth(secret)
        .json(&serde_json::json!({"email_address": [email], "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success());
    let mut req = http
        .post(format!("{base}/v1/client/sign_ins"))
        .header("origin", "http://127.0.0.1:3000");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let out: Value = req
        .form(&[
            ("identifier", email.as_str()),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sid = out["response"]["created_session_id"].as_str().unwrap();
    let session: Value = http
        .get(format!("{base}/v1/sessions/{sid}"))
        .bearer_auth(secret)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    session["latest_activity"].clone()
}

/// Status of a new sign-up through the Frontend API with `X-Forwarded-For: xff`.
async fn sign_up_status(base: &str, xff: &str) -> u16 {
    let email = format!("up{:08x}@example.com", rand::random::<u32>());
    ::reqwest::Client::new()
        .post(format!("{base}/v1/client/sign_ups"))
        .header("origin", "http://127.0.0.1:3000")
        .header("x-forwarded-for", xff)
        .form(&[("email_address", email.as_str())])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn forwarded_for_is_believed_only_from_trusted_proxies() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    // By default X-Forwarded-For is ignored: anyone can send it.
    let served = serve_with("untrusted", &[]);
    let ip = runtime.block_on(session_ip(&served.1, &served.2, "198.51.100.9"));
    assert_eq!(ip, "127.0.0.1");
    // Nor are a CDN's location headers.
    let activity = runtime.block_on(session_activity(
        &served.1,
        &served.2,
        &[("cf-ipcity", "Lisbon"), ("cf-ipcountry", "PT")],
    ));
    assert_eq!(activity["city"], Value::Null, "{activity}");
    assert_eq!(activity["country"], Value::Null);
    served.stop();

    // Behind a trusted proxy (here: the loopback peer), the client is the
    // right-most address that is not a trusted proxy; what the client itself
    // put on the left is never reached.
    let served = serve_with(
        "trusted",
        &[("TESSERA_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8")],
    );
    let (base, secret) = (&served.1, &served.2);
    runtime.block_on(async {
        let ip = session_ip(base, secret, "6.6.6.6, 198.51.100.9, 10.1.2.3").await;
        assert_eq!(ip, "198.51.100.9");
        // The proxy's location headers name the session's city and country.
        let activity = session_activity(
            base,
            secret,
            &[
                ("x-forwarded-for", "198.51.100.9"),
                ("cf-ipcity", "Lisbon"),
                ("cf-ipcountry", "PT"),
            ],
        )
        .await;
        assert_eq!(activity["city"], "Lisbon", "{activity}");
        assert_eq!(activity["country"], "PT");
        // Per-IP limits count the forwarded client: 30 sign-ups a minute each
        // (61 tries: a window boundary in between still leaves one window over 30).
        let mut refused = false;
        for _ in 0..61 {
            if sign_up_status(base, "198.51.100.7").await == 429 {
                refused = true;
                break;
            }
        }
        assert!(refused, "the forwarded client's sign-up budget ran out");
        assert_eq!(sign_up_status(base, "198.51.100.8").await, 200);
    });
    served.stop();

    // A bad list stops the start with the setting's name.
    let out = bin()
        .args(["serve", "--trusted-proxies", "10.0.0.0/40"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("trusted proxies") && err.contains("10.0.0.0/40"),
        "{err}"
    );
}

mod reqwest {
    /// A tiny blocking GET for the CLI tests (which run outside tokio); returns the status.
    pub fn blocking_get(url: &str) -> u16 {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            for _ in 0..100 {
                if let Ok(resp) = ::reqwest::get(url).await {
                    return resp.status().as_u16();
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            0
        })
    }
}
