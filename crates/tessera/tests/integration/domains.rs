//! Verified domains through the Backend API: create (verified unless told
//! otherwise), lists and filters, enrollment modes, ownership, deletion, the
//! `organizationDomain.*` events; and what an automatically enrolling domain
//! offers a user whose verified address is at it.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::organizations::{new_org, new_user};
use crate::support::{assert_error, assert_id, unique, TestApp};
use crate::webhooks::{endpoint, Receiver};

both_backends!(domains_lifecycle, domain_events_are_delivered);

fn domain_name(label: &str) -> String {
    format!(
        "{}.example.com",
        unique(label)
            .to_lowercase()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "")
    )
}

async fn domains_lifecycle(app: &TestApp) {
    let ada = new_user(app, "Ada").await;
    let org = new_org(app, json!({"name": "Domains", "created_by": ada})).await;
    let id = org["id"].as_str().unwrap().to_owned();
    let name = domain_name("acme");
    let (status, d) = app
        .post(
            &format!("/organizations/{id}/domains"),
            json!({"name": name.to_uppercase(), "enrollment_mode": "automatic_invitation"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{d}");
    assert_id(&d["id"], "orgdmn");
    assert_eq!(d["object"], "organization_domain");
    assert_eq!(d["name"], name.as_str(), "names are lowercased");
    assert_eq!(d["organization_id"], id.as_str());
    assert_eq!(d["enrollment_mode"], "automatic_invitation");
    assert_eq!(d["affiliation_verification"]["status"], "verified");
    assert_eq!(d["verification"]["status"], "verified");
    assert_eq!(d["ownership_verification"], Value::Null);
    assert_eq!(d["total_pending_invitations"], 0);
    assert_eq!(d["public_organization_data"]["id"], id.as_str());
    let did = d["id"].as_str().unwrap().to_owned();

    // Bad names and modes; the same name twice; email providers.
    for (body, param) in [
        (json!({"name": "localhost"}), "name"),
        (json!({"name": "-x.com"}), "name"),
        (
            json!({"name": "ok.example.org", "enrollment_mode": "enterprise_sso"}),
            "enrollment_mode",
        ),
    ] {
        let (status, err) = app
            .post(&format!("/organizations/{id}/domains"), body)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
        assert_eq!(err["errors"][0]["meta"]["param_name"], param, "{err}");
    }
    let (status, err) = app
        .post(
            &format!("/organizations/{id}/domains"),
            json!({"name": name}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&err, "form_identifier_exists");
    let (status, err) = app
        .post(
            &format!("/organizations/{id}/domains"),
            json!({"name": "gmail.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&err, "organization_domain_common");

    // An unverified one; lists and filters.
    let other = domain_name("beta");
    let (_, unverified) = app
        .post(
            &format!("/organizations/{id}/domains"),
            json!({"name": other, "verified": false}),
        )
        .await;
    assert_eq!(unverified["affiliation_verification"], Value::Null);
    assert_eq!(unverified["enrollment_mode"], "manual_invitation");
    let (status, err) = app
        .patch(
            &format!(
                "/organizations/{id}/domains/{}",
                unverified["id"].as_str().unwrap()
            ),
            json!({"enrollment_mode": "automatic_suggestion"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_error(&err, "organization_domain_not_verified");
    let (_, list) = app.get(&format!("/organizations/{id}/domains")).await;
    assert_eq!(list["total_count"], 2);
    let (_, list) = app
        .get(&format!("/organizations/{id}/domains?verified=true"))
        .await;
    assert_eq!(list["total_count"], 1);
    assert_eq!(list["data"][0]["name"], name.as_str());
    let (_, list) = app
        .get(&format!(
            "/organizations/{id}/domains?enrollment_mode=-automatic_invitation"
        ))
        .await;
    assert_eq!(list["data"][0]["name"], other.as_str());
    let (_, all) = app
        .get(&format!(
            "/organization_domains?domains={name}&domains={other}&order_by=name"
        ))
        .await;
    assert_eq!(all["total_count"], 2, "{all}");
    assert_eq!(all["data"][0]["name"], name.as_str());
    let (_, all) = app.get(&format!("/organization_domains?query={id}")).await;
    assert_eq!(all["total_count"], 2);
    let (status, _) = app.get("/organization_domains?query=%20").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // A user with a verified address at the domain is invited, once.
    let (status, bob) = app
        .post(
            "/users",
            json!({"email_address": [format!("bob@{name}")], "skip_password_requirement": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{bob}");
    let bob_id = bob["id"].as_str().unwrap();
    let fapi_list = app
        .get(&format!(
            "/users/{bob_id}/organization_invitations?status=pending"
        ))
        .await
        .1;
    // The Backend API's lists do not make offers; the user's own do (see the
    // Frontend API tests). Ownership and mode changes:
    assert_eq!(fapi_list["total_count"], 0, "{fapi_list}");
    let (status, owned) = app
        .post(
            &format!("/organizations/{id}/domains/{did}/verify_ownership"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{owned}");
    assert_eq!(owned["ownership_verification"]["status"], "verified");
    assert_eq!(
        owned["ownership_verification"]["strategy"],
        "manual_override"
    );
    let (_, again) = app
        .post(
            &format!("/organizations/{id}/domains/{did}/verify_ownership"),
            json!({}),
        )
        .await;
    assert_eq!(
        again["ownership_verification"]["verified_at"],
        owned["ownership_verification"]["verified_at"],
        "idempotent"
    );
    let (status, changed) = app
        .patch(
            &format!("/organizations/{id}/domains/{did}"),
            json!({"enrollment_mode": "automatic_suggestion"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["enrollment_mode"], "automatic_suggestion");
    let (status, gone) = app
        .delete(&format!("/organizations/{id}/domains/{did}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(gone["deleted"], true);
    let (status, _) = app
        .delete(&format!("/organizations/{id}/domains/{did}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn domain_events_are_delivered(app: &TestApp) {
    let rx = Receiver::start().await;
    endpoint(
        app,
        json!({ "url": rx.url, "filter_types": [
            "organizationDomain.created", "organizationDomain.updated", "organizationDomain.deleted",
        ] }),
    )
    .await;
    let ada = new_user(app, "Ada").await;
    let org = new_org(app, json!({"name": "Events", "created_by": ada})).await;
    let id = org["id"].as_str().unwrap();
    let (_, d) = app
        .post(
            &format!("/organizations/{id}/domains"),
            json!({"name": domain_name("ev")}),
        )
        .await;
    let did = d["id"].as_str().unwrap();
    app.patch(
        &format!("/organizations/{id}/domains/{did}"),
        json!({"enrollment_mode": "automatic_invitation"}),
    )
    .await;
    app.delete(&format!("/organizations/{id}/domains/{did}"))
        .await;
    let got = rx.wait_for(20, |all| all.len() >= 3).await;
    let of = |t: &str| {
        got.iter()
            .find(|d| d.json["type"] == t)
            .unwrap_or_else(|| panic!("no {t}"))
            .json["data"]
            .clone()
    };
    assert_eq!(got.len(), 3);
    assert_eq!(of("organizationDomain.created")["id"], did);
    assert_eq!(
        of("organizationDomain.updated")["enrollment_mode"],
        "automatic_invitation"
    );
    assert_eq!(of("organizationDomain.deleted")["deleted"], true);
}
