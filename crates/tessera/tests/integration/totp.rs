//! Authenticator apps (TOTP) and backup codes: enrolment through `/v1/me`
//! as clerk-js does it, imports and checks through the Backend API, and the
//! sign-in's second factor with either — each code good once.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tessera_domain::mfa::totp_now;

use crate::account::signed_in;
use crate::both_backends;
use crate::browser::Browser;
use crate::support::{assert_error, first_email, now_ms, unique, TestApp};

both_backends!(
    enrol_an_authenticator_app_and_backup_codes,
    imported_secrets_and_codes_are_checked_once,
    sign_in_with_an_authenticator_app_or_a_backup_code,
    second_factor_changes_are_delivered,
    wrong_codes_count_on_past_a_right_password,
);

const PASSWORD: &str = "correct horse battery";
// RFC 6238's SHA-1 test secret.
const SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

/// The code of `secret` `steps` steps from now.
fn code(secret: &str, steps: i64) -> String {
    totp_now(secret, now_ms() + steps * 30_000).unwrap()
}

/// A user (email + password) created with an authenticator app's secret and
/// backup codes; its email and the user object.
async fn user_with_mfa(app: &TestApp, secret: &str, codes: &[&str]) -> (String, Value) {
    let email = format!("{}@example.com", unique("totp").to_lowercase());
    let (status, user) = app
        .post(
            "/users",
            json!({
                "email_address": [email],
                "password": PASSWORD,
                "totp_secret": secret,
                "backup_codes": codes,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    (email, user)
}

async fn enrol_an_authenticator_app_and_backup_codes(app: &TestApp) {
    let (_, env) = Browser::new(app).get("/environment").await;
    let attrs = &env["user_settings"]["attributes"];
    assert_eq!(
        attrs["authenticator_app"]["second_factors"],
        json!(["totp"])
    );
    assert_eq!(
        attrs["backup_code"]["second_factors"],
        json!(["backup_code"])
    );
    assert_eq!(attrs["authenticator_app"]["used_for_second_factor"], true);

    let mut me = signed_in(app).await;
    // Backup codes back up another second factor: none yet.
    let (status, body) = me.b.post(&me.path("/backup_codes/"), &[]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "second_factor_missing");

    let (status, out) = me.b.post(&me.path("/totp"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let totp = &out["response"];
    assert_eq!(totp["object"], "totp");
    assert_eq!(totp["verified"], false);
    let secret = totp["secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 32);
    let uri = totp["uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(
        uri.contains("period=30") && uri.contains("digits=6"),
        "{uri}"
    );
    let user = &out["client"]["sessions"][0]["user"];
    assert_eq!(user["totp_enabled"], false, "not before a code proves it");

    let (status, body) =
        me.b.post(
            &me.path("/totp/attempt_verification"),
            &[("code", "000000")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "form_code_incorrect");
    assert_eq!(body["errors"][0]["meta"]["param_name"], "code");

    let (status, out) =
        me.b.post(
            &me.path("/totp/attempt_verification"),
            &[("code", &code(&secret, 0))],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let totp = &out["response"];
    assert_eq!(totp["verified"], true);
    assert_eq!(totp["secret"], Value::Null, "the secret is shown once");
    let first_codes = totp["backup_codes"].as_array().unwrap().clone();
    assert_eq!(first_codes.len(), 10, "{totp}");
    let user = &out["client"]["sessions"][0]["user"];
    assert_eq!(user["totp_enabled"], true);
    assert_eq!(user["backup_code_enabled"], true);
    assert_eq!(user["two_factor_enabled"], true);

    // A second secret while one is set up is refused.
    let (status, body) = me.b.post(&me.path("/totp"), &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_error(&body, "totp_already_enabled");

    // New backup codes replace the old ones.
    let (status, out) = me.b.post(&me.path("/backup_codes/"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["response"]["object"], "backup_code");
    let codes = out["response"]["codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    assert_ne!(codes, &first_codes);
    let user_id = out["client"]["sessions"][0]["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let old = first_codes[0].as_str().unwrap();
    let (status, _) = app
        .post(
            &format!("/users/{user_id}/verify_totp"),
            json!({ "code": old }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "replaced codes are gone"
    );

    // Removing the app takes the backup codes with it (nothing left to back up).
    let (status, out) = me.b.delete(&me.path("/totp")).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let user = &out["client"]["sessions"][0]["user"];
    assert_eq!(user["totp_enabled"], false);
    assert_eq!(user["backup_code_enabled"], false);
    assert_eq!(user["two_factor_enabled"], false);
}

async fn imported_secrets_and_codes_are_checked_once(app: &TestApp) {
    let (email, user) = user_with_mfa(app, &SECRET.to_lowercase(), &["alpha123", "bravo456"]).await;
    assert_eq!(user["totp_enabled"], true);
    assert_eq!(user["backup_code_enabled"], true);
    assert_eq!(user["two_factor_enabled"], true);
    let id = user["id"].as_str().unwrap().to_owned();
    let verify = |code: String| {
        let path = format!("/users/{id}/verify_totp");
        async move { app.post(&path, json!({ "code": code })).await }
    };

    let now = code(SECRET, 0);
    let (status, out) = verify(now.clone()).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out, json!({"verified": true, "code_type": "totp"}));
    let (status, body) = verify(now).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a code is good once: {body}"
    );
    assert_error(&body, "form_code_incorrect");
    let (status, out) = verify("BRAVO-456".to_owned()).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["code_type"], "backup_code");
    let (status, _) = verify("bravo456".to_owned()).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a backup code is good once"
    );

    // Bad imports are refused whole.
    let (status, body) = app
        .post(
            "/users",
            json!({"email_address": [format!("x{email}")], "password": PASSWORD, "totp_secret": "short"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["meta"]["param_name"], "totp_secret");

    // Removals answer with the user id; afterwards there is nothing to check.
    let (status, out) = app.delete(&format!("/users/{id}/backup_code")).await;
    assert_eq!((status, out), (StatusCode::OK, json!({"user_id": id})));
    let (status, out) = app.delete(&format!("/users/{id}/totp")).await;
    assert_eq!((status, out), (StatusCode::OK, json!({"user_id": id})));
    let (_, user) = app.get(&format!("/users/{id}")).await;
    assert_eq!(user["two_factor_enabled"], false, "{user}");
    let (status, body) = verify(code(SECRET, 1)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_error(&body, "totp_not_enabled");
    let (status, out) = app
        .patch(&format!("/users/{id}"), json!({"totp_secret": SECRET}))
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["totp_enabled"], true);
    let (status, out) = app.delete(&format!("/users/{id}/mfa")).await;
    assert_eq!((status, out), (StatusCode::OK, json!({"user_id": id})));
    let (_, user) = app.get(&format!("/users/{id}")).await;
    assert_eq!(user["totp_enabled"], false);
}

async fn sign_in_with_an_authenticator_app_or_a_backup_code(app: &TestApp) {
    let (email, user) = user_with_mfa(app, SECRET, &["charlie789"]).await;
    assert_eq!(first_email(&user), email);

    let mut b = Browser::new(app);
    let out = b.sign_in_with_password(&email, PASSWORD).await;
    let si = &out["response"];
    assert_eq!(si["status"], "needs_second_factor", "{si}");
    assert_eq!(
        si["supported_second_factors"],
        json!([{"strategy": "totp"}, {"strategy": "backup_code"}])
    );
    let id = si["id"].as_str().unwrap().to_owned();
    let attempt = format!("/client/sign_ins/{id}/attempt_second_factor");
    let (status, body) = b
        .post(
            &format!("/client/sign_ins/{id}/prepare_second_factor"),
            &[("strategy", "totp")],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "nothing to prepare: {body}"
    );
    let (status, body) = b
        .post(&attempt, &[("strategy", "totp"), ("code", "000000")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "form_code_incorrect");
    let used = code(SECRET, 0);
    let (status, out) = b
        .post(&attempt, &[("strategy", "totp"), ("code", &used)])
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let si = &out["response"];
    assert_eq!(si["status"], "complete", "{si}");
    assert_eq!(si["second_factor_verification"]["strategy"], "totp");
    assert_eq!(si["second_factor_verification"]["status"], "verified");
    assert!(si["created_session_id"].is_string());

    // Another device, the same step's code: a replay.
    let mut other = Browser::new(app);
    let out = other.sign_in_with_password(&email, PASSWORD).await;
    let id = out["response"]["id"].as_str().unwrap().to_owned();
    let attempt = format!("/client/sign_ins/{id}/attempt_second_factor");
    let (status, _) = other
        .post(&attempt, &[("strategy", "totp"), ("code", &used)])
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the step was spent"
    );
    // The backup code instead; once.
    let (status, out) = other
        .post(
            &attempt,
            &[("strategy", "backup_code"), ("code", "charlie789")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["response"]["status"], "complete");
    let user = &out["client"]["sessions"][0]["user"];
    assert_eq!(user["backup_code_enabled"], false, "the last code went");

    let mut third = Browser::new(app);
    let out = third.sign_in_with_password(&email, PASSWORD).await;
    assert_eq!(
        out["response"]["supported_second_factors"],
        json!([{"strategy": "totp"}])
    );
    let id = out["response"]["id"].as_str().unwrap().to_owned();
    let (status, _) = third
        .post(
            &format!("/client/sign_ins/{id}/attempt_second_factor"),
            &[("strategy", "backup_code"), ("code", "charlie789")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// `user.updated` for each change of a user's second factors, and
/// `email.created` (slug `magic_link_sign_in`) for a sign-in link.
async fn second_factor_changes_are_delivered(app: &TestApp) {
    use crate::webhooks::{endpoint, Receiver};
    let rx = Receiver::start().await;
    endpoint(
        app,
        json!({ "url": rx.url, "filter_types": ["user.updated", "email.created"] }),
    )
    .await;
    let (email, user) = user_with_mfa(app, SECRET, &["romeo123"]).await;
    let id = user["id"].as_str().unwrap().to_owned();
    let (status, _) = app.delete(&format!("/users/{id}/backup_code")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.delete(&format!("/users/{id}/mfa")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .patch(
            "/instance/settings",
            json!({"user": {"email_link_enabled": true}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut b = Browser::new(app);
    let (_, out) = b.post("/client/sign_ins", &[("identifier", &email)]).await;
    let si = out["response"]["id"].as_str().unwrap().to_owned();
    let (status, out) = b
        .post(
            &format!("/client/sign_ins/{si}/prepare_first_factor"),
            &[
                ("strategy", "email_link"),
                ("redirect_url", "http://127.0.0.1:3000/"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let got = rx.wait_for(20, |all| all.len() >= 3).await;
    let updates: Vec<&Value> = got
        .iter()
        .filter(|d| d.json["type"] == "user.updated")
        .map(|d| &d.json["data"])
        .collect();
    assert_eq!(updates.len(), 2, "{got:?}");
    // Deliveries may arrive in either order.
    assert!(
        updates
            .iter()
            .any(|u| u["backup_code_enabled"] == false && u["totp_enabled"] == true),
        "the backup codes' removal: {updates:?}"
    );
    assert!(
        updates
            .iter()
            .any(|u| u["totp_enabled"] == false && u["two_factor_enabled"] == false),
        "MFA turned off: {updates:?}"
    );
    let mail = got
        .iter()
        .find(|d| d.json["type"] == "email.created")
        .expect("email.created for the link");
    assert_eq!(
        mail.json["data"]["slug"], "magic_link_sign_in",
        "{}",
        mail.json
    );
    let (status, _) = app
        .patch(
            "/instance/settings",
            json!({"user": {"email_link_enabled": false}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

/// Wrong second-factor codes count towards the lockout until a sign-in
/// completes: a right password in between does not reset the count.
async fn wrong_codes_count_on_past_a_right_password(app: &TestApp) {
    let (email, user) = user_with_mfa(app, SECRET, &[]).await;
    let id = user["id"].as_str().unwrap().to_owned();
    let full = user["verification_attempts_remaining"].as_i64().unwrap();
    for _ in 0..2 {
        let mut b = Browser::new(app);
        let out = b.sign_in_with_password(&email, PASSWORD).await;
        let si = out["response"]["id"].as_str().unwrap().to_owned();
        let (status, _) = b
            .post(
                &format!("/client/sign_ins/{si}/attempt_second_factor"),
                &[("strategy", "totp"), ("code", "000000")],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (_, u) = app.get(&format!("/users/{id}")).await;
    assert_eq!(u["verification_attempts_remaining"], full - 2, "{u}");
    // A completed sign-in clears the count.
    let mut b = Browser::new(app);
    let out = b.sign_in_with_password(&email, PASSWORD).await;
    let si = out["response"]["id"].as_str().unwrap().to_owned();
    let (status, _) = b
        .post(
            &format!("/client/sign_ins/{si}/attempt_second_factor"),
            &[("strategy", "totp"), ("code", &code(SECRET, 0))],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, u) = app.get(&format!("/users/{id}")).await;
    assert_eq!(u["verification_attempts_remaining"], full);
}
