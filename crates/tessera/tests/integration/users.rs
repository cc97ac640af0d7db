//! BAPI users: create, read, list, update, delete, metadata, bans, locks, passwords.

use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::support::{assert_error, assert_id, TestApp};

both_backends!(
    create_get_update_delete,
    list_filters_order_and_pages,
    duplicate_identifiers_are_rejected,
    password_rules,
    imported_digest_verifies_and_upgrades,
    metadata_merge_and_replace,
    ban_revokes_sessions_and_lock_reports_lockout,
    verify_password_outcomes,
);

async fn create_get_update_delete(app: &TestApp) {
    let (status, user) = app
        .post(
            "/users",
            json!({
                "email_address": ["Ada@Example.com"],
                "password": "correct horse battery",
                "first_name": "Ada",
                "last_name": "Lovelace",
                "external_id": "ext-1",
                "public_metadata": {"plan": "pro"},
                "private_metadata": {"stripe": "cus_1"},
                "unsafe_metadata": {"theme": "dark"},
                "created_at": "2024-01-31T12:00:00Z",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_id(&user["id"], "user");
    assert_eq!(user["object"], "user");
    assert_eq!(user["created_at"], 1_706_702_400_000_i64);
    assert_eq!(user["password_enabled"], true);
    assert_eq!(user["first_name"], "Ada");
    assert_eq!(user["public_metadata"], json!({"plan": "pro"}));
    let email = &user["email_addresses"][0];
    assert_id(&email["id"], "idn");
    assert_eq!(email["email_address"], "ada@example.com");
    assert_eq!(email["verification"]["object"], "verification_admin");
    assert_eq!(email["verification"]["status"], "verified");
    assert_eq!(user["primary_email_address_id"], email["id"]);
    for key in [
        "locked",
        "lockout_expires_in_seconds",
        "last_sign_in_at",
        "web3_wallets",
        "passkeys",
    ] {
        assert!(user.get(key).is_some(), "missing {key}");
    }
    let id = user["id"].as_str().unwrap();

    let (status, got) = app.get(&format!("/users/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["id"], user["id"]);

    let (status, updated) = app
        .patch(
            &format!("/users/{id}"),
            json!({"first_name": "Augusta", "last_name": null, "external_id": "ext-2"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["first_name"], "Augusta");
    assert!(updated["last_name"].is_null());
    assert_eq!(updated["external_id"], "ext-2");

    // Metadata is no longer accepted by PATCH /users/{id} (API version 2026-05-12).
    let (status, body) = app
        .patch(&format!("/users/{id}"), json!({"public_metadata": {}}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_param_unknown");

    let (status, deleted) = app.delete(&format!("/users/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        deleted,
        json!({"object": "user", "id": id, "deleted": true, "external_id": "ext-2"})
    );
    let (status, body) = app.get(&format!("/users/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "resource_not_found");
}

async fn list_filters_order_and_pages(app: &TestApp) {
    let a = app.user(json!({"email_address": ["alpha@list.test"], "first_name": "Zed", "external_id": "x-a"})).await;
    let b = app
        .user(json!({"email_address": ["beta@list.test"], "first_name": "Amy"}))
        .await;
    let c = app
        .user(json!({"email_address": ["gamma@other.test"], "first_name": "Bob"}))
        .await;

    let (status, list) = app.get("/users").await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].clone())
        .collect();
    assert_eq!(
        ids,
        vec![c["id"].clone(), b["id"].clone(), a["id"].clone()],
        "newest first by default"
    );

    let (_, list) = app.get("/users?email_address=BETA@list.test").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], b["id"]);

    let (_, list) = app
        .get("/users?email_address=alpha@list.test&email_address=gamma@other.test")
        .await;
    assert_eq!(list.as_array().unwrap().len(), 2);

    let (_, list) = app.get("/users?query=list.test&order_by=first_name").await;
    let names: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["first_name"].clone())
        .collect();
    assert_eq!(names, vec![json!("Amy"), json!("Zed")]);

    let (_, list) = app
        .get("/users?order_by=-first_name&limit=1&offset=1")
        .await;
    assert_eq!(list[0]["first_name"], "Bob");

    let (_, list) = app.get("/users?external_id=x-a").await;
    assert_eq!(list[0]["id"], a["id"]);

    let excluded = format!("/users?user_id=-{}", a["id"].as_str().unwrap());
    let (_, list) = app.get(&excluded).await;
    assert_eq!(list.as_array().unwrap().len(), 2);

    let (_, count) = app.get("/users/count?query=list.test").await;
    assert_eq!(count, json!({"object": "total_count", "total_count": 2}));

    let (_, page) = app.get("/users?paginated=true&limit=2").await;
    assert_eq!(page["total_count"], 3);
    assert_eq!(page["data"].as_array().unwrap().len(), 2);

    // Cursor pagination walks the same order without offsets.
    let (_, first) = app.get("/users?limit=2").await;
    let cursor = first[1]["id"].as_str().unwrap();
    let (_, next) = app
        .get(&format!("/users?limit=2&starting_after={cursor}"))
        .await;
    assert_eq!(next.as_array().unwrap().len(), 1);
    assert_eq!(next[0]["id"], a["id"]);
    let (status, _) = app
        .get(&format!("/users?starting_after={cursor}&order_by=username"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .get(&format!("/users?starting_after={cursor}&offset=1"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (_, list) = app.get("/users?organization_id=org_2a").await;
    assert_eq!(list, json!([]));

    for bad in [
        "/users?limit=0",
        "/users?limit=501",
        "/users?offset=-1",
        "/users?order_by=password",
        "/users?banned=maybe",
    ] {
        let (status, body) = app.get(bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_error(&body, "form_param_format_invalid");
    }
}

async fn duplicate_identifiers_are_rejected(app: &TestApp) {
    app.user(json!({"email_address": ["taken@example.com"], "external_id": "dup"}))
        .await;
    let (status, body) = app
        .post(
            "/users",
            json!({"email_address": ["TAKEN@example.com"], "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_identifier_exists");
    assert_eq!(body["errors"][0]["meta"]["param_name"], "email_address");

    let (status, body) = app
        .post("/users", json!({"email_address": ["other@example.com"], "password": "correct horse battery", "external_id": "dup"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_identifier_exists");

    let (status, body) = app
        .post(
            "/users",
            json!({"email_address": ["not-an-email"], "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_param_format_invalid");

    // Email is required by the default settings; nothing is written on failure.
    let (status, body) = app
        .post("/users", json!({"password": "correct horse battery"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_param_missing");
    let (_, count) = app.get("/users/count").await;
    assert_eq!(count["total_count"], 1);
}

async fn password_rules(app: &TestApp) {
    let email = |n: &str| json!([format!("{n}@pw.test")]);
    let (status, body) = app
        .post(
            "/users",
            json!({"email_address": email("a"), "password": "short"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_password_length_too_short");
    assert_eq!(body["errors"][0]["meta"]["param_name"], "password");

    let (status, body) = app
        .post(
            "/users",
            json!({"email_address": email("b"), "password": "x".repeat(73)}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_password_size_in_bytes_exceeded");

    let (status, body) = app
        .post(
            "/users",
            json!({"email_address": email("c"), "password": "password123"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_password_pwned");

    let (status, body) = app
        .post("/users", json!({"email_address": email("d")}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_param_missing");

    let (status, user) = app
        .post("/users", json!({"email_address": email("e"), "password": "password123", "skip_password_checks": true}))
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    let (status, user) = app
        .post(
            "/users",
            json!({"email_address": email("f"), "skip_password_requirement": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["password_enabled"], false);
}

async fn imported_digest_verifies_and_upgrades(app: &TestApp) {
    // bcrypt (cost 4) of "imported pass 1".
    let digest = tessera_core_bcrypt("imported pass 1");
    let (status, user) = app
        .post(
            "/users",
            json!({"email_address": ["imp@example.com"], "password_digest": digest, "password_hasher": "bcrypt"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    let id = user["id"].as_str().unwrap().to_owned();
    let stored = stored_hasher(app, &id).await;
    assert_eq!(stored.as_deref(), Some("bcrypt"));

    let (status, ok) = app
        .post(
            &format!("/users/{id}/verify_password"),
            json!({"password": "imported pass 1"}),
        )
        .await;
    assert_eq!((status, ok), (StatusCode::OK, json!({"verified": true})));
    assert_eq!(
        stored_hasher(app, &id).await.as_deref(),
        Some("argon2id"),
        "upgraded after success"
    );
    let (status, ok) = app
        .post(
            &format!("/users/{id}/verify_password"),
            json!({"password": "imported pass 1"}),
        )
        .await;
    assert_eq!((status, ok), (StatusCode::OK, json!({"verified": true})));

    let (status, body) = app
        .post("/users", json!({"email_address": ["bad@example.com"], "password_digest": "nope", "password_hasher": "bcrypt"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_param_format_invalid");
    let (status, body) = app
        .post("/users", json!({"email_address": ["bad2@example.com"], "password_digest": "x", "password_hasher": "rot13"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_param_value_invalid");
}

fn tessera_core_bcrypt(password: &str) -> String {
    // A digest made by a different implementation than the verifier would be better;
    // the imported-hasher unit tests hold such vectors. Here the flow matters.
    bcrypt::hash(password, 4).unwrap()
}

async fn stored_hasher(app: &TestApp, id: &str) -> Option<String> {
    let id = tessera_domain::ids::UserId::parse(id).unwrap();
    let mut conn = app.core().store.read().await.unwrap();
    tessera_store::users::get(&mut conn, &id)
        .await
        .unwrap()
        .password_hasher
}

async fn metadata_merge_and_replace(app: &TestApp) {
    let user = app
        .user(json!({"public_metadata": {"a": 1, "nested": {"keep": true, "drop": 1}}, "private_metadata": {"p": 1}}))
        .await;
    let id = user["id"].as_str().unwrap();
    let (status, merged) = app
        .patch(
            &format!("/users/{id}/metadata"),
            json!({"public_metadata": {"nested": {"drop": null, "add": "x"}, "b": 2}, "unsafe_metadata": {"u": 1}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    assert_eq!(
        merged["public_metadata"],
        json!({"a": 1, "nested": {"keep": true, "add": "x"}, "b": 2})
    );
    assert_eq!(merged["private_metadata"], json!({"p": 1}));
    assert_eq!(merged["unsafe_metadata"], json!({"u": 1}));

    let (status, replaced) = app
        .bapi(
            reqwest::Method::PUT,
            &format!("/users/{id}/metadata"),
            Some(json!({"public_metadata": {"only": true}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(replaced["public_metadata"], json!({"only": true}));
    assert_eq!(replaced["private_metadata"], json!({"p": 1}));

    let (status, body) = app
        .patch(
            &format!("/users/{id}/metadata"),
            json!({"public_metadata": "nope"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_param_format_invalid");
}

async fn ban_revokes_sessions_and_lock_reports_lockout(app: &TestApp) {
    let user = app.user(json!({})).await;
    let id = user["id"].as_str().unwrap();
    let (_, session) = app.post("/sessions", json!({"user_id": id})).await;
    let sid = session["id"].as_str().unwrap();

    let (status, banned) = app.post(&format!("/users/{id}/ban"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(banned["banned"], true);
    let (_, session) = app.get(&format!("/sessions/{sid}")).await;
    assert_eq!(session["status"], "revoked");
    let (_, list) = app.get("/users?banned=true").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (_, unbanned) = app.post(&format!("/users/{id}/unban"), json!({})).await;
    assert_eq!(unbanned["banned"], false);

    let (status, locked) = app.post(&format!("/users/{id}/lock"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(locked["locked"], true);
    let secs = locked["lockout_expires_in_seconds"].as_i64().unwrap();
    assert!((3590..=3600).contains(&secs), "{secs}");
    let (_, unlocked) = app.post(&format!("/users/{id}/unlock"), json!({})).await;
    assert_eq!(unlocked["locked"], false);
    assert!(unlocked["lockout_expires_in_seconds"].is_null());

    let (status, many) = app.post("/users/ban", json!({"user_ids": [id]})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(many[0]["banned"], true);
}

async fn verify_password_outcomes(app: &TestApp) {
    let user = app.user(json!({})).await;
    let id = user["id"].as_str().unwrap();
    let (status, body) = app
        .post(
            &format!("/users/{id}/verify_password"),
            json!({"password": "wrong password!"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "password_incorrect");

    let no_pw = app
        .user(json!({"password": null, "skip_password_requirement": true}))
        .await;
    let (status, body) = app
        .post(
            &format!("/users/{}/verify_password", no_pw["id"].as_str().unwrap()),
            json!({"password": "anything at all"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, "password_not_set");

    let (status, _) = app
        .post(
            "/users/user_2aaaaaaaaaaaaaaaaaaaaaaaaaa/verify_password",
            json!({"password": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
