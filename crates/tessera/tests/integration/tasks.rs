//! Session tasks a session keeps from its start: `reset-password` after the
//! Backend API marked the password compromised, `setup-mfa` while the
//! instance requires a second factor the user lacks. Each makes the session
//! pending until done, and the answer of the call that does it shows the
//! session active with a fresh token.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tessera_domain::mfa::totp_now;

use crate::both_backends;
use crate::browser::Browser;
use crate::support::{assert_error, claims_of, now_ms, unique, TestApp};

both_backends!(
    a_compromised_password_leads_to_reset_password,
    required_mfa_leads_to_setup_mfa,
);

const PASSWORD: &str = "correct horse battery";

/// The first session of a client answer: (status, tasks, the token's `sts`).
fn session_state(out: &Value) -> (Value, Value, Value) {
    let s = &out["client"]["sessions"][0];
    let jwt = s["last_active_token"]["jwt"].as_str().unwrap();
    (
        s["status"].clone(),
        s["tasks"].clone(),
        claims_of(jwt)["sts"].clone(),
    )
}

async fn new_user(app: &TestApp) -> (String, String) {
    let email = format!("{}@example.com", unique("task").to_lowercase());
    let (status, u) = app
        .post(
            "/users",
            json!({"email_address": [email], "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{u}");
    (u["id"].as_str().unwrap().to_owned(), email)
}

/// Signs in by the emailed code; the answer of the completing attempt.
async fn sign_in_by_email_code(b: &mut Browser<'_>, email: &str) -> Value {
    let (status, out) = b.post("/client/sign_ins", &[("identifier", email)]).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let si = &out["response"];
    let id = si["id"].as_str().unwrap().to_owned();
    let factor = si["supported_first_factors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["strategy"] == "email_code")
        .unwrap()
        .clone();
    let (status, out) = b
        .post(
            &format!("/client/sign_ins/{id}/prepare_first_factor"),
            &[
                ("strategy", "email_code"),
                (
                    "email_address_id",
                    factor["email_address_id"].as_str().unwrap(),
                ),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let code = b.app.smtp.code_for(email).await;
    let (status, out) = b
        .post(
            &format!("/client/sign_ins/{id}/attempt_first_factor"),
            &[("strategy", "email_code"), ("code", &code)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["response"]["status"], "complete", "{out}");
    out
}

async fn a_compromised_password_leads_to_reset_password(app: &TestApp) {
    let (id, email) = new_user(app).await;
    let (status, user) = app
        .post(&format!("/users/{id}/password/set_compromised"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["id"], id.as_str());

    // The right password is refused: sign in another way.
    let mut b = Browser::new(app);
    let (status, out) = b.post("/client/sign_ins", &[("identifier", &email)]).await;
    assert_eq!(status, StatusCode::OK);
    let si = out["response"]["id"].as_str().unwrap().to_owned();
    let (status, body) = b
        .post(
            &format!("/client/sign_ins/{si}/attempt_first_factor"),
            &[("strategy", "password"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "form_password_compromised");
    assert_eq!(body["errors"][0]["meta"]["param_name"], "password");
    assert!(body["errors"][0]["long_message"]
        .as_str()
        .unwrap()
        .contains("reset your password after signing in"));

    let out = sign_in_by_email_code(&mut b, &email).await;
    let pending = (
        json!("pending"),
        json!([{"key": "reset-password"}]),
        json!("pending"),
    );
    assert_eq!(session_state(&out), pending);
    let sid = out["client"]["sessions"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, s) = app.get(&format!("/sessions/{sid}")).await;
    assert_eq!(s["tasks"], json!([{"key": "reset-password"}]), "{s}");

    // The task's form sends the new password alone; not the breached one again.
    let path = format!("/me/change_password?_clerk_session_id={sid}");
    let (status, body) = b.post(&path, &[("new_password", PASSWORD)]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "form_new_password_matches_current");
    let (status, out) = b
        .post(
            &path,
            &[
                ("new_password", "a brand new password 7"),
                ("sign_out_of_other_sessions", "true"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(
        session_state(&out),
        (json!("active"), Value::Null, json!("active"))
    );
    // Without the task the current password is needed again.
    let (status, body) = b
        .post(&path, &[("new_password", "another new password 8")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "form_param_missing");

    let out = Browser::new(app)
        .sign_in_with_password(&email, "a brand new password 7")
        .await;
    assert_eq!(out["response"]["status"], "complete", "{out}");
    assert_eq!(out["client"]["sessions"][0]["status"], "active");

    // unset_compromised, and revoke_all_sessions.
    let (status, _) = app
        .post(
            &format!("/users/{id}/password/set_compromised"),
            json!({"revoke_all_sessions": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, s) = app.get(&format!("/sessions/{sid}")).await;
    assert_eq!(s["status"], "revoked", "{s}");
    let (status, _) = app
        .post(
            &format!("/users/{id}/password/unset_compromised"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let out = Browser::new(app)
        .sign_in_with_password(&email, "a brand new password 7")
        .await;
    assert_eq!(out["client"]["sessions"][0]["status"], "active", "{out}");

    // Removing the password ends the task: there is nothing left to replace.
    let (status, _) = app
        .post(&format!("/users/{id}/password/set_compromised"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut b = Browser::new(app);
    let out = sign_in_by_email_code(&mut b, &email).await;
    assert_eq!(session_state(&out), pending);
    let sid = out["client"]["sessions"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = app
        .post(&format!("/users/{id}/remove_password"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, s) = app.get(&format!("/sessions/{sid}")).await;
    assert_eq!(s["tasks"], Value::Null, "{s}");
    assert_eq!(s["status"], "active", "{s}");
}

async fn required_mfa_leads_to_setup_mfa(app: &TestApp) {
    let (status, doc) = app
        .patch(
            "/instance/settings",
            json!({"user": {"mfa_required": true}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    let (_, env) = Browser::new(app).get("/environment").await;
    assert_eq!(env["user_settings"]["sign_up"]["mfa"]["required"], true);

    let (_, email) = new_user(app).await;
    let mut b = Browser::new(app);
    let out = b.sign_in_with_password(&email, PASSWORD).await;
    assert_eq!(
        session_state(&out),
        (
            json!("pending"),
            json!([{"key": "setup-mfa"}]),
            json!("pending")
        )
    );
    let sid = out["client"]["sessions"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let me = |p: &str| format!("/me{p}?_clerk_session_id={sid}");
    let (status, out) = b.post(&me("/totp"), &[]).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a pending session may set up MFA: {out}"
    );
    let secret = out["response"]["secret"].as_str().unwrap().to_owned();
    let code = totp_now(&secret, now_ms()).unwrap();
    let (status, out) = b
        .post(&me("/totp/attempt_verification"), &[("code", &code)])
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(
        session_state(&out),
        (json!("active"), Value::Null, json!("active"))
    );

    // A user who has a second factor signs in without the task.
    let out = Browser::new(app)
        .sign_in_with_password(&email, PASSWORD)
        .await;
    assert_eq!(out["response"]["status"], "needs_second_factor", "{out}");
    let (status, _) = app
        .patch(
            "/instance/settings",
            json!({"user": {"mfa_required": false}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}
