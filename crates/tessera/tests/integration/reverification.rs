//! Session reverification as clerk-js drives it (`session.startVerification`,
//! `attemptFirstFactorVerification`, `attemptSecondFactorVerification`):
//! each passed factor resets its age in the session and its tokens (`fva`).

use reqwest::StatusCode;
use serde_json::{json, Value};
use tessera_domain::ids::SessionId;
use tessera_domain::mfa::totp_now;

use crate::both_backends;
use crate::browser::Browser;
use crate::support::{assert_error, claims_of, now_ms, unique, TestApp};

both_backends!(
    a_password_reverifies_the_first_factor,
    multi_factor_asks_for_both,
);

const PASSWORD: &str = "correct horse battery";
const SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

/// Backdates the session's factors by `minutes` (as if signed in long ago).
pub(crate) async fn age_session(app: &TestApp, sid: &str, minutes: i64) {
    // A unit of work of the server's own, so its client cache hears of it.
    let mut tx = app.core().begin().await.unwrap();
    let id = SessionId::parse(sid).unwrap();
    let mut s = tessera_store::sessions::get(&mut tx, &id).await.unwrap();
    let then = now_ms() - minutes * 60_000;
    s.first_factor_at = Some(then);
    s.second_factor_at = s.second_factor_at.map(|_| then);
    tessera_store::sessions::save_reverification(&mut tx, &mut s)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// The `fva` of a token minted by the Backend API (read from the store).
async fn fva(app: &TestApp, sid: &str) -> Value {
    let (status, t) = app
        .post(&format!("/sessions/{sid}/tokens"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    claims_of(t["jwt"].as_str().unwrap())["fva"].clone()
}

async fn signed_in(app: &TestApp, body: Value) -> (Browser<'_>, String, String) {
    let email = format!("{}@example.com", unique("reverify").to_lowercase());
    let mut body = body;
    body["email_address"] = json!([email]);
    body["password"] = json!(PASSWORD);
    let (status, u) = app.post("/users", body).await;
    assert_eq!(status, StatusCode::OK, "{u}");
    let mut b = Browser::new(app);
    let out = b.sign_in_with_password(&email, PASSWORD).await;
    let sid = match out["response"]["created_session_id"].as_str() {
        Some(sid) => sid.to_owned(),
        None => {
            // A second factor first.
            let id = out["response"]["id"].as_str().unwrap().to_owned();
            let (status, out) = b
                .post(
                    &format!("/client/sign_ins/{id}/attempt_second_factor"),
                    &[("strategy", "backup_code"), ("code", "papa1234")],
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{out}");
            out["response"]["created_session_id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    (b, sid, email)
}

async fn a_password_reverifies_the_first_factor(app: &TestApp) {
    let (mut b, sid, _) = signed_in(app, json!({})).await;
    age_session(app, &sid, 30).await;
    assert_eq!(fva(app, &sid).await, json!([30, -1]));

    let verify = |p: &str| format!("/client/sessions/{sid}/verify{p}");
    let (status, out) = b.post(&verify(""), &[("level", "first_factor")]).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let v = &out["response"];
    assert_eq!(v["object"], "session_verification");
    assert_eq!(v["status"], "needs_first_factor");
    assert_eq!(v["level"], "first_factor");
    assert_eq!(v["session"]["id"], sid.as_str());
    let strategies: Vec<&str> = v["supported_first_factors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["strategy"].as_str().unwrap())
        .collect();
    assert_eq!(strategies, ["password", "email_code"], "{v}");
    assert_eq!(v["supported_second_factors"], Value::Null);

    let (status, body) = b
        .post(
            &verify("/attempt_first_factor"),
            &[("strategy", "password"), ("password", "wrong password")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "form_password_incorrect");
    let (status, body) = b
        .post(
            &verify("/attempt_second_factor"),
            &[("strategy", "totp"), ("code", "123456")],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not the step: {body}"
    );

    let (status, out) = b
        .post(
            &verify("/attempt_first_factor"),
            &[("strategy", "password"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let v = &out["response"];
    assert_eq!(v["status"], "complete");
    assert_eq!(v["session"]["factor_verification_age"], json!([0, -1]));
    let jwt = v["session"]["last_active_token"]["jwt"].as_str().unwrap();
    assert_eq!(
        claims_of(jwt)["fva"],
        json!([0, -1]),
        "the answer's token is fresh"
    );
    let client_session = &out["client"]["sessions"][0];
    assert_eq!(client_session["factor_verification_age"], json!([0, -1]));
    assert_eq!(fva(app, &sid).await, json!([0, -1]));

    // A locked user cannot reverify.
    let uid = out["client"]["sessions"][0]["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = app.post(&format!("/users/{uid}/lock"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = b.post(&verify(""), &[("level", "first_factor")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_error(&body, "user_locked");
    let (status, _) = app.post(&format!("/users/{uid}/unlock"), json!({})).await;
    assert_eq!(status, StatusCode::OK);

    // An emailed code works too.
    let (_, out) = b.post(&verify(""), &[("level", "second_factor")]).await;
    assert_eq!(
        out["response"]["status"], "needs_first_factor",
        "no second factor: a first"
    );
    let (status, body) = b
        .post(
            &verify("/attempt_first_factor"),
            &[("strategy", "email_code"), ("code", "123456")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "verification_missing");
}

async fn multi_factor_asks_for_both(app: &TestApp) {
    let (mut b, sid, email) = signed_in(
        app,
        json!({"totp_secret": SECRET, "backup_codes": ["papa1234", "quebec56"]}),
    )
    .await;
    age_session(app, &sid, 90).await;
    assert_eq!(fva(app, &sid).await, json!([90, 90]));
    let verify = |p: &str| format!("/client/sessions/{sid}/verify{p}");

    let (_, out) = b.post(&verify(""), &[("level", "multi_factor")]).await;
    let v = &out["response"];
    assert_eq!(v["status"], "needs_first_factor");
    assert_eq!(
        v["supported_second_factors"],
        json!([{"strategy": "totp"}, {"strategy": "backup_code"}])
    );
    let email_id = v["supported_first_factors"][1]["email_address_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, out) = b
        .post(
            &verify("/prepare_first_factor"),
            &[("strategy", "email_code"), ("email_address_id", &email_id)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(
        out["response"]["first_factor_verification"]["status"],
        "unverified"
    );
    let code = app.smtp.code_for(&email).await;
    let (status, out) = b
        .post(
            &verify("/attempt_first_factor"),
            &[("strategy", "email_code"), ("code", &code)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["response"]["status"], "needs_second_factor");
    assert_eq!(fva(app, &sid).await, json!([0, 90]));

    let (status, body) = b
        .post(
            &verify("/attempt_second_factor"),
            &[("strategy", "totp"), ("code", "000000")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "form_code_incorrect");
    let code = totp_now(SECRET, now_ms()).unwrap();
    let (status, out) = b
        .post(
            &verify("/attempt_second_factor"),
            &[("strategy", "totp"), ("code", &code)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["response"]["status"], "complete");
    assert_eq!(
        out["response"]["session"]["factor_verification_age"],
        json!([0, 0])
    );
    assert_eq!(fva(app, &sid).await, json!([0, 0]));

    // Level second_factor with a second factor: straight to it.
    let (_, out) = b.post(&verify(""), &[("level", "second_factor")]).await;
    assert_eq!(out["response"]["status"], "needs_second_factor");
    let (status, body) = b.post(&verify(""), &[("level", "everything")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}
