//! Email links ("magic links") for sign-in, as clerk-js's
//! `createEmailLinkFlow` drives them: the link is prepared with a
//! `redirect_url`, opened (`GET /v1/verify`) on this or another device, and
//! the waiting sign-in completes; a link works once, and only in the browser
//! that asked for it when the instance says so.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::browser::Browser;
use crate::support::{unique, TestApp};

both_backends!(
    an_expired_link_says_so,
    a_link_signs_in_the_waiting_client,
    same_client_links_refuse_other_browsers,
    a_link_verifies_a_sign_up,
    a_link_verifies_my_new_address,
);

const PASSWORD: &str = "correct horse battery";
// A fragment with a non-ASCII character: the redirect carries it percent-encoded.
const REDIRECT: &str = "http://127.0.0.1:3000/app?tab=1#/verify/é";

async fn enable(app: &TestApp, same_client: bool) {
    let (status, doc) = app
        .patch(
            "/instance/settings",
            json!({"user": {"email_link_enabled": true, "email_link_require_same_client": same_client}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{doc}");
}

/// A user and a browser whose sign-in waits on a link; (browser, sign-in id, email).
async fn waiting_on_a_link(app: &TestApp) -> (Browser<'_>, String, String) {
    let email = format!("{}@example.com", unique("link").to_lowercase());
    let (status, u) = app
        .post(
            "/users",
            json!({"email_address": [email], "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{u}");
    let mut b = Browser::new(app);
    let (_, out) = b.post("/client/sign_ins", &[("identifier", &email)]).await;
    let si = &out["response"];
    let factor = si["supported_first_factors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["strategy"] == "email_link")
        .unwrap_or_else(|| panic!("email_link offered: {si}"))
        .clone();
    let id = si["id"].as_str().unwrap().to_owned();
    let (status, out) = b
        .post(
            &format!("/client/sign_ins/{id}/prepare_first_factor"),
            &[
                ("strategy", "email_link"),
                (
                    "email_address_id",
                    factor["email_address_id"].as_str().unwrap(),
                ),
                ("redirect_url", REDIRECT),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let v = &out["response"]["first_factor_verification"];
    assert_eq!(v["object"], "verification_email_link", "{v}");
    assert_eq!(v["status"], "unverified");
    assert_eq!(v["verified_at_client"], Value::Null);
    (b, id, email)
}

/// The link in the newest email to `email`.
async fn link_for(app: &TestApp, email: &str) -> String {
    let text = app.smtp.message_for(email).await;
    let start = text.find("/v1/verify?token=").expect("a link in the email");
    let begin = text[..start].rfind("http").unwrap();
    text[begin..]
        .split(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .next()
        .unwrap()
        .to_owned()
}

/// Opens `link` in a browser without a client; the redirect's location.
async fn open(link: &str) -> (StatusCode, String) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = http.get(link).send().await.unwrap();
    let status = resp.status();
    let location = resp
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, location)
}

async fn a_link_signs_in_the_waiting_client(app: &TestApp) {
    enable(app, false).await;
    let (mut b, id, email) = waiting_on_a_link(app).await;
    let link = link_for(app, &email).await;
    assert!(link.starts_with(&app.base), "{link}");

    let (status, location) = open(&link).await;
    assert!(status.is_redirection(), "{status}");
    assert!(
        location.starts_with(
            "http://127.0.0.1:3000/app?tab=1&__clerk_status=verified&__clerk_created_session=sess_"
        ),
        "{location}"
    );
    assert!(
        location.ends_with("#/verify/%C3%A9"),
        "the fragment stays last: {location}"
    );

    // The waiting tab's poll sees the sign-in complete, with its session.
    let (_, out) = b.get(&format!("/client/sign_ins/{id}")).await;
    let si = &out["response"];
    assert_eq!(si["status"], "complete", "{si}");
    assert_eq!(si["first_factor_verification"]["status"], "verified");
    assert_eq!(
        si["first_factor_verification"]["verified_at_client"],
        Value::Null,
        "opened in another browser"
    );
    let sid = si["created_session_id"].as_str().unwrap();
    assert!(location.contains(sid));
    assert_eq!(out["client"]["sessions"][0]["id"], sid, "{out}");
    assert_eq!(out["client"]["sessions"][0]["status"], "active");

    // A link works once.
    let (_, location) = open(&link).await;
    assert!(location.contains("__clerk_status=failed"), "{location}");
    // A made-up one has nowhere to return to.
    let (status, _) = open(&format!("{}/v1/verify?token=sia_nope.abc", app.base)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Past its 10 minutes a link verifies nothing and says `expired` (what
/// clerk-js's `handleEmailLinkVerification` reports); the waiting sign-in
/// sees its verification expired and can ask for a new link.
async fn an_expired_link_says_so(app: &TestApp) {
    enable(app, false).await;
    let (mut b, id, email) = waiting_on_a_link(app).await;
    let link = link_for(app, &email).await;
    // Eleven minutes pass.
    let mut tx = app.core().begin().await.unwrap();
    let sid = tessera_domain::ids::SignInId::parse(&id).unwrap();
    let mut sign_in = tessera_store::attempts::get_sign_in(&mut tx, &sid)
        .await
        .unwrap();
    let v = sign_in.first_factor.as_mut().unwrap();
    v.expire_at = v.expire_at.map(|t| t - 11 * 60_000);
    tessera_store::attempts::save_sign_in(&mut tx, &mut sign_in)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let (status, location) = open(&link).await;
    assert!(status.is_redirection(), "{status}");
    assert!(location.contains("__clerk_status=expired"), "{location}");
    assert!(!location.contains("__clerk_created_session"), "{location}");
    let (_, out) = b.get(&format!("/client/sign_ins/{id}")).await;
    let si = &out["response"];
    assert_eq!(si["status"], "needs_first_factor", "{si}");
    assert_eq!(si["first_factor_verification"]["status"], "expired");
    assert_eq!(out["client"]["sessions"], json!([]));
}

async fn same_client_links_refuse_other_browsers(app: &TestApp) {
    enable(app, true).await;
    let (_, env) = Browser::new(app).get("/environment").await;
    assert_eq!(
        env["user_settings"]["attack_protection"]["email_link"]["require_same_client"],
        true
    );
    let (mut b, id, email) = waiting_on_a_link(app).await;
    let link = link_for(app, &email).await;
    let (_, location) = open(&link).await;
    assert!(
        location.contains("__clerk_status=client_mismatch"),
        "{location}"
    );
    assert!(!location.contains("__clerk_created_session"));
    let (_, out) = b.get(&format!("/client/sign_ins/{id}")).await;
    assert_eq!(out["response"]["status"], "needs_first_factor");
    enable(app, false).await;
}

async fn a_link_verifies_a_sign_up(app: &TestApp) {
    enable(app, false).await;
    let (_, env) = Browser::new(app).get("/environment").await;
    assert_eq!(
        env["user_settings"]["attributes"]["email_address"]["verifications"],
        json!(["email_code", "email_link"])
    );
    let email = format!("{}@example.com", unique("signup-link").to_lowercase());
    let mut b = Browser::new(app);
    let (status, out) = b
        .post(
            "/client/sign_ups",
            &[("email_address", &email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let id = out["response"]["id"].as_str().unwrap().to_owned();
    let (status, body) = b
        .post(
            &format!("/client/sign_ups/{id}/prepare_verification"),
            &[("strategy", "email_link")],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a redirect_url is needed: {body}"
    );
    let (status, out) = b
        .post(
            &format!("/client/sign_ups/{id}/prepare_verification"),
            &[("strategy", "email_link"), ("redirect_url", REDIRECT)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let v = &out["response"]["verifications"]["email_address"];
    assert_eq!(v["strategy"], "email_link", "{v}");
    assert_eq!(v["status"], "unverified");

    let link = link_for(app, &email).await;
    let (_, location) = open(&link).await;
    assert!(location.contains("__clerk_status=verified"), "{location}");
    assert!(
        location.contains("__clerk_created_session=sess_"),
        "{location}"
    );
    let (_, out) = b.get(&format!("/client/sign_ups/{id}")).await;
    let su = &out["response"];
    assert_eq!(su["status"], "complete", "{su}");
    assert_eq!(su["verifications"]["email_address"]["status"], "verified");
    assert_eq!(out["client"]["sessions"][0]["status"], "active", "{out}");
    let (_, location) = open(&link).await;
    assert!(
        location.contains("__clerk_status=failed"),
        "used: {location}"
    );
}

/// Adds `address` to the signed-in user and asks for an email link to
/// verify it; the address's id.
async fn add_with_link(me: &mut crate::account::Me<'_>, address: &str) -> String {
    let (status, out) =
        me.b.post(&me.path("/email_addresses"), &[("email_address", address)])
            .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let id = out["response"]["id"].as_str().unwrap().to_owned();
    let (status, out) =
        me.b.post(
            &me.path(&format!("/email_addresses/{id}/prepare_verification")),
            &[("strategy", "email_link"), ("redirect_url", REDIRECT)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["response"]["verification"]["strategy"], "email_link");
    id
}

async fn a_link_verifies_my_new_address(app: &TestApp) {
    enable(app, false).await;
    let mut me = crate::account::signed_in(app).await;
    let address = format!("{}@example.com", unique("me-link").to_lowercase());
    let eid = add_with_link(&mut me, &address).await;
    let link = link_for(app, &address).await;
    let (_, location) = open(&link).await;
    assert!(location.contains("__clerk_status=verified"), "{location}");
    assert!(!location.contains("__clerk_created_session"), "{location}");
    let (_, out) = me.b.get(&me.path(&format!("/email_addresses/{eid}"))).await;
    assert_eq!(
        out["response"]["verification"]["status"], "verified",
        "{out}"
    );

    // Where links must open in the browser that asked, another browser's
    // click verifies nothing.
    enable(app, true).await;
    let other = format!("{}@example.com", unique("me-link").to_lowercase());
    let oid = add_with_link(&mut me, &other).await;
    let link = link_for(app, &other).await;
    let (_, location) = open(&link).await;
    assert!(
        location.contains("__clerk_status=client_mismatch"),
        "{location}"
    );
    let (_, out) = me.b.get(&me.path(&format!("/email_addresses/{oid}"))).await;
    assert_eq!(out["response"]["verification"]["status"], "unverified");
    enable(app, false).await;
}
