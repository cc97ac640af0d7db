//! Claims the server does not issue yet (organizations, pending sessions),
//! checked with tokens signed here by a key made for the test and a PEM
//! verifier: no server, no network.

use std::sync::OnceLock;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey, LineEnding};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{json, Value};
use tessera_sdk::{Clock, ManualClock, SessionStatus, Verifier, VerifyError};

/// A 2048-bit key pair (private PEM, public PEM), made once per test binary.
fn key_pair() -> &'static (String, String) {
    static PAIR: OnceLock<(String, String)> = OnceLock::new();
    PAIR.get_or_init(|| {
        let private = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        let public = RsaPublicKey::from(&private);
        (
            private.to_pkcs1_pem(LineEnding::LF).unwrap().to_string(),
            public.to_pkcs1_pem(LineEnding::LF).unwrap(),
        )
    })
}

fn sign(claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("ins_test".to_owned());
    let key = EncodingKey::from_rsa_pem(key_pair().0.as_bytes()).unwrap();
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

fn claims_at(now: i64) -> Value {
    json!({
        "sub": "user_1", "sid": "sess_1", "iss": "https://auth.example.com",
        "iat": now, "nbf": now - 10, "exp": now + 60, "v": 2,
        "fva": [3, -1], "sts": "active",
    })
}

fn verifier(clock: &ManualClock) -> Verifier {
    Verifier::from_public_key_pem(key_pair().1.clone())
        .clock(clock.clone())
        .build()
        .unwrap()
}

#[tokio::test]
async fn organization_claims_are_typed() {
    let clock = ManualClock::new();
    let now = clock.now_ms() / 1000;
    let mut claims = claims_at(now);
    claims["fea"] = json!("o:members,o:billing,u:profile");
    claims["o"] = json!({"id": "org_1", "slg": "acme", "rol": "admin",
                         "per": "read,manage", "fpm": "3,1"});
    let verified = verifier(&clock).verify(&sign(&claims)).await.unwrap();
    let org = verified.organization.clone().unwrap();
    assert_eq!(org.id, "org_1");
    assert_eq!(org.slug.as_deref(), Some("acme"));
    assert_eq!(org.role.as_deref(), Some("org:admin"));
    assert_eq!(
        org.permissions,
        ["org:members:read", "org:members:manage", "org:billing:read"]
    );
    assert!(verified.has_permission("org:members:manage"));
    assert!(!verified.has_permission("org:billing:manage"));
    assert_eq!(
        verified
            .factor_verification_age
            .unwrap()
            .first_factor_minutes,
        Some(3)
    );
}

#[tokio::test]
async fn pending_sessions_are_refused_unless_accepted() {
    let clock = ManualClock::new();
    let mut claims = claims_at(clock.now_ms() / 1000);
    claims["sts"] = json!("pending");
    let token = sign(&claims);

    assert_eq!(
        verifier(&clock).verify(&token).await.unwrap_err(),
        VerifyError::SessionPending
    );
    let lenient = Verifier::from_public_key_pem(key_pair().1.clone())
        .clock(clock.clone())
        .accept_pending_sessions(true)
        .build()
        .unwrap();
    let verified = lenient.verify(&token).await.unwrap();
    assert_eq!(verified.session_status, Some(SessionStatus::Pending));
}

#[tokio::test]
async fn issued_in_the_future_and_missing_claims_are_refused() {
    let clock = ManualClock::new();
    let now = clock.now_ms() / 1000;

    let mut future = claims_at(now);
    future["iat"] = json!(now + 30);
    future["nbf"] = json!(now - 10);
    let err = verifier(&clock).verify(&sign(&future)).await.unwrap_err();
    assert_eq!(
        err,
        VerifyError::NotYetValid {
            not_before: now + 30,
            now
        }
    );

    let mut no_sid = claims_at(now);
    no_sid.as_object_mut().unwrap().remove("sid");
    let err = verifier(&clock).verify(&sign(&no_sid)).await.unwrap_err();
    assert!(matches!(err, VerifyError::Malformed(_)), "{err:?}");

    // A PEM verifier does not need a `kid`.
    let mut header = Header::new(Algorithm::RS256);
    header.kid = None;
    let key = EncodingKey::from_rsa_pem(key_pair().0.as_bytes()).unwrap();
    let token = jsonwebtoken::encode(&header, &claims_at(now), &key).unwrap();
    verifier(&clock).verify(&token).await.unwrap();
}
