//! The axum extractors and layer, in an app served on a loopback port and
//! called over HTTP with tokens from a real Tessera server.

use std::time::Duration;

use axum::extract::FromRef;
use axum::routing::get;
use axum::{Json, Router};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tessera_sdk::axum::{Auth, AuthLayer, OptionalAuth};
use tessera_sdk::{Claims, ManualClock, Verifier};

use crate::support::{closed_port_url, payload, serve, with_payload, Server};

#[derive(Clone)]
struct AppState {
    verifier: Verifier,
}

impl FromRef<AppState> for Verifier {
    fn from_ref(state: &AppState) -> Verifier {
        state.verifier.clone()
    }
}

async fn me(Auth(claims): Auth) -> Json<Value> {
    Json(json!({"user_id": claims.user_id, "session_id": claims.session_id}))
}

async fn maybe(OptionalAuth(claims): OptionalAuth) -> Json<Value> {
    Json(json!({"user_id": claims.map(|c| c.user_id)}))
}

async fn layered(claims: Claims) -> Json<Value> {
    Json(json!({"user_id": claims.user_id}))
}

async fn layered_maybe(claims: Option<Claims>) -> Json<Value> {
    Json(json!({"user_id": claims.map(|c| c.user_id)}))
}

/// The app under test: extractor routes with the verifier in the state, and
/// layer routes (required and optional) that need no state.
async fn app(verifier: Verifier) -> String {
    let layered_routes = Router::new()
        .route("/layer/me", get(layered))
        .route_layer(AuthLayer::new(verifier.clone()))
        .merge(
            Router::new()
                .route("/layer/maybe", get(layered_maybe))
                .route_layer(AuthLayer::optional(verifier.clone())),
        );
    let app = Router::new()
        .route("/me", get(me))
        .route("/maybe", get(maybe))
        .with_state(AppState { verifier })
        .merge(layered_routes);
    serve(app).await
}

async fn call(url: &str, auth: Option<&str>, cookie: Option<&str>) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = auth {
        request = request.bearer_auth(token);
    }
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let www = response.headers().get("www-authenticate").cloned();
    let body: Value = response.json().await.unwrap();
    if status == StatusCode::UNAUTHORIZED {
        assert_eq!(www.unwrap(), "Bearer");
    }
    (status, body)
}

#[track_caller]
fn assert_envelope(body: &Value, code: &str, long_contains: &str) {
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{body}");
    assert_eq!(errors[0]["code"], code, "{body}");
    assert!(errors[0]["message"].is_string(), "{body}");
    let long = errors[0]["long_message"].as_str().unwrap();
    assert!(long.contains(long_contains), "{body}");
    assert_eq!(errors[0]["meta"], json!({}), "{body}");
}

#[tokio::test]
async fn auth_accepts_the_header_and_the_session_cookie() {
    let server = Server::start().await;
    let session = server.session().await;
    let base = app(Verifier::from_server_url(&server.base).build().unwrap()).await;
    let expected = json!({"user_id": session.user_id, "session_id": session.session_id});

    let (status, body) = call(&format!("{base}/me"), Some(&session.jwt), None).await;
    assert_eq!((status, &body), (StatusCode::OK, &expected));

    let cookie = format!("__client_uat=1700000000; __session={}", session.jwt);
    let (status, body) = call(&format!("{base}/me"), None, Some(&cookie)).await;
    assert_eq!((status, &body), (StatusCode::OK, &expected));
    server.stop().await;
}

#[tokio::test]
async fn auth_refuses_missing_garbage_tampered_and_expired_tokens() {
    let server = Server::start().await;
    let session = server.session().await;
    let clock = ManualClock::new();
    let verifier = Verifier::from_server_url(&server.base)
        .clock(clock.clone())
        .build()
        .unwrap();
    let base = app(verifier).await;
    let me = format!("{base}/me");

    let (status, body) = call(&me, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_envelope(&body, "authentication_invalid", "__session");

    let (status, body) = call(&me, Some("not-a-jwt"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_envelope(&body, "authentication_invalid", "malformed");

    let (status, body) = call(&me, None, Some("__session=x.y.z")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_envelope(&body, "authentication_invalid", "malformed");

    let mut claims = payload(&session.jwt);
    claims["sub"] = json!("user_2someoneelse0000000000000");
    let tampered = with_payload(&session.jwt, &claims);
    let (status, body) = call(&me, Some(&tampered), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_envelope(&body, "authentication_invalid", "signature");

    clock.advance(Duration::from_secs(120));
    let (status, body) = call(&me, Some(&session.jwt), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_envelope(&body, "authentication_invalid", "expired");
    server.stop().await;
}

#[tokio::test]
async fn auth_refuses_a_token_for_another_party() {
    let server = Server::start().await;
    let session = server.session().await;
    let verifier = Verifier::from_server_url(&server.base)
        .authorized_parties(["https://app.example.com"])
        .build()
        .unwrap();
    let base = app(verifier).await;
    let ours = server
        .token(
            &session.session_id,
            json!({}),
            Some("https://app.example.com"),
        )
        .await;
    let theirs = server
        .token(
            &session.session_id,
            json!({}),
            Some("https://other.example.org"),
        )
        .await;

    let (status, _) = call(&format!("{base}/me"), Some(&ours), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = call(&format!("{base}/me"), Some(&theirs), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_envelope(&body, "authentication_invalid", "other.example.org");
    server.stop().await;
}

#[tokio::test]
async fn optional_auth_is_none_without_a_valid_token() {
    let server = Server::start().await;
    let session = server.session().await;
    let base = app(Verifier::from_server_url(&server.base).build().unwrap()).await;
    let maybe = format!("{base}/maybe");

    let (status, body) = call(&maybe, Some(&session.jwt), None).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"user_id": session.user_id}))
    );
    let (status, body) = call(&maybe, None, None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"user_id": null})));
    let (status, body) = call(&maybe, Some("a.b.c"), None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"user_id": null})));
    server.stop().await;
}

#[tokio::test]
async fn the_layer_verifies_and_hands_claims_to_handlers() {
    let server = Server::start().await;
    let session = server.session().await;
    let verifier = Verifier::from_server_url(&server.base).build().unwrap();
    let base = app(verifier.clone()).await;
    let user = json!({"user_id": session.user_id});

    let (status, body) = call(&format!("{base}/layer/me"), Some(&session.jwt), None).await;
    assert_eq!((status, body), (StatusCode::OK, user.clone()));
    let cookie = format!("__session={}", session.jwt);
    let (status, body) = call(&format!("{base}/layer/me"), None, Some(&cookie)).await;
    assert_eq!((status, body), (StatusCode::OK, user.clone()));
    let (status, body) = call(&format!("{base}/layer/me"), None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_envelope(&body, "authentication_invalid", "__session");
    let (status, body) = call(&format!("{base}/layer/me"), Some("x.y.z"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_envelope(&body, "authentication_invalid", "malformed");

    let (status, body) = call(&format!("{base}/layer/maybe"), Some(&session.jwt), None).await;
    assert_eq!((status, body), (StatusCode::OK, user));
    let (status, body) = call(&format!("{base}/layer/maybe"), Some("x.y.z"), None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"user_id": null})));

    // Every request above shared the verifier's single JWKS fetch.
    assert_eq!(verifier.jwks_fetch_count(), 1);
    server.stop().await;
}

#[tokio::test]
async fn unreachable_keys_answer_503_not_401() {
    let server = Server::start().await;
    let session = server.session().await;
    let verifier = Verifier::from_jwks_url(closed_port_url().await)
        .build()
        .unwrap();
    let base = app(verifier).await;

    for path in ["/me", "/maybe", "/layer/me", "/layer/maybe"] {
        let (status, body) = call(&format!("{base}{path}"), Some(&session.jwt), None).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_envelope(&body, "service_unavailable", "try again");
        // Nothing about the key source leaks to the client.
        assert!(!body.to_string().contains("127.0.0.1"), "{body}");
    }
    server.stop().await;
}
