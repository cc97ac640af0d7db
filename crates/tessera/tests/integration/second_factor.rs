//! SMS codes as a second factor, as clerk-js drives them: a user reserves a
//! verified phone number (`PhoneNumber.setReservedForSecondFactor`), and every
//! later sign-in stops at `needs_second_factor` until `prepareSecondFactor` /
//! `attemptSecondFactor` with the code from the SMS sink.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::account::{random_phone, signed_in};
use crate::both_backends;
use crate::browser::Browser;
use crate::support::{assert_error, first_email, TestApp};

both_backends!(
    sign_in_needs_the_sms_code_of_a_reserved_number,
    every_first_factor_leads_to_the_second,
    second_factor_follows_the_settings,
);

const PASSWORD: &str = "correct horse battery";

async fn enable_sms_second_factor(app: &TestApp, on: bool) {
    app.core()
        .settings()
        .update_settings(|s| {
            s.user.phone_number.enabled = true;
            s.user.phone_number.used_for_second_factor = on;
            Ok(())
        })
        .await
        .unwrap();
}

/// A user with email + password and a verified phone number reserved for the
/// second factor through `/v1/me`; returns (email, phone, phone id, user id).
async fn user_with_second_factor(app: &TestApp) -> (String, String, String, String) {
    let mut me = signed_in(app).await;
    let phone = random_phone();
    let pid = me.added_phone(&phone).await;
    me.prepare(&pid, "phone_code").await;
    let code = app.sms.code_for(&phone).await;
    assert_eq!(me.attempt(&pid, &code).await.0, StatusCode::OK);
    let (status, out) = me
        .patch_phone(&pid, "reserved_for_second_factor", "true")
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let user = &out["client"]["sessions"][0]["user"];
    assert_eq!(user["two_factor_enabled"], true, "{user}");
    let email = first_email(user);
    let user_id = user["id"].as_str().unwrap().to_owned();
    (email, phone, pid, user_id)
}

fn sign_in_path(id: &str, step: &str) -> String {
    format!("/client/sign_ins/{id}/{step}")
}

/// Prepares and attempts the SMS second factor with the code that reached `phone`.
async fn pass_second_factor(b: &mut Browser<'_>, id: &str, phone: &str) -> Value {
    let (status, out) = b
        .post(
            &sign_in_path(id, "prepare_second_factor"),
            &[("strategy", "phone_code")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let code = b.app.sms.code_for(phone).await;
    let (status, out) = b
        .post(
            &sign_in_path(id, "attempt_second_factor"),
            &[("strategy", "phone_code"), ("code", &code)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["response"]["status"], "complete", "{out}");
    out
}

async fn sign_in_needs_the_sms_code_of_a_reserved_number(app: &TestApp) {
    enable_sms_second_factor(app, true).await;
    let (_, env) = Browser::new(app).get("/environment").await;
    assert_eq!(
        env["auth_config"]["second_factors"],
        json!(["phone_code", "totp", "backup_code"])
    );
    let phone_setting = &env["user_settings"]["attributes"]["phone_number"];
    assert_eq!(phone_setting["used_for_second_factor"], true);
    assert_eq!(phone_setting["second_factors"], json!(["phone_code"]));

    let (email, phone, pid, user_id) = user_with_second_factor(app).await;
    let (_, bapi_user) = app.get(&format!("/users/{user_id}")).await;
    assert_eq!(bapi_user["two_factor_enabled"], true);

    // The right password alone gives no session.
    let mut b = Browser::new(app);
    let out = b.sign_in_with_password(&email, PASSWORD).await;
    let si = &out["response"];
    assert_eq!(si["status"], "needs_second_factor", "{si}");
    assert_eq!(si["created_session_id"], Value::Null);
    assert_eq!(si["first_factor_verification"]["status"], "verified");
    assert_eq!(si["second_factor_verification"], Value::Null);
    let factors = si["supported_second_factors"].as_array().unwrap();
    assert_eq!(factors.len(), 1, "{si}");
    assert_eq!(factors[0]["strategy"], "phone_code");
    assert_eq!(factors[0]["phone_number_id"], pid.as_str());
    assert_eq!(factors[0]["default"], true);
    let shown = factors[0]["safe_identifier"].as_str().unwrap();
    assert!(shown.ends_with(&phone[phone.len() - 4..]) && shown.starts_with('*'));
    assert_eq!(out["client"]["sessions"], json!([]));
    let id = si["id"].as_str().unwrap().to_owned();

    // A code must be prepared first; a wrong one is refused and counted.
    let (status, body) = b
        .post(
            &sign_in_path(&id, "attempt_second_factor"),
            &[("strategy", "phone_code"), ("code", "123456")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "verification_missing");
    let (status, body) = b
        .post(
            &sign_in_path(&id, "prepare_second_factor"),
            &[("strategy", "totp")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["meta"]["param_name"], "strategy");
    let (status, out) = b
        .post(
            &sign_in_path(&id, "prepare_second_factor"),
            &[("strategy", "phone_code"), ("phone_number_id", &pid)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let v = &out["response"]["second_factor_verification"];
    assert_eq!(v["strategy"], "phone_code");
    assert_eq!(v["status"], "unverified");
    let code = app.sms.code_for(&phone).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (status, body) = b
        .post(
            &sign_in_path(&id, "attempt_second_factor"),
            &[("strategy", "phone_code"), ("code", wrong)],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "form_code_incorrect");
    assert_eq!(body["errors"][0]["meta"]["param_name"], "code");
    let si = &body["meta"]["client"]["sign_in"];
    assert_eq!(si["status"], "needs_second_factor", "{body}");
    assert_eq!(si["second_factor_verification"]["attempts"], 1);

    // The right code completes the sign-in; the token says two factors, just now.
    let (status, out) = b
        .post(
            &sign_in_path(&id, "attempt_second_factor"),
            &[("strategy", "phone_code"), ("code", &code)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let si = &out["response"];
    assert_eq!(si["status"], "complete");
    assert_eq!(si["second_factor_verification"]["status"], "verified");
    let sid = si["created_session_id"].as_str().unwrap().to_owned();
    let session = &out["client"]["sessions"][0];
    assert_eq!(session["id"], sid.as_str());
    assert_eq!(session["factor_verification_age"], json!([0, 0]));
    let (status, token) = b.post(&format!("/client/sessions/{sid}/tokens"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let claims = crate::sessions::verify_with_jwks(app, token["jwt"].as_str().unwrap()).await;
    assert_eq!(claims["fva"], json!([0, 0]));
    assert_eq!(claims["sub"], user_id.as_str());

    // The code was single use, and a finished sign-in takes no more factors.
    let (status, body) = b
        .post(
            &sign_in_path(&id, "attempt_second_factor"),
            &[("strategy", "phone_code"), ("code", &code)],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "sign_in_no_second_factor");

    // A sign-in that has not passed the first factor cannot start the second.
    let mut other = Browser::new(app);
    let (_, out) = other
        .post("/client/sign_ins", &[("identifier", &email)])
        .await;
    assert_eq!(out["response"]["status"], "needs_first_factor");
    assert_eq!(out["response"]["supported_second_factors"], Value::Null);
    let other_id = out["response"]["id"].as_str().unwrap().to_owned();
    let (status, body) = other
        .post(
            &sign_in_path(&other_id, "prepare_second_factor"),
            &[("strategy", "phone_code")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "sign_in_no_second_factor");
    let sms_before = app.sms.count();

    // Five wrong codes fail the verification; a new code must be asked for.
    let out = other.sign_in_with_password(&email, PASSWORD).await;
    let other_id = out["response"]["id"].as_str().unwrap().to_owned();
    other
        .post(
            &sign_in_path(&other_id, "prepare_second_factor"),
            &[("strategy", "phone_code")],
        )
        .await;
    let code = app.sms.code_for(&phone).await;
    assert_eq!(
        app.sms.count(),
        sms_before + 1,
        "nothing sent before the first factor"
    );
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..4 {
        let (_, body) = other
            .post(
                &sign_in_path(&other_id, "attempt_second_factor"),
                &[("strategy", "phone_code"), ("code", wrong)],
            )
            .await;
        assert_error(&body, "form_code_incorrect");
    }
    let (_, body) = other
        .post(
            &sign_in_path(&other_id, "attempt_second_factor"),
            &[("strategy", "phone_code"), ("code", wrong)],
        )
        .await;
    assert_error(&body, "verification_failed");
    let (status, body) = other
        .post(
            &sign_in_path(&other_id, "attempt_second_factor"),
            &[("strategy", "phone_code"), ("code", &code)],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "verification_failed");
    pass_second_factor(&mut other, &other_id, &phone).await;

    // The Backend API turns the user's second factor off: one factor is enough again.
    let (status, out) = app
        .bapi(
            reqwest::Method::DELETE,
            &format!("/users/{user_id}/mfa"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["user_id"], user_id.as_str());
    let (_, bapi_user) = app.get(&format!("/users/{user_id}")).await;
    assert_eq!(bapi_user["two_factor_enabled"], false);
    assert_eq!(
        bapi_user["phone_numbers"][0]["reserved_for_second_factor"],
        false
    );
    let out = Browser::new(app)
        .sign_in_with_password(&email, PASSWORD)
        .await;
    assert_eq!(out["response"]["status"], "complete");
}

async fn every_first_factor_leads_to_the_second(app: &TestApp) {
    enable_sms_second_factor(app, true).await;
    let (email, phone, _, _) = user_with_second_factor(app).await;

    // Password given to attempt_first_factor instead of the create call.
    let mut b = Browser::new(app);
    let (_, out) = b.post("/client/sign_ins", &[("identifier", &email)]).await;
    let id = out["response"]["id"].as_str().unwrap().to_owned();
    let (status, out) = b
        .post(
            &sign_in_path(&id, "attempt_first_factor"),
            &[("strategy", "password"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["response"]["status"], "needs_second_factor");
    pass_second_factor(&mut b, &id, &phone).await;

    // An emailed code as first factor.
    let mut b = Browser::new(app);
    let (_, out) = b.post("/client/sign_ins", &[("identifier", &email)]).await;
    let id = out["response"]["id"].as_str().unwrap().to_owned();
    b.post(
        &sign_in_path(&id, "prepare_first_factor"),
        &[("strategy", "email_code")],
    )
    .await;
    let code = app.smtp.code_for(&email).await;
    let (status, out) = b
        .post(
            &sign_in_path(&id, "attempt_first_factor"),
            &[("strategy", "email_code"), ("code", &code)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["response"]["status"], "needs_second_factor");
    assert_eq!(out["client"]["sessions"], json!([]));
    pass_second_factor(&mut b, &id, &phone).await;

    // A password reset by emailed code: the new password is set, the session
    // still waits for the SMS code.
    let mut b = Browser::new(app);
    let (_, out) = b.post("/client/sign_ins", &[("identifier", &email)]).await;
    let id = out["response"]["id"].as_str().unwrap().to_owned();
    b.post(
        &sign_in_path(&id, "prepare_first_factor"),
        &[("strategy", "reset_password_email_code")],
    )
    .await;
    let code = app.smtp.code_for(&email).await;
    b.post(
        &sign_in_path(&id, "attempt_first_factor"),
        &[("strategy", "reset_password_email_code"), ("code", &code)],
    )
    .await;
    let (status, out) = b
        .post(
            &sign_in_path(&id, "reset_password"),
            &[("password", "a brand new password 2")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["response"]["status"], "needs_second_factor");
    assert_eq!(out["client"]["sessions"], json!([]));
    pass_second_factor(&mut b, &id, &phone).await;
    let out = Browser::new(app)
        .sign_in_with_password(&email, "a brand new password 2")
        .await;
    assert_eq!(out["response"]["status"], "needs_second_factor");
}

async fn second_factor_follows_the_settings(app: &TestApp) {
    enable_sms_second_factor(app, false).await;
    let (_, env) = Browser::new(app).get("/environment").await;
    assert_eq!(
        env["auth_config"]["second_factors"],
        json!(["totp", "backup_code"])
    );
    assert_eq!(
        env["user_settings"]["attributes"]["phone_number"]["used_for_second_factor"],
        false
    );

    // Without SMS as a second factor, a number cannot be reserved for it.
    let mut me = signed_in(app).await;
    let phone = random_phone();
    let pid = me.added_phone(&phone).await;
    me.prepare(&pid, "phone_code").await;
    let code = app.sms.code_for(&phone).await;
    assert_eq!(me.attempt(&pid, &code).await.0, StatusCode::OK);
    let (status, body) = me
        .patch_phone(&pid, "reserved_for_second_factor", "true")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["errors"][0]["meta"]["param_name"],
        "reserved_for_second_factor"
    );

    // Reserved anyway (by an administrator) while the instance takes no SMS
    // second factor: one factor signs in; once the instance takes it, two.
    let (status, out) = app
        .patch(
            &format!("/phone_numbers/{pid}"),
            json!({"reserved_for_second_factor": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let (_, me_out) = me.b.get(&me.path("")).await;
    let email = me_out["response"]["email_addresses"][0]["email_address"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = Browser::new(app)
        .sign_in_with_password(&email, PASSWORD)
        .await;
    assert_eq!(out["response"]["status"], "complete");
    enable_sms_second_factor(app, true).await;
    let out = Browser::new(app)
        .sign_in_with_password(&email, PASSWORD)
        .await;
    assert_eq!(out["response"]["status"], "needs_second_factor");
}
