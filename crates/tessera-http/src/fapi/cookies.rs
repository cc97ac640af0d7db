//! Frontend API cookies.
//!
//! `__client` carries the client token: HttpOnly, a year long, replaced
//! ("rotated") whenever the set of signed-in sessions changes. `__client_uat`
//! tells the app's backend when the client last changed (seconds; 0 = signed
//! out). Development instances on plain http get `SameSite=Lax` without
//! `Secure` (page and API on loopback are same-site, ports aside);
//! production gets `Secure; SameSite=None` so a separate API domain works.

use axum::http::HeaderValue;
use tessera_domain::settings::EnvironmentType;

/// Name of the client-token cookie.
pub const CLIENT_COOKIE: &str = "__client";
/// Name of the "client updated at" cookie.
pub const CLIENT_UAT_COOKIE: &str = "__client_uat";
const YEAR_SECS: i64 = 365 * 24 * 60 * 60;

/// Reads one cookie from a `Cookie` header.
pub fn read(header: Option<&HeaderValue>, name: &str) -> Option<String> {
    let raw = header?.to_str().ok()?;
    raw.split(';')
        .filter_map(|part| part.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_owned())
        .filter(|v| !v.is_empty())
}

fn attributes(env: EnvironmentType, secure_url: bool) -> &'static str {
    match (env, secure_url) {
        (EnvironmentType::Production, _) | (EnvironmentType::Development, true) => {
            "Path=/; Secure; SameSite=None"
        }
        (EnvironmentType::Development, false) => "Path=/; SameSite=Lax",
    }
}

/// `Set-Cookie` values that store a client token (or clear it when `None`).
pub fn client_cookies(
    env: EnvironmentType,
    https: bool,
    token: Option<&str>,
    updated_at_secs: i64,
) -> Vec<String> {
    let attrs = attributes(env, https);
    match token {
        Some(token) => vec![
            format!("{CLIENT_COOKIE}={token}; {attrs}; HttpOnly; Max-Age={YEAR_SECS}"),
            format!("{CLIENT_UAT_COOKIE}={updated_at_secs}; {attrs}; Max-Age={YEAR_SECS}"),
        ],
        None => vec![
            format!("{CLIENT_COOKIE}=; {attrs}; HttpOnly; Max-Age=0"),
            format!("{CLIENT_UAT_COOKIE}=0; {attrs}; Max-Age={YEAR_SECS}"),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cookies() {
        let h = HeaderValue::from_static("a=1; __client=tok; __client_uat=5");
        assert_eq!(read(Some(&h), "__client").as_deref(), Some("tok"));
        assert_eq!(read(Some(&h), "missing"), None);
    }

    #[test]
    fn client_cookie_is_http_only_and_secure_in_production() {
        let dev = client_cookies(EnvironmentType::Development, false, Some("t"), 1);
        assert!(
            dev[0].contains("HttpOnly")
                && dev[0].contains("SameSite=Lax")
                && !dev[0].contains("Secure")
        );
        assert!(!dev[1].contains("HttpOnly"));
        let prod = client_cookies(EnvironmentType::Production, true, Some("t"), 1);
        assert!(prod[0].contains("Secure") && prod[0].contains("HttpOnly"));
    }
}
