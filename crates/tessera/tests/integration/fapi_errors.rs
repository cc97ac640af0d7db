//! Frontend API error bodies carry the caller's current client as `meta.client`,
//! which clerk-js reads to update its state after a failed request.

use reqwest::StatusCode;
use serde_json::json;

use crate::account::signed_in;
use crate::both_backends;
use crate::browser::Browser;
use crate::support::{assert_error, first_email, TestApp};

both_backends!(errors_carry_the_current_client);
both_backends!(missing_sign_in_parameters_are_named);

/// Every sign-in step without its required parameter answers 422
/// `form_param_missing` naming it, with a strategy it cannot take
/// `form_param_value_invalid`, and the sign-in is left as it was.
async fn missing_sign_in_parameters_are_named(app: &TestApp) {
    let user = app.user(json!({})).await;
    let email = first_email(&user);
    let mut b = Browser::new(app);
    let (status, out) = b.post("/client/sign_ins", &[("identifier", &email)]).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let id = out["response"]["id"].as_str().unwrap().to_owned();
    for (step, form, param) in [
        ("prepare_first_factor", &[][..], "strategy"),
        (
            "attempt_first_factor",
            &[("code", "123456")][..],
            "strategy",
        ),
        ("prepare_second_factor", &[("strategy", "")][..], "strategy"),
        (
            "attempt_second_factor",
            &[("code", "123456")][..],
            "strategy",
        ),
        ("reset_password", &[][..], "password"),
    ] {
        let (status, body) = b.post(&format!("/client/sign_ins/{id}/{step}"), form).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{step}: {body}");
        assert_error(&body, "form_param_missing");
        assert_eq!(body["errors"][0]["meta"]["param_name"], param, "{step}");
    }
    // A strategy this server does not know, or one that is no first factor.
    for (step, strategy) in [
        ("prepare_first_factor", "carrier_pigeon"),
        ("attempt_first_factor", "carrier_pigeon"),
        ("prepare_second_factor", "carrier_pigeon"),
        ("prepare_first_factor", "admin"),
        ("attempt_first_factor", "admin"),
    ] {
        let (status, body) = b
            .post(
                &format!("/client/sign_ins/{id}/{step}"),
                &[("strategy", strategy), ("code", "123456")],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{step}: {body}");
        assert_error(&body, "form_param_value_invalid");
        assert_eq!(
            body["errors"][0]["meta"]["param_name"], "strategy",
            "{step}"
        );
    }
    let (status, body) = b.get(&format!("/client/sign_ins/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["response"]["status"], "needs_first_factor");
    assert!(
        body["response"]["first_factor_verification"].is_null(),
        "{body}"
    );
}

async fn errors_carry_the_current_client(app: &TestApp) {
    let user = app.user(json!({})).await;
    let email = first_email(&user);

    // No client yet: nothing to add.
    let mut b = Browser::new(app);
    let (status, body) = b
        .post("/client/sign_ins", &[("identifier", "nobody@example.com")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_identifier_not_found");
    assert!(body["meta"]["client"].is_null(), "{body}");

    // A wrong code: the error shows the sign-in's new attempt count.
    let (status, out) = b.post("/client/sign_ins", &[("identifier", &email)]).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let client_id = out["client"]["id"].as_str().unwrap().to_owned();
    let id = out["response"]["id"].as_str().unwrap().to_owned();
    let email_id = user["email_addresses"][0]["id"].as_str().unwrap();
    b.post(
        &format!("/client/sign_ins/{id}/prepare_first_factor"),
        &[("strategy", "email_code"), ("email_address_id", email_id)],
    )
    .await;
    let code = app.smtp.code_for(&email).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (status, body) = b
        .post(
            &format!("/client/sign_ins/{id}/attempt_first_factor"),
            &[("strategy", "email_code"), ("code", wrong)],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_code_incorrect");
    let client = &body["meta"]["client"];
    assert_eq!(client["object"], "client", "{body}");
    assert_eq!(client["id"], client_id.as_str());
    assert_eq!(client["sign_in"]["id"], id.as_str());
    assert_eq!(
        client["sign_in"]["first_factor_verification"]["attempts"],
        1
    );
    assert!(body["client"].is_null(), "only under meta: {body}");

    // /v1/me errors carry the signed-in client with its sessions.
    let mut me = signed_in(app).await;
    let path = me.path("/change_password");
    let (status, body) =
        me.b.post(
            &path,
            &[
                ("current_password", "not my password"),
                ("new_password", "a brand new secret"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_password_incorrect");
    assert_eq!(
        body["meta"]["client"]["sessions"][0]["id"],
        me.sid.as_str(),
        "{body}"
    );
    assert!(body["meta"]["client"]["sessions"][0]["last_active_token"]["jwt"].is_string());
    // Unknown routes under the Frontend API too.
    let (status, body) = me.b.post("/me/no_such_thing", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["meta"]["client"]["id"].is_string(), "{body}");

    // The Backend API never adds one.
    let (status, body) = app.get("/users/user_2noSuchUserAtAllxxxxxxxxxxxx").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.get("meta").is_none(), "{body}");
}
