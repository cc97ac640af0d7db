//! Instance settings through BAPI, stored in the database.

use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::support::{assert_error, assert_id, TestApp};

both_backends!(
    instance_settings_persist,
    smaller_instance_settings,
    the_settings_document,
);

async fn the_settings_document(app: &TestApp) {
    let (status, doc) = app.get("/instance/settings").await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    assert_eq!(doc["user"]["phone_number"]["enabled"], false);
    assert_eq!(doc["user"]["email_address"]["required"], true);

    let (status, doc) = app
        .patch(
            "/instance/settings",
            json!({"user": {"phone_number": {"enabled": true, "used_for_second_factor": true},
                            "single_session_mode": true}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    assert_eq!(doc["user"]["phone_number"]["used_for_second_factor"], true);
    assert_eq!(doc["user"]["phone_number"]["required"], false);
    assert_eq!(doc["user"]["single_session_mode"], true);
    // The Frontend API's environment follows at once.
    let (_, env) = crate::browser::Browser::new(app).get("/environment").await;
    assert_eq!(
        env["auth_config"]["second_factors"],
        json!(["phone_code", "totp", "backup_code"])
    );
    assert_eq!(env["auth_config"]["single_session_mode"], true);

    // Refused, naming the key, and nothing changes.
    for (patch, param) in [
        (
            json!({"user": {"phone_number": {"enbled": true}}}),
            "user.phone_number.enbled",
        ),
        (
            json!({"user": {"password_settings": {"min_length": 3}}}),
            "user.password_settings.min_length",
        ),
        (json!({"user": {"single_session_mode": "no"}}), "settings"),
    ] {
        let (status, body) = app.patch("/instance/settings", patch).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_error(&body, "form_param_value_invalid");
        assert_eq!(body["errors"][0]["meta"]["param_name"], param, "{body}");
    }
    let (_, doc) = app.get("/instance/settings").await;
    assert_eq!(doc["user"]["single_session_mode"], true);
    assert_eq!(doc["user"]["password_settings"]["min_length"], 8);

    let resp = app
        .http
        .get(format!("{}/v1/instance/settings", app.base))
        .bearer_auth("sk_test_wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

async fn smaller_instance_settings(app: &TestApp) {
    let (status, p) = app
        .patch("/instance/protect", json!({"rules_enabled": true}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        p,
        json!({"object": "instance_protect", "rules_enabled": true, "specter_enabled": false, "checks_bypassed": false})
    );
    let (_, p) = app.get("/instance/protect").await;
    assert_eq!(p["rules_enabled"], true);

    let (status, c) = app
        .patch(
            "/instance/communication",
            json!({"blocked_country_codes": ["FR", "DE", "FR"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(c["blocked_country_codes"], json!(["DE", "FR"]));
    let (status, body) = app
        .patch(
            "/instance/communication",
            json!({"blocked_country_codes": ["fr"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_param_format_invalid");

    let (status, o) = app
        .patch(
            "/instance/oauth_application_settings",
            json!({"oauth_jwt_access_tokens": true, "default_scopes": ["openid"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(o["default_scopes"], json!(["openid"]));
    let (_, o) = app
        .patch(
            "/instance/oauth_application_settings",
            json!({"default_scopes": null}),
        )
        .await;
    assert_eq!(o["default_scopes"], json!(["profile", "email"]));
    assert_eq!(o["oauth_jwt_access_tokens"], true);

    let (status, b) = app
        .patch(
            "/beta_features/instance_settings",
            json!({"restricted_to_allowlist": true, "from_email_address": "hello"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(b["object"], "instance_settings");
    assert_eq!(b["restricted_to_allowlist"], true);
    let (_, r) = app.patch("/instance/restrictions", json!({})).await;
    assert_eq!(
        r["allowlist"], true,
        "one settings document behind both endpoints"
    );

    let (status, body) = app
        .post(
            "/instance/change_domain",
            json!({"home_url": "https://x.example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_param_value_invalid");

    let user = app.user(json!({})).await;
    let id = user["id"].as_str().unwrap();
    let (status, devices) = app.get(&format!("/users/{id}/trusted_devices")).await;
    assert_eq!(
        (status, devices),
        (StatusCode::OK, json!({"data": [], "total_count": 0}))
    );
    let (status, body) = app.get(&format!("/users/{id}/billing/subscription")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "resource_not_found");
    let (status, orgs) = app
        .get(&format!("/users/{id}/organization_memberships"))
        .await;
    assert_eq!(
        (status, orgs),
        (StatusCode::OK, json!({"data": [], "total_count": 0}))
    );
}

async fn instance_settings_persist(app: &TestApp) {
    let (status, inst) = app.get("/instance").await;
    assert_eq!(status, StatusCode::OK);
    assert_id(&inst["id"], "ins");
    assert_eq!(inst["environment_type"], "development");

    let (status, body) = app
        .patch(
            "/instance",
            json!({"allowed_origins": ["http://localhost:3000"], "hibp": false}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(body.is_null());
    let (_, inst) = app.get("/instance").await;
    assert_eq!(inst["allowed_origins"], json!(["http://localhost:3000"]));
    // With the breach check off, a listed password is accepted.
    let (status, _) = app
        .post(
            "/users",
            json!({"email_address": ["hibp@off.test"], "password": "password123"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = app
        .patch("/instance", json!({"allowed_origins": ["not an origin"]}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_param_format_invalid");

    let (status, r) = app
        .patch("/instance/restrictions", json!({"allowlist": true}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(r["object"], "instance_restrictions");
    assert_eq!(r["allowlist"], true);
    assert_eq!(r["blocklist"], false);

    let (status, o) = app
        .patch(
            "/instance/organization_settings",
            json!({"enabled": true, "max_allowed_memberships": 10}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{o}");
    assert_eq!(o["enabled"], true);
    let (_, o) = app.get("/instance/organization_settings").await;
    assert_eq!(o["max_allowed_memberships"], 10);

    // Settings live in the database: a fresh read from the store agrees.
    let mut conn = app.core().store.read().await.unwrap();
    let stored = tessera_store::instance::get(&mut conn)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.settings.organizations.enabled);
    assert!(stored.settings.restrictions.allowlist);
}
