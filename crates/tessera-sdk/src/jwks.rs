//! Fetching a JWKS and turning its RSA signing keys into verification keys.

use std::collections::HashMap;
use std::sync::Arc;

use jsonwebtoken::DecodingKey;
use serde::Deserialize;

use crate::error::{VerifyError, VerifyResult};

/// Verification keys by key id.
pub(crate) type Keys = HashMap<String, Arc<DecodingKey>>;

/// A secret key (`sk_…`) sent as a bearer token to `GET /v1/jwks`; never printed.
#[derive(Clone)]
pub(crate) struct SecretKey(pub(crate) String);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

#[derive(Deserialize)]
struct Document {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: Option<String>,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

/// Reads the RS256 signing keys of a JWKS document (RFC 7517); other keys are skipped.
pub(crate) fn parse(body: &[u8]) -> VerifyResult<Keys> {
    let doc: Document = serde_json::from_slice(body)
        .map_err(|e| VerifyError::JwksUnavailable(format!("not a JWKS document: {e}")))?;
    let mut keys = Keys::new();
    for jwk in doc.keys {
        let usable = jwk.kty.as_deref() == Some("RSA")
            && jwk.alg.as_deref().is_none_or(|a| a == "RS256")
            && jwk.use_.as_deref().is_none_or(|u| u == "sig");
        let (true, Some(kid), Some(n), Some(e)) = (usable, jwk.kid, jwk.n, jwk.e) else {
            continue;
        };
        if let Ok(key) = DecodingKey::from_rsa_components(&n, &e) {
            keys.insert(kid, Arc::new(key));
        }
    }
    if keys.is_empty() {
        return Err(VerifyError::JwksUnavailable(
            "the JWKS holds no RS256 signing key".to_owned(),
        ));
    }
    Ok(keys)
}

/// `GET url` (with the secret key as bearer token when given) and parse the answer.
pub(crate) async fn fetch(
    http: &reqwest::Client,
    url: &str,
    secret_key: Option<&SecretKey>,
) -> VerifyResult<Keys> {
    let mut request = http.get(url).header("accept", "application/json");
    if let Some(secret) = secret_key {
        request = request.bearer_auth(&secret.0);
    }
    let unavailable = |e: reqwest::Error| VerifyError::JwksUnavailable(format!("GET {url}: {e}"));
    let response = request.send().await.map_err(unavailable)?;
    let status = response.status();
    if !status.is_success() {
        return Err(VerifyError::JwksUnavailable(format!(
            "GET {url}: status {status}"
        )));
    }
    let body = response.bytes().await.map_err(unavailable)?;
    parse(&body)
}

#[cfg(test)]
mod tests {
    use super::*;

    use base64::Engine;

    /// Component bytes only need to be base64url here: the key type checks nothing else.
    fn n() -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([0xab_u8; 256])
    }

    #[test]
    fn keeps_rsa_signing_keys_and_skips_others() {
        let n = n();
        let body = serde_json::json!({"keys": [
            {"use": "sig", "kty": "RSA", "kid": "ins_a", "alg": "RS256", "n": n, "e": "AQAB"},
            {"kty": "RSA", "kid": "no_alg", "n": n, "e": "AQAB"},
            {"use": "enc", "kty": "RSA", "kid": "enc", "alg": "RS256", "n": n, "e": "AQAB"},
            {"use": "sig", "kty": "RSA", "kid": "ps", "alg": "PS256", "n": n, "e": "AQAB"},
            {"use": "sig", "kty": "EC", "kid": "ec", "alg": "ES256", "x": "a", "y": "b"},
            {"use": "sig", "kty": "RSA", "alg": "RS256", "n": n, "e": "AQAB"},
        ]});
        let keys = parse(body.to_string().as_bytes()).unwrap();
        let mut kids: Vec<_> = keys.keys().cloned().collect();
        kids.sort();
        assert_eq!(kids, ["ins_a", "no_alg"]);
    }

    #[test]
    fn empty_or_invalid_documents_are_unavailable() {
        assert!(matches!(
            parse(br#"{"keys":[]}"#),
            Err(VerifyError::JwksUnavailable(_))
        ));
        assert!(matches!(
            parse(b"<html>"),
            Err(VerifyError::JwksUnavailable(_))
        ));
    }

    #[test]
    fn secret_key_debug_is_redacted() {
        let key = SecretKey("sk_test_abc".to_owned());
        assert!(!format!("{key:?}").contains("abc"));
    }
}
