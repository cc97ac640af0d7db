//! The signing keys in memory, parsed once, and the session tokens they sign.
//!
//! The store is the source of truth so replicas agree: every replica reloads
//! the key set after a rotation it made and periodically otherwise.

use std::sync::RwLock;
use tessera_domain::error_code::ErrorCode;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, Header};
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::DecodePrivateKey;
use serde::Serialize;
use serde_json::Value;
use tessera_store::records::SigningKey;

use crate::error::{CoreError, CoreResult};
use crate::keys::jwk;

/// How long a retired key stays in the JWKS (tokens live 60 s; SDKs cache JWKS for 5 min).
pub const RETIRED_KEY_OVERLAP_MS: i64 = 24 * 60 * 60 * 1000;

struct LoadedKey {
    record: SigningKey,
    /// The private key parsed once (parsing and checking it costs as much as
    /// a few percent of a signature).
    signer: RsaKeyPair,
    jwk: Value,
}

/// The instance's keys, newest first.
pub struct KeyRing {
    keys: RwLock<Vec<LoadedKey>>,
    rng: SystemRandom,
}

impl Default for KeyRing {
    fn default() -> Self {
        Self {
            keys: RwLock::default(),
            rng: SystemRandom::new(),
        }
    }
}

/// Parses a PKCS#8 or PKCS#1 RSA private key PEM into a ready signer.
fn signer(pem: &str) -> CoreResult<RsaKeyPair> {
    let unreadable = |e: String| CoreError::Internal(format!("stored signing key unreadable: {e}"));
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(pem)
        .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(pem))
        .map_err(|e| unreadable(e.to_string()))?;
    let der = key.to_pkcs1_der().map_err(|e| unreadable(e.to_string()))?;
    RsaKeyPair::from_der(der.as_bytes()).map_err(|e| unreadable(e.to_string()))
}

/// `base64url(JSON)` of one JWT part.
fn encode_part(value: &impl Serialize) -> CoreResult<String> {
    let json = serde_json::to_vec(value)
        .map_err(|e| CoreError::Internal(format!("token encoding failed: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyRing(..)")
    }
}

/// Claims of a Clerk v2 session token.
#[derive(Debug, Clone, Serialize)]
pub struct SessionClaims {
    /// Authorized party: the Origin of the page that asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    /// Expiry (s).
    pub exp: i64,
    /// Features of the active organization's permissions (`o:invoices,…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fea: Option<String>,
    /// Minutes since first and second factor verification (-1 = never).
    pub fva: [i64; 2],
    /// Issued at (s).
    pub iat: i64,
    /// Issuer: the Frontend API URL.
    pub iss: String,
    /// Not before (s).
    pub nbf: i64,
    /// The active organization, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub o: Option<OrganizationClaim>,
    /// Session id.
    pub sid: String,
    /// Session status (`active` or `pending`).
    pub sts: String,
    /// User id.
    pub sub: String,
    /// Claims version.
    pub v: u8,
}

/// The `o` claim: the active organization and the member's role in it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OrganizationClaim {
    /// Organization id.
    pub id: String,
    /// Organization slug.
    pub slg: String,
    /// Role key without its `org:` prefix (`admin`).
    pub rol: String,
    /// Permission names (with `fpm`: which of them each feature of `fea` has).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per: Option<String>,
    /// One bit mask per feature of `fea`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fpm: Option<String>,
}

impl KeyRing {
    /// Replaces the in-memory key set with `keys` (any order).
    pub fn load(&self, mut keys: Vec<SigningKey>) -> CoreResult<()> {
        keys.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| b.kid.cmp(&a.kid))
        });
        let mut loaded = Vec::with_capacity(keys.len());
        for record in keys {
            let signer = signer(&record.private_key_pem)?;
            let jwk = jwk(&record)?;
            loaded.push(LoadedKey {
                record,
                signer,
                jwk,
            });
        }
        let mut guard = self
            .keys
            .write()
            .map_err(|_| CoreError::Internal("key ring poisoned".to_owned()))?;
        *guard = loaded;
        Ok(())
    }

    /// The public keys as a JWKS document: the signing key and those retired within the overlap.
    pub fn jwks(&self) -> CoreResult<Value> {
        let guard = self
            .keys
            .read()
            .map_err(|_| CoreError::Internal("key ring poisoned".to_owned()))?;
        let keys: Vec<Value> = guard.iter().map(|k| k.jwk.clone()).collect();
        Ok(serde_json::json!({ "keys": keys }))
    }

    /// PEM of the current signing key's public half (for `verifyToken({ jwtKey })`).
    pub fn current_public_pem(&self) -> CoreResult<String> {
        let guard = self
            .keys
            .read()
            .map_err(|_| CoreError::Internal("key ring poisoned".to_owned()))?;
        guard
            .iter()
            .find(|k| k.record.retired_at.is_none())
            .map(|k| k.record.public_key_pem.clone())
            .ok_or_else(|| CoreError::Internal("no signing key".to_owned()))
    }

    /// Verifies a session token signed by one of the ring's keys and returns its claims.
    pub fn verify(&self, jwt: &str) -> CoreResult<serde_json::Value> {
        let invalid = || CoreError::NotAllowed {
            code: ErrorCode::TokenInvalid,
            detail: "The token is not a valid, unexpired session token of this instance."
                .to_owned(),
        };
        let kid = jsonwebtoken::decode_header(jwt)
            .map_err(|_| invalid())?
            .kid
            .ok_or_else(invalid)?;
        let guard = self
            .keys
            .read()
            .map_err(|_| CoreError::Internal("key ring poisoned".to_owned()))?;
        let key = guard
            .iter()
            .find(|k| k.record.kid.as_str() == kid)
            .ok_or_else(invalid)?;
        let decoding =
            jsonwebtoken::DecodingKey::from_rsa_pem(key.record.public_key_pem.as_bytes())
                .map_err(|e| CoreError::Internal(format!("stored public key unreadable: {e}")))?;
        let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
        validation.leeway = 5;
        validation.validate_aud = false;
        jsonwebtoken::decode::<serde_json::Value>(jwt, &decoding, &validation)
            .map(|data| data.claims)
            .map_err(|_| invalid())
    }

    /// Signs `claims` with the current key (RS256, `kid` in the header).
    pub fn sign(&self, claims: &SessionClaims) -> CoreResult<String> {
        let guard = self
            .keys
            .read()
            .map_err(|_| CoreError::Internal("key ring poisoned".to_owned()))?;
        let key = guard
            .iter()
            .find(|k| k.record.retired_at.is_none())
            .ok_or_else(|| CoreError::Internal("no signing key".to_owned()))?;
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(key.record.kid.as_str().to_owned());
        let mut jwt = encode_part(&header)?;
        jwt.push('.');
        jwt.push_str(&encode_part(claims)?);
        let mut signature = vec![0; key.signer.public().modulus_len()];
        key.signer
            .sign(&RSA_PKCS1_SHA256, &self.rng, jwt.as_bytes(), &mut signature)
            .map_err(|_| CoreError::Internal("signing failed".to_owned()))?;
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut jwt);
        Ok(jwt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> SessionClaims {
        SessionClaims {
            azp: Some("http://127.0.0.1:3000".to_owned()),
            exp: 1_900_000_060,
            fea: None,
            fva: [0, -1],
            iat: 1_900_000_000,
            iss: "http://127.0.0.1:8080".to_owned(),
            nbf: 1_899_999_990,
            o: None,
            sid: "sess_x".to_owned(),
            sts: "active".to_owned(),
            sub: "user_x".to_owned(),
            v: 2,
        }
    }

    #[test]
    fn signs_exactly_as_jsonwebtoken_and_verifies() {
        let record = crate::keys::generate_signing_key(0).unwrap();
        let ring = KeyRing::default();
        ring.load(vec![record.clone()]).unwrap();
        let jwt = ring.sign(&claims()).unwrap();

        // PKCS#1 v1.5 signatures are deterministic: the same bytes as jsonwebtoken's encoder.
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(record.kid.as_str().to_owned());
        let key =
            jsonwebtoken::EncodingKey::from_rsa_pem(record.private_key_pem.as_bytes()).unwrap();
        assert_eq!(jwt, jsonwebtoken::encode(&header, &claims(), &key).unwrap());

        let verified = ring.verify(&jwt).unwrap();
        assert_eq!(verified["sid"], "sess_x");
        assert_eq!(verified["azp"], "http://127.0.0.1:3000");
    }
}
