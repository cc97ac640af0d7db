//! BAPI email addresses and phone numbers.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::support::{assert_error, assert_id, TestApp};

both_backends!(
    email_addresses,
    backend_verification_by_code,
    phone_numbers,
    replace_identifiers,
    profile_images
);

async fn email_addresses(app: &TestApp) {
    let user = app.user(json!({"email_address": ["first@idn.test"]})).await;
    let uid = user["id"].as_str().unwrap();
    let (status, email) = app
        .post(
            "/email_addresses",
            json!({"user_id": uid, "email_address": "Second@idn.test"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{email}");
    assert_id(&email["id"], "idn");
    assert_eq!(email["object"], "email_address");
    assert_eq!(email["email_address"], "second@idn.test");
    assert!(email["verification"].is_null(), "unverified by default");
    let eid = email["id"].as_str().unwrap();

    let (status, body) = app
        .patch(&format!("/email_addresses/{eid}"), json!({"primary": true}))
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unverified cannot be primary"
    );
    assert_error(&body, "form_param_value_invalid");

    let (status, email) = app
        .patch(
            &format!("/email_addresses/{eid}"),
            json!({"verified": true, "primary": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{email}");
    assert_eq!(email["verification"]["strategy"], "admin");
    let (_, user) = app.get(&format!("/users/{uid}")).await;
    assert_eq!(user["primary_email_address_id"], eid);
    assert_eq!(user["email_addresses"].as_array().unwrap().len(), 2);

    let (status, deleted) = app.delete(&format!("/email_addresses/{eid}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        deleted,
        json!({"object": "email_address", "id": eid, "deleted": true})
    );
    let (_, user) = app.get(&format!("/users/{uid}")).await;
    assert_eq!(
        user["primary_email_address_id"], user["email_addresses"][0]["id"],
        "primary falls back"
    );

    let (status, body) = app
        .post(
            "/email_addresses",
            json!({"user_id": uid, "email_address": "FIRST@idn.test"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_identifier_exists");
    let (status, _) = app.get(&format!("/email_addresses/{eid}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A phone number's id is not an email address.
    let (_, phone) = app
        .post(
            "/phone_numbers",
            json!({"user_id": uid, "phone_number": "+12025550123"}),
        )
        .await;
    let (status, _) = app
        .get(&format!(
            "/email_addresses/{}",
            phone["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn phone_numbers(app: &TestApp) {
    let user = app.user(json!({})).await;
    let uid = user["id"].as_str().unwrap();
    let (status, phone) = app
        .post(
            "/phone_numbers",
            json!({"user_id": uid, "phone_number": "+1 (202) 555-0147", "verified": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{phone}");
    assert_eq!(phone["object"], "phone_number");
    assert_eq!(phone["phone_number"], "+12025550147");
    assert_eq!(phone["verification"]["object"], "verification_admin");
    let pid = phone["id"].as_str().unwrap();
    let (_, user) = app.get(&format!("/users/{uid}")).await;
    assert_eq!(
        user["primary_phone_number_id"], pid,
        "first verified phone is primary"
    );

    let (status, phone) = app
        .patch(
            &format!("/phone_numbers/{pid}"),
            json!({"reserved_for_second_factor": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(phone["reserved_for_second_factor"], true);
    assert_eq!(phone["default_second_factor"], true);

    let (status, body) = app
        .post(
            "/phone_numbers",
            json!({"user_id": uid, "phone_number": "555"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_param_format_invalid");
    let (status, body) = app.post("/phone_numbers", json!({"user_id": uid})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_param_missing");
    let (status, _) = app.delete(&format!("/phone_numbers/{pid}")).await;
    assert_eq!(status, StatusCode::OK);
}

async fn replace_identifiers(app: &TestApp) {
    let user = app.user(json!({})).await;
    let uid = user["id"].as_str().unwrap();
    app.post(
        "/email_addresses",
        json!({"user_id": uid, "email_address": "extra@replace.test"}),
    )
    .await;
    let (status, email) = app
        .bapi(
            Method::PUT,
            &format!("/users/{uid}/email_address"),
            Some(json!({"email_address": "only@replace.test"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{email}");
    let (_, user) = app.get(&format!("/users/{uid}")).await;
    assert_eq!(user["email_addresses"].as_array().unwrap().len(), 1);
    assert_eq!(user["primary_email_address_id"], email["id"]);
    assert_eq!(
        user["email_addresses"][0]["email_address"],
        "only@replace.test"
    );
}

async fn profile_images(app: &TestApp) {
    let user = app
        .user(json!({"first_name": "Grace", "last_name": "Hopper"}))
        .await;
    let uid = user["id"].as_str().unwrap();
    let svg = app
        .http
        .get(user["image_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    assert!(svg.text().await.unwrap().contains(">GH<"));

    let png: Vec<u8> = [b"\x89PNG\r\n\x1a\n".as_slice(), &[0u8; 32]].concat();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(png.clone()).file_name("a.png"),
    );
    let resp = app
        .http
        .post(format!("{}/v1/users/{uid}/profile_image", app.base))
        .bearer_auth(&app.secret)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let updated: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(updated["has_image"], true);
    let image = app
        .http
        .get(updated["image_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(image.headers()["content-type"], "image/png");
    assert_eq!(image.bytes().await.unwrap().to_vec(), png);

    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"not an image".to_vec()),
    );
    let resp = app
        .http
        .post(format!("{}/v1/users/{uid}/profile_image", app.base))
        .bearer_auth(&app.secret)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let (status, cleared) = app.delete(&format!("/users/{uid}/profile_image")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cleared["has_image"], false);
}

/// `POST /v1/email_addresses/{id}/prepare_verification` sends a code; each
/// attempt reports its outcome in the verification's status; a right code
/// verifies the address, and the verification cannot be used again.
async fn backend_verification_by_code(app: &TestApp) {
    let email = format!("{}@idn.test", crate::support::unique("bver").to_lowercase());
    let user = app.user(json!({"email_address": ["owner@idn.test"]})).await;
    let uid = user["id"].as_str().unwrap();
    let (_, created) = app
        .post(
            "/email_addresses",
            json!({"user_id": uid, "email_address": email}),
        )
        .await;
    let eid = created["id"].as_str().unwrap().to_owned();
    let prepare = format!("/email_addresses/{eid}/prepare_verification");
    let attempt = format!("/email_addresses/{eid}/attempt_verification");

    let (status, v) = app.post(&prepare, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_id(&v["id"], "ver");
    assert_eq!(v["object"], "verification");
    assert_eq!(v["status"], "unverified");
    assert_eq!(v["strategy"], "email_code");
    assert_eq!(v["attempts"], 0);
    assert_eq!(v["channel"], Value::Null);
    let vid = v["id"].as_str().unwrap().to_owned();
    let code = app.smtp.code_for(&email).await;

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (status, v) = app
        .post(&attempt, json!({"verification_id": vid, "code": wrong}))
        .await;
    assert_eq!(status, StatusCode::OK, "a wrong code is a status: {v}");
    assert_eq!(
        (v["status"].clone(), v["attempts"].clone()),
        (json!("unverified"), json!(1))
    );
    let (status, v) = app
        .post(&attempt, json!({"verification_id": vid, "code": code}))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "verified");
    let (_, got) = app.get(&format!("/email_addresses/{eid}")).await;
    assert_eq!(got["verification"]["status"], "verified", "{got}");
    let (status, body) = app
        .post(&attempt, json!({"verification_id": vid, "code": code}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_error(&body, "verification_already_verified");

    // Unknown ids, and another identification's verification, are not there.
    let (status, _) = app
        .post(
            &attempt,
            json!({"verification_id": "ver_nope", "code": code}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .post(
            "/phone_numbers/idn_2xxxxxxxxxxxxxxxxxxxxxxxxxx/prepare_verification",
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = app.post(&attempt, json!({"code": code})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}
