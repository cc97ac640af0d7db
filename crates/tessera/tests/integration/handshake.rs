//! The handshake that gives an app's backend fresh session cookies:
//! `GET /v1/client/handshake` (Frontend API, the browser's `__client` cookie)
//! redirects back with a nonce, which `GET /v1/clients/handshake_payload`
//! (Backend API, secret key) redeems once for `Set-Cookie` directives.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::browser::Browser;
use crate::sessions::verify_with_jwks;
use crate::support::{assert_error, TestApp};

both_backends!(
    handshake_gives_the_app_fresh_cookies,
    handshake_for_a_signed_out_browser,
    handshake_refuses_bad_redirects,
);

/// Follows the browser to the handshake; returns the status and `Location`.
async fn handshake(
    app: &TestApp,
    client: Option<&str>,
    query: &str,
) -> (StatusCode, String, Value) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut req = http
        .get(format!("{}/v1/client/handshake?{query}", app.base))
        .header("accept", "text/html")
        .header("sec-fetch-dest", "document");
    if let Some(c) = client {
        req = req.header("cookie", format!("__client={c}"));
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let location = resp
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    if status == StatusCode::TEMPORARY_REDIRECT {
        assert_eq!(resp.headers()["cache-control"], "no-store");
    }
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, location, body)
}

fn nonce_of(location: &str) -> String {
    let url = url::Url::parse(location).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == "__clerk_handshake_nonce")
        .map(|(_, v)| v.into_owned())
        .expect("the redirect carries a nonce")
}

fn cookie<'a>(directives: &'a [String], name: &str) -> Option<&'a str> {
    directives.iter().find_map(|d| {
        let (n, rest) = d.split_once('=')?;
        (n == name).then(|| rest.split(';').next().unwrap_or_default())
    })
}

/// Redeems the nonce of a handshake's redirect; the cookie directives.
async fn redeem(app: &TestApp, location: &str) -> Vec<String> {
    let (status, payload) = app
        .get(&format!(
            "/clients/handshake_payload?nonce={}",
            nonce_of(location)
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{payload}");
    serde_json::from_value(payload["directives"].clone()).unwrap()
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn handshake_gives_the_app_fresh_cookies(app: &TestApp) {
    let email = format!("hs{:08x}@example.com", rand::random::<u32>());
    let user = app.user(json!({"email_address": [email]})).await;
    let mut b = Browser::new(app);
    let out = b
        .sign_in_with_password(&email, "correct horse battery")
        .await;
    let sid = out["response"]["created_session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let uat = out["client"]["updated_at"].as_i64().unwrap() / 1000;
    let client = b.client_cookie.clone().unwrap();

    let back = "http://app.example.test:4000/dashboard?tab=2&__clerk_db_jwt=dbtoken";
    let query = format!(
        "redirect_url={}&__clerk_db_jwt=dbtoken&format=nonce&suffixed_cookies=false&__clerk_hs_reason=session-token-expired",
        encode(back)
    );
    let (status, location, body) = handshake(app, Some(&client), &query).await;
    assert_eq!(status, StatusCode::TEMPORARY_REDIRECT, "{body}");
    assert!(
        location.starts_with("http://app.example.test:4000/dashboard?tab=2&__clerk_db_jwt=dbtoken&__clerk_handshake_nonce="),
        "{location}"
    );
    let nonce = nonce_of(&location);

    // The nonce is worth nothing without the secret key.
    let anonymous = app
        .http
        .get(format!(
            "{}/v1/clients/handshake_payload?nonce={nonce}",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let (status, payload) = app
        .get(&format!("/clients/handshake_payload?nonce={nonce}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{payload}");
    let directives: Vec<String> = serde_json::from_value(payload["directives"].clone()).unwrap();
    let suffix =
        tessera_core::frontend::handshake::cookie_suffix(&app.core().instance().publishable_key);
    for name in ["__session", "__client_uat", "__clerk_db_jwt"] {
        let suffixed = format!("{name}_{suffix}");
        assert_eq!(
            cookie(&directives, name),
            cookie(&directives, &suffixed),
            "{name} is set under both names: {directives:?}"
        );
    }
    assert_eq!(
        cookie(&directives, "__client_uat"),
        Some(uat.to_string().as_str())
    );
    assert_eq!(cookie(&directives, "__clerk_db_jwt"), Some("dbtoken"));
    assert!(directives
        .iter()
        .all(|d| d.contains("Path=/") && !d.contains("HttpOnly")));
    let jwt = cookie(&directives, "__session").unwrap();
    let claims = verify_with_jwks(app, jwt).await;
    assert_eq!(claims["sid"], sid.as_str());
    assert_eq!(claims["sub"], user["id"]);
    assert_eq!(claims["azp"], "http://app.example.test:4000");
    assert!(
        claims["iat"].as_i64().unwrap() >= uat,
        "the token is not older than the uat"
    );

    // Single use.
    let (status, again) = app
        .get(&format!("/clients/handshake_payload?nonce={nonce}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&again, "resource_not_found");

    // Once the session is revoked, the handshake signs the app out.
    app.post(&format!("/sessions/{sid}/revoke"), json!({}))
        .await;
    let (_, location, _) = handshake(app, Some(&client), &query).await;
    let directives = redeem(app, &location).await;
    assert_eq!(cookie(&directives, "__session"), Some(""));
    assert_eq!(cookie(&directives, "__client_uat"), Some("0"));
}

async fn handshake_for_a_signed_out_browser(app: &TestApp) {
    // No client cookie at all (a new browser): signed-out cookies, and a new
    // development-browser token because none was passed.
    let query = format!("redirect_url={}", encode("http://127.0.0.1:3000/"));
    let (status, location, _) = handshake(app, None, &query).await;
    assert_eq!(status, StatusCode::TEMPORARY_REDIRECT);
    let directives = redeem(app, &location).await;
    assert_eq!(cookie(&directives, "__session"), Some(""));
    assert!(directives
        .iter()
        .any(|d| d.starts_with("__session=;") && d.contains("Max-Age=0")));
    assert_eq!(cookie(&directives, "__client_uat"), Some("0"));
    assert!(cookie(&directives, "__clerk_db_jwt").is_some_and(|v| v.len() >= 32));

    let (status, body) = app.get("/clients/handshake_payload?nonce=unknown").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "resource_not_found");
    let (status, body) = app.get("/clients/handshake_payload").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_param_missing");
}

async fn handshake_refuses_bad_redirects(app: &TestApp) {
    let (status, _, body) = handshake(app, None, "format=nonce").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "form_param_missing");
    for bad in ["/relative", "javascript:alert(1)", "ftp://example.com/"] {
        let (status, _, body) =
            handshake(app, None, &format!("redirect_url={}", encode(bad))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_error(&body, "form_param_format_invalid");
    }

    // A production instance sends cookies only to origins it knows.
    let prod = TestApp::start_with(
        crate::support::Backend::Sqlite,
        tessera_domain::settings::EnvironmentType::Production,
    )
    .await
    .unwrap();
    let (status, _, body) = handshake(
        &prod,
        None,
        &format!("redirect_url={}", encode("https://evil.example/steal")),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_error(&body, "origin_invalid");
    let own = format!("{}/after", prod.base);
    let (status, location, _) =
        handshake(&prod, None, &format!("redirect_url={}", encode(&own))).await;
    assert_eq!(status, StatusCode::TEMPORARY_REDIRECT);
    let directives = redeem(&prod, &location).await;
    assert!(
        cookie(&directives, "__clerk_db_jwt").is_none(),
        "production has no development browser: {directives:?}"
    );
    prod.stop().await;
}
