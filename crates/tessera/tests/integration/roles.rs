//! BAPI organization permissions, roles and role sets: system permissions
//! that cannot change, custom permissions and roles, their keys following on
//! members, the roles a set offers its organizations, replacing roles and
//! sets, the `role.*`/`permission.*` events, and custom permissions in the
//! session token's `fea`/`o` claims.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::organizations::{new_org, new_user, token};
use crate::support::{assert_error, assert_id, unique, TestApp};
use crate::webhooks::{endpoint, Receiver};

both_backends!(
    permissions_lifecycle,
    custom_roles_reach_members_and_tokens,
    role_sets_decide_an_organizations_roles,
    role_and_permission_events_are_delivered,
);

fn key_suffix() -> String {
    unique("k")
        .to_lowercase()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

async fn new_permission(app: &TestApp, key: &str) -> Value {
    let (status, p) = app
        .post(
            "/organization_permissions",
            json!({"name": key, "key": key, "description": format!("{key} it")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{p}");
    p
}

fn keys(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v["key"].as_str().unwrap().to_owned())
        .collect()
}

async fn permissions_lifecycle(app: &TestApp) {
    let (status, list) = app
        .get("/organization_permissions?limit=100&order_by=key")
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["total_count"], 8, "the system permissions: {list}");
    let system = list["data"][0].clone();
    assert_eq!(system["type"], "system");
    assert_eq!(system["key"], "org:sys_billing:manage", "ordered by key");
    assert_id(&system["id"], "perm");

    let s = key_suffix();
    let key = format!("org:invoices{s}:read");
    let p = new_permission(app, &key).await;
    assert_id(&p["id"], "perm");
    assert_eq!(p["object"], "permission");
    assert_eq!(p["type"], "custom");
    assert_eq!(p["description"], format!("{key} it"));
    let id = p["id"].as_str().unwrap();

    // Keys are org:<feature>:<action>, unique, never sys_.
    for bad in ["invoices:read", "org:sys_x:read", "org:Inv:read", "org:inv"] {
        let (status, err) = app
            .post(
                "/organization_permissions",
                json!({"name": "x", "key": bad}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {err}");
        assert_eq!(err["errors"][0]["meta"]["param_name"], "key", "{err}");
    }
    let (status, err) = app
        .post(
            "/organization_permissions",
            json!({"name": "x", "key": key}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_error(&err, "form_identifier_exists");
    let (status, err) = app
        .post("/organization_permissions", json!({"key": "org:a:b"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_error(&err, "form_param_missing");

    // Read, search, change.
    let (status, got) = app.get(&format!("/organization_permissions/{id}")).await;
    assert_eq!((status, &got["key"]), (StatusCode::OK, &json!(key)));
    let (_, found) = app
        .get(&format!("/organization_permissions?query=invoices{s}"))
        .await;
    assert_eq!(keys(&found["data"]), vec![key.clone()]);
    let (_, found) = app
        .get(&format!("/organization_permissions?query={id}"))
        .await;
    assert_eq!(found["total_count"], 1);
    let renamed = format!("org:invoices{s}:manage");
    let (status, changed) = app
        .patch(
            &format!("/organization_permissions/{id}"),
            json!({"key": renamed, "name": "Manage invoices"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["key"], renamed.as_str());
    assert_eq!(changed["name"], "Manage invoices");

    // System permissions cannot change or go.
    let sid = system["id"].as_str().unwrap();
    let (status, err) = app
        .patch(
            &format!("/organization_permissions/{sid}"),
            json!({"name": "Mine"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
    let (status, _) = app
        .delete(&format!("/organization_permissions/{sid}"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, gone) = app.delete(&format!("/organization_permissions/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{gone}");
    assert_eq!(
        gone,
        json!({"object": "permission", "id": id, "deleted": true})
    );
    let (status, err) = app.get(&format!("/organization_permissions/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&err, "resource_not_found");
    let (status, _) = app.get("/organization_permissions?order_by=size").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn custom_roles_reach_members_and_tokens(app: &TestApp) {
    let s = key_suffix();
    let read = new_permission(app, &format!("org:reports{s}:read")).await;
    let edit = new_permission(app, &format!("org:reports{s}:edit")).await;
    let teams = new_permission(app, &format!("org:teams{s}:read")).await;
    let role_key = format!("org:analyst{s}");
    let (status, role) = app
        .post(
            "/organization_roles",
            json!({"name": "Analyst", "key": role_key, "description": "Reads reports",
                   "permissions": [read["id"], teams["id"], "org:sys_memberships:read"],
                   "include_in_initial_role_set": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{role}");
    assert_id(&role["id"], "role");
    assert_eq!(role["object"], "role");
    assert_eq!(role["is_creator_eligible"], false);
    let mut granted = keys(&role["permissions"]);
    granted.sort();
    assert_eq!(
        granted,
        vec![
            "org:reports".to_owned() + &s + ":read",
            "org:sys_memberships:read".to_owned(),
            "org:teams".to_owned() + &s + ":read",
        ]
    );
    let role_id = role["id"].as_str().unwrap().to_owned();
    let (_, same) = app
        .post("/organization_roles", json!({"name": "x", "key": role_key}))
        .await;
    assert_error(&same, "form_identifier_exists");
    let (status, _) = app
        .post(
            "/organization_roles",
            json!({"name": "x", "key": "analyst"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .post(
            "/organization_roles",
            json!({"name": "x", "key": format!("org:x{s}"), "permissions": ["perm_nothing"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // The initial set offers it now; a member gets it.
    let (_, initial) = app.get("/role_sets/role_set:default").await;
    assert_eq!(initial["type"], "initial");
    assert!(keys(&initial["roles"]).contains(&role_key), "{initial}");
    let ada = new_user(app, "Ada").await;
    let bob = new_user(app, "Bob").await;
    let org = new_org(app, json!({"name": "Reports", "created_by": ada})).await;
    let org_id = org["id"].as_str().unwrap().to_owned();
    let (status, m) = app
        .post(
            &format!("/organizations/{org_id}/memberships"),
            json!({"user_id": bob, "role": role_key}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{m}");
    assert_eq!(m["role_name"], "Analyst");
    assert!(m["permissions"]
        .as_array()
        .unwrap()
        .contains(&json!(format!("org:teams{s}:read"))));

    // The token carries the custom permissions (Clerk's compact encoding).
    let (_, session) = app
        .post(
            "/sessions",
            json!({"user_id": bob, "active_organization_id": org_id}),
        )
        .await;
    let sid = session["id"].as_str().unwrap().to_owned();
    let claims = token(app, &sid).await;
    assert_eq!(
        claims["fea"],
        format!("o:reports{s},o:teams{s}"),
        "{claims}"
    );
    assert_eq!(claims["o"]["rol"], format!("analyst{s}"));
    assert_eq!(claims["o"]["per"], "read");
    assert_eq!(claims["o"]["fpm"], "1,1");

    // A permission granted to the role is in the next token at once.
    let edit_id = edit["id"].as_str().unwrap();
    let (status, changed) = app
        .post(
            &format!("/organization_roles/{role_id}/permissions/{edit_id}"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    let claims = token(app, &sid).await;
    assert_eq!(claims["o"]["per"], "edit,read", "{claims}");
    assert_eq!(claims["o"]["fpm"], "3,2");
    let (status, err) = app
        .post(
            &format!("/organization_roles/{role_id}/permissions/{edit_id}"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    assert_error(&err, "duplicate_record");
    let (status, _) = app
        .delete(&format!(
            "/organization_roles/{role_id}/permissions/{edit_id}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(token(app, &sid).await["o"]["per"], "read");
    // Deleting a permission takes it from the role too.
    let teams_id = teams["id"].as_str().unwrap();
    app.delete(&format!("/organization_permissions/{teams_id}"))
        .await;
    let claims = token(app, &sid).await;
    assert_eq!(claims["fea"], format!("o:reports{s}"), "{claims}");

    // A new key follows on the members who have the role.
    let new_key = format!("org:reporter{s}");
    let (status, renamed) = app
        .patch(
            &format!("/organization_roles/{role_id}"),
            json!({"key": new_key, "permissions": [read["id"], edit["id"]]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["permissions"].as_array().unwrap().len(), 2);
    let (_, members) = app
        .get(&format!(
            "/organizations/{org_id}/memberships?role={new_key}"
        ))
        .await;
    assert_eq!(members["total_count"], 1, "{members}");
    assert_eq!(token(app, &sid).await["o"]["rol"], format!("reporter{s}"));

    // A role in use cannot go; replaced in the set, its members move on.
    let (status, err) = app.delete(&format!("/organization_roles/{role_id}")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_error(&err, "organization_role_in_use");
    let (status, set) = app
        .post(
            "/role_sets/role_set:default/roles/replace",
            json!({"role_key": new_key, "to_role_key": "org:member"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert!(!keys(&set["roles"]).contains(&new_key));
    let (_, m) = app
        .get(&format!(
            "/organizations/{org_id}/memberships?user_id={bob}"
        ))
        .await;
    assert_eq!(m["data"][0]["role"], "org:member", "{m}");
    let (status, gone) = app.delete(&format!("/organization_roles/{role_id}")).await;
    assert_eq!(status, StatusCode::OK, "{gone}");
    assert_eq!(gone["deleted"], true);
    // The default roles' system permissions stay guarded: the creator role
    // cannot lose the power to manage members.
    let (_, admin) = app.get("/organization_roles?query=org:admin").await;
    let admin_id = admin["data"][0]["id"].as_str().unwrap();
    let (_, manage) = app
        .get("/organization_permissions?query=org:sys_memberships:manage")
        .await;
    let manage_id = manage["data"][0]["id"].as_str().unwrap();
    let (status, err) = app
        .delete(&format!(
            "/organization_roles/{admin_id}/permissions/{manage_id}"
        ))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
}

async fn role_sets_decide_an_organizations_roles(app: &TestApp) {
    let s = key_suffix();
    let owner_key = format!("org:owner{s}");
    let viewer_key = format!("org:viewer{s}");
    let (_, manage) = app
        .get("/organization_permissions?query=org:sys_memberships:manage")
        .await;
    let (status, _) = app
        .post(
            "/organization_roles",
            json!({"name": "Owner", "key": owner_key, "permissions": [manage["data"][0]["id"]]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.post(
        "/organization_roles",
        json!({"name": "Viewer", "key": viewer_key}),
    )
    .await;

    // The creator role must be able to manage members, and be in the set.
    let (status, err) = app
        .post(
            "/role_sets",
            json!({"name": "Enterprise", "roles": [owner_key, viewer_key],
                   "default_role_key": viewer_key, "creator_role_key": viewer_key}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    let (status, err) = app
        .post(
            "/role_sets",
            json!({"name": "Enterprise", "roles": [viewer_key],
                   "default_role_key": viewer_key, "creator_role_key": owner_key}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    let set_key = format!("role_set:enterprise{s}");
    let (status, set) = app
        .post(
            "/role_sets",
            json!({"name": "Enterprise", "key": set_key, "description": "Big customers",
                   "roles": [owner_key, viewer_key],
                   "default_role_key": viewer_key, "creator_role_key": owner_key}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_id(&set["id"], "rs");
    assert_eq!(set["object"], "role_set");
    assert_eq!(set["type"], "custom");
    assert_eq!(set["roles"][0]["object"], "role_set_item");
    assert_eq!(set["creator_role"]["key"], owner_key.as_str());
    assert_eq!(set["default_role"]["key"], viewer_key.as_str());
    let (status, _) = app
        .get(&format!("/role_sets/{}", set["id"].as_str().unwrap()))
        .await;
    assert_eq!(status, StatusCode::OK, "by id too");
    let (_, listed) = app.get("/role_sets?order_by=name").await;
    assert_eq!(listed["total_count"], 2);
    assert_eq!(listed["data"][0]["key"], "role_set:default");

    // An organization in the set: its creator is an owner, and only the
    // set's roles can be given.
    let ada = new_user(app, "Ada").await;
    let bob = new_user(app, "Bob").await;
    let org = new_org(
        app,
        json!({"name": "Big", "created_by": ada, "role_set_key": set_key}),
    )
    .await;
    let org_id = org["id"].as_str().unwrap().to_owned();
    let (_, members) = app
        .get(&format!("/organizations/{org_id}/memberships"))
        .await;
    assert_eq!(members["data"][0]["role"], owner_key.as_str());
    let (status, err) = app
        .post(
            &format!("/organizations/{org_id}/memberships"),
            json!({"user_id": bob, "role": "org:member"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["errors"][0]["meta"]["param_name"], "role");
    let (status, _) = app
        .post(
            &format!("/organizations/{org_id}/memberships"),
            json!({"user_id": bob, "role": viewer_key}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, counted) = app.get(&format!("/role_sets/{set_key}")).await;
    let viewer = counted["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == viewer_key.as_str())
        .unwrap();
    assert_eq!(viewer["members_count"], 1, "{counted}");
    let (status, _) = app
        .post(
            "/organizations",
            json!({"name": "x", "role_set_key": "role_set:nope"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Moving an organization to a set lacking its members' roles is refused.
    let (status, _) = app
        .patch(
            &format!("/organizations/{org_id}"),
            json!({"role_set_key": "role_set:default"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Made the initial set, new organizations get it, and the settings say so.
    let (status, set) = app
        .patch(&format!("/role_sets/{set_key}"), json!({"type": "initial"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(set["type"], "initial");
    let (_, settings) = app.get("/instance/organization_settings").await;
    assert_eq!(settings["initial_role_set_key"], set_key.as_str());
    assert_eq!(settings["creator_role"], owner_key.as_str());
    let later = new_org(app, json!({"name": "Later", "created_by": bob})).await;
    let (_, members) = app
        .get(&format!(
            "/organizations/{}/memberships",
            later["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(members["data"][0]["role"], owner_key.as_str());

    // Replacing the set moves its organizations, mapping roles the
    // destination lacks; the set is gone and the default set is initial again.
    let (status, err) = app
        .post(
            &format!("/role_sets/{set_key}/replace"),
            json!({"dest_role_set_key": "role_set:default"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "mappings needed: {err}"
    );
    let (status, gone) = app
        .post(
            &format!("/role_sets/{set_key}/replace"),
            json!({"dest_role_set_key": "role_set:default",
                   "reassignment_mappings": {owner_key.clone(): "org:admin", viewer_key.clone(): "org:member"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{gone}");
    assert_eq!(gone["deleted"], true);
    assert_eq!(gone["object"], "role_set");
    let (status, _) = app.get(&format!("/role_sets/{set_key}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, members) = app
        .get(&format!(
            "/organizations/{org_id}/memberships?order_by=created_at"
        ))
        .await;
    let roles: Vec<&str> = members["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, vec!["org:admin", "org:member"]);
    let (_, settings) = app.get("/instance/organization_settings").await;
    assert_eq!(settings["initial_role_set_key"], "role_set:default");
    // The organization takes the default set's roles now.
    let (status, _) = app
        .patch(
            &format!("/organizations/{org_id}/memberships/{bob}"),
            json!({"role": "org:admin"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // The settings' creator role is the initial set's; setting it adds the role.
    let (status, settings) = app
        .patch(
            "/instance/organization_settings",
            json!({"creator_role_id": owner_key}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{settings}");
    assert_eq!(settings["creator_role"], owner_key.as_str());
    let (_, default) = app.get("/role_sets/role_set:default").await;
    assert!(keys(&default["roles"]).contains(&owner_key));
    let (status, _) = app
        .patch(
            "/instance/organization_settings",
            json!({"creator_role_id": "org:member"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "members cannot be creators"
    );
}

async fn role_and_permission_events_are_delivered(app: &TestApp) {
    let rx = Receiver::start().await;
    endpoint(
        app,
        json!({ "url": rx.url, "filter_types": [
            "role.created", "role.updated", "role.deleted",
            "permission.created", "permission.updated", "permission.deleted",
        ] }),
    )
    .await;
    let s = key_suffix();
    let p = new_permission(app, &format!("org:docs{s}:read")).await;
    let pid = p["id"].as_str().unwrap();
    app.patch(
        &format!("/organization_permissions/{pid}"),
        json!({"name": "Read docs"}),
    )
    .await;
    let (_, role) = app
        .post(
            "/organization_roles",
            json!({"name": "Writer", "key": format!("org:writer{s}"), "permissions": [pid]}),
        )
        .await;
    let rid = role["id"].as_str().unwrap();
    app.patch(
        &format!("/organization_roles/{rid}"),
        json!({"name": "Author"}),
    )
    .await;
    app.delete(&format!("/organization_permissions/{pid}"))
        .await;
    app.delete(&format!("/organization_roles/{rid}")).await;
    let expected = [
        "permission.created",
        "permission.updated",
        "role.created",
        "role.updated",
        "permission.deleted",
        "role.updated",
        "role.deleted",
    ];
    let got = rx.wait_for(20, |all| all.len() >= expected.len()).await;
    let types: Vec<&str> = got
        .iter()
        .map(|d| d.json["type"].as_str().unwrap())
        .collect();
    let mut sorted = types.clone();
    sorted.sort_unstable();
    let mut want = expected.to_vec();
    want.sort_unstable();
    assert_eq!(sorted, want, "{types:?}");
    let created = got
        .iter()
        .find(|d| d.json["type"] == "role.created")
        .unwrap();
    assert_eq!(created.json["data"]["object"], "role");
    assert_eq!(created.json["data"]["permissions"][0]["id"], pid);
    let deleted = got
        .iter()
        .find(|d| d.json["type"] == "role.deleted")
        .unwrap();
    assert_eq!(
        deleted.json["data"],
        json!({"object": "role", "id": rid, "deleted": true})
    );
}
