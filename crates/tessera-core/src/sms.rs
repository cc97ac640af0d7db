//! Outgoing SMS. A development instance without a provider writes messages to
//! the log; otherwise each message is POSTed as JSON to a webhook
//! (`TESSERA_SMS_WEBHOOK_URL`), which bridges to any SMS provider.

use serde_json::json;

use crate::error::{CoreError, CoreResult};

/// Where SMS goes.
#[derive(Clone, Debug)]
pub enum SmsSender {
    /// The server log (development).
    Log,
    /// Nowhere: a production instance without a provider never writes codes
    /// to its log; every send fails (and is retried) until one is configured.
    Unconfigured,
    /// `POST <url>` with `{"to", "body", "purpose"}`; any 2xx is success.
    Webhook {
        /// The webhook URL.
        url: String,
        /// A reused HTTP client.
        http: reqwest::Client,
    },
}

impl SmsSender {
    /// A webhook sender (checks the URL's scheme).
    pub fn webhook(url: &str) -> CoreResult<Self> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(CoreError::Config(format!(
                "TESSERA_SMS_WEBHOOK_URL {url:?} must be an http(s) URL"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| CoreError::Config(format!("SMS webhook client: {e}")))?;
        Ok(Self::Webhook {
            url: url.to_owned(),
            http,
        })
    }

    /// Sends one message.
    pub async fn send(&self, to: &str, body: &str, purpose: &str) -> CoreResult<()> {
        match self {
            Self::Log => {
                tracing::info!(%to, purpose, "SMS (no provider configured; development delivery to the log): {body}");
                Ok(())
            }
            Self::Unconfigured => Err(CoreError::Internal(
                "no SMS provider: set TESSERA_SMS_WEBHOOK_URL".to_owned(),
            )),
            Self::Webhook { url, http } => {
                let resp = http
                    .post(url)
                    .json(&json!({ "to": to, "body": body, "purpose": purpose }))
                    .send()
                    .await
                    .map_err(|e| CoreError::Internal(format!("SMS webhook unreachable: {e}")))?;
                if resp.status().is_success() {
                    Ok(())
                } else {
                    Err(CoreError::Internal(format!(
                        "SMS webhook answered {}",
                        resp.status()
                    )))
                }
            }
        }
    }
}

/// The text of a code message.
pub fn code_text(app_name: &str, code: &str) -> String {
    format!("{code} is your {app_name} verification code. It expires in 10 minutes.")
}
