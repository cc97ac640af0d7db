//! Frontend API flows as clerk-js drives them, on SQLite and PostgreSQL, with
//! codes read from real emails delivered to the test's SMTP sink.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::browser::Browser;
use crate::support::{assert_error, assert_id, Backend, TestApp};

both_backends!(
    environment_and_empty_client,
    sign_up_with_emailed_code,
    sign_in_by_password_and_by_code,
    sign_out_and_multi_session,
    lockout_after_wrong_passwords,
    single_session_mode_refuses_a_second_session,
    my_account,
    test_identifiers_only_in_development,
    password_reset_by_emailed_code,
    rate_limits_answer_429_with_retry_after,
    phone_numbers_by_sms_code,
    tokens_stop_at_once_after_revocation,
    tokens_follow_every_write_under_load,
);

/// Signs `email` in with the test password on `b`; returns the new session's id.
async fn sign_in_with_password(b: &mut Browser<'_>, email: &str) -> String {
    let (status, out) = b
        .post(
            "/client/sign_ins",
            &[("identifier", email), ("password", "correct horse battery")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    out["response"]["created_session_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn tokens_stop_at_once_after_revocation(app: &TestApp) {
    let (a, c) = (unique_email("toka"), unique_email("tokc"));
    app.user(json!({"email_address": [a]})).await;
    app.user(json!({"email_address": [c]})).await;
    let mut b = Browser::new(app);
    let sid = sign_in_with_password(&mut b, &a).await;
    let mut other = Browser::new(app);
    let other_sid = sign_in_with_password(&mut other, &c).await;

    for _ in 0..2 {
        let (status, token) = b.post(&format!("/client/sessions/{sid}/tokens"), &[]).await;
        assert_eq!(status, StatusCode::OK, "{token}");
        let claims = crate::sessions::verify_with_jwks(app, token["jwt"].as_str().unwrap()).await;
        assert_eq!(claims["sid"], sid.as_str());
        assert_eq!(claims["sts"], "active");
    }
    // Another client's session and unknown sessions are not found from this client.
    let (status, _) = b
        .post(&format!("/client/sessions/{other_sid}/tokens"), &[])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = b
        .post(
            "/client/sessions/sess_2noSuchSessionAtAll000000/tokens",
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Revoked through the Backend API: the very next token request is refused.
    let (status, _) = app
        .post(&format!("/sessions/{sid}/revoke"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = b.post(&format!("/client/sessions/{sid}/tokens"), &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_error(&body, "authentication_invalid");
    // The other client is untouched.
    let (status, _) = other
        .post(&format!("/client/sessions/{other_sid}/tokens"), &[])
        .await;
    assert_eq!(status, StatusCode::OK);
}

/// Token requests in flight on one client while its session is revoked: no
/// request sent after the revocation's answer gets a token (the client read on
/// `/tokens` is served from memory between writes and must never be stale).
/// Then the same after a warm cache for a ban and a sign-out.
async fn tokens_follow_every_write_under_load(app: &TestApp) {
    use std::time::Instant;

    let email = unique_email("tokload");
    let user = app.user(json!({"email_address": [email]})).await;
    let mut b = Browser::new(app);
    let sid = sign_in_with_password(&mut b, &email).await;
    let cookie = format!("__client={}", b.client_cookie.clone().unwrap());
    let url = format!("{}/v1/client/sessions/{sid}/tokens", app.base);

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut hammers = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (http, url, cookie, stop) =
            (app.http.clone(), url.clone(), cookie.clone(), stop.clone());
        hammers.spawn(async move {
            let mut seen = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let sent = Instant::now();
                let resp = http
                    .post(&url)
                    .header("origin", "http://127.0.0.1:3000")
                    .header("cookie", &cookie)
                    .send()
                    .await
                    .unwrap();
                let status = resp.status();
                let body = resp.text().await.unwrap();
                seen.push((sent, status, body));
            }
            seen
        });
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (status, _) = app
        .post(&format!("/sessions/{sid}/revoke"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let revoked = Instant::now();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut before_ok = 0;
    let mut after = 0;
    while let Some(seen) = hammers.join_next().await {
        for (sent, status, body) in seen.unwrap() {
            if sent > revoked {
                after += 1;
                assert_eq!(
                    status,
                    StatusCode::UNAUTHORIZED,
                    "a token after revocation: {body}"
                );
            } else if status == StatusCode::OK {
                before_ok += 1;
            }
        }
    }
    assert!(
        before_ok > 0 && after > 0,
        "{before_ok} before, {after} after"
    );

    // A ban ends the session: refused at once after a warm cache.
    let sid = sign_in_with_password(&mut b, &email).await;
    for _ in 0..3 {
        let (status, body) = b.post(&format!("/client/sessions/{sid}/tokens"), &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let user_id = user["id"].as_str().unwrap();
    let (status, body) = app.post(&format!("/users/{user_id}/ban"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = b.post(&format!("/client/sessions/{sid}/tokens"), &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _) = app
        .post(&format!("/users/{user_id}/unban"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);

    // Signing out on the client itself.
    let sid = sign_in_with_password(&mut b, &email).await;
    let (status, _) = b.post(&format!("/client/sessions/{sid}/tokens"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = b.post(&format!("/client/sessions/{sid}/end"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = b.post(&format!("/client/sessions/{sid}/tokens"), &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}

/// Waits until `app`'s client cache serves (on PostgreSQL, once its beacon
/// came back on its listening connection).
async fn wait_until_cache_serves(app: &TestApp) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !app.core().clients.serving() {
        assert!(
            std::time::Instant::now() < deadline,
            "the client cache never came on"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Asks for tokens until refused (401, or 404 once the session is gone);
/// returns how long that took and how many tokens were given meanwhile.
async fn refused_after(b: &mut Browser<'_>, sid: &str) -> (std::time::Duration, usize) {
    let since = std::time::Instant::now();
    let mut given = 0;
    loop {
        let (status, body) = b.post(&format!("/client/sessions/{sid}/tokens"), &[]).await;
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::NOT_FOUND {
            return (since.elapsed(), given);
        }
        assert_eq!(status, StatusCode::OK, "{body}");
        given += 1;
        // Milliseconds in practice; the bound leaves room for a loaded machine
        // and still catches a server that did not hear the change (its cache
        // would serve the old rows until the next settings reload, 10 s).
        assert!(
            since.elapsed() < std::time::Duration::from_secs(3),
            "still given tokens 3 s after the change"
        );
    }
}

/// The server backends of the connections listening for client changes.
async fn listening_pids(admin: &mut sqlx::PgConnection) -> Vec<i32> {
    let pids: Vec<(i32,)> = sqlx::query_as(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() \
         AND application_name = $1",
    )
    .bind(tessera_store::changes::LISTENER_NAME)
    .fetch_all(admin)
    .await
    .unwrap();
    pids.into_iter().map(|(pid,)| pid).collect()
}

/// Two servers on one PostgreSQL database: each one's client cache hears what
/// the other commits. A revocation through the Backend API, a sign-out through
/// the Frontend API and a user's deletion (its sessions go with it), each made
/// on one server, stop tokens on the other within milliseconds. After its
/// listening connection is cut, a server listens again and hears the next
/// change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_hear_each_others_client_changes_postgres() {
    let Some(a) = TestApp::start(Backend::Postgres).await else {
        return;
    };
    let b = a.replica().await;
    wait_until_cache_serves(&a).await;
    wait_until_cache_serves(&b).await;
    let email = unique_email("replica");
    let user = a.user(json!({"email_address": [email]})).await;
    let mut on_a = Browser::new(&a);
    let mut on_b = Browser::new(&b);
    let signed_in = async |on_a: &mut Browser<'_>, on_b: &mut Browser<'_>| {
        let sid = sign_in_with_password(on_a, &email).await;
        on_b.client_cookie = on_a.client_cookie.clone();
        for _ in 0..3 {
            let (status, body) = on_b
                .post(&format!("/client/sessions/{sid}/tokens"), &[])
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        sid
    };

    let sid = signed_in(&mut on_a, &mut on_b).await;
    let (status, _) = a.post(&format!("/sessions/{sid}/revoke"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let revoked = refused_after(&mut on_b, &sid).await;

    let sid = signed_in(&mut on_a, &mut on_b).await;
    let (status, body) = on_a.post(&format!("/client/sessions/{sid}/end"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ended = refused_after(&mut on_b, &sid).await;

    // Cut both servers' listening connections.
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(a.database_url())
        .await
        .unwrap();
    let cut = listening_pids(&mut admin).await;
    assert_eq!(cut.len(), 2, "one listening connection per server");
    for pid in &cut {
        sqlx::query("SELECT pg_terminate_backend($1)")
            .bind(pid)
            .execute(&mut admin)
            .await
            .unwrap();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let listening = listening_pids(&mut admin).await;
        if listening.iter().filter(|pid| !cut.contains(pid)).count() == 2 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never listening again"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    wait_until_cache_serves(&b).await;

    let sid = signed_in(&mut on_a, &mut on_b).await;
    let user_id = user["id"].as_str().unwrap();
    let (status, body) = a.delete(&format!("/users/{user_id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let deleted = refused_after(&mut on_b, &sid).await;
    eprintln!(
        "tokens refused on the other server after (time, tokens given meanwhile): \
         revocation {revoked:?}, sign-out {ended:?}, deletion {deleted:?}"
    );

    b.stop().await;
    a.stop().await;
}

/// A server whose database goes silent (no bytes either way, connections left
/// open) stops serving from its client cache when its lease runs out, since it
/// can no longer hear changes, and replaces its listening connection; once the
/// database answers again, the cache serves again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_database_turns_the_client_cache_off_postgres() {
    use std::time::{Duration, Instant};

    let Some(a) = TestApp::start(Backend::Postgres).await else {
        return;
    };
    let mut url = url::Url::parse(a.database_url()).unwrap();
    let target = url.socket_addrs(|| Some(5432)).unwrap()[0];
    let relay = crate::relay::Relay::start(target).await;
    url.set_port(Some(relay.addr.port())).unwrap();
    let b = a.replica_at(url.to_string()).await;
    wait_until_cache_serves(&b).await;
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(a.database_url())
        .await
        .unwrap();
    let before = listening_pids(&mut admin).await;

    relay.freeze(true);
    let frozen = Instant::now();
    while b.core().clients.serving() {
        assert!(
            frozen.elapsed() < Duration::from_secs(10),
            "the cache went on serving without hearing the database"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let off_after = frozen.elapsed();
    // At most one lease after the last beacon that came back.
    assert!(
        off_after <= tessera_core::frontend::client_cache::LEASE + Duration::from_millis(500),
        "{off_after:?}"
    );
    // Past the silence limit, the server gives its listening connection up and
    // opens another (which waits in the relay until the database answers).
    tokio::time::sleep(
        (tessera_core::frontend::client_cache::SILENT_LIMIT + Duration::from_secs(1))
            .saturating_sub(frozen.elapsed()),
    )
    .await;
    relay.freeze(false);
    wait_until_cache_serves(&b).await;
    let after = listening_pids(&mut admin).await;
    assert!(
        after.iter().any(|pid| !before.contains(pid)),
        "a new listening connection: {before:?} then {after:?}"
    );
    eprintln!("the cache stopped serving {off_after:?} after the database went silent");
    b.stop().await;
    a.stop().await;
}

async fn phone_numbers_by_sms_code(app: &TestApp) {
    app.core()
        .settings()
        .update_settings(|s| {
            s.user.phone_number.enabled = true;
            s.user.phone_number.used_for_first_factor = true;
            s.user.phone_number.verify_at_sign_up = true;
            Ok(())
        })
        .await
        .unwrap();
    let email = unique_email("phone");
    let phone = format!("+1415{:07}", rand::random::<u32>() % 10_000_000);
    let mut b = Browser::new(app);
    let (_, out) = b
        .post(
            "/client/sign_ups",
            &[
                ("email_address", &email),
                ("phone_number", &phone),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    let su = &out["response"];
    assert_eq!(
        su["unverified_fields"],
        json!(["email_address", "phone_number"]),
        "{su}"
    );
    let id = su["id"].as_str().unwrap().to_owned();
    b.post(
        &format!("/client/sign_ups/{id}/prepare_verification"),
        &[("strategy", "email_code")],
    )
    .await;
    let code = app.smtp.code_for(&email).await;
    let (_, out) = b
        .post(
            &format!("/client/sign_ups/{id}/attempt_verification"),
            &[("strategy", "email_code"), ("code", &code)],
        )
        .await;
    assert_eq!(
        out["response"]["unverified_fields"],
        json!(["phone_number"])
    );
    let (status, out) = b
        .post(
            &format!("/client/sign_ups/{id}/prepare_verification"),
            &[("strategy", "phone_code")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(
        out["response"]["verifications"]["phone_number"]["strategy"],
        "phone_code"
    );
    let code = app.sms.code_for(&phone).await;
    let (status, out) = b
        .post(
            &format!("/client/sign_ups/{id}/attempt_verification"),
            &[("strategy", "phone_code"), ("code", &code)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["response"]["status"], "complete");
    let user = &out["client"]["sessions"][0]["user"];
    assert_eq!(user["phone_numbers"][0]["phone_number"], phone.as_str());
    assert_eq!(
        user["phone_numbers"][0]["verification"]["strategy"],
        "phone_code"
    );

    // Sign in elsewhere with the phone number and an SMS code.
    let mut b2 = Browser::new(app);
    let (status, out) = b2.post("/client/sign_ins", &[("identifier", &phone)]).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let factor = out["response"]["supported_first_factors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["strategy"] == "phone_code")
        .unwrap()
        .clone();
    let id = out["response"]["id"].as_str().unwrap().to_owned();
    b2.post(
        &format!("/client/sign_ins/{id}/prepare_first_factor"),
        &[
            ("strategy", "phone_code"),
            (
                "phone_number_id",
                factor["phone_number_id"].as_str().unwrap(),
            ),
        ],
    )
    .await;
    let code = app.sms.code_for(&phone).await;
    let (status, out) = b2
        .post(
            &format!("/client/sign_ins/{id}/attempt_first_factor"),
            &[("strategy", "phone_code"), ("code", &code)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["response"]["status"], "complete");
}

async fn rate_limits_answer_429_with_retry_after(app: &TestApp) {
    // Codes per address: 5 per 10 minutes.
    crate::support::inside_one_window(10 * 60_000).await;
    let email = unique_email("limit");
    let mut b = Browser::new(app);
    let (_, out) = b
        .post("/client/sign_ups", &[("email_address", &email)])
        .await;
    let id = out["response"]["id"].as_str().unwrap().to_owned();
    for _ in 0..5 {
        let (status, _) = b
            .post(
                &format!("/client/sign_ups/{id}/prepare_verification"),
                &[("strategy", "email_code")],
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, body) = b
        .post(
            &format!("/client/sign_ups/{id}/prepare_verification"),
            &[("strategy", "email_code")],
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_error(&body, "too_many_requests");
    let retry: i64 = b.last_retry_after.clone().unwrap().parse().unwrap();
    assert!((1..=600).contains(&retry), "{retry}");

    // New sign-ups per IP: 30 per minute (the 31st is refused; one was made above).
    crate::support::inside_one_window(60_000).await;
    let mut refused = false;
    for i in 0..31 {
        let mut other = Browser::new(app);
        let (status, _) = other
            .post(
                "/client/sign_ups",
                &[("email_address", &format!("ip{i}{email}"))],
            )
            .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            refused = true;
            break;
        }
    }
    assert!(refused, "the per-IP sign-up budget ran out");
}

async fn password_reset_by_emailed_code(app: &TestApp) {
    let email = unique_email("reset");
    let user = app.user(json!({"email_address": [email]})).await;
    let (_, old_session) = app.post("/sessions", json!({"user_id": user["id"]})).await;
    let mut b = Browser::new(app);
    let (_, out) = b.post("/client/sign_ins", &[("identifier", &email)]).await;
    let id = out["response"]["id"].as_str().unwrap().to_owned();
    let factor = out["response"]["supported_first_factors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["strategy"] == "reset_password_email_code")
        .unwrap()
        .clone();
    let (status, body) = b
        .post(
            &format!("/client/sign_ins/{id}/reset_password"),
            &[("password", "brand new password 1")],
        )
        .await;
    assert!(status.is_client_error(), "no reset before the code: {body}");
    b.post(
        &format!("/client/sign_ins/{id}/prepare_first_factor"),
        &[
            ("strategy", "reset_password_email_code"),
            (
                "email_address_id",
                factor["email_address_id"].as_str().unwrap(),
            ),
        ],
    )
    .await;
    let code = app.smtp.code_for(&email).await;
    let (status, out) = b
        .post(
            &format!("/client/sign_ins/{id}/attempt_first_factor"),
            &[("strategy", "reset_password_email_code"), ("code", &code)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["response"]["status"], "needs_new_password");
    let (status, body) = b
        .post(
            &format!("/client/sign_ins/{id}/reset_password"),
            &[("password", "short")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_password_length_too_short");
    let (status, out) = b
        .post(
            &format!("/client/sign_ins/{id}/reset_password"),
            &[
                ("password", "brand new password 1"),
                ("sign_out_of_other_sessions", "true"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["response"]["status"], "complete");
    let (_, old) = app
        .get(&format!(
            "/sessions/{}",
            old_session["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(old["status"], "revoked", "other sessions signed out");
    let (_, ok) = app
        .post(
            &format!("/users/{}/verify_password", user["id"].as_str().unwrap()),
            json!({"password": "brand new password 1"}),
        )
        .await;
    assert_eq!(ok["verified"], true);
}

async fn test_identifiers_only_in_development(app: &TestApp) {
    let email = format!("dev{:08x}+clerk_test@example.com", rand::random::<u32>());
    let sent_before = app.smtp.count();
    let mut b = Browser::new(app);
    let (_, out) = b
        .post(
            "/client/sign_ups",
            &[
                ("email_address", &email),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    let id = out["response"]["id"].as_str().unwrap().to_owned();
    b.post(
        &format!("/client/sign_ups/{id}/prepare_verification"),
        &[("strategy", "email_code")],
    )
    .await;
    let (status, out) = b
        .post(
            &format!("/client/sign_ups/{id}/attempt_verification"),
            &[("strategy", "email_code"), ("code", "424242")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["response"]["status"], "complete");
    assert_eq!(app.smtp.count(), sent_before, "test addresses get no email");

    // A production instance treats the same address as any other.
    let prod = TestApp::start_with(
        crate::support::Backend::Sqlite,
        tessera_domain::settings::EnvironmentType::Production,
    )
    .await
    .unwrap();
    let mut b = Browser::new(&prod);
    b.origin = prod.base.clone();
    let (_, out) = b
        .post(
            "/client/sign_ups",
            &[
                ("email_address", &email),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    let id = out["response"]["id"].as_str().unwrap().to_owned();
    b.post(
        &format!("/client/sign_ups/{id}/prepare_verification"),
        &[("strategy", "email_code")],
    )
    .await;
    let real = prod.smtp.code_for(&email).await;
    let (status, body) = b
        .post(
            &format!("/client/sign_ups/{id}/attempt_verification"),
            &[("strategy", "email_code"), ("code", "424242")],
        )
        .await;
    if real != "424242" {
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    // And refuses origins it does not know.
    let mut stranger = Browser::new(&prod);
    let (status, body) = stranger.get("/client").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_error(&body, "origin_invalid");
    prod.stop().await;
}

fn unique_email(tag: &str) -> String {
    format!("{tag}{:08x}@example.com", rand::random::<u32>())
}

async fn environment_and_empty_client(app: &TestApp) {
    let mut b = Browser::new(app);
    let (status, env) = b.patch("/environment", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(env["auth_config"]["object"], "auth_config");
    assert_eq!(env["auth_config"]["single_session_mode"], false);
    assert_eq!(
        env["display_config"]["instance_environment_type"],
        "development"
    );
    assert_eq!(
        env["user_settings"]["attributes"]["email_address"]["enabled"],
        true
    );
    assert_eq!(
        env["user_settings"]["attributes"]["password"]["required"],
        true
    );
    assert_eq!(env["user_settings"]["sign_up"]["mode"], "public");
    assert!(env["commerce_settings"]["billing"].is_object());

    let (status, client) = b.get("/client").await;
    assert_eq!(
        (status, client),
        (StatusCode::OK, json!({"response": null, "client": null}))
    );

    // Credentialed CORS echoes the exact origin, also on errors.
    let resp = app
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/v1/client/sign_ins", app.base),
        )
        .header("origin", "http://127.0.0.1:3000")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "http://127.0.0.1:3000"
    );
    assert_eq!(resp.headers()["access-control-allow-credentials"], "true");
    let (status, body) = b
        .post("/client/sign_ins", &[("identifier", "nobody@example.com")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_identifier_not_found");
    assert_eq!(body["errors"][0]["meta"]["param_name"], "identifier");
}

async fn sign_up_with_emailed_code(app: &TestApp) {
    let mut b = Browser::new(app);
    let email = unique_email("signup");
    let (status, out) = b
        .post(
            "/client/sign_ups",
            &[
                ("email_address", &email),
                ("password", "correct horse battery"),
                ("first_name", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let su = &out["response"];
    assert_id(&su["id"], "sua");
    assert_eq!(su["object"], "sign_up_attempt");
    assert_eq!(su["status"], "missing_requirements");
    assert_eq!(su["missing_fields"], json!([]));
    assert_eq!(su["unverified_fields"], json!(["email_address"]));
    assert!(
        su["verifications"]["email_address"]["strategy"].is_null(),
        "no code before prepare"
    );
    assert!(
        b.client_cookie.is_some(),
        "a client is created with its cookie"
    );
    assert!(b
        .last_set_cookies
        .iter()
        .any(|c| c.starts_with("__client=") && c.contains("HttpOnly")));
    assert_eq!(
        out["client"]["sign_up"]["id"], su["id"],
        "the client carries the attempt"
    );
    let id = su["id"].as_str().unwrap().to_owned();

    let (status, out) = b
        .post(
            &format!("/client/sign_ups/{id}/prepare_verification"),
            &[("strategy", "email_code")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        out["response"]["verifications"]["email_address"]["strategy"],
        "email_code"
    );
    let code = app.smtp.code_for(&email).await;

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (status, body) = b
        .post(
            &format!("/client/sign_ups/{id}/attempt_verification"),
            &[("strategy", "email_code"), ("code", wrong)],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_code_incorrect");
    assert_eq!(body["errors"][0]["meta"]["param_name"], "code");

    let cookie_before = b.client_cookie.clone();
    let (status, out) = b
        .post(
            &format!("/client/sign_ups/{id}/attempt_verification"),
            &[("strategy", "email_code"), ("code", &code)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let su = &out["response"];
    assert_eq!(su["status"], "complete");
    assert_ne!(
        b.client_cookie, cookie_before,
        "the client token rotates on sign-in"
    );
    let sid = su["created_session_id"].as_str().unwrap().to_owned();
    let session = &out["client"]["sessions"][0];
    assert_eq!(session["id"], sid.as_str());
    assert_eq!(
        session["user"]["email_addresses"][0]["email_address"],
        email.as_str()
    );
    assert_eq!(
        session["user"]["email_addresses"][0]["verification"]["strategy"],
        "email_code"
    );
    assert!(session["last_active_token"]["jwt"].is_string());

    // The code was single-use.
    let (status, _) = b
        .post(
            &format!("/client/sign_ups/{id}/attempt_verification"),
            &[("strategy", "email_code"), ("code", &code)],
        )
        .await;
    assert!(status.is_client_error());

    let (status, touched) = b
        .post(
            &format!("/client/sessions/{sid}/touch"),
            &[("active_organization_id", "")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(touched["client"]["last_active_session_id"], sid.as_str());
    let (status, token) = b.post(&format!("/client/sessions/{sid}/tokens"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(token["object"], "token");
    let claims = crate::sessions::verify_with_jwks(app, token["jwt"].as_str().unwrap()).await;
    assert_eq!(claims["sid"], sid.as_str());
    assert_eq!(claims["azp"], "http://127.0.0.1:3000");

    // A reload: the cookie alone finds the signed-in client.
    let (_, client) = b.get("/client").await;
    assert_eq!(client["response"]["sessions"][0]["id"], sid.as_str());
    // The user exists in the Backend API too, with the verified address.
    let (_, users) = app.get(&format!("/users?email_address={email}")).await;
    assert_eq!(users.as_array().unwrap().len(), 1);
}

async fn sign_in_by_password_and_by_code(app: &TestApp) {
    let email = unique_email("signin");
    app.user(json!({"email_address": [email]})).await;
    let mut b = Browser::new(app);

    let (status, body) = b
        .post(
            "/client/sign_ins",
            &[("identifier", &email), ("password", "wrong password!!")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_password_incorrect");
    assert_eq!(body["errors"][0]["meta"]["param_name"], "password");

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
    assert_id(&out["response"]["id"], "sia");
    assert_eq!(out["response"]["status"], "complete");
    assert_eq!(out["client"]["sessions"].as_array().unwrap().len(), 1);

    // Second browser: identifier first, then an emailed code.
    let mut b2 = Browser::new(app);
    let (status, out) = b2.post("/client/sign_ins", &[("identifier", &email)]).await;
    assert_eq!(status, StatusCode::OK);
    let si = &out["response"];
    assert_eq!(si["status"], "needs_first_factor");
    assert!(si["first_factor_verification"].is_null());
    let factor = si["supported_first_factors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["strategy"] == "email_code")
        .unwrap()
        .clone();
    assert_eq!(factor["safe_identifier"], email.as_str());
    let id = si["id"].as_str().unwrap().to_owned();
    let (status, _) = b2
        .post(
            &format!("/client/sign_ins/{id}/prepare_first_factor"),
            &[
                ("strategy", "email_code"),
                (
                    "email_address_id",
                    factor["email_address_id"].as_str().unwrap(),
                ),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let code = app.smtp.code_for(&email).await;
    let (status, out) = b2
        .post(
            &format!("/client/sign_ins/{id}/attempt_first_factor"),
            &[("strategy", "email_code"), ("code", &code)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["response"]["status"], "complete");
    assert!(out["response"]["created_session_id"].is_string());
}

async fn sign_out_and_multi_session(app: &TestApp) {
    let (a, c) = (unique_email("multia"), unique_email("multic"));
    app.user(json!({"email_address": [a]})).await;
    app.user(json!({"email_address": [c]})).await;
    let mut b = Browser::new(app);
    let (_, first) = b
        .post(
            "/client/sign_ins",
            &[("identifier", &a), ("password", "correct horse battery")],
        )
        .await;
    let (_, second) = b
        .post(
            "/client/sign_ins",
            &[("identifier", &c), ("password", "correct horse battery")],
        )
        .await;
    let s1 = first["response"]["created_session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let s2 = second["response"]["created_session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        second["client"]["sessions"].as_array().unwrap().len(),
        2,
        "{second}"
    );
    assert_eq!(second["client"]["last_active_session_id"], s2.as_str());

    // The same user twice on one client is refused.
    let (status, body) = b
        .post(
            "/client/sign_ins",
            &[("identifier", &a), ("password", "correct horse battery")],
        )
        .await;
    assert!(status.is_client_error());
    assert_error(&body, "identifier_already_signed_in");

    let (_, touched) = b.post(&format!("/client/sessions/{s1}/touch"), &[]).await;
    assert_eq!(touched["client"]["last_active_session_id"], s1.as_str());

    let (status, ended) = b.post(&format!("/client/sessions/{s1}/end"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ended["response"]["status"], "ended");
    assert_eq!(ended["client"]["sessions"].as_array().unwrap().len(), 1);
    let (status, body) = b.post(&format!("/client/sessions/{s1}/tokens"), &[]).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "an ended session mints no token: {body}"
    );

    let (status, out) = b.delete("/client/sessions").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(out["client"]["sessions"], json!([]));
    assert!(b
        .last_set_cookies
        .iter()
        .any(|c| c.starts_with("__client_uat=0")));
    let (_, session) = app.get(&format!("/sessions/{s2}")).await;
    assert_eq!(session["status"], "ended");
}

async fn lockout_after_wrong_passwords(app: &TestApp) {
    app.core()
        .settings()
        .update_settings(|s| {
            s.user.lockout.max_attempts = 3;
            Ok(())
        })
        .await
        .unwrap();
    let email = unique_email("lock");
    let user = app.user(json!({"email_address": [email]})).await;
    let mut b = Browser::new(app);
    for _ in 0..3 {
        let (status, _) = b
            .post(
                "/client/sign_ins",
                &[("identifier", &email), ("password", "wrong password!!")],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (status, body) = b
        .post(
            "/client/sign_ins",
            &[
                ("identifier", &email),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_error(&body, "user_locked");
    let (_, locked) = app
        .get(&format!("/users/{}", user["id"].as_str().unwrap()))
        .await;
    assert_eq!(locked["locked"], true);
    assert_eq!(locked["verification_attempts_remaining"], 0);
    app.post(
        &format!("/users/{}/unlock", user["id"].as_str().unwrap()),
        json!({}),
    )
    .await;
    let (status, _) = b
        .post(
            "/client/sign_ins",
            &[
                ("identifier", &email),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

async fn single_session_mode_refuses_a_second_session(app: &TestApp) {
    app.core()
        .settings()
        .update_settings(|s| {
            s.user.single_session_mode = true;
            Ok(())
        })
        .await
        .unwrap();
    let (a, c) = (unique_email("singlea"), unique_email("singlec"));
    app.user(json!({"email_address": [a]})).await;
    app.user(json!({"email_address": [c]})).await;
    let mut b = Browser::new(app);
    let (status, _) = b
        .post(
            "/client/sign_ins",
            &[("identifier", &a), ("password", "correct horse battery")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = b
        .post(
            "/client/sign_ins",
            &[("identifier", &c), ("password", "correct horse battery")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_error(&body, "session_exists");
    let (_, env) = b.get("/environment").await;
    assert_eq!(env["auth_config"]["single_session_mode"], true);
}

async fn my_account(app: &TestApp) {
    let email = unique_email("me");
    app.user(json!({"email_address": [email]})).await;
    let mut b = Browser::new(app);
    let (_, out) = b
        .post(
            "/client/sign_ins",
            &[
                ("identifier", &email),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    let sid = out["response"]["created_session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let me = |p: &str| format!("/me{p}?_clerk_session_id={sid}");

    let (status, out) = b
        .patch(&me(""), &[("first_name", "Ann"), ("last_name", "Lee")])
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["response"]["first_name"], "Ann");
    assert!(
        out["response"].get("private_metadata").is_none(),
        "never shown to the frontend"
    );
    assert_eq!(out["client"]["sessions"][0]["user"]["first_name"], "Ann");

    let (status, body) = b
        .post(
            &me("/change_password"),
            &[
                ("current_password", "not my password"),
                ("new_password", "a brand new secret"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "form_password_incorrect");
    assert_eq!(body["errors"][0]["meta"]["param_name"], "current_password");
    let (status, _) = b
        .post(
            &me("/change_password"),
            &[
                ("current_password", "correct horse battery"),
                ("new_password", "a brand new secret"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let second = unique_email("second");
    let (status, out) = b
        .post(&me("/email_addresses/"), &[("email_address", &second)])
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let eid = out["response"]["id"].as_str().unwrap().to_owned();
    b.post(
        &me(&format!("/email_addresses/{eid}/prepare_verification")),
        &[("strategy", "email_code")],
    )
    .await;
    let code = app.smtp.code_for(&second).await;
    let (status, out) = b
        .post(
            &me(&format!("/email_addresses/{eid}/attempt_verification")),
            &[("code", &code)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["response"]["verification"]["status"], "verified");

    let (status, sessions) = b.get(&me("/sessions/active")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(sessions.is_array(), "a bare array: {sessions}");
    assert_eq!(sessions[0]["id"], sid.as_str());
    let activity = &sessions[0]["latest_activity"];
    assert_eq!(activity["browser_name"], "Chrome", "{activity}");
    assert_eq!(activity["ip_address"], "127.0.0.1");
    assert_eq!(activity["is_mobile"], false);

    // Without a session there is no /me.
    let mut stranger = Browser::new(app);
    let (status, body) = stranger.get("/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error(&body, "authentication_invalid");

    let (status, out) = b.delete(&me("")).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["response"]["deleted"], true);
    let (_, users) = app.get(&format!("/users?email_address={email}")).await;
    assert_eq!(users, json!([]));
    let _: Value = out;
}
