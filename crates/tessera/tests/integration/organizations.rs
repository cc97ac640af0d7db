//! BAPI organizations and memberships: create (creator joins as admin),
//! slugs, read by id or slug, lists, updates, metadata, logos, members and
//! their roles (an organization keeps a member who can manage members),
//! deletion.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::support::{assert_error, assert_id, claims_of, unique, TestApp};
use crate::webhooks::{endpoint, Receiver};

both_backends!(
    organizations_lifecycle,
    memberships_and_roles,
    organization_lists_filter_and_order,
    organization_logos,
    organization_events_are_delivered,
    tokens_carry_the_active_organization,
);

pub(crate) async fn new_user(app: &TestApp, first_name: &str) -> String {
    let email = format!("{}@example.com", unique(first_name).to_lowercase());
    let (status, user) = app
        .post(
            "/users",
            json!({"email_address": [email], "first_name": first_name, "skip_password_requirement": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    user["id"].as_str().unwrap().to_owned()
}

pub(crate) async fn new_org(app: &TestApp, body: Value) -> Value {
    let (status, org) = app.post("/organizations", body).await;
    assert_eq!(status, StatusCode::OK, "{org}");
    org
}

async fn organizations_lifecycle(app: &TestApp) {
    let ada = new_user(app, "Ada").await;
    let name = unique("Acme, Inc.");
    let org = new_org(
        app,
        json!({"name": name, "created_by": ada, "public_metadata": {"plan": "pro", "nested": {"a": 1}},
               "private_metadata": {"billing": "x"}, "max_allowed_memberships": 3}),
    )
    .await;
    assert_id(&org["id"], "org");
    assert_eq!(org["object"], "organization");
    assert_eq!(org["name"], name);
    let slug = org["slug"].as_str().unwrap().to_owned();
    assert!(
        slug.starts_with("acme-inc"),
        "slug made from the name: {slug}"
    );
    assert_eq!(org["created_by"], ada);
    assert_eq!(org["members_count"], 1, "the creator is a member");
    assert_eq!(org["max_allowed_memberships"], 3);
    assert_eq!(org["admin_delete_enabled"], true);
    assert_eq!(org["has_image"], false);
    assert_eq!(org["pending_invitations_count"], 0);
    let id = org["id"].as_str().unwrap().to_owned();

    // The creator is an admin.
    let (status, members) = app.get(&format!("/organizations/{id}/memberships")).await;
    assert_eq!(status, StatusCode::OK, "{members}");
    assert_eq!(members["total_count"], 1);
    let m = &members["data"][0];
    assert_id(&m["id"], "orgmem");
    assert_eq!(m["object"], "organization_membership");
    assert_eq!(m["role"], "org:admin");
    assert!(m["permissions"]
        .as_array()
        .unwrap()
        .contains(&json!("org:sys_memberships:manage")));
    assert_eq!(m["organization"]["id"], id.as_str());
    assert_eq!(m["public_user_data"]["user_id"], ada.as_str());
    assert_eq!(m["public_user_data"]["first_name"], "Ada");
    assert!(m["public_user_data"]["identifier"]
        .as_str()
        .unwrap()
        .ends_with("@example.com"));

    // Read by id and by slug; the same slug again is taken.
    let (status, by_slug) = app.get(&format!("/organizations/{slug}")).await;
    assert_eq!(status, StatusCode::OK, "{by_slug}");
    assert_eq!(by_slug["id"], id.as_str());
    assert!(
        by_slug.get("members_count").is_none(),
        "only when asked for"
    );
    let (_, counted) = app
        .get(&format!("/organizations/{id}?include_members_count=true"))
        .await;
    assert_eq!(counted["members_count"], 1);
    let (status, body) = app
        .post("/organizations", json!({"name": "Other", "slug": slug}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "form_identifier_exists");
    assert_eq!(body["errors"][0]["meta"]["param_name"], "slug");
    // Same name: another slug is made.
    let twin = new_org(app, json!({"name": name})).await;
    assert_ne!(twin["slug"], slug.as_str());
    assert_eq!(twin["members_count"], 0);
    assert_eq!(twin["created_by"], Value::Null);

    // Bad input.
    for (body, code, param) in [
        (json!({}), "form_param_missing", "name"),
        (
            json!({"name": "<b>x</b>"}),
            "form_param_value_invalid",
            "name",
        ),
        (
            json!({"name": "x", "slug": "Not A Slug"}),
            "form_param_format_invalid",
            "slug",
        ),
        (
            json!({"name": "x", "created_by": "user_nope"}),
            "form_param_value_invalid",
            "created_by",
        ),
        (
            json!({"name": "x", "max_allowed_memberships": -1}),
            "form_param_value_invalid",
            "max_allowed_memberships",
        ),
        (
            json!({"name": "x", "nope": 1}),
            "form_param_unknown",
            "nope",
        ),
    ] {
        let (status, out) = app.post("/organizations", body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {out}");
        assert_error(&out, code);
        assert_eq!(out["errors"][0]["meta"]["param_name"], param, "{out}");
    }

    // Update; metadata merge and replace.
    let new_slug = unique("renamed")
        .to_lowercase()
        .replace(|c: char| !c.is_ascii_alphanumeric(), "-");
    let (status, updated) = app
        .patch(
            &format!("/organizations/{id}"),
            json!({"name": "Renamed", "slug": new_slug, "admin_delete_enabled": false, "max_allowed_memberships": 0}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["name"], "Renamed");
    assert_eq!(updated["slug"], new_slug.as_str());
    assert_eq!(updated["admin_delete_enabled"], false);
    assert_eq!(updated["max_allowed_memberships"], 0);
    let (status, _) = app.get(&format!("/organizations/{slug}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the old slug is free");
    let (status, merged) = app
        .patch(
            &format!("/organizations/{id}/metadata"),
            json!({"public_metadata": {"nested": {"b": 2}, "plan": null}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    assert_eq!(
        merged["public_metadata"],
        json!({"nested": {"a": 1, "b": 2}})
    );
    assert_eq!(merged["private_metadata"], json!({"billing": "x"}));
    let (status, replaced) = app
        .bapi(
            Method::PUT,
            &format!("/organizations/{id}/metadata"),
            Some(json!({"private_metadata": {"only": true}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(replaced["private_metadata"], json!({"only": true}));
    assert_eq!(
        replaced["public_metadata"],
        json!({"nested": {"a": 1, "b": 2}})
    );

    // Delete: a deleted object; its memberships go with it.
    let (status, deleted) = app.delete(&format!("/organizations/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert_eq!(
        deleted,
        json!({"object": "organization", "id": id, "slug": new_slug, "deleted": true})
    );
    let (status, body) = app.get(&format!("/organizations/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "resource_not_found");
    let (_, mine) = app
        .get(&format!("/users/{ada}/organization_memberships"))
        .await;
    assert_eq!(mine["total_count"], 0, "{mine}");
}

async fn memberships_and_roles(app: &TestApp) {
    let ada = new_user(app, "Ada").await;
    let bob = new_user(app, "Bob").await;
    let cy = new_user(app, "Cy").await;
    let org = new_org(
        app,
        json!({"name": "Team", "created_by": ada, "max_allowed_memberships": 2}),
    )
    .await;
    let id = org["id"].as_str().unwrap();
    let members = format!("/organizations/{id}/memberships");

    let (status, m) = app
        .post(
            &members,
            json!({"user_id": bob, "role": "org:member", "public_metadata": {"team": "x"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{m}");
    assert_eq!(m["role"], "org:member");
    assert_eq!(m["role_name"], "Member");
    assert_eq!(m["permissions"], json!(["org:sys_memberships:read"]));
    assert_eq!(m["public_metadata"], json!({"team": "x"}));
    assert_eq!(m["public_user_data"]["first_name"], "Bob");

    // Already a member; over the quota; unknown role; unknown user.
    let (status, body) = app
        .post(&members, json!({"user_id": bob, "role": "org:member"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_error(&body, "already_a_member_in_organization");
    let (status, body) = app
        .post(&members, json!({"user_id": cy, "role": "org:member"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_error(&body, "organization_membership_quota_exceeded");
    app.patch(
        &format!("/organizations/{id}"),
        json!({"max_allowed_memberships": 0}),
    )
    .await;
    let (status, body) = app
        .post(&members, json!({"user_id": cy, "role": "org:owner"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["meta"]["param_name"], "role");
    let (status, body) = app
        .post(
            &members,
            json!({"user_id": "user_nope", "role": "org:member"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["meta"]["param_name"], "user_id");
    let (status, _) = app
        .post(
            "/organizations/org_nope/memberships",
            json!({"user_id": cy, "role": "org:member"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .post(&members, json!({"user_id": cy, "role": "org:member"}))
        .await;
    assert_eq!(status, StatusCode::OK);

    // Lists: filters and order.
    let (_, all) = app.get(&format!("{members}?order_by=first_name")).await;
    let names: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["public_user_data"]["first_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Ada", "Bob", "Cy"]);
    let (_, admins) = app.get(&format!("{members}?role=org:admin")).await;
    assert_eq!(admins["total_count"], 1);
    assert_eq!(
        admins["data"][0]["public_user_data"]["user_id"],
        ada.as_str()
    );
    let (_, found) = app.get(&format!("{members}?query=bo")).await;
    assert_eq!(found["total_count"], 1, "{found}");
    let (_, not_bob) = app.get(&format!("{members}?user_id=-{bob}")).await;
    assert_eq!(not_bob["total_count"], 2);
    let (status, body) = app.get(&format!("{members}?order_by=shoe_size")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (_, bobs) = app
        .get(&format!("/users/{bob}/organization_memberships"))
        .await;
    assert_eq!(bobs["total_count"], 1);
    assert_eq!(bobs["data"][0]["organization"]["id"], id);
    let (status, every) = app.get("/organization_memberships?limit=500").await;
    assert_eq!(status, StatusCode::OK, "{every}");
    assert!(every["total_count"].as_i64().unwrap() >= 3);

    // The last admin can be neither demoted nor removed.
    let (status, body) = app
        .patch(&format!("{members}/{ada}"), json!({"role": "org:member"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "organization_minimum_permissions_needed");
    let (status, body) = app.delete(&format!("{members}/{ada}")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "organization_minimum_permissions_needed");
    // With a second admin, the first may go.
    let (status, promoted) = app
        .patch(&format!("{members}/{bob}"), json!({"role": "org:admin"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{promoted}");
    assert_eq!(promoted["role"], "org:admin");
    let (status, merged) = app
        .patch(
            &format!("{members}/{bob}/metadata"),
            json!({"public_metadata": {"lead": true}, "private_metadata": {"k": 1}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    assert_eq!(
        merged["public_metadata"],
        json!({"team": "x", "lead": true})
    );
    let (status, removed) = app.delete(&format!("{members}/{ada}")).await;
    assert_eq!(status, StatusCode::OK, "{removed}");
    assert_eq!(removed["object"], "organization_membership");
    assert_eq!(removed["public_user_data"]["user_id"], ada.as_str());
    let (status, _) = app.delete(&format!("{members}/{ada}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not a member any more");
    let (_, org) = app
        .get(&format!("/organizations/{id}?include_members_count=true"))
        .await;
    assert_eq!(org["members_count"], 2);

    // A deleted user leaves the organization.
    app.delete(&format!("/users/{cy}")).await;
    let (_, org) = app
        .get(&format!("/organizations/{id}?include_members_count=true"))
        .await;
    assert_eq!(org["members_count"], 1);
}

async fn organization_lists_filter_and_order(app: &TestApp) {
    let ada = new_user(app, "Ada").await;
    let tag = unique("lst").to_lowercase();
    let mut ids = Vec::new();
    for name in ["Charlie", "alpha", "Bravo"] {
        let org = new_org(
            app,
            json!({"name": format!("{tag} {name}"), "created_by": ada}),
        )
        .await;
        ids.push(org["id"].as_str().unwrap().to_owned());
    }
    let (status, page) = app
        .get(&format!(
            "/organizations?query={tag}&order_by=name&include_members_count=true"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total_count"], 3);
    let names: Vec<String> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            format!("{tag} alpha"),
            format!("{tag} Bravo"),
            format!("{tag} Charlie")
        ]
    );
    assert_eq!(page["data"][0]["members_count"], 1);
    // Newest first by default; paging.
    let (_, newest) = app
        .get(&format!("/organizations?query={tag}&limit=1&offset=0"))
        .await;
    assert_eq!(newest["data"][0]["id"], ids[2].as_str());
    assert!(newest["data"][0].get("members_count").is_none());
    let (_, second) = app
        .get(&format!("/organizations?query={tag}&limit=1&offset=1"))
        .await;
    assert_eq!(second["data"][0]["id"], ids[1].as_str());
    // By member and by id, with + and -.
    let (_, of_ada) = app
        .get(&format!("/organizations?user_id={ada}&query={tag}"))
        .await;
    assert_eq!(of_ada["total_count"], 3);
    let (_, without) = app
        .get(&format!(
            "/organizations?query={tag}&organization_id=-{}",
            ids[0]
        ))
        .await;
    assert_eq!(without["total_count"], 2);
    let (_, only) = app
        .get(&format!("/organizations?organization_id=%2B{}", ids[1]))
        .await;
    assert_eq!(only["total_count"], 1);
    let (_, exact) = app.get(&format!("/organizations?query={}", ids[1])).await;
    assert_eq!(exact["data"][0]["id"], ids[1].as_str());
    let (status, body) = app.get("/organizations?order_by=size").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["meta"]["param_name"], "order_by");
    let (status, _) = app.get("/organizations?limit=0").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn organization_logos(app: &TestApp) {
    let org = new_org(app, json!({"name": "Logo Co"})).await;
    let id = org["id"].as_str().unwrap();
    let image_url = org["image_url"].as_str().unwrap().to_owned();
    let generated = app.http.get(&image_url).send().await.unwrap();
    assert_eq!(generated.status(), StatusCode::OK);
    assert_eq!(generated.headers()["content-type"], "image/svg+xml");

    // A 1×1 PNG.
    let png: Vec<u8> = vec![
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f,
        0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00,
        0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49,
        0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(png.clone()).file_name("logo.png"),
    );
    let resp = app
        .http
        .put(format!("{}/v1/organizations/{id}/logo", app.base))
        .bearer_auth(&app.secret)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let with_logo: Value = resp.json().await.unwrap();
    assert_eq!(with_logo["has_image"], true);
    let url = with_logo["image_url"].as_str().unwrap();
    assert_ne!(url, image_url, "a new URL for the new image");
    let served = app.http.get(url).send().await.unwrap();
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.bytes().await.unwrap().to_vec(), png);

    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"not an image".to_vec()).file_name("x.txt"),
    );
    let resp = app
        .http
        .put(format!("{}/v1/organizations/{id}/logo", app.base))
        .bearer_auth(&app.secret)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let (status, without) = app.delete(&format!("/organizations/{id}/logo")).await;
    assert_eq!(status, StatusCode::OK, "{without}");
    assert_eq!(without["has_image"], false);
    let (status, _) = app.get("/organizations/org_nope/logo").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

async fn organization_events_are_delivered(app: &TestApp) {
    let rx = Receiver::start().await;
    endpoint(
        app,
        json!({ "url": rx.url, "filter_types": [
            "organization.created", "organization.updated", "organization.deleted",
            "organizationMembership.created", "organizationMembership.updated",
            "organizationMembership.deleted",
        ] }),
    )
    .await;
    let ada = new_user(app, "Ada").await;
    let bob = new_user(app, "Bob").await;
    let org = new_org(app, json!({"name": "Events", "created_by": ada})).await;
    let id = org["id"].as_str().unwrap();
    let members = format!("/organizations/{id}/memberships");
    app.post(&members, json!({"user_id": bob, "role": "org:member"}))
        .await;
    app.patch(&format!("{members}/{bob}"), json!({"role": "org:admin"}))
        .await;
    app.delete(&format!("{members}/{ada}")).await;
    app.patch(&format!("/organizations/{id}"), json!({"name": "Renamed"}))
        .await;
    app.delete(&format!("/organizations/{id}")).await;
    let expected = [
        "organization.created",
        "organizationMembership.created",
        "organizationMembership.created",
        "organizationMembership.updated",
        "organizationMembership.deleted",
        "organization.updated",
        "organization.deleted",
    ];
    let got = rx.wait_for(20, |all| all.len() >= expected.len()).await;
    let mut types: Vec<&str> = got
        .iter()
        .map(|d| d.json["type"].as_str().unwrap())
        .collect();
    let mut want = expected.to_vec();
    types.sort_unstable();
    want.sort_unstable();
    assert_eq!(types, want);
    let created = got
        .iter()
        .find(|d| d.json["type"] == "organization.created")
        .unwrap();
    assert_eq!(created.json["data"]["id"], id);
    assert_eq!(created.json["data"]["members_count"], 1);
    let removed = got
        .iter()
        .find(|d| d.json["type"] == "organizationMembership.deleted")
        .unwrap();
    assert_eq!(
        removed.json["data"]["public_user_data"]["user_id"],
        ada.as_str()
    );
    assert_eq!(removed.json["data"]["organization"]["id"], id);
    let deleted = got
        .iter()
        .find(|d| d.json["type"] == "organization.deleted")
        .unwrap();
    assert_eq!(deleted.json["data"]["deleted"], true);
}

pub(crate) async fn token(app: &TestApp, session: &str) -> Value {
    let (status, t) = app
        .post(&format!("/sessions/{session}/tokens"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    claims_of(t["jwt"].as_str().unwrap())
}

async fn tokens_carry_the_active_organization(app: &TestApp) {
    let ada = new_user(app, "Ada").await;
    let bob = new_user(app, "Bob").await;
    let slug = unique("tok")
        .to_lowercase()
        .replace(|c: char| !c.is_ascii_alphanumeric(), "-");
    let org = new_org(
        app,
        json!({"name": "Tokens", "slug": slug, "created_by": ada}),
    )
    .await;
    let id = org["id"].as_str().unwrap();
    app.post(
        &format!("/organizations/{id}/memberships"),
        json!({"user_id": bob, "role": "org:member"}),
    )
    .await;

    let (status, session) = app
        .post(
            "/sessions",
            json!({"user_id": bob, "active_organization_id": id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let sid = session["id"].as_str().unwrap();
    assert_eq!(session["last_active_organization_id"], id);
    let claims = token(app, sid).await;
    assert_eq!(claims["v"], 2);
    assert_eq!(
        claims["o"],
        json!({"id": id, "slg": slug, "rol": "member"}),
        "system permissions stay out of tokens: {claims}"
    );
    assert!(claims.get("fea").is_none(), "{claims}");

    // A new role shows in the next token at once.
    app.patch(
        &format!("/organizations/{id}/memberships/{bob}"),
        json!({"role": "org:admin"}),
    )
    .await;
    assert_eq!(token(app, sid).await["o"]["rol"], "admin");
    // A renamed slug too; and a removed member's token has no organization.
    let renamed = format!("{slug}-2");
    app.patch(&format!("/organizations/{id}"), json!({"slug": renamed}))
        .await;
    assert_eq!(token(app, sid).await["o"]["slg"], renamed.as_str());
    app.delete(&format!("/organizations/{id}/memberships/{bob}"))
        .await;
    let claims = token(app, sid).await;
    assert!(claims.get("o").is_none(), "{claims}");

    // A session without an active organization has no `o` claim.
    let (_, personal) = app.post("/sessions", json!({"user_id": ada})).await;
    let claims = token(app, personal["id"].as_str().unwrap()).await;
    assert!(claims.get("o").is_none(), "{claims}");
}
