//! The JWKS cache against a real server: one fetch for many verifications,
//! refetch on rotation, the unknown-kid rate limit, periodic refresh, and
//! stale keys while the JWKS is down. Requests are counted both by the
//! verifier and by a proxy in front of the server's JWKS.

use std::time::Duration;

use serde_json::json;
use tessera_sdk::{ManualClock, Verifier, VerifyError};

use crate::support::{with_header, JwksProxy, Server};

#[tokio::test]
async fn the_jwks_is_fetched_once_for_many_verifications() {
    let server = Server::start().await;
    let proxy = JwksProxy::start(server.jwks_url()).await;
    let session = server.session().await;
    let verifier = Verifier::from_jwks_url(&proxy.url).build().unwrap();

    // Concurrent first verifications share one fetch.
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (verifier, jwt) = (verifier.clone(), session.jwt.clone());
            tokio::spawn(async move { verifier.verify(&jwt).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    for _ in 0..200 {
        verifier.verify(&session.jwt).await.unwrap();
    }
    assert_eq!(verifier.jwks_fetch_count(), 1);
    assert_eq!(proxy.requests(), 1);
    server.stop().await;
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_by_refetching_on_its_unknown_kid() {
    let server = Server::start().await;
    let proxy = JwksProxy::start(server.jwks_url()).await;
    let session = server.session().await;
    let verifier = Verifier::from_jwks_url(&proxy.url).build().unwrap();
    verifier.verify(&session.jwt).await.unwrap();
    let old_kid = jsonwebtoken::decode_header(&session.jwt)
        .unwrap()
        .kid
        .unwrap();
    assert_eq!(verifier.cached_key_ids(), std::slice::from_ref(&old_kid));

    let new_kid = server.rotate_signing_key().await;
    let new_token = server.token(&session.session_id, json!({}), None).await;
    assert_eq!(
        jsonwebtoken::decode_header(&new_token).unwrap().kid,
        Some(new_kid.clone())
    );
    let claims = verifier.verify(&new_token).await.unwrap();
    assert_eq!(claims.session_id, session.session_id);
    assert_eq!(proxy.requests(), 2);

    // The retired key stays in the JWKS, so older tokens still verify, without a fetch.
    verifier.verify(&session.jwt).await.unwrap();
    verifier.verify(&new_token).await.unwrap();
    assert_eq!(proxy.requests(), 2);
    let mut kids = vec![old_kid, new_kid];
    kids.sort();
    assert_eq!(verifier.cached_key_ids(), kids);
    server.stop().await;
}

#[tokio::test]
async fn unknown_kids_refetch_at_most_once_per_interval() {
    let server = Server::start().await;
    let proxy = JwksProxy::start(server.jwks_url()).await;
    let session = server.session().await;
    let clock = ManualClock::new();
    let verifier = Verifier::from_jwks_url(&proxy.url)
        .clock(clock.clone())
        .build()
        .unwrap();
    verifier.verify(&session.jwt).await.unwrap();

    let forged = |kid: &str| with_header(&session.jwt, &json!({"alg": "RS256", "kid": kid}));
    let err = verifier.verify(&forged("ins_made_up_1")).await.unwrap_err();
    assert_eq!(
        err,
        VerifyError::UnknownKey {
            kid: "ins_made_up_1".to_owned()
        }
    );
    assert_eq!(proxy.requests(), 2);
    for i in 2..50 {
        let err = verifier.verify(&forged(&format!("ins_made_up_{i}"))).await;
        assert!(matches!(err, Err(VerifyError::UnknownKey { .. })));
    }
    assert_eq!(
        proxy.requests(),
        2,
        "a storm of unknown kids is one refetch"
    );
    verifier.verify(&session.jwt).await.unwrap();

    clock.advance(Duration::from_secs(10));
    assert!(verifier.verify(&forged("ins_made_up_99")).await.is_err());
    assert_eq!(proxy.requests(), 3);

    // A shorter interval lets them through sooner.
    let eager = Verifier::from_jwks_url(&proxy.url)
        .clock(clock.clone())
        .refetch_interval(Duration::from_secs(1))
        .build()
        .unwrap();
    eager.verify(&session.jwt).await.unwrap();
    assert!(eager.verify(&forged("a")).await.is_err());
    clock.advance(Duration::from_secs(1));
    assert!(eager.verify(&forged("b")).await.is_err());
    assert_eq!(eager.jwks_fetch_count(), 3);
    server.stop().await;
}

#[tokio::test]
async fn the_jwks_is_refreshed_periodically_and_kept_while_the_server_is_down() {
    let server = Server::start().await;
    let proxy = JwksProxy::start(server.jwks_url()).await;
    let session = server.session().await;
    let jwt = server
        .token(
            &session.session_id,
            json!({"expires_in_seconds": 3 * 3600}),
            None,
        )
        .await;
    let clock = ManualClock::new();
    let verifier = Verifier::from_jwks_url(&proxy.url)
        .clock(clock.clone())
        .build()
        .unwrap();
    verifier.verify(&jwt).await.unwrap();
    clock.advance(Duration::from_secs(299));
    verifier.verify(&jwt).await.unwrap();
    assert_eq!(proxy.requests(), 1);

    // Five minutes old: the next verification refreshes it.
    clock.advance(Duration::from_secs(1));
    verifier.verify(&jwt).await.unwrap();
    assert_eq!(proxy.requests(), 2);

    // The JWKS goes down: the cached keys keep working, retries are spaced out.
    proxy.set_down(true);
    clock.advance(Duration::from_secs(300));
    verifier.verify(&jwt).await.unwrap();
    verifier.verify(&jwt).await.unwrap();
    assert_eq!(proxy.requests(), 3);
    clock.advance(Duration::from_secs(10));
    verifier.verify(&jwt).await.unwrap();
    assert_eq!(proxy.requests(), 4);

    // Up to an hour after the last good fetch; then the keys are too stale to trust.
    clock.advance(Duration::from_secs(3600));
    let err = verifier.verify(&jwt).await.unwrap_err();
    assert!(matches!(err, VerifyError::JwksUnavailable(_)), "{err:?}");

    // Back up: the next verification fetches again and succeeds.
    proxy.set_down(false);
    clock.advance(Duration::from_secs(10));
    verifier.verify(&jwt).await.unwrap();
    server.stop().await;
}
