//! The Frontend API's organizations as clerk-js uses them: a signed-in user
//! creates one and becomes its admin, switches to it (touch and tokens), the
//! role policy decides what each member may do, and the `/v1/me` lists.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::browser::Browser;
use crate::support::{assert_error, claims_of, unique, TestApp};

both_backends!(
    members_create_switch_and_manage,
    organizations_off_refuse_creation,
    invitations_by_email_join_by_ticket_or_acceptance,
    custom_roles_decide_what_members_may_do,
    verified_domains_invite_and_suggest,
    forced_selection_is_the_choose_organization_task,
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

fn ticket_in(message: &str) -> String {
    let start = message.find("__clerk_ticket=").expect("a ticket link") + "__clerk_ticket=".len();
    message[start..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect()
}

async fn invitations_by_email_join_by_ticket_or_acceptance(app: &TestApp) {
    enable_organizations(app).await;
    let (ada, ada_email) = user(app, "Ada").await;
    let (_, bob_email) = user(app, "Bob").await;
    let (mut a, _) = signed_in(app, &ada_email).await;
    let (_, out) = a.post("/organizations", &[("name", "Invites")]).await;
    let id = out["response"]["id"].as_str().unwrap().to_owned();

    // Ada invites Bob (who has an account) and Cy (who has none) from clerk-js.
    let cy_email = format!("{}@example.com", unique("cy").to_lowercase());
    let (status, bulk) = a
        .post(
            &format!("/organizations/{id}/invitations/bulk"),
            &[
                ("email_address", &bob_email),
                ("email_address", &cy_email),
                ("role", "org:member"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{bulk}");
    let sent = bulk["response"].as_array().unwrap();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0]["status"], "pending");
    assert_eq!(sent[0]["inviter_id"], ada.as_str());
    assert_eq!(sent[0]["public_inviter_data"]["user_id"], ada.as_str());
    assert!(sent[0]["public_inviter_data"]["identifier"]
        .as_str()
        .is_some_and(|e| e.contains('@')));
    assert!(sent[0].get("private_metadata").is_none());
    let (_, org) = app.get(&format!("/organizations/{id}")).await;
    assert_eq!(org["pending_invitations_count"], 2);
    let (status, body) = a
        .post(
            &format!("/organizations/{id}/invitations"),
            &[("email_address", &cy_email), ("role", "org:member")],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "one pending invitation per address: {body}"
    );

    // Cy signs up through the emailed link's ticket: no code, and joins.
    let mail = app.smtp.message_for(&cy_email).await;
    assert!(mail.contains("__clerk_status=sign_up"), "{mail}");
    let ticket = ticket_in(&mail);
    assert_eq!(ticket.len(), 64, "{mail}");
    let mut c = Browser::new(app);
    let (status, su) = c
        .post(
            "/client/sign_ups",
            &[("strategy", "ticket"), ("ticket", &ticket)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{su}");
    assert_eq!(su["response"]["email_address"], cy_email.as_str());
    assert_eq!(su["response"]["status"], "missing_requirements");
    assert_eq!(su["response"]["unverified_fields"], json!([]), "{su}");
    let su_id = su["response"]["id"].as_str().unwrap().to_owned();
    let (status, done) = c
        .patch(
            &format!("/client/sign_ups/{su_id}"),
            &[("password", PASSWORD)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["response"]["status"], "complete", "{done}");
    let joined = memberships_in_client(&done);
    assert_eq!(joined[0]["organization"]["id"], id.as_str(), "{done}");
    assert_eq!(joined[0]["role"], "org:member");
    // The ticket is single use.
    let (status, body) = Browser::new(app)
        .post(
            "/client/sign_ups",
            &[("strategy", "ticket"), ("ticket", &ticket)],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "ticket_invalid");

    // Bob sees his invitation and accepts it.
    let mail = app.smtp.message_for(&bob_email).await;
    assert!(mail.contains("__clerk_status=sign_in"), "{mail}");
    let (mut b, _) = signed_in(app, &bob_email).await;
    let (status, mine) = b
        .get("/me/organization_invitations?status=pending&limit=10&offset=0")
        .await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["response"]["total_count"], 1);
    let inv = &mine["response"]["data"][0];
    assert_eq!(inv["public_organization_data"]["name"], "Invites");
    let inv_id = inv["id"].as_str().unwrap().to_owned();
    let (status, accepted) = b
        .post(
            &format!("/me/organization_invitations/{inv_id}/accept"),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    assert_eq!(accepted["response"]["status"], "accepted");
    assert_eq!(
        memberships_in_client(&accepted)[0]["organization"]["id"],
        id.as_str()
    );

    // Eve has an account: the ticket of her link signs her in, and she joins.
    let (eve, eve_email) = user(app, "Eve").await;
    let (status, _) = app
        .post(
            &format!("/organizations/{id}/invitations"),
            json!({"email_address": eve_email, "role": "org:member"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let mail = app.smtp.message_for(&eve_email).await;
    assert!(mail.contains("/sign-in?__clerk_ticket="), "{mail}");
    let mut e = Browser::new(app);
    let (status, si) = e
        .post(
            "/client/sign_ins",
            &[("strategy", "ticket"), ("ticket", &ticket_in(&mail))],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{si}");
    assert_eq!(si["response"]["status"], "complete", "{si}");
    assert_eq!(si["client"]["sessions"][0]["user"]["id"], eve.as_str());
    assert_eq!(
        memberships_in_client(&si)[0]["organization"]["id"],
        id.as_str()
    );

    // The Backend API sees the invitations and revokes one.
    let (_, all) = app
        .get(&format!("/organizations/{id}/invitations?status=accepted"))
        .await;
    assert_eq!(all["total_count"], 3, "{all}");
    let dan_email = format!("{}@example.com", unique("dan").to_lowercase());
    let (status, inv) = app
        .post(
            &format!("/organizations/{id}/invitations"),
            json!({"email_address": dan_email, "role": "org:admin", "inviter_user_id": ada,
                   "public_metadata": {"team": "x"}, "redirect_url": "http://localhost:3000/join"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{inv}");
    assert_eq!(inv["object"], "organization_invitation");
    assert_eq!(inv["url"], "http://localhost:3000/join");
    assert_eq!(inv["public_inviter_data"]["user_id"], ada.as_str());
    let mail = app.smtp.message_for(&dan_email).await;
    assert!(
        mail.contains("http://localhost:3000/join?__clerk_ticket="),
        "{mail}"
    );
    let inv_id = inv["id"].as_str().unwrap();
    let (status, revoked) = app
        .post(
            &format!("/organizations/{id}/invitations/{inv_id}/revoke"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert_eq!(revoked["status"], "revoked");
    let (status, body) = app
        .post(
            &format!("/organizations/{id}/invitations/{inv_id}/revoke"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_error(&body, "organization_invitation_not_pending");
    let (_, every) = app.get("/organization_invitations?status=revoked").await;
    assert!(every["total_count"].as_i64().unwrap() >= 1);
}

/// The id of a permission, by key (Backend API).
async fn permission_id(app: &TestApp, key: &str) -> Value {
    let (_, found) = app
        .get(&format!("/organization_permissions?query={key}"))
        .await;
    found["data"][0]["id"].clone()
}

async fn custom_roles_decide_what_members_may_do(app: &TestApp) {
    enable_organizations(app).await;
    let read = permission_id(app, "org:sys_memberships:read").await;
    let manage = permission_id(app, "org:sys_memberships:manage").await;
    for (key, perms) in [
        ("org:moderator", json!([read, manage])),
        ("org:guest", json!([])),
    ] {
        let (status, role) = app
            .post(
                "/organization_roles",
                json!({"name": key, "key": key, "permissions": perms,
                       "include_in_initial_role_set": true}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{role}");
    }
    let (_, ada_email) = user(app, "Ada").await;
    let (bob, bob_email) = user(app, "Bob").await;
    let (carol, carol_email) = user(app, "Carol").await;
    let (mut a, _) = signed_in(app, &ada_email).await;
    let (_, out) = a.post("/organizations", &[("name", "Forum")]).await;
    let id = out["response"]["id"].as_str().unwrap().to_owned();
    for (who, role) in [(&bob, "org:moderator"), (&carol, "org:guest")] {
        let (status, m) = a
            .post(
                &format!("/organizations/{id}/memberships"),
                &[("user_id", who.as_str()), ("role", role)],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{m}");
    }
    // The roles clerk-js offers are the organization's set's.
    let (_, roles) = a.get(&format!("/organizations/{id}/roles")).await;
    let listed: Vec<&str> = roles["response"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        ["org:admin", "org:member", "org:moderator", "org:guest"]
    );

    // A guest (no permissions) cannot even list the members.
    let (mut c, _) = signed_in(app, &carol_email).await;
    let (status, body) = c.get(&format!("/organizations/{id}/memberships")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // A moderator manages members but not the organization's profile.
    let (mut b, _) = signed_in(app, &bob_email).await;
    let (status, body) = b
        .patch(&format!("/organizations/{id}"), &[("name", "Mine")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_error(&body, "authorization_invalid");
    let (status, body) = b
        .delete(&format!("/organizations/{id}/memberships/{carol}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Its permissions are on the client's membership, as clerk-js reads them.
    let (_, client) = b.get("/client").await;
    let perms =
        &client["response"]["sessions"][0]["user"]["organization_memberships"][0]["permissions"];
    assert_eq!(
        perms,
        &json!(["org:sys_memberships:manage", "org:sys_memberships:read"])
    );
}

/// A user with a password and a verified address at `domain`.
async fn user_at(app: &TestApp, local: &str, domain: &str) -> (String, String) {
    let email = format!("{local}@{domain}");
    let (status, u) = app
        .post(
            "/users",
            json!({"email_address": [email], "password": PASSWORD, "first_name": local}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{u}");
    (u["id"].as_str().unwrap().to_owned(), email)
}

async fn verified_domains_invite_and_suggest(app: &TestApp) {
    let (status, _) = app
        .patch(
            "/instance/organization_settings",
            json!({"enabled": true, "domains_enabled": false,
                   "domains_enrollment_modes": ["automatic_invitation", "automatic_suggestion"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let domain = format!(
        "{}.example.com",
        unique("corp")
            .to_lowercase()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "")
    );
    let (_, ada_email) = user(app, "Ada").await;
    let (mut a, _) = signed_in(app, &ada_email).await;
    let (_, out) = a.post("/organizations", &[("name", "Corp")]).await;
    let id = out["response"]["id"].as_str().unwrap().to_owned();
    let domains = format!("/organizations/{id}/domains");

    // Off: the list is empty (the profile asks anyway), adding is refused.
    let (status, list) = a.get(&domains).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["response"]["total_count"], 0);
    let (status, body) = a.post(&domains, &[("name", &domain)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_error(&body, "organization_domains_not_enabled");
    app.patch(
        "/instance/organization_settings",
        json!({"domains_enabled": true}),
    )
    .await;

    // Added unverified; verified by a code sent to an address at it.
    let (status, d) = a.post(&domains, &[("name", &domain)]).await;
    assert_eq!(status, StatusCode::OK, "{d}");
    let d = &d["response"];
    assert_eq!(d["verification"], Value::Null);
    let did = d["id"].as_str().unwrap().to_owned();
    let (status, body) = a
        .post(
            &format!("{domains}/{did}/update_enrollment_mode"),
            &[("enrollment_mode", "automatic_invitation")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = a
        .post(
            &format!("{domains}/{did}/prepare_affiliation_verification"),
            &[("affiliation_email_address", "ada@elsewhere.example.org")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // clerk-js's resend sends the local part alone.
    let (status, prepared) = a
        .post(
            &format!("{domains}/{did}/prepare_affiliation_verification"),
            &[("affiliation_email_address", "it")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{prepared}");
    let admin_address = format!("it@{domain}");
    assert_eq!(
        prepared["response"]["affiliation_email_address"],
        admin_address.as_str()
    );
    assert_eq!(prepared["response"]["verification"]["status"], "unverified");
    assert!(prepared["response"]["verification"]["expires_at"].is_i64());
    let code = app.smtp.code_for(&admin_address).await;
    let (status, body) = a
        .post(
            &format!("{domains}/{did}/attempt_affiliation_verification"),
            &[("code", "000000")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["meta"]["param_name"], "code");
    let (status, verified) = a
        .post(
            &format!("{domains}/{did}/attempt_affiliation_verification"),
            &[("code", &code)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{verified}");
    assert_eq!(verified["response"]["verification"]["status"], "verified");

    // Automatic invitations: a user at the domain finds one in their list.
    let (status, _) = a
        .post(
            &format!("{domains}/{did}/update_enrollment_mode"),
            &[
                ("enrollment_mode", "automatic_invitation"),
                ("delete_pending", "false"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, bob_email) = user_at(app, "bob", &domain).await;
    let (mut b, _) = signed_in(app, &bob_email).await;
    let (_, mine) = b
        .get("/me/organization_invitations?status=pending&limit=10&offset=0")
        .await;
    assert_eq!(mine["response"]["total_count"], 1, "{mine}");
    let invitation = &mine["response"]["data"][0];
    assert_eq!(invitation["public_organization_data"]["id"], id.as_str());
    assert_eq!(invitation["role"], "org:member");
    let (_, again) = b.get("/me/organization_invitations").await;
    assert_eq!(again["response"]["total_count"], 1, "made once");
    let (status, _) = b
        .post(
            &format!(
                "/me/organization_invitations/{}/accept",
                invitation["id"].as_str().unwrap()
            ),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, d) = a.get(&format!("{domains}/{did}")).await;
    assert_eq!(d["response"]["total_pending_invitations"], 0);

    // Automatic suggestions: accepted, they become a request the admin answers.
    a.post(
        &format!("{domains}/{did}/update_enrollment_mode"),
        &[("enrollment_mode", "automatic_suggestion")],
    )
    .await;
    let (cy, cy_email) = user_at(app, "cy", &domain).await;
    let (mut c, _) = signed_in(app, &cy_email).await;
    let (_, suggestions) = c
        .get("/me/organization_suggestions?status=pending&status=accepted&limit=10&offset=0")
        .await;
    assert_eq!(suggestions["response"]["total_count"], 1, "{suggestions}");
    let s = &suggestions["response"]["data"][0];
    assert_eq!(s["object"], "organization_suggestion");
    assert_eq!(s["status"], "pending");
    assert_eq!(s["public_organization_data"]["name"], "Corp");
    let (_, invitations) = c.get("/me/organization_invitations").await;
    assert_eq!(invitations["response"]["total_count"], 0);
    let (status, accepted) = c
        .post(
            &format!(
                "/me/organization_suggestions/{}/accept",
                s["id"].as_str().unwrap()
            ),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    assert_eq!(accepted["response"]["status"], "accepted");
    assert!(accepted["response"]["public_organization_data"].is_object());
    let (_, d) = a.get(&format!("{domains}/{did}")).await;
    assert_eq!(d["response"]["total_pending_suggestions"], 0);

    let requests = format!("/organizations/{id}/membership_requests");
    let (status, pending) = a
        .get(&format!("{requests}?status=pending&limit=10&offset=0"))
        .await;
    assert_eq!(status, StatusCode::OK, "{pending}");
    assert_eq!(pending["response"]["total_count"], 1);
    let r = &pending["response"]["data"][0];
    assert_eq!(r["object"], "organization_membership_request");
    assert_eq!(r["public_user_data"]["identifier"], cy_email.as_str());
    let rid = r["id"].as_str().unwrap().to_owned();
    // Bob, a member, cannot answer it.
    let (status, _) = b.post(&format!("{requests}/{rid}/accept"), &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, done) = a.post(&format!("{requests}/{rid}/accept"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["response"]["status"], "accepted");
    let (status, body) = a.post(&format!("{requests}/{rid}/reject"), &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (_, members) = app
        .get(&format!("/organizations/{id}/memberships?user_id={cy}"))
        .await;
    assert_eq!(members["data"][0]["role"], "org:member", "{members}");
    let (_, left) = c
        .get("/me/organization_suggestions?status=pending&status=accepted")
        .await;
    assert_eq!(left["response"]["total_count"], 0, "joined: {left}");

    // Removing the domain ends its pending offers.
    let (status, gone) = a.delete(&format!("{domains}/{did}")).await;
    assert_eq!(status, StatusCode::OK, "{gone}");
    assert_eq!(gone["response"]["deleted"], true);
}

/// The session's status and tasks in a client answer.
fn session_state(out: &Value) -> (Value, Value) {
    let s = &out["client"]["sessions"][0];
    (s["status"].clone(), s["tasks"].clone())
}

async fn token_claims(b: &mut Browser<'_>, sid: &str) -> Value {
    let (status, t) = b.post(&format!("/client/sessions/{sid}/tokens"), &[]).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a pending session mints tokens: {t}"
    );
    claims_of(t["jwt"].as_str().unwrap())
}

async fn forced_selection_is_the_choose_organization_task(app: &TestApp) {
    let (status, o) = app
        .patch(
            "/instance/organization_settings",
            json!({"enabled": true, "force_organization_selection": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{o}");
    assert_eq!(o["force_organization_selection"], true);
    let (_, ada_email) = user(app, "Ada").await;
    let (bob, bob_email) = user(app, "Bob").await;
    let (mut a, a_sid) = signed_in(app, &ada_email).await;
    let (_, env) = a.get("/environment").await;
    assert_eq!(
        env["organization_settings"]["force_organization_selection"], true,
        "{env}"
    );

    // Signed in without an organization: pending, with the task, everywhere.
    let (_, out) = a.get("/client").await;
    let pending = (json!("pending"), json!([{"key": "choose-organization"}]));
    assert_eq!(session_state(&json!({"client": out["response"]})), pending);
    assert_eq!(token_claims(&mut a, &a_sid).await["sts"], "pending");
    let (_, s) = app.get(&format!("/sessions/{a_sid}")).await;
    assert_eq!((s["status"].clone(), s["tasks"].clone()), pending, "{s}");

    // Creating an organization and choosing it resolves the task.
    let (status, out) = a.post("/organizations", &[("name", "Acme")]).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(
        session_state(&out),
        pending,
        "creating alone chooses nothing"
    );
    let org = out["response"]["id"].as_str().unwrap().to_owned();
    let (status, out) = a
        .post(
            &format!("/client/sessions/{a_sid}/touch"),
            &[("active_organization_id", &org)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["response"]["status"], "active");
    assert_eq!(out["response"]["tasks"], Value::Null);
    assert_eq!(session_state(&out), (json!("active"), Value::Null));
    let claims = token_claims(&mut a, &a_sid).await;
    assert_eq!(claims["sts"], "active");
    assert_eq!(claims["o"]["id"], org.as_str());
    let (_, s) = app.get(&format!("/sessions/{a_sid}")).await;
    assert_eq!(s["status"], "active", "{s}");

    // A member removed from the session's organization has to choose again.
    let (status, _) = app
        .post(
            &format!("/organizations/{org}/memberships"),
            json!({"user_id": bob, "role": "org:member"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (mut b, b_sid) = signed_in(app, &bob_email).await;
    let (status, out) = b
        .post(
            &format!("/client/sessions/{b_sid}/touch"),
            &[("active_organization_id", &org)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["response"]["status"], "active");
    let (status, _) = app
        .delete(&format!("/organizations/{org}/memberships/{bob}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, out) = b.get("/client").await;
    let s = &out["response"]["sessions"][0];
    assert_eq!(s["last_active_organization_id"], Value::Null, "{s}");
    assert_eq!((s["status"].clone(), s["tasks"].clone()), pending);
    assert_eq!(token_claims(&mut b, &b_sid).await["sts"], "pending");

    // Turning the setting off leaves nothing to do.
    let (status, _) = app
        .patch(
            "/instance/organization_settings",
            json!({"force_organization_selection": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, out) = b.get("/client").await;
    let s = &out["response"]["sessions"][0];
    assert_eq!(
        (s["status"].clone(), s["tasks"].clone()),
        (json!("active"), Value::Null)
    );
    assert_eq!(token_claims(&mut b, &b_sid).await["sts"], "active");
}
