//! Whatever the input, every answer is a Clerk answer: NUL characters refused
//! alike on both backends, every error in the envelope, CORS on every Frontend
//! API answer, lockout counted atomically, slow clients timed out, invalid
//! input refused before anything is looked up.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::both_backends;
use crate::browser::Browser;
use crate::support::{assert_error, first_email, read, unique, Backend, TestApp};

both_backends!(
    nul_characters_are_refused_alike,
    every_error_is_an_envelope,
    cors_on_every_frontend_answer,
    concurrent_wrong_passwords_lock_after_max_attempts,
    invalid_input_is_refused_before_lookups,
    the_client_can_be_touched_back_to_the_page,
    hosted_pages_are_shells_of_the_served_bundles,
    behind_the_apps_proxy_pages_are_on_the_apps_origin,
);

#[track_caller]
fn assert_param(body: &Value, code: &str, param: &str) {
    assert_error(body, code);
    assert_eq!(body["errors"][0]["meta"]["param_name"], param, "{body}");
}

async fn user_count(app: &TestApp) -> i64 {
    let (status, body) = app.get("/users/count").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["total_count"].as_i64().unwrap()
}

async fn nul_characters_are_refused_alike(app: &TestApp) {
    let before = user_count(app).await;
    let email = format!("{}@example.com", unique("nul").to_lowercase());
    for (body, param) in [
        (
            json!({"email_address": [email.clone()], "first_name": "a\u{0}b"}),
            "first_name",
        ),
        (
            json!({"email_address": [format!("a\u{0}{email}")]}),
            "email_address",
        ),
        (
            json!({"email_address": [email.clone()], "external_id": "\u{0}"}),
            "external_id",
        ),
        (
            json!({"email_address": [email.clone()], "public_metadata": {"k": "v\u{0}"}}),
            "k",
        ),
    ] {
        let (status, out) = app.post("/users", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{out}");
        assert_param(&out, "form_param_format_invalid", param);
    }
    assert_eq!(user_count(app).await, before, "nothing half-written");

    for query in [
        "query=%00",
        "email_address=a%00b%40example.com",
        "external_id=%00",
    ] {
        let (status, out) = app.get(&format!("/users?{query}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {out}");
        assert_error(&out, "form_param_format_invalid");
    }
    let (status, out) = app.get("/users/user_%00").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{out}");
    assert_error(&out, "resource_not_found");

    let mut b = Browser::new(app);
    let (status, out) = b
        .post("/client/sign_ins", &[("identifier", "a\u{0}@example.com")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{out}");
    assert_param(&out, "form_param_format_invalid", "identifier");
    let (status, out) = b
        .post(
            "/client/sign_ups",
            &[("email_address", &email), ("first_name", "x\u{0}")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{out}");
    assert_param(&out, "form_param_format_invalid", "first_name");
    assert_eq!(user_count(app).await, before);
}

/// Sends raw bytes and returns the status line and body of the answer.
async fn raw(app: &TestApp, request: &[u8]) -> (String, String, String) {
    let addr = app.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.lines().next().unwrap_or_default().to_owned();
    (status, head.to_lowercase(), body.to_owned())
}

async fn every_error_is_an_envelope(app: &TestApp) {
    // A route without this method: 405 with Allow, in the envelope.
    let resp = app
        .http
        .delete(format!("{}/v1/jwks", app.base))
        .bearer_auth(&app.secret)
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("allow").is_some());
    let (status, body) = read(resp).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_error(&body, "method_not_allowed");

    // A profile image that is not multipart.
    let user = app.user(json!({})).await;
    let id = user["id"].as_str().unwrap();
    let resp = app
        .http
        .post(format!("{}/v1/users/{id}/profile_image", app.base))
        .bearer_auth(&app.secret)
        .header("content-type", "multipart/form-data; boundary=nope")
        .body("--nope\r\nbroken")
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let (_, body) = read(resp).await;
    assert!(status.is_client_error(), "{status}: {body}");
    assert!(body["errors"][0]["code"].is_string(), "{body}");

    // A path segment that is not UTF-8.
    let (status, body) = app.get("/users/%FF%FE").await;
    assert!(status.is_client_error(), "{status}");
    assert!(body["errors"][0]["code"].is_string(), "{body}");

    // A JSON body that is not an object.
    let (status, body) = app.patch("/instance/protect", json!([null, null])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "form_param_format_invalid");

    // What the HTTP/1 parser refuses itself: a URI or headers past its limits,
    // header bytes that are not HTTP.
    let long_uri = format!(
        "GET /v1/users?q={} HTTP/1.1\r\nhost: x\r\n\r\n",
        "a".repeat(70_000)
    );
    let huge_header = format!(
        "GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n",
        "a".repeat(500_000)
    );
    for (request, code, wire) in [
        (long_uri.into_bytes(), " 414 ", "request_uri_too_long"),
        (
            huge_header.into_bytes(),
            " 431 ",
            "request_header_fields_too_large",
        ),
        (
            b"GET /healthz HTTP/1.1\r\nho\x01st: x\r\n\r\n".to_vec(),
            " 400 ",
            "malformed_request",
        ),
    ] {
        let (status, head, body) = raw(app, &request).await;
        assert!(status.contains(code), "{status}");
        assert!(head.contains("content-type: application/json"), "{head}");
        let body: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{body}"));
        assert_error(&body, wire);
    }

    // A body announced far larger than the limit: 413 at once, not after the bytes.
    let started = Instant::now();
    let (status, _, body) = raw(
        app,
        b"POST /v1/client/sign_ins HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 10000000000\r\n\r\nab",
    )
    .await;
    assert!(status.contains(" 413 "), "{status}");
    assert!(body.contains("request_body_too_large"), "{body}");
    assert!(started.elapsed() < Duration::from_secs(5));

    // A body only somewhat too large is read to its end before the 413, so a
    // client still sending it (the rest comes after a pause) is not cut off.
    let limit = 10 * 1024 * 1024;
    let total = limit + 1024 * 1024;
    let mut stream = TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    let head = format!(
        "POST /v1/users HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\
         authorization: Bearer {}\r\ncontent-type: application/json\r\n\
         content-length: {total}\r\n\r\n",
        app.secret
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&vec![b'x'; limit + 1]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stream
        .write_all(&vec![b'x'; total - limit - 1])
        .await
        .expect("the rest of the body is taken");
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out))
        .await
        .expect("answered")
        .expect("the answer is read, not reset");
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 413 "), "{text}");
    assert!(text.contains("request_body_too_large"), "{text}");
}

async fn cors_on_every_frontend_answer(app: &TestApp) {
    let user = app.user(json!({})).await;
    let id = user["id"].as_str().unwrap();
    let origin = "http://127.0.0.1:3000";
    for (method, path) in [
        (
            Method::GET,
            "/v1/organizations?_clerk_js_version=6.40.0".to_owned(),
        ),
        (Method::POST, "/v1/waitlist".to_owned()),
        (Method::GET, "/v1/billing/plans".to_owned()),
        (Method::GET, "/api_keys".to_owned()),
        (Method::PUT, "/v1/environment".to_owned()),
        (Method::GET, format!("/v1/images/users/{id}")),
    ] {
        let resp = app
            .http
            .request(method.clone(), format!("{}{path}", app.base))
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        let allowed = resp
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_owned());
        let credentials = resp
            .headers()
            .get("access-control-allow-credentials")
            .is_some();
        let status = resp.status();
        assert_eq!(
            allowed.as_deref(),
            Some(origin),
            "{method} {path}: {status}"
        );
        assert!(credentials, "{method} {path}");
        if !status.is_success() {
            let (_, body) = read(resp).await;
            assert!(body["errors"][0]["code"].is_string(), "{path}: {body}");
        }
    }
    // A preflight to such a route is answered too.
    let resp = app
        .http
        .request(Method::OPTIONS, format!("{}/v1/waitlist", app.base))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(resp.headers().get("access-control-allow-origin").is_some());
}

async fn concurrent_wrong_passwords_lock_after_max_attempts(app: &TestApp) {
    app.core()
        .settings()
        .update_settings(|s| {
            s.user.lockout.max_attempts = 5;
            Ok(())
        })
        .await
        .unwrap();
    let user = app.user(json!({})).await;
    let email = first_email(&user);
    let attempts = (0..25).map(|_| {
        let email = email.clone();
        async move {
            let mut b = Browser::new(app);
            b.post(
                "/client/sign_ins",
                &[
                    ("identifier", &email),
                    ("password", "not the password at all"),
                ],
            )
            .await
        }
    });
    let answers = futures::future::join_all(attempts).await;
    let incorrect = answers
        .iter()
        .filter(|(_, b)| b["errors"][0]["code"] == "form_password_incorrect")
        .count();
    let locked = answers
        .iter()
        .filter(|(s, b)| *s == StatusCode::FORBIDDEN && b["errors"][0]["code"] == "user_locked")
        .count();
    assert_eq!(incorrect, 5, "{answers:?}");
    assert_eq!(incorrect + locked, 25, "{answers:?}");
    let (_, after) = app
        .get(&format!("/users/{}", user["id"].as_str().unwrap()))
        .await;
    assert_eq!(after["locked"], true);
    // The right password does not get in while locked.
    let mut b = Browser::new(app);
    let (status, body) = b
        .post(
            "/client/sign_ins",
            &[
                ("identifier", &email),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_error(&body, "user_locked");
}

async fn invalid_input_is_refused_before_lookups(app: &TestApp) {
    let (status, body) = app
        .patch(
            "/instance",
            json!({"preferred_sign_in_strategy_when_password_required": "AAA"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_param(
        &body,
        "form_param_value_invalid",
        "preferred_sign_in_strategy_when_password_required",
    );
    // Not countries (listing one twice is fine: the list is kept once each).
    for codes in [json!(["AA", "AA"]), json!(["DE", "ZZ"])] {
        let (status, body) = app
            .patch(
                "/instance/communication",
                json!({ "blocked_country_codes": codes }),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{codes}: {body}");
        assert_param(&body, "form_param_format_invalid", "blocked_country_codes");
    }
    let (status, body) = app.get("/sessions?user_id=nope&limit=abc").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_param(&body, "form_param_format_invalid", "limit");
    let user = app.user(json!({})).await;
    let id = user["id"].as_str().unwrap();
    let (status, body) = app
        .get(&format!("/users/{id}/organization_memberships?offset=-1"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_param(&body, "form_param_format_invalid", "offset");
    let (status, body) = app
        .get(&format!("/users/{id}/organization_invitations?status=nope"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_param(&body, "form_param_format_invalid", "status");

    let mut b = Browser::new(app);
    let out = b
        .sign_in_with_password(&first_email(&user), "correct horse battery")
        .await;
    let sid = out["client"]["last_active_session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = b
        .post(
            &format!("/client/sessions/{sid}/touch"),
            &[("intent", "nope")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_param(&body, "form_param_format_invalid", "intent");
    let (status, _) = b
        .post(
            &format!("/client/sessions/{sid}/touch"),
            &[("intent", "focus")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

async fn the_client_can_be_touched_back_to_the_page(app: &TestApp) {
    let user = app.user(json!({})).await;
    let mut b = Browser::new(app);
    let out = b
        .sign_in_with_password(&first_email(&user), "correct horse battery")
        .await;
    assert!(out["client"]["cookie_expires_at"].is_i64(), "{out}");
    let cookie = b.client_cookie.clone().unwrap();
    let back = "http://127.0.0.1:3000/after?x=1";
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = no_redirects
        .get(format!("{}/v1/client/touch", app.base))
        .query(&[("redirect_url", back)])
        .header("cookie", format!("__client={cookie}"))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_redirection(), "{}", resp.status());
    assert_eq!(resp.headers()["location"], back);
    let reissued = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("__client="))
        .map(|c| c.split(';').next().unwrap_or_default().to_owned())
        .unwrap();
    assert!(!reissued.is_empty() && reissued != cookie);
    // The new cookie is the same client, still signed in.
    b.client_cookie = Some(reissued);
    let (status, client) = b.get("/client").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(client["response"]["sessions"].as_array().unwrap().len(), 1);

    for bad in ["javascript:alert(1)", "not a url", ""] {
        let resp = no_redirects
            .get(format!("{}/v1/client/touch", app.base))
            .query(&[("redirect_url", bad)])
            .send()
            .await
            .unwrap();
        let (status, body) = read(resp).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["errors"][0]["meta"]["param_name"], "redirect_url");
    }
}

/// Slow clients are cut off: headers that never finish, an idle keep-alive
/// connection, a body that never arrives; past the connection cap, a new
/// connection waits until one closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_timed_out() {
    let app = TestApp::start_tuned(Backend::Sqlite, |s| {
        s.http.header_timeout = Duration::from_secs(1);
        s.http.request_timeout = Duration::from_secs(2);
        s.http.max_connections = 4;
    })
    .await
    .unwrap();
    let addr = app.base.trim_start_matches("http://").to_owned();

    // Headers that never finish: closed after the header timeout.
    let started = Instant::now();
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the server closed the connection");
    assert!(started.elapsed() < Duration::from_secs(4));

    // A body that never arrives: 408 in the envelope after the request timeout.
    let started = Instant::now();
    let (status, _, body) = raw(
        &app,
        b"POST /v1/client/sign_ins HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 100\r\n\r\nab",
    )
    .await;
    assert!(status.contains(" 408 "), "{status}");
    assert!(body.contains("request_timeout"), "{body}");
    assert!(started.elapsed() < Duration::from_secs(5));

    // Four idle connections take every slot; a fifth is served once the idle
    // ones are closed by the header timeout.
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(&addr).await.unwrap());
    }
    let started = Instant::now();
    let resp = reqwest::get(format!("{}/healthz", app.base)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(idle);
    app.stop().await;
}

/// The same on PostgreSQL: the limits are the HTTP layer's, whatever the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_bodies_are_timed_out_postgres() {
    let Some(app) = TestApp::start_tuned(Backend::Postgres, |s| {
        s.http.request_timeout = Duration::from_secs(2);
    })
    .await
    else {
        return;
    };
    let (status, _, body) = raw(
        &app,
        b"POST /v1/client/sign_ins HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{",
    )
    .await;
    assert!(status.contains(" 408 "), "{status}");
    assert!(body.contains("request_timeout"), "{body}");
    app.stop().await;
}

async fn hosted_pages_are_shells_of_the_served_bundles(app: &TestApp) {
    for path in [
        "/sign-in",
        "/sign-in/factor-one",
        "/sign-up",
        "/user",
        "/waitlist",
    ] {
        let resp = app
            .http
            .get(format!("{}{path}", app.base))
            .query(&[
                ("redirect_url", "http://127.0.0.1:3000/back"),
                ("sign_in_force_redirect_url", "javascript:alert(1)"),
                ("after_sign_out_url", "</script><script>alert(2)</script>"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8");
        assert_eq!(resp.headers()["x-frame-options"], "DENY");
        let html = resp.text().await.unwrap();
        assert!(
            html.contains("/npm/@clerk/clerk-js@6/dist/clerk.browser.js"),
            "{path}"
        );
        assert!(
            html.contains("/npm/@clerk/ui@1/dist/ui.browser.js"),
            "{path}"
        );
        assert!(
            html.contains("/v1/client/touch?redirect_url=http%3A%2F%2F127.0.0.1%3A3000%2Fback"),
            "an allowed redirect to another origin goes through touch"
        );
        assert!(
            !html.contains("javascript:alert"),
            "a script URL is dropped"
        );
        assert!(
            !html.contains("alert(2)"),
            "a value that is no URL is dropped"
        );
        assert_eq!(
            html.matches("</script>").count(),
            4,
            "nothing closes a script early"
        );
    }
    let (status, body) = read(
        app.http
            .get(format!("{}/sign-inx", app.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "route_not_found");
}

/// A request through the app's Frontend API proxy (`Clerk-Proxy-Url` vouched
/// for by `Clerk-Secret-Key`) sees the hosted pages and the environment's page
/// URLs under the proxy; the header without the key, or with another key,
/// changes nothing.
async fn behind_the_apps_proxy_pages_are_on_the_apps_origin(app: &TestApp) {
    let proxy = "http://localhost:3000/__clerk";
    let wrong = "sk_test_00000000000000000000000000000000";
    let environment = |secret: Option<&str>| {
        let mut req = app
            .http
            .get(format!("{}/v1/environment", app.base))
            .header("clerk-proxy-url", proxy);
        if let Some(secret) = secret {
            req = req.header("clerk-secret-key", secret);
        }
        async move { read(req.send().await.unwrap()).await }
    };
    let (status, env) = environment(Some(&app.secret)).await;
    assert_eq!(status, StatusCode::OK, "{env}");
    let display = &env["display_config"];
    assert_eq!(display["sign_in_url"], format!("{proxy}/sign-in"));
    assert_eq!(display["sign_up_url"], format!("{proxy}/sign-up"));
    assert_eq!(display["user_profile_url"], format!("{proxy}/user"));
    assert_eq!(
        display["create_organization_url"],
        format!("{proxy}/create-organization")
    );
    for secret in [None, Some(wrong)] {
        let (_, env) = environment(secret).await;
        assert_eq!(
            env["display_config"]["sign_in_url"], "/sign-in",
            "unvouched proxy URL ignored ({secret:?})"
        );
    }

    let page = |secret: &str| {
        let req = app
            .http
            .get(format!("{}/sign-in/factor-one", app.base))
            .query(&[("redirect_url", "http://localhost:3000/protected")])
            .header("clerk-proxy-url", proxy)
            .header("clerk-secret-key", secret);
        async move { req.send().await.unwrap().text().await.unwrap() }
    };
    let html = page(&app.secret).await;
    assert!(
        html.contains(&format!(
            "{proxy}/npm/@clerk/clerk-js@6/dist/clerk.browser.js"
        )),
        "bundles through the proxy: {html}"
    );
    assert!(html.contains(&format!(r#"data-clerk-proxy-url="{proxy}""#)));
    assert!(
        html.contains(r#""path":"/__clerk/sign-in""#),
        "routing under the proxy path"
    );
    assert!(html.contains(r#""signUpUrl":"/__clerk/sign-up""#));
    assert!(
        html.contains(r#""fallbackRedirectUrl":"http://localhost:3000/protected""#),
        "the app is on the page's origin: no touch"
    );
    assert!(html.contains(r#""allowedRedirectOrigins":["http://localhost:3000"]"#));
    let html = page(wrong).await;
    assert!(
        !html.contains("localhost:3000/__clerk"),
        "a wrong key leaves the page as served directly"
    );

    // A production instance takes Frontend API calls from the origin of the
    // app's proxy (vouched for by the key) without it in allowed_origins.
    let prod = TestApp::start_with(
        crate::support::Backend::Sqlite,
        tessera_domain::settings::EnvironmentType::Production,
    )
    .await
    .unwrap();
    let app_origin = "https://app.example.com";
    let client = |secret: Option<&str>| {
        let mut req = prod
            .http
            .get(format!("{}/v1/client", prod.base))
            .header("origin", app_origin)
            .header("clerk-proxy-url", format!("{app_origin}/__clerk"));
        if let Some(secret) = secret {
            req = req.header("clerk-secret-key", secret);
        }
        async move { req.send().await.unwrap() }
    };
    let resp = client(Some(&prod.secret)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["access-control-allow-origin"], app_origin);
    for secret in [None, Some(wrong)] {
        let (status, body) = read(client(secret).await).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{secret:?}");
        assert_error(&body, "origin_invalid");
    }
    prod.stop().await;
}
