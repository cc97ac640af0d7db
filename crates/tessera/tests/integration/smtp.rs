//! A minimal SMTP server for tests: accepts every message on a loopback port
//! and keeps it, so tests read codes from the real emails the server sent.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// A running sink and the messages it received (raw RFC 5322 text).
#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    messages: Arc<Mutex<Vec<String>>>,
}

impl SmtpSink {
    /// Starts the sink on 127.0.0.1 and a free port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let store = messages.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read).lines();
                    let _ = write.write_all(b"220 sink ready\r\n").await;
                    let mut data: Option<String> = None;
                    while let Ok(Some(line)) = lines.next_line().await {
                        if let Some(body) = data.as_mut() {
                            if line == "." {
                                store.lock().unwrap().push(std::mem::take(body));
                                data = None;
                                let _ = write.write_all(b"250 queued\r\n").await;
                            } else {
                                body.push_str(line.strip_prefix('.').unwrap_or(&line));
                                body.push('\n');
                            }
                            continue;
                        }
                        let verb = line
                            .split_whitespace()
                            .next()
                            .unwrap_or("")
                            .to_ascii_uppercase();
                        let reply: &[u8] = match verb.as_str() {
                            "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
                            "DATA" => {
                                data = Some(String::new());
                                b"354 go on\r\n"
                            }
                            "QUIT" => {
                                let _ = write.write_all(b"221 bye\r\n").await;
                                break;
                            }
                            _ => b"250 ok\r\n",
                        };
                        let _ = write.write_all(reply).await;
                    }
                });
            }
        });
        Self { port, messages }
    }

    /// The SMTP URL to give the server.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Waits (up to 10 s) for a message to `to` and returns the 6-digit code in its subject.
    pub async fn code_for(&self, to: &str) -> String {
        let message = self.raw_for(to).await;
        let subject = message
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("subject:"))
            .unwrap_or_default()
            .to_owned();
        let code: String = subject
            .chars()
            .filter(char::is_ascii_digit)
            .take(6)
            .collect();
        assert_eq!(code.len(), 6, "no code in {subject:?}");
        code
    }

    /// Waits (up to 10 s) for the newest message to `to`; its raw text.
    async fn raw_for(&self, to: &str) -> String {
        for _ in 0..200 {
            let found = self
                .messages
                .lock()
                .unwrap()
                .iter()
                .rev()
                .find(|m| {
                    m.to_lowercase()
                        .contains(&format!("to: {}", to.to_lowercase()))
                })
                .cloned();
            if let Some(message) = found {
                return message;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no email to {to} arrived");
    }

    /// How many messages arrived in total.
    pub fn count(&self) -> usize {
        self.messages.lock().unwrap().len()
    }

    /// Waits (up to 10 s) for a message to `to` and returns its text with
    /// quoted-printable soft breaks and `=3D` undone.
    pub async fn message_for(&self, to: &str) -> String {
        self.raw_for(to)
            .await
            .replace("=\n", "")
            .replace("=3D", "=")
    }
}

/// A webhook that receives SMS as JSON, standing in for an SMS provider.
#[derive(Clone)]
pub struct SmsSink {
    pub url: String,
    messages: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl SmsSink {
    /// Starts the webhook on 127.0.0.1 and a free port.
    pub async fn start() -> Self {
        let messages = Arc::new(Mutex::new(Vec::new()));
        let store = messages.clone();
        let app = axum::Router::new().route(
            "/sms",
            axum::routing::post(move |axum::Json(body): axum::Json<serde_json::Value>| {
                let store = store.clone();
                async move {
                    store.lock().unwrap().push(body);
                    "ok"
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://127.0.0.1:{port}/sms"),
            messages,
        }
    }

    /// Waits (up to 10 s) for an SMS to `to` and returns the 6-digit code in it.
    pub async fn code_for(&self, to: &str) -> String {
        for _ in 0..200 {
            let found = self
                .messages
                .lock()
                .unwrap()
                .iter()
                .rev()
                .find(|m| m["to"] == to)
                .cloned();
            if let Some(m) = found {
                let code: String = m["body"]
                    .as_str()
                    .unwrap_or_default()
                    .chars()
                    .filter(char::is_ascii_digit)
                    .take(6)
                    .collect();
                assert_eq!(code.len(), 6, "no code in {m}");
                return code;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no SMS to {to} arrived");
    }

    /// How many SMS arrived in total.
    pub fn count(&self) -> usize {
        self.messages.lock().unwrap().len()
    }
}
