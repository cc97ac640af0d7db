//! Sessions, tokens, JWKS, clients and key rotation.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::support::{assert_error, assert_id, TestApp};

both_backends!(
    session_lifecycle_and_tokens,
    clients_and_listing,
    key_rotation_keeps_old_key_in_jwks
);

/// Verifies a session token against the server's BAPI JWKS and returns its claims.
pub async fn verify_with_jwks(app: &TestApp, jwt: &str) -> Value {
    let (_, jwks) = app.get("/jwks").await;
    verify(jwt, &jwks).unwrap()
}

fn verify(jwt: &str, jwks: &Value) -> Result<Value, jsonwebtoken::errors::Error> {
    let kid = decode_header(jwt)?.kid.unwrap_or_default();
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("kid in JWKS");
    let decoding =
        DecodingKey::from_rsa_components(key["n"].as_str().unwrap(), key["e"].as_str().unwrap())?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_nbf = true;
    Ok(decode::<Value>(jwt, &decoding, &validation)?.claims)
}

async fn session_lifecycle_and_tokens(app: &TestApp) {
    let user = app.user(json!({})).await;
    let uid = user["id"].as_str().unwrap();
    let (status, session) = app.post("/sessions", json!({"user_id": uid})).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_id(&session["id"], "sess");
    assert_id(&session["client_id"], "client");
    assert_eq!(session["status"], "active");
    assert_eq!(session["user_id"], uid);
    let sid = session["id"].as_str().unwrap();

    let (status, token) = app
        .post(&format!("/sessions/{sid}/tokens"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(token["object"], "token");
    let jwt = token["jwt"].as_str().unwrap();

    let (_, jwks) = app.get("/jwks").await;
    let public = app
        .http
        .get(format!("{}/.well-known/jwks.json", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        public.json::<Value>().await.unwrap(),
        jwks,
        "FAPI and BAPI serve one key set"
    );
    let claims = verify(jwt, &jwks).unwrap();
    assert_eq!(claims["sub"], uid);
    assert_eq!(claims["sid"], sid);
    assert_eq!(claims["v"], 2);
    assert_eq!(claims["sts"], "active");
    assert_eq!(claims["iss"], app.base);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        60
    );
    assert_eq!(claims["fva"], json!([0, -1]));

    // Tampering breaks the signature.
    let parts: Vec<&str> = jwt.split('.').collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["sub"] = json!("user_2someoneelseXXXXXXXXXXXXXX");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        parts[2]
    );
    assert!(verify(&forged, &jwks).is_err());

    let (status, custom) = app
        .post(
            &format!("/sessions/{sid}/tokens"),
            json!({"expires_in_seconds": 3600}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let claims = verify(custom["jwt"].as_str().unwrap(), &jwks).unwrap();
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    let (status, body) = app
        .post(
            &format!("/sessions/{sid}/tokens"),
            json!({"expires_in_seconds": 5}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_param_value_invalid");

    let (status, verified) = app
        .post(&format!("/sessions/{sid}/verify"), json!({"token": jwt}))
        .await;
    assert_eq!(status, StatusCode::OK, "{verified}");
    assert_eq!(verified["id"], sid);
    let (status, body) = app
        .post(&format!("/sessions/{sid}/verify"), json!({"token": forged}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "token_invalid");

    let (status, revoked) = app
        .post(&format!("/sessions/{sid}/revoke"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(revoked["status"], "revoked");
    let (status, body) = app
        .post(&format!("/sessions/{sid}/tokens"), json!({}))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "revoked sessions mint no tokens"
    );
    assert_error(&body, "resource_not_found");
    let (status, body) = app
        .post(&format!("/sessions/{sid}/verify"), json!({"token": jwt}))
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a revoked session's token no longer verifies"
    );
    assert_error(&body, "session_not_active");

    let (status, _) = app
        .post(
            "/sessions",
            json!({"user_id": "user_2aaaaaaaaaaaaaaaaaaaaaaaaaa"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .post(
            "/sessions/sess_2aaaaaaaaaaaaaaaaaaaaaaaaaa/tokens",
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn clients_and_listing(app: &TestApp) {
    let user = app.user(json!({})).await;
    let uid = user["id"].as_str().unwrap();
    let (_, s1) = app.post("/sessions", json!({"user_id": uid})).await;
    let (_, s2) = app.post("/sessions", json!({"user_id": uid})).await;
    app.post(
        &format!("/sessions/{}/revoke", s1["id"].as_str().unwrap()),
        json!({}),
    )
    .await;

    let (_, list) = app.get(&format!("/sessions?user_id={uid}")).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["id"], s2["id"], "newest first");
    let (_, list) = app
        .get(&format!("/sessions?user_id={uid}&status=active"))
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (_, page) = app
        .get(&format!("/sessions?user_id={uid}&paginated=true&limit=1"))
        .await;
    assert_eq!(page["total_count"], 2);
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    let (status, body) = app.get("/sessions?status=sleeping").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_param_format_invalid");

    let cid = s2["client_id"].as_str().unwrap();
    let (status, client) = app.get(&format!("/clients/{cid}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(client["object"], "client");
    assert_eq!(client["session_ids"], json!([s2["id"]]));
    assert_eq!(client["last_active_session_id"], s2["id"]);
    let (_, clients) = app.get("/clients").await;
    assert_eq!(clients.as_array().unwrap().len(), 2);
    let (status, _) = app
        .post("/clients/verify", json!({"token": "not-a-client-token"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn key_rotation_keeps_old_key_in_jwks(app: &TestApp) {
    let user = app.user(json!({})).await;
    let (_, session) = app.post("/sessions", json!({"user_id": user["id"]})).await;
    let sid = session["id"].as_str().unwrap();
    let (_, before) = app
        .post(&format!("/sessions/{sid}/tokens"), json!({}))
        .await;
    let old = before["jwt"].as_str().unwrap().to_owned();

    let new_kid = app.core().settings().rotate_signing_key().await.unwrap();
    let (_, jwks) = app.get("/jwks").await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    let (_, after) = app
        .post(&format!("/sessions/{sid}/tokens"), json!({}))
        .await;
    let new = after["jwt"].as_str().unwrap();
    assert_eq!(decode_header(new).unwrap().kid.unwrap(), new_kid);
    assert!(
        verify(&old, &jwks).is_ok(),
        "tokens of the old key still verify during the overlap"
    );
    assert!(verify(new, &jwks).is_ok());
}
