//! The signed-in user's own account through the Frontend API (`/v1/me…`), as
//! clerk-js's `User` and `PhoneNumber` resources call it; SMS codes are read from
//! the test's SMS webhook sink.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::browser::Browser;
use crate::support::{assert_error, assert_id, first_email, TestApp};

both_backends!(
    my_phone_numbers,
    phone_numbers_follow_the_settings,
    phone_codes_are_limited,
    test_phone_numbers_only_in_development,
    new_password_must_differ_from_the_current_one,
);

/// A random US number outside Clerk's test range (`555-01XX`).
pub fn random_phone() -> String {
    let r = rand::random::<u32>();
    format!("+1415{}{:06}", 2 + r % 7, (r / 7) % 1_000_000)
}

/// A signed-in browser and its session, calling `/v1/me…` as clerk-js does.
pub struct Me<'a> {
    pub b: Browser<'a>,
    pub sid: String,
}

impl Me<'_> {
    /// `/me<p>?_clerk_session_id=…`
    pub fn path(&self, p: &str) -> String {
        format!("/me{p}?_clerk_session_id={}", self.sid)
    }

    /// `User.createPhoneNumber`.
    pub async fn add_phone(&mut self, phone: &str) -> (StatusCode, Value) {
        let path = self.path("/phone_numbers");
        self.b.post(&path, &[("phone_number", phone)]).await
    }

    /// Adds a phone number that must be accepted; returns its id.
    pub async fn added_phone(&mut self, phone: &str) -> String {
        let (status, out) = self.add_phone(phone).await;
        assert_eq!(status, StatusCode::OK, "{out}");
        out["response"]["id"].as_str().unwrap().to_owned()
    }

    /// `PhoneNumber.prepareVerification({strategy})`.
    pub async fn prepare(&mut self, pid: &str, strategy: &str) -> (StatusCode, Value) {
        let path = self.path(&format!("/phone_numbers/{pid}/prepare_verification"));
        self.b.post(&path, &[("strategy", strategy)]).await
    }

    /// `PhoneNumber.attemptVerification({code})`.
    pub async fn attempt(&mut self, pid: &str, code: &str) -> (StatusCode, Value) {
        let path = self.path(&format!("/phone_numbers/{pid}/attempt_verification"));
        self.b.post(&path, &[("code", code)]).await
    }

    /// `PATCH /me/phone_numbers/{id}` with one field.
    pub async fn patch_phone(
        &mut self,
        pid: &str,
        field: &str,
        value: &str,
    ) -> (StatusCode, Value) {
        let path = self.path(&format!("/phone_numbers/{pid}"));
        self.b.patch(&path, &[(field, value)]).await
    }
}

async fn enable_phone_numbers(app: &TestApp) {
    app.core()
        .settings()
        .update_settings(|s| {
            s.user.phone_number.enabled = true;
            s.user.phone_number.used_for_first_factor = true;
            s.user.phone_number.used_for_second_factor = true;
            Ok(())
        })
        .await
        .unwrap();
}

/// A browser signed in as a new user (email + password).
pub async fn signed_in(app: &TestApp) -> Me<'_> {
    signed_in_from(app, None).await
}

async fn my_phone_numbers(app: &TestApp) {
    enable_phone_numbers(app).await;
    let mut me = signed_in(app).await;
    let phone = random_phone();

    // User.createPhoneNumber posts to the collection with a trailing slash.
    let path = me.path("/phone_numbers/");
    let (status, out) = me.b.post(&path, &[("phone_number", &phone)]).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let created = &out["response"];
    assert_id(&created["id"], "idn");
    assert_eq!(created["object"], "phone_number");
    assert_eq!(created["phone_number"], phone.as_str());
    assert_eq!(created["reserved_for_second_factor"], false);
    assert!(created["verification"].is_null(), "{created}");
    let pid = created["id"].as_str().unwrap().to_owned();
    assert_eq!(
        out["client"]["sessions"][0]["user"]["phone_numbers"][0]["id"],
        pid.as_str(),
        "the client carries the new number"
    );

    for (value, code) in [
        (phone.as_str(), "form_identifier_exists"),
        ("not a phone", "form_param_format_invalid"),
        ("", "form_param_missing"),
    ] {
        let (status, body) = me.add_phone(value).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{value}");
        assert_error(&body, code);
        assert_eq!(body["errors"][0]["meta"]["param_name"], "phone_number");
    }

    let (status, list) = me.b.get(&me.path("/phone_numbers")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        list.as_array().map(Vec::len),
        Some(1),
        "a bare array: {list}"
    );
    let (status, one) = me.b.get(&me.path(&format!("/phone_numbers/{pid}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["response"]["id"], pid.as_str());

    // PhoneNumber.prepareVerification({strategy: 'phone_code'}) sends an SMS.
    let (status, body) = me.prepare(&pid, "email_code").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["meta"]["param_name"], "strategy");
    let (status, out) = me.prepare(&pid, "phone_code").await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let verification = &out["response"]["verification"];
    assert_eq!(verification["strategy"], "phone_code");
    assert_eq!(verification["status"], "unverified");
    assert_eq!(verification["attempts"], 0);
    assert!(verification["expire_at"].as_i64().unwrap() > 0);
    let code = app.sms.code_for(&phone).await;

    let (status, body) = me.attempt(&pid, wrong(&code)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_code_incorrect");
    assert_eq!(body["errors"][0]["meta"]["param_name"], "code");
    let (status, out) = me.attempt(&pid, &code).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["response"]["verification"]["status"], "verified");
    assert_eq!(out["response"]["verification"]["strategy"], "phone_code");
    assert_eq!(
        out["client"]["sessions"][0]["user"]["primary_phone_number_id"],
        pid.as_str(),
        "the first verified number becomes primary"
    );
    let (status, body) = me.prepare(&pid, "phone_code").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, "verification_already_verified");

    // setReservedForSecondFactor({reserved: true}).
    let (status, out) = me
        .patch_phone(&pid, "reserved_for_second_factor", "true")
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["response"]["reserved_for_second_factor"], true);
    assert_eq!(out["response"]["default_second_factor"], true);

    // A second number, verified, made primary through user.update.
    let second = random_phone();
    let pid2 = me.added_phone(&second).await;
    let path = me.path("");
    let (status, body) =
        me.b.patch(&path, &[("primary_phone_number_id", pid2.as_str())])
            .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unverified: {body}"
    );
    let (status, body) = me
        .patch_phone(&pid2, "reserved_for_second_factor", "true")
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unverified: {body}"
    );
    me.prepare(&pid2, "phone_code").await;
    let code = app.sms.code_for(&second).await;
    assert_eq!(me.attempt(&pid2, &code).await.0, StatusCode::OK);
    let (status, out) =
        me.b.patch(&path, &[("primary_phone_number_id", pid2.as_str())])
            .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["response"]["primary_phone_number_id"], pid2.as_str());

    // makeDefaultSecondFactor: only for a reserved number, one default at a time.
    let (status, body) = me.patch_phone(&pid2, "default_second_factor", "true").await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not reserved: {body}"
    );
    assert_eq!(
        body["errors"][0]["meta"]["param_name"],
        "default_second_factor"
    );
    me.patch_phone(&pid2, "reserved_for_second_factor", "true")
        .await;
    let (status, out) = me.patch_phone(&pid2, "default_second_factor", "true").await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let (_, list) = me.b.get(&me.path("/phone_numbers")).await;
    let default_of = |id: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .unwrap()["default_second_factor"]
            .clone()
    };
    assert_eq!(default_of(&pid2), true);
    assert_eq!(default_of(&pid), false);

    // Someone else's number is taken, and their ids are not mine.
    let other = random_phone();
    let stranger = app.user(json!({"phone_number": [other]})).await;
    let (status, body) = me.add_phone(&other).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_identifier_exists");
    let theirs = me.path(&format!(
        "/phone_numbers/{}",
        stranger["phone_numbers"][0]["id"].as_str().unwrap()
    ));
    assert_eq!(me.b.get(&theirs).await.0, StatusCode::NOT_FOUND);
    assert_eq!(me.b.delete(&theirs).await.0, StatusCode::NOT_FOUND);

    // PhoneNumber.destroy: the primary role falls back to the other verified number.
    let path = me.path(&format!("/phone_numbers/{pid2}"));
    let (status, out) = me.b.delete(&path).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(
        out["response"],
        json!({"object": "phone_number", "id": pid2, "deleted": true})
    );
    let user = &out["client"]["sessions"][0]["user"];
    assert_eq!(user["primary_phone_number_id"], pid.as_str());
    assert_eq!(user["phone_numbers"].as_array().unwrap().len(), 1);
    assert_eq!(me.b.get(&path).await.0, StatusCode::NOT_FOUND);
}

/// A 6-digit code that is not `code`.
fn wrong(code: &str) -> &'static str {
    if code == "000000" {
        "111111"
    } else {
        "000000"
    }
}

async fn phone_numbers_follow_the_settings(app: &TestApp) {
    // Phone numbers are off in the default settings.
    let mut me = signed_in(app).await;
    let (status, body) = me.add_phone(&random_phone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "form_param_unknown");
    assert_eq!(body["errors"][0]["meta"]["param_name"], "phone_number");

    // A number added while they were on gets no more codes once they are off.
    enable_phone_numbers(app).await;
    let pid = me.added_phone(&random_phone()).await;
    app.core()
        .settings()
        .update_settings(|s| {
            s.user.phone_number.enabled = false;
            Ok(())
        })
        .await
        .unwrap();
    let sent = app.sms.count();
    let (status, body) = me.prepare(&pid, "phone_code").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "form_param_unknown");
    assert_eq!(app.sms.count(), sent, "no SMS");
    // It can still be removed.
    let path = me.path(&format!("/phone_numbers/{pid}"));
    assert_eq!(me.b.delete(&path).await.0, StatusCode::OK);
}

async fn phone_codes_are_limited(app: &TestApp) {
    enable_phone_numbers(app).await;
    let mut me = signed_in(app).await;
    let phone = random_phone();
    let pid = me.added_phone(&phone).await;
    crate::support::inside_one_window(10 * 60_000).await;

    // Five wrong codes fail the verification; then even the right one is refused.
    me.prepare(&pid, "phone_code").await;
    let code = app.sms.code_for(&phone).await;
    for n in 1..=5 {
        let (status, body) = me.attempt(&pid, wrong(&code)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let expected = if n < 5 {
            "form_code_incorrect"
        } else {
            "verification_failed"
        };
        assert_error(&body, expected);
    }
    let (status, body) = me.attempt(&pid, &code).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "verification_failed");
    let (_, one) = me.b.get(&me.path(&format!("/phone_numbers/{pid}"))).await;
    assert_eq!(one["response"]["verification"]["status"], "failed");
    assert_eq!(one["response"]["verification"]["attempts"], 5);

    // Codes per number: 5 per 10 minutes (one was sent above).
    for _ in 0..4 {
        let (status, body) = me.prepare(&pid, "phone_code").await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, body) = me.prepare(&pid, "phone_code").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_error(&body, "too_many_requests");
    assert!(me.b.last_retry_after.is_some());
}

async fn test_phone_numbers_only_in_development(app: &TestApp) {
    enable_phone_numbers(app).await;
    let test_phone = format!("+1201555{:04}", 100 + rand::random::<u32>() % 100);
    let mut me = signed_in(app).await;
    let pid = me.added_phone(&test_phone).await;
    let sent = app.sms.count();
    assert_eq!(me.prepare(&pid, "phone_code").await.0, StatusCode::OK);
    let (status, out) = me.attempt(&pid, "424242").await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["response"]["verification"]["status"], "verified");
    assert_eq!(app.sms.count(), sent, "test numbers get no SMS");

    // A production instance texts the same number and refuses 424242.
    let prod = TestApp::start_with(
        crate::support::Backend::Sqlite,
        tessera_domain::settings::EnvironmentType::Production,
    )
    .await
    .unwrap();
    enable_phone_numbers(&prod).await;
    let mut me = signed_in_from(&prod, Some(prod.base.clone())).await;
    let pid = me.added_phone(&test_phone).await;
    me.prepare(&pid, "phone_code").await;
    let real = prod.sms.code_for(&test_phone).await;
    let (status, body) = me.attempt(&pid, "424242").await;
    if real != "424242" {
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_error(&body, "form_code_incorrect");
    }
    drop(me);
    prod.stop().await;
}

async fn new_password_must_differ_from_the_current_one(app: &TestApp) {
    let mut me = signed_in(app).await;
    let path = me.path("/change_password");
    let change = |new: &'static str| {
        [
            ("current_password", "correct horse battery"),
            ("new_password", new),
        ]
    };
    let (status, body) = me.b.post(&path, &change("correct horse battery")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "form_new_password_matches_current");
    assert_eq!(body["errors"][0]["meta"]["param_name"], "new_password");
    assert_eq!(
        body["errors"][0]["long_message"],
        "New password cannot be the same as the current password."
    );
    // A wrong current password is reported first, whatever the new one is.
    let (status, body) =
        me.b.post(
            &path,
            &[
                ("current_password", "not my password"),
                ("new_password", "not my password"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_password_incorrect");
    let (status, body) = me.b.post(&path, &change("a different secret")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// [`signed_in`] from a page at `origin` (production instances accept only their own).
pub async fn signed_in_from(app: &TestApp, origin: Option<String>) -> Me<'_> {
    let user = app.user(json!({})).await;
    let email = first_email(&user);
    let mut b = Browser::new(app);
    if let Some(origin) = origin {
        b.origin = origin;
    }
    let (status, out) = b
        .post(
            "/client/sign_ins",
            &[
                ("identifier", &email),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let sid = out["response"]["created_session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    Me { b, sid }
}
