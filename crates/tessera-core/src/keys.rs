//! Instance keys: the secret key (stored only as a hash), the publishable key
//! (encodes the Frontend API host) and the RSA keys that sign session tokens.

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand::RngCore;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tessera_domain::ids::KeyId;
use tessera_domain::settings::EnvironmentType;
use tessera_store::records::SigningKey;

use crate::error::{CoreError, CoreResult};

/// A secret key in memory; `Debug` never shows it.
#[derive(Clone)]
pub struct SecretKey(String);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl SecretKey {
    /// A fresh `sk_test_…`/`sk_live_…` key with 256 bits of randomness.
    pub fn generate(env: EnvironmentType) -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(format!("sk_{}_{}", env.key_kind(), hex::encode(bytes)))
    }

    /// Accepts a configured key if it has the `sk_test_`/`sk_live_` shape and enough length.
    pub fn parse(raw: &str) -> CoreResult<Self> {
        let body = raw
            .strip_prefix("sk_test_")
            .or_else(|| raw.strip_prefix("sk_live_"))
            .ok_or_else(|| {
                CoreError::Config("the secret key must start with sk_test_ or sk_live_".to_owned())
            })?;
        if body.len() < 16 || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(CoreError::Config(
                "the secret key needs at least 16 letters or digits after its prefix".to_owned(),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The key itself, for printing once at creation.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The stored form: hex SHA-256.
    pub fn hash(&self) -> String {
        hash_secret(&self.0)
    }

    /// A display form that shows only the prefix and the last four characters.
    pub fn hint(&self) -> String {
        let prefix_len = "sk_test_".len();
        let tail = &self.0[self.0.len().saturating_sub(4)..];
        format!("{}…{tail}", &self.0[..prefix_len])
    }
}

/// Hex SHA-256 of a high-entropy secret (keys and tokens, not passwords).
pub fn hash_secret(raw: &str) -> String {
    hex::encode(Sha256::digest(raw.as_bytes()))
}

/// Compares a presented secret with a stored hash in constant time.
pub fn secret_matches(presented: &str, stored_hash: &str) -> bool {
    let presented = hash_secret(presented);
    presented.as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

/// The publishable key for a Frontend API host (`127.0.0.1:8080`, `clerk.example.com`).
pub fn publishable_key(env: EnvironmentType, frontend_host: &str) -> String {
    format!(
        "pk_{}_{}",
        env.key_kind(),
        STANDARD_NO_PAD.encode(format!("{frontend_host}$"))
    )
}

/// Makes a new RS256 signing key (2048-bit RSA). Slow: call it off the async executor.
pub fn generate_signing_key(now: i64) -> CoreResult<SigningKey> {
    let private = RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)
        .map_err(|e| CoreError::Internal(format!("RSA key generation failed: {e}")))?;
    let private_key_pem = private
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| CoreError::Internal(format!("PEM encoding failed: {e}")))?
        .to_string();
    let public_key_pem = private
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| CoreError::Internal(format!("PEM encoding failed: {e}")))?;
    Ok(SigningKey {
        kid: KeyId::generate(now),
        algorithm: "RS256".to_owned(),
        private_key_pem,
        public_key_pem,
        created_at: now,
        retired_at: None,
    })
}

/// The JWK of a signing key's public half.
pub fn jwk(key: &SigningKey) -> CoreResult<Value> {
    use rsa::pkcs8::DecodePublicKey;
    let public = rsa::RsaPublicKey::from_public_key_pem(&key.public_key_pem)
        .map_err(|e| CoreError::Internal(format!("stored public key unreadable: {e}")))?;
    Ok(json!({
        "use": "sig",
        "kty": "RSA",
        "kid": key.kid.as_str(),
        "alg": key.algorithm,
        "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishable_key_encodes_host_with_dollar() {
        let pk = publishable_key(EnvironmentType::Development, "127.0.0.1:8080");
        let body = pk.strip_prefix("pk_test_").unwrap();
        assert_eq!(STANDARD_NO_PAD.decode(body).unwrap(), b"127.0.0.1:8080$");
    }

    #[test]
    fn secret_keys_hash_and_compare() {
        let sk = SecretKey::generate(EnvironmentType::Development);
        assert!(sk.expose().starts_with("sk_test_"));
        assert!(secret_matches(sk.expose(), &sk.hash()));
        assert!(!secret_matches("sk_test_other", &sk.hash()));
        assert!(sk.hint().starts_with("sk_test_…"));
        assert!(!format!("{sk:?}").contains(sk.expose()));
    }

    #[test]
    fn configured_secret_keys_are_checked() {
        assert!(SecretKey::parse("sk_test_0123456789abcdef").is_ok());
        assert!(SecretKey::parse("pk_test_0123456789abcdef").is_err());
        assert!(SecretKey::parse("sk_test_short").is_err());
    }
}
