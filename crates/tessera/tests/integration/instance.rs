//! Instance settings through BAPI, stored in the database.

use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::support::{assert_error, assert_id, TestApp};

both_backends!(instance_settings_persist);

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
