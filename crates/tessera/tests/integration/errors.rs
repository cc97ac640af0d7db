//! Bad input always gets Clerk's envelope with a 4xx, never a 500.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::both_backends;
use crate::support::{assert_error, read, TestApp};

both_backends!(
    authentication,
    malformed_bodies,
    unknown_routes_differ_from_missing_resources
);

async fn authentication(app: &TestApp) {
    let resp = app
        .http
        .get(format!("{}/v1/users", app.base))
        .send()
        .await
        .unwrap();
    let (status, body) = read(resp).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error(&body, "authentication_invalid");

    let resp = app
        .http
        .get(format!("{}/v1/users", app.base))
        .bearer_auth("sk_test_not_the_key_of_this_instance")
        .send()
        .await
        .unwrap();
    let (status, body) = read(resp).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error(&body, "clerk_key_invalid");
}

async fn malformed_bodies(app: &TestApp) {
    let url = format!("{}/v1/users", app.base);
    let send = |body: &'static str| {
        app.http
            .post(url.clone())
            .bearer_auth(&app.secret)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let (status, body) = read(send("{not json").await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, "malformed_request_body");

    let (status, body) = read(send(r#"{"email_address": "not-a-list"}"#).await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_param_format_invalid");

    let (status, body) = read(send(r#"{"nonsense": 1}"#).await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_param_unknown");
    assert_eq!(body["errors"][0]["meta"]["param_name"], "nonsense");

    let (status, body) = read(send("[]").await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_param_format_invalid");

    // A body somewhat past the limit is read to its end before the 413, so
    // the client is never cut off mid-send and its connection stays usable.
    let big = "x".repeat(11 * 1024 * 1024);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    for _ in 0..3 {
        let resp = client
            .post(url.clone())
            .bearer_auth(&app.secret)
            .header("content-type", "application/json")
            .body(format!("{{\"first_name\":\"{big}\"}}"))
            .send()
            .await
            .unwrap();
        let (status, body) = read(resp).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_error(&body, "request_body_too_large");
    }
    let resp = client
        .get(url.clone())
        .bearer_auth(&app.secret)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);

    // Ids that are not ids are simply not found.
    let (status, body) = app.get("/users/../../etc/passwd").await;
    assert!(status.is_client_error(), "{status}");
    let _ = body;
    let (status, body) = app.get("/users/user_%00").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "resource_not_found");

    // Bodiless POSTs are fine (the Node SDK sends none for ban/revoke).
    let user = app.user(json!({})).await;
    let resp = app
        .http
        .post(format!(
            "{}/v1/users/{}/ban",
            app.base,
            user["id"].as_str().unwrap()
        ))
        .bearer_auth(&app.secret)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(resp.status(), StatusCode::OK);
}

async fn unknown_routes_differ_from_missing_resources(app: &TestApp) {
    let (status, body) = app.bapi(Method::GET, "/no_such_thing", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "route_not_found");
    let (status, body) = app.get("/users/user_2aaaaaaaaaaaaaaaaaaaaaaaaaa").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "resource_not_found");
}
