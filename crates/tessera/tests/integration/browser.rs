//! A scripted browser for Frontend API tests: keeps the `__client` cookie,
//! sends form bodies and tunnels methods like clerk-js does.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{read, TestApp};

/// One browser (one cookie jar) talking to a test server from a page origin.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub origin: String,
    pub client_cookie: Option<String>,
    pub last_set_cookies: Vec<String>,
    pub last_retry_after: Option<String>,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            origin: "http://127.0.0.1:3000".to_owned(),
            client_cookie: None,
            last_set_cookies: Vec::new(),
            last_retry_after: None,
        }
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut url = format!(
            "{}/v1{path}{sep}__clerk_api_version=2026-08-20&_clerk_js_version=6.40.0",
            self.app.base
        );
        let req = if method == "GET" {
            self.app.http.get(&url)
        } else {
            if method != "POST" {
                url.push_str(&format!("&_method={method}"));
            }
            self.app
                .http
                .post(&url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(serde_urlencoded_pairs(form))
        };
        let mut req = req.header("origin", &self.origin).header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
        );
        if let Some(c) = &self.client_cookie {
            req = req.header("cookie", format!("__client={c}"));
        }
        let resp = req.send().await.unwrap();
        self.last_retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        self.last_set_cookies = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        for cookie in &self.last_set_cookies {
            if let Some(rest) = cookie.strip_prefix("__client=") {
                let value = rest.split(';').next().unwrap_or_default();
                self.client_cookie = (!value.is_empty()).then(|| value.to_owned());
            }
        }
        read(resp).await
    }

    pub async fn get(&mut self, path: &str) -> (StatusCode, Value) {
        self.send("GET", path, &[]).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        self.send("POST", path, form).await
    }

    pub async fn patch(&mut self, path: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        self.send("PATCH", path, form).await
    }

    pub async fn delete(&mut self, path: &str) -> (StatusCode, Value) {
        self.send("DELETE", path, &[]).await
    }

    /// Signs in with identifier and password (finished in one call); the answer.
    pub async fn sign_in_with_password(&mut self, identifier: &str, password: &str) -> Value {
        let (status, out) = self
            .post(
                "/client/sign_ins",
                &[("identifier", identifier), ("password", password)],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{out}");
        out
    }
}

fn serde_urlencoded_pairs(form: &[(&str, &str)]) -> String {
    form.iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(raw: &str) -> String {
    let mut out = String::new();
    for b in raw.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
