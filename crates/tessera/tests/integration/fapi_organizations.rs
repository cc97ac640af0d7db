//! The Frontend API's organizations as clerk-js uses them: a signed-in user
//! creates one and becomes its admin, switches to it (touch and tokens), the
//! role policy decides what each member may do, and the `/v1/me` lists.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::browser::Browser;
use crate::support::{assert_error, unique, TestApp};

both_backends!(
    members_create_switch_and_manage,
    organizations_off_refuse_creation,
);

const PASSWORD: &str = "correct horse battery";

async fn user(app: &TestApp, first_name: &str) -> (String, String) {
    let email = format!("{}@example.com", unique(first_name).to_lowercase());
    let (status, u) = app
        .post(
            "/users",
            json!({"email_address": [email], "password": PASSWORD, "first_name": first_name}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{u}");
    (u["id"].as_str().unwrap().to_owned(), email)
}

async fn signed_in<'a>(app: &'a TestApp, email: &str) -> (Browser<'a>, String) {
    let mut b = Browser::new(app);
    let out = b.sign_in_with_password(email, PASSWORD).await;
    let sid = out["response"]["created_session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    (b, sid)
}

fn claims_of(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

fn memberships_in_client(out: &Value) -> Value {
    out["client"]["sessions"][0]["user"]["organization_memberships"].clone()
}

async fn enable_organizations(app: &TestApp) {
    let (status, o) = app
        .patch("/instance/organization_settings", json!({"enabled": true}))
        .await;
    assert_eq!(status, StatusCode::OK, "{o}");
}

async fn members_create_switch_and_manage(app: &TestApp) {
    enable_organizations(app).await;
    let (ada, ada_email) = user(app, "Ada").await;
    let (bob, bob_email) = user(app, "Bob").await;
    let (mut a, a_sid) = signed_in(app, &ada_email).await;

    // Create: Ada is its admin, and the client's user shows the membership.
    let (status, out) = a.post("/organizations", &[("name", "Acme Labs")]).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let org = &out["response"];
    assert_eq!(org["object"], "organization");
    assert_eq!(org["members_count"], 1);
    assert!(org.get("private_metadata").is_none());
    let id = org["id"].as_str().unwrap().to_owned();
    let mine = memberships_in_client(&out);
    assert_eq!(mine.as_array().unwrap().len(), 1, "{out}");
    assert_eq!(mine[0]["role"], "org:admin");
    assert_eq!(mine[0]["organization"]["id"], id.as_str());
    assert!(mine[0]["permissions"]
        .as_array()
        .unwrap()
        .contains(&json!("org:sys_memberships:manage")));

    // Switch to it: the session and its tokens name it.
    let (status, out) = a
        .post(
            &format!("/client/sessions/{a_sid}/touch"),
            &[("active_organization_id", &id), ("intent", "select_org")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["response"]["last_active_organization_id"], id.as_str());
    let (_, t) = a
        .post(
            &format!("/client/sessions/{a_sid}/tokens"),
            &[("organization_id", &id)],
        )
        .await;
    let claims = claims_of(t["jwt"].as_str().unwrap());
    assert_eq!(claims["o"]["id"], id.as_str());
    assert_eq!(claims["o"]["rol"], "admin");

    // An organization one is not a member of cannot be switched to.
    let (_, other) = app.post("/organizations", json!({"name": "Other"})).await;
    let (status, body) = a
        .post(
            &format!("/client/sessions/{a_sid}/touch"),
            &[("active_organization_id", other["id"].as_str().unwrap())],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_error(&body, "not_a_member_in_organization");
    let (status, body) = a
        .get(&format!("/organizations/{}", other["id"].as_str().unwrap()))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "not a member: not there: {body}"
    );

    // Bob joins as a member: he may read the members, not manage them.
    let (status, _) = a
        .post(
            &format!("/organizations/{id}/memberships"),
            &[("user_id", &bob), ("role", "org:member")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (mut b, _) = signed_in(app, &bob_email).await;
    let (status, list) = b
        .get(&format!(
            "/organizations/{id}/memberships?paginated=true&limit=10&offset=0"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["response"]["total_count"], 2);
    assert!(list["response"]["data"][0]["organization"]["id"] == id.as_str());
    let (status, body) = b
        .delete(&format!("/organizations/{id}/memberships/{ada}"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_error(&body, "authorization_invalid");
    let (status, body) = b
        .patch(&format!("/organizations/{id}"), &[("name", "Bob's now")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, got) = b.get(&format!("/organizations/{id}")).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "any member reads the organization: {got}"
    );
    assert_eq!(got["response"]["name"], "Acme Labs");

    // Ada manages: roles, renaming, promoting and removing.
    let (status, roles) = a
        .get(&format!("/organizations/{id}/roles?limit=20&offset=0"))
        .await;
    assert_eq!(status, StatusCode::OK, "{roles}");
    let keys: Vec<&str> = roles["response"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["org:admin", "org:member"]);
    assert!(roles["response"]["data"][0]["permissions"].is_array());
    let (status, renamed) = a
        .patch(
            &format!("/organizations/{id}"),
            &[("name", "Acme Research")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["response"]["name"], "Acme Research");
    let (status, promoted) = a
        .patch(
            &format!("/organizations/{id}/memberships/{bob}"),
            &[("role", "org:admin")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{promoted}");
    assert_eq!(promoted["response"]["role"], "org:admin");
    let (status, removed) = a
        .delete(&format!("/organizations/{id}/memberships/{bob}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{removed}");
    assert_eq!(
        removed["response"]["public_user_data"]["user_id"],
        bob.as_str()
    );

    // The /v1/me lists clerk-js's switcher asks for.
    let (status, mine) = a
        .get("/me/organization_memberships?paginated=true&limit=10&offset=0")
        .await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["response"]["total_count"], 1);
    assert_eq!(
        mine["response"]["data"][0]["organization"]["members_count"],
        1
    );
    for path in [
        "/me/organization_invitations?status=pending&limit=10&offset=0",
        "/me/organization_suggestions?status=pending&status=accepted&limit=10&offset=0",
        &format!("/organizations/{id}/invitations?status=pending&limit=10&offset=0"),
    ] {
        let (status, out) = a.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {out}");
        assert_eq!(
            out["response"],
            json!({"data": [], "total_count": 0}),
            "{path}"
        );
    }

    // The last admin cannot leave.
    let (status, body) = a
        .delete(&format!("/me/organization_memberships/{id}"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "organization_minimum_permissions_needed");

    // Back to the personal account through /tokens alone (an unfocused page).
    let (_, t) = a
        .post(
            &format!("/client/sessions/{a_sid}/tokens"),
            &[("organization_id", "")],
        )
        .await;
    let claims = claims_of(t["jwt"].as_str().unwrap());
    assert!(claims.get("o").is_none(), "{claims}");
    let (_, client) = a.get("/client").await;
    assert_eq!(
        client["response"]["sessions"][0]["last_active_organization_id"],
        Value::Null
    );

    // Signed out: nothing.
    let mut nobody = Browser::new(app);
    let (status, _) = nobody.post("/organizations", &[("name", "x")]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Admins delete it.
    let (status, deleted) = a.delete(&format!("/organizations/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert_eq!(deleted["response"]["deleted"], true);
    assert_eq!(memberships_in_client(&deleted), json!([]));
}

async fn organizations_off_refuse_creation(app: &TestApp) {
    let (_, email) = user(app, "Cy").await;
    let (mut c, _) = signed_in(app, &email).await;
    let (status, body) = c.post("/organizations", &[("name", "Nope")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_error(&body, "organization_not_enabled_in_instance");
}
