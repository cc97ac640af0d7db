//! Verifying real tokens from a real server: claims, time, parties, issuer,
//! tampering, and the key sources (public JWKS, secret-key JWKS, PEM).

use std::time::Duration;

use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;
use tessera_sdk::{ManualClock, SessionStatus, Verifier, VerifyError};

use crate::support::{closed_port_url, payload, with_header, with_payload, Server};

#[tokio::test]
async fn a_valid_token_gives_its_claims() {
    let server = Server::start().await;
    let session = server.session().await;
    let verifier = Verifier::from_server_url(&server.base).build().unwrap();

    let claims = verifier.verify(&session.jwt).await.unwrap();
    assert_eq!(claims.user_id, session.user_id);
    assert_eq!(claims.session_id, session.session_id);
    assert_eq!(claims.issuer, server.base);
    assert_eq!(claims.session_status, Some(SessionStatus::Active));
    assert_eq!(claims.authorized_party, None);
    assert_eq!(claims.organization, None);
    let fva = claims.factor_verification_age.unwrap();
    assert_eq!(fva.second_factor_minutes, None);
    assert_eq!(claims.expires_at - claims.issued_at, 60);
    assert_eq!(claims.not_before, Some(claims.issued_at - 10));
    assert_eq!(claims.raw["v"], 2);
    assert_eq!(claims.raw, payload(&session.jwt));
    assert_eq!(verifier.jwks_fetch_count(), 1);
    server.stop().await;
}

#[tokio::test]
async fn expiry_and_not_before_follow_the_clock_with_skew() {
    let server = Server::start().await;
    let session = server.session().await;
    let claims = payload(&session.jwt);
    let (iat, nbf, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["nbf"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    let clock = ManualClock::at_ms(iat * 1000);
    let verifier = Verifier::from_jwks_url(server.jwks_url())
        .clock(clock.clone())
        .build()
        .unwrap();
    verifier.verify(&session.jwt).await.unwrap();

    // Within the default 5 s skew after `exp`: still accepted.
    clock.set_ms(exp * 1000 + 4_000);
    verifier.verify(&session.jwt).await.unwrap();
    // At `exp` + skew: expired.
    clock.set_ms(exp * 1000 + 5_000);
    let err = verifier.verify(&session.jwt).await.unwrap_err();
    assert_eq!(
        err,
        VerifyError::Expired {
            expired_at: exp,
            now: exp + 5
        }
    );

    // Before `nbf` by more than the skew: not yet valid.
    clock.set_ms(nbf * 1000 - 6_000);
    let err = verifier.verify(&session.jwt).await.unwrap_err();
    assert!(
        matches!(err, VerifyError::NotYetValid { not_before, .. } if not_before == nbf),
        "{err:?}"
    );

    // A wider skew accepts what the default refused.
    let lenient = Verifier::from_jwks_url(server.jwks_url())
        .clock(ManualClock::at_ms(exp * 1000 + 20_000))
        .clock_skew(Duration::from_secs(30))
        .build()
        .unwrap();
    lenient.verify(&session.jwt).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn authorized_parties_restrict_azp() {
    let server = Server::start().await;
    let session = server.session().await;
    let from_app = server
        .token(
            &session.session_id,
            json!({}),
            Some("https://app.example.com"),
        )
        .await;
    let from_evil = server
        .token(
            &session.session_id,
            json!({}),
            Some("https://evil.example.net"),
        )
        .await;
    let verifier = Verifier::from_jwks_url(server.jwks_url())
        .authorized_parties(["https://app.example.com/", "https://admin.example.com"])
        .build()
        .unwrap();

    let claims = verifier.verify(&from_app).await.unwrap();
    assert_eq!(
        claims.authorized_party.as_deref(),
        Some("https://app.example.com")
    );
    assert_eq!(
        verifier.verify(&from_evil).await.unwrap_err(),
        VerifyError::UnauthorizedParty {
            azp: "https://evil.example.net".to_owned()
        }
    );
    // No `azp` at all (made without an Origin): accepted, as Clerk's SDKs do.
    verifier.verify(&session.jwt).await.unwrap();

    // Without configured parties every `azp` is accepted.
    let open = Verifier::from_jwks_url(server.jwks_url()).build().unwrap();
    open.verify(&from_evil).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn issuer_is_checked_when_configured() {
    let server = Server::start().await;
    let session = server.session().await;
    let right = Verifier::from_server_url(&server.base)
        .issuer(format!("{}/", server.base))
        .build()
        .unwrap();
    right.verify(&session.jwt).await.unwrap();
    let wrong = Verifier::from_server_url(&server.base)
        .issuer("https://auth.example.com")
        .build()
        .unwrap();
    assert_eq!(
        wrong.verify(&session.jwt).await.unwrap_err(),
        VerifyError::IssuerMismatch {
            iss: server.base.clone()
        }
    );
    server.stop().await;
}

#[tokio::test]
async fn garbage_and_tampered_tokens_are_refused() {
    let server = Server::start().await;
    let session = server.session().await;
    let other = server.session().await;
    let verifier = Verifier::from_server_url(&server.base).build().unwrap();

    for garbage in ["", "abc", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30"] {
        let err = verifier.verify(garbage).await.unwrap_err();
        assert!(
            matches!(err, VerifyError::Malformed(_)),
            "{garbage}: {err:?}"
        );
    }

    // Another user id in the payload, signature kept.
    let mut claims = payload(&session.jwt);
    claims["sub"] = json!(other.user_id);
    let forged = with_payload(&session.jwt, &claims);
    assert_eq!(
        verifier.verify(&forged).await.unwrap_err(),
        VerifyError::BadSignature
    );

    // One token's header and payload with another token's signature.
    let sig = other.jwt.rsplit('.').next().unwrap();
    let (head_body, _) = session.jwt.rsplit_once('.').unwrap();
    let spliced = format!("{head_body}.{sig}");
    assert_eq!(
        verifier.verify(&spliced).await.unwrap_err(),
        VerifyError::BadSignature
    );

    // HS256 "signed" with the public key as the secret (algorithm confusion).
    let kid = jsonwebtoken::decode_header(&session.jwt).unwrap().kid;
    let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = kid;
    let hs = jsonwebtoken::encode(
        &header,
        &payload(&session.jwt),
        &EncodingKey::from_secret(server.public_key_pem().as_bytes()),
    )
    .unwrap();
    assert_eq!(
        verifier.verify(&hs).await.unwrap_err(),
        VerifyError::UnsupportedAlgorithm("HS256".to_owned())
    );

    // No `kid`: a JWKS verifier cannot pick a key.
    let no_kid = with_header(&session.jwt, &json!({"alg": "RS256", "typ": "JWT"}));
    assert!(matches!(
        verifier.verify(&no_kid).await.unwrap_err(),
        VerifyError::Malformed(_)
    ));

    // The genuine token still verifies.
    verifier.verify(&session.jwt).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn the_secret_key_jwks_needs_the_secret_key() {
    let server = Server::start().await;
    let session = server.session().await;
    let url = format!("{}/v1/jwks", server.base);

    let with_secret = Verifier::from_jwks_url(&url)
        .secret_key(&server.secret)
        .build()
        .unwrap();
    with_secret.verify(&session.jwt).await.unwrap();

    let without = Verifier::from_jwks_url(&url).build().unwrap();
    let err = without.verify(&session.jwt).await.unwrap_err();
    assert!(
        matches!(&err, VerifyError::JwksUnavailable(m) if m.contains("401")),
        "{err:?}"
    );
    assert!(!format!("{with_secret:?}").contains(&server.secret));
    server.stop().await;
}

#[tokio::test]
async fn a_pem_verifier_works_offline_until_the_key_rotates() {
    let server = Server::start().await;
    let session = server.session().await;
    let verifier = Verifier::from_public_key_pem(server.public_key_pem())
        .build()
        .unwrap();

    let claims = verifier.verify(&session.jwt).await.unwrap();
    assert_eq!(claims.user_id, session.user_id);
    assert_eq!(verifier.jwks_fetch_count(), 0);

    server.rotate_signing_key().await;
    let new_token = server.token(&session.session_id, json!({}), None).await;
    assert_eq!(
        verifier.verify(&new_token).await.unwrap_err(),
        VerifyError::BadSignature
    );

    assert!(matches!(
        Verifier::from_public_key_pem("not a key").build(),
        Err(VerifyError::InvalidKey(_))
    ));
    server.stop().await;
}

#[tokio::test]
async fn an_unreachable_jwks_is_reported_and_not_hammered() {
    let server = Server::start().await;
    let session = server.session().await;
    let clock = ManualClock::new();
    let verifier = Verifier::from_jwks_url(closed_port_url().await)
        .clock(clock.clone())
        .build()
        .unwrap();

    let err = verifier.verify(&session.jwt).await.unwrap_err();
    assert!(matches!(err, VerifyError::JwksUnavailable(_)), "{err:?}");
    assert!(!err.is_token_error());
    assert!(verifier.refresh().await.is_err());
    assert_eq!(verifier.jwks_fetch_count(), 2);

    // Failures are retried at most once per refetch interval (10 s).
    for _ in 0..5 {
        assert!(verifier.verify(&session.jwt).await.is_err());
    }
    assert_eq!(verifier.jwks_fetch_count(), 2);
    clock.advance(Duration::from_secs(10));
    assert!(verifier.verify(&session.jwt).await.is_err());
    assert_eq!(verifier.jwks_fetch_count(), 3);
    server.stop().await;
}
