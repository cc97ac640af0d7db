//! The handshake: how an application's backend (`@clerk/backend`'s
//! `authenticateRequest`, `clerkMiddleware`) gets fresh session cookies for
//! its own domain when a page request arrives with an expired or missing
//! `__session` cookie.
//!
//! The backend redirects the browser to `GET /v1/client/handshake`; there the
//! browser's `__client` cookie identifies its client, and Tessera computes the
//! cookies the app's domain should hold (`__session` with a fresh token,
//! `__client_uat`, and in development `__clerk_db_jwt`), each under its plain
//! and its key-suffixed name, as `Set-Cookie` directives. They are stored
//! under the hash of a single-use nonce, and the browser goes back to the app
//! with `__clerk_handshake_nonce=<nonce>`; the app's backend redeems the nonce
//! with its secret key (`GET /v1/clients/handshake_payload`) and sets the
//! cookies. The nonce alone is worth nothing without the secret key.

use base64::engine::general_purpose::URL_SAFE;
use base64::Engine as _;
use sha1::{Digest as _, Sha1};
use tessera_domain::settings::EnvironmentType;

use crate::clock::now_ms;
use crate::error::{CoreError, CoreResult};
use crate::keys::hash_secret;
use crate::sessions::clients::new_token;
use crate::sessions::{effective_status, ClientView};

/// How long a nonce can be redeemed (ms).
const NONCE_TTL_MS: i64 = 5 * 60 * 1000;
/// Query parameter that carries the nonce back to the app.
pub const NONCE_PARAM: &str = "__clerk_handshake_nonce";
const YEAR_SECS: i64 = 365 * 24 * 60 * 60;

/// The suffix Clerk's SDKs append to cookie names so that several instances
/// can share a domain: the first 8 characters of the URL-safe base64 of the
/// SHA-1 of the publishable key.
pub fn cookie_suffix(publishable_key: &str) -> String {
    let digest = Sha1::digest(publishable_key.as_bytes());
    URL_SAFE.encode(digest).chars().take(8).collect()
}

/// What the handshake needs to know of the request.
#[derive(Debug, Clone)]
pub struct HandshakeRequest {
    /// Where the browser goes back to (already checked against the allowed origins).
    pub redirect_url: url::Url,
    /// The development-browser token the app's backend passed along, if any.
    pub dev_browser: Option<String>,
}

/// The `Set-Cookie` values for the app's domain, plain and suffixed.
fn directives(
    suffix: &str,
    secure: bool,
    token: Option<&str>,
    client_uat: i64,
    dev_browser: Option<&str>,
) -> Vec<String> {
    let attrs = if secure {
        "Path=/; Secure; SameSite=Lax"
    } else {
        "Path=/; SameSite=Lax"
    };
    let mut out = Vec::new();
    for name_suffix in ["", suffix] {
        let name = |base: &str| {
            if name_suffix.is_empty() {
                base.to_owned()
            } else {
                format!("{base}_{name_suffix}")
            }
        };
        match token {
            Some(jwt) => out.push(format!("{}={jwt}; {attrs}", name("__session"))),
            None => out.push(format!("{}=; {attrs}; Max-Age=0", name("__session"))),
        }
        out.push(format!(
            "{}={client_uat}; {attrs}; Max-Age={YEAR_SECS}",
            name("__client_uat")
        ));
        if let Some(db) = dev_browser {
            out.push(format!(
                "{}={db}; {attrs}; Max-Age={YEAR_SECS}",
                name("__clerk_db_jwt")
            ));
        }
    }
    out
}

impl crate::Sessions<'_> {
    /// Runs a handshake for the browser's client (if it has one) and returns
    /// the URL to send the browser back to, carrying a fresh nonce.
    pub async fn handshake(
        &self,
        client: Option<&ClientView>,
        req: HandshakeRequest,
    ) -> CoreResult<url::Url> {
        let now = now_ms();
        let inst = self.instance();
        let origin = req.redirect_url.origin().ascii_serialization();
        let active = client.and_then(|view| {
            let id = view.client.last_active_session_id.as_ref()?;
            view.sessions
                .iter()
                .find(|s| &s.id == id && effective_status(s, now).is_signed_in())
                .map(|s| (view, s))
        });
        let (token, client_uat) = match active {
            Some((view, session)) => {
                let jwt = self
                    .client_session_token(&view.client, session.id.as_str(), Some(origin))
                    .await?;
                (Some(jwt), view.client.updated_at / 1000)
            }
            None => (None, 0),
        };
        let dev_browser = (inst.environment == EnvironmentType::Development).then(|| {
            req.dev_browser
                .clone()
                .filter(|t| !t.is_empty() && t.len() <= 512 && t.bytes().all(is_cookie_safe))
                .unwrap_or_else(new_token)
        });
        let list = directives(
            &cookie_suffix(&inst.publishable_key),
            req.redirect_url.scheme() == "https",
            token.as_deref(),
            client_uat,
            dev_browser.as_deref(),
        );
        let nonce = new_token();
        let body = serde_json::to_string(&list).map_err(|e| CoreError::Internal(e.to_string()))?;
        let mut tx = self.begin_bookkeeping().await?;
        tessera_store::handshakes::purge(&mut tx, now).await?;
        tessera_store::handshakes::insert(&mut tx, &hash_secret(&nonce), &body, now + NONCE_TTL_MS)
            .await?;
        tx.commit().await?;
        let mut back = req.redirect_url;
        let kept: Vec<(String, String)> = back
            .query_pairs()
            .filter(|(k, _)| k != NONCE_PARAM && k != "__clerk_handshake")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        back.query_pairs_mut()
            .clear()
            .extend_pairs(kept)
            .append_pair(NONCE_PARAM, &nonce);
        Ok(back)
    }

    /// Redeems a handshake nonce once: the cookie directives stored for it.
    pub async fn redeem_handshake(&self, nonce: &str) -> CoreResult<Vec<String>> {
        let mut tx = self.begin_bookkeeping().await?;
        let stored =
            tessera_store::handshakes::take(&mut tx, &hash_secret(nonce), now_ms()).await?;
        tx.commit().await?;
        let body = stored.ok_or(CoreError::NotFound)?;
        serde_json::from_str(&body).map_err(|e| CoreError::Internal(e.to_string()))
    }
}

/// Characters allowed in a cookie value without quoting (RFC 6265 cookie-octet).
fn is_cookie_safe(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_is_eight_url_safe_characters_of_the_sha1() {
        // SHA-1("abc") = a9993e36…; URL-safe base64 starts "qZk-NkcG".
        assert_eq!(cookie_suffix("abc"), "qZk-NkcG");
    }

    #[test]
    fn signed_out_directives_clear_the_session_and_zero_the_uat() {
        let d = directives("sfx", false, None, 0, None);
        assert_eq!(d.len(), 4);
        assert!(d[0].starts_with("__session=;") && d[0].contains("Max-Age=0"));
        assert!(d[1].starts_with("__client_uat=0;"));
        assert!(d[2].starts_with("__session_sfx=;"));
        assert!(d.iter().all(|c| !c.contains("Secure")));
    }

    #[test]
    fn signed_in_directives_carry_the_token_and_dev_browser() {
        let d = directives("sfx", true, Some("a.b.c"), 42, Some("db"));
        assert!(d.contains(&"__session=a.b.c; Path=/; Secure; SameSite=Lax".to_owned()));
        assert!(d.iter().any(|c| c.starts_with("__client_uat_sfx=42;")));
        assert!(d.iter().any(|c| c.starts_with("__clerk_db_jwt_sfx=db;")));
        assert!(d.iter().all(|c| !c.contains("HttpOnly")));
    }
}
