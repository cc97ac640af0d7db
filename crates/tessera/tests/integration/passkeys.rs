//! Passkeys (WebAuthn): registration through `/v1/me/passkeys` as clerk-js
//! does it, sign-in with a discoverable credential and after an identifier,
//! reverification, and removal through both APIs. A software authenticator
//! (a P-256 key; the attestation and the assertions built as the WebAuthn
//! specification lays them out) plays the browser's part.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use reqwest::StatusCode;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use serde_json::{json, Value};

use crate::account::{signed_in_from, Me};
use crate::both_backends;
use crate::browser::Browser;
use crate::support::{assert_error, assert_id, first_email, TestApp};

both_backends!(
    register_rename_and_remove_a_passkey,
    adding_a_passkey_needs_a_recent_verification,
    sign_in_with_a_passkey,
    one_answer_signs_in_once,
    passkey_changes_are_delivered,
    reverify_with_a_passkey,
    passkeys_follow_the_settings,
);

const PAGE: &str = "http://localhost:3000";

/// A small CBOR writer: the few shapes an attestation object needs.
enum Cbor<'a> {
    Int(i64),
    Bytes(&'a [u8]),
    Text(&'a str),
    Map(Vec<(Cbor<'a>, Cbor<'a>)>),
}

fn cbor_head(out: &mut Vec<u8>, major: u8, len: u64) {
    let m = major << 5;
    match len {
        0..=23 => out.push(m | len as u8),
        24..=0xff => out.extend([m | 24, len as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend((len as u16).to_be_bytes());
        }
        _ => {
            out.push(m | 26);
            out.extend((len as u32).to_be_bytes());
        }
    }
}

fn cbor(value: &Cbor<'_>, out: &mut Vec<u8>) {
    match value {
        Cbor::Int(n) if *n >= 0 => cbor_head(out, 0, *n as u64),
        Cbor::Int(n) => cbor_head(out, 1, (-1 - *n) as u64),
        Cbor::Bytes(b) => {
            cbor_head(out, 2, b.len() as u64);
            out.extend_from_slice(b);
        }
        Cbor::Text(t) => {
            cbor_head(out, 3, t.len() as u64);
            out.extend_from_slice(t.as_bytes());
        }
        Cbor::Map(entries) => {
            cbor_head(out, 5, entries.len() as u64);
            for (k, v) in entries {
                cbor(k, out);
                cbor(v, out);
            }
        }
    }
}

fn sha256(data: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, data)
        .as_ref()
        .to_vec()
}

/// A platform authenticator holding one discoverable credential.
struct Authenticator {
    key: EcdsaKeyPair,
    credential_id: Vec<u8>,
    user_handle: Option<String>,
    counter: u32,
    /// Keeps its signature counter at 0, as synced passkeys do.
    synced: bool,
    origin: String,
}

impl Authenticator {
    fn new() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        Self {
            key,
            credential_id: rand::random::<[u8; 16]>().to_vec(),
            user_handle: None,
            counter: 0,
            synced: false,
            origin: PAGE.to_owned(),
        }
    }

    fn id(&self) -> String {
        B64.encode(&self.credential_id)
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        json!({ "type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false })
            .to_string()
            .into_bytes()
    }

    /// `navigator.credentials.create()` for the options in `nonce`; the
    /// credential as clerk-js serializes it.
    fn create(&mut self, nonce: &str) -> String {
        let options: Value = serde_json::from_str(nonce).unwrap();
        let rp_id = options["rp"]["id"].as_str().unwrap();
        self.user_handle = Some(options["user"]["id"].as_str().unwrap().to_owned());
        let client_data =
            self.client_data("webauthn.create", options["challenge"].as_str().unwrap());
        let point = self.key.public_key().as_ref();
        let (x, y) = (&point[1..33], &point[33..65]);
        let mut cose = Vec::new();
        cbor(
            &Cbor::Map(vec![
                (Cbor::Int(1), Cbor::Int(2)),
                (Cbor::Int(3), Cbor::Int(-7)),
                (Cbor::Int(-1), Cbor::Int(1)),
                (Cbor::Int(-2), Cbor::Bytes(x)),
                (Cbor::Int(-3), Cbor::Bytes(y)),
            ]),
            &mut cose,
        );
        let mut auth_data = sha256(rp_id.as_bytes());
        auth_data.push(0x45); // user present, user verified, attested credential data
        auth_data.extend(self.counter.to_be_bytes());
        auth_data.extend([0u8; 16]); // AAGUID
        auth_data.extend((self.credential_id.len() as u16).to_be_bytes());
        auth_data.extend(&self.credential_id);
        auth_data.extend(cose);
        let mut attestation = Vec::new();
        cbor(
            &Cbor::Map(vec![
                (Cbor::Text("fmt"), Cbor::Text("none")),
                (Cbor::Text("attStmt"), Cbor::Map(Vec::new())),
                (Cbor::Text("authData"), Cbor::Bytes(&auth_data)),
            ]),
            &mut attestation,
        );
        json!({
            "type": "public-key",
            "id": self.id(),
            "rawId": self.id(),
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": B64.encode(client_data),
                "attestationObject": B64.encode(attestation),
                "transports": ["internal"],
            },
        })
        .to_string()
    }

    /// `navigator.credentials.get()` for the options in `nonce`.
    fn get(&mut self, nonce: &str) -> String {
        let options: Value = serde_json::from_str(nonce).unwrap();
        let rp_id = options["rpId"].as_str().unwrap();
        if !self.synced {
            self.counter += 1;
        }
        let client_data = self.client_data("webauthn.get", options["challenge"].as_str().unwrap());
        let mut auth_data = sha256(rp_id.as_bytes());
        auth_data.push(0x05); // user present, user verified
        auth_data.extend(self.counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend(sha256(&client_data));
        let signature = self
            .key
            .sign(&SystemRandom::new(), &signed)
            .unwrap()
            .as_ref()
            .to_vec();
        json!({
            "type": "public-key",
            "id": self.id(),
            "rawId": self.id(),
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": B64.encode(client_data),
                "authenticatorData": B64.encode(auth_data),
                "signature": B64.encode(signature),
                "userHandle": self.user_handle,
            },
        })
        .to_string()
    }
}

async fn enable(app: &TestApp, on: bool) {
    let (status, doc) = app
        .patch(
            "/instance/settings",
            json!({"user": {"passkey_enabled": on}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{doc}");
}

/// A signed-in user on a page at `localhost` (WebAuthn needs a domain name).
async fn signed_in(app: &TestApp) -> Me<'_> {
    signed_in_from(app, Some(PAGE.to_owned())).await
}

/// Registers `auth`'s credential for `me`; the passkey's id.
async fn register(me: &mut Me<'_>, auth: &mut Authenticator) -> String {
    let (status, out) = me.b.post(&me.path("/passkeys"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let id = out["response"]["id"].as_str().unwrap().to_owned();
    let nonce = out["response"]["verification"]["nonce"]
        .as_str()
        .unwrap()
        .to_owned();
    let credential = auth.create(&nonce);
    let path = me.path(&format!("/passkeys/{id}/attempt_verification"));
    let (status, out) = answer(&mut me.b, &path, &credential).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    id
}

/// Posts a passkey's answer (`credential`) to `path` as clerk-js does.
async fn answer(b: &mut Browser<'_>, path: &str, credential: &str) -> (StatusCode, Value) {
    b.post(
        path,
        &[
            ("strategy", "passkey"),
            ("public_key_credential", credential),
        ],
    )
    .await
}

fn strategies(factors: &Value) -> Vec<&str> {
    factors
        .as_array()
        .map(|a| a.iter().map(|f| f["strategy"].as_str().unwrap()).collect())
        .unwrap_or_default()
}

async fn register_rename_and_remove_a_passkey(app: &TestApp) {
    enable(app, true).await;
    let (_, env) = Browser::new(app).get("/environment").await;
    let attr = &env["user_settings"]["attributes"]["passkey"];
    assert_eq!(attr["enabled"], true, "{attr}");
    assert_eq!(attr["first_factors"], json!(["passkey"]));
    assert_eq!(
        env["user_settings"]["passkey_settings"],
        json!({"allow_autofill": true, "show_sign_in_button": true})
    );

    let mut me = signed_in(app).await;
    // WebAuthn has no relying party on an IP address.
    me.b.origin = "http://127.0.0.1:3000".to_owned();
    let (status, body) = me.b.post(&me.path("/passkeys"), &[]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "form_param_value_invalid");
    me.b.origin = PAGE.to_owned();

    let (status, out) = me.b.post(&me.path("/passkeys"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let pk = &out["response"];
    assert_eq!(pk["object"], "passkey");
    assert_id(&pk["id"], "idn");
    assert_eq!(pk["verification"]["object"], "verification_passkey");
    assert_eq!(pk["verification"]["status"], "unverified");
    let nonce: Value = serde_json::from_str(pk["verification"]["nonce"].as_str().unwrap()).unwrap();
    assert_eq!(nonce["rp"]["id"], "localhost", "{nonce}");
    assert_eq!(nonce["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(
        nonce["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert!(nonce["challenge"].as_str().unwrap().len() >= 43, "{nonce}");
    assert!(
        nonce["user"]["name"].as_str().unwrap().contains('@'),
        "{nonce}"
    );
    let pid = pk["id"].as_str().unwrap().to_owned();
    let attempt = me.path(&format!("/passkeys/{pid}/attempt_verification"));

    // Not a credential; one made for another origin.
    let (status, body) = answer(&mut me.b, &attempt, "{}").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "form_param_value_invalid");
    let mut auth = Authenticator::new();
    auth.origin = "http://localhost:4000".to_owned();
    let wrong = auth.create(&nonce.to_string());
    let (status, body) = answer(&mut me.b, &attempt, &wrong).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "passkey_registration_failed");

    auth.origin = PAGE.to_owned();
    let good = auth.create(&nonce.to_string());
    let (status, out) = answer(&mut me.b, &attempt, &good).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["response"]["verification"]["status"], "verified");
    assert_eq!(out["response"]["verification"]["nonce"], Value::Null);
    assert_eq!(out["response"]["name"], "Passkey");
    let user = &out["client"]["sessions"][0]["user"];
    assert_eq!(user["passkeys"][0]["id"], pid.as_str(), "{user}");
    // Spent: the same answer again.
    let (status, body) = answer(&mut me.b, &attempt, &good).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_error(&body, "verification_already_verified");

    // A second registration excludes the first credential, and refuses it.
    let (_, out) = me.b.post(&me.path("/passkeys"), &[]).await;
    let second = out["response"]["id"].as_str().unwrap().to_owned();
    let nonce = out["response"]["verification"]["nonce"]
        .as_str()
        .unwrap()
        .to_owned();
    let options: Value = serde_json::from_str(&nonce).unwrap();
    assert_eq!(options["excludeCredentials"][0]["id"], auth.id().as_str());
    let again = auth.create(&nonce);
    let path = me.path(&format!("/passkeys/{second}/attempt_verification"));
    let (status, body) = answer(&mut me.b, &path, &again).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "passkey_already_exists");

    // Rename.
    let path = me.path(&format!("/passkeys/{pid}"));
    let (status, body) = me.b.patch(&path, &[("name", "  ")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, out) = me.b.patch(&path, &[("name", "Work laptop")]).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["response"]["name"], "Work laptop");
    let (_, got) = me.b.get(&path).await;
    assert_eq!(got["response"]["name"], "Work laptop");

    // The Backend API shows it, and removes it.
    let user_id = user["id"].as_str().unwrap().to_owned();
    let (_, u) = app.get(&format!("/users/{user_id}")).await;
    assert_eq!(u["passkeys"].as_array().unwrap().len(), 1, "{u}");
    assert_eq!(u["passkeys"][0]["name"], "Work laptop");
    assert_eq!(u["passkeys"][0]["verification"]["status"], "verified");
    let (status, out) = app
        .delete(&format!("/users/{user_id}/passkeys/{pid}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(
        out,
        json!({"object": "passkey", "id": pid, "deleted": true})
    );
    let (status, _) = app
        .delete(&format!("/users/{user_id}/passkeys/{pid}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, u) = app.get(&format!("/users/{user_id}")).await;
    assert_eq!(u["passkeys"], json!([]));

    // Removed by its owner through the Frontend API.
    let mut auth = Authenticator::new();
    let pid = register(&mut me, &mut auth).await;
    let (status, out) = me.b.delete(&me.path(&format!("/passkeys/{pid}"))).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["response"]["deleted"], true);
    assert_eq!(out["client"]["sessions"][0]["user"]["passkeys"], json!([]));
}

/// A browser on the page.
fn page(app: &TestApp) -> Browser<'_> {
    let mut b = Browser::new(app);
    b.origin = PAGE.to_owned();
    b
}

/// A passkey sign-in from a fresh browser on the page: discoverable, or
/// prepared after `identifier`.
struct PasskeySignIn<'a> {
    b: Browser<'a>,
    id: String,
    nonce: String,
    started: Value,
}

impl<'a> PasskeySignIn<'a> {
    async fn start(app: &'a TestApp, identifier: Option<&str>) -> Self {
        let mut b = page(app);
        let form = match identifier {
            Some(i) => vec![("identifier", i)],
            None => vec![("strategy", "passkey")],
        };
        let (status, started) = b.post("/client/sign_ins", &form).await;
        assert_eq!(status, StatusCode::OK, "{started}");
        let id = started["response"]["id"].as_str().unwrap().to_owned();
        let mut out = started.clone();
        if identifier.is_some() {
            let (status, prepared) = b
                .post(
                    &format!("/client/sign_ins/{id}/prepare_first_factor"),
                    &[("strategy", "passkey")],
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{prepared}");
            out = prepared;
        }
        let nonce = out["response"]["first_factor_verification"]["nonce"]
            .as_str()
            .unwrap()
            .to_owned();
        Self {
            b,
            id,
            nonce,
            started: started["response"].clone(),
        }
    }

    async fn answer(&mut self, credential: &str) -> (StatusCode, Value) {
        let path = format!("/client/sign_ins/{}/attempt_first_factor", self.id);
        answer(&mut self.b, &path, credential).await
    }
}

async fn sign_in_with_a_passkey(app: &TestApp) {
    enable(app, true).await;
    let mut me = signed_in(app).await;
    let mut auth = Authenticator::new();
    register(&mut me, &mut auth).await;
    let (_, out) = me.b.get("/me").await;
    let email = first_email(&out["response"]);
    let user_id = out["response"]["id"].as_str().unwrap().to_owned();
    // A second factor the passkey does not need.
    let (status, u) = app
        .patch(
            &format!("/users/{user_id}"),
            json!({"totp_secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{u}");

    // Discoverable: no identifier; the credential names its user.
    let mut si = PasskeySignIn::start(app, None).await;
    assert_eq!(si.started["status"], "needs_identifier");
    assert_eq!(
        si.started["first_factor_verification"]["strategy"],
        "passkey"
    );
    let options: Value = serde_json::from_str(&si.nonce).unwrap();
    assert_eq!(options["rpId"], "localhost");
    assert_eq!(options["allowCredentials"], json!([]));

    // A signature by another key is refused, and counts.
    let mut stranger = Authenticator::new();
    stranger.credential_id = auth.credential_id.clone();
    stranger.user_handle = auth.user_handle.clone();
    let (status, body) = si.answer(&stranger.get(&si.nonce)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "passkey_invalid");
    let (_, got) = si.b.get(&format!("/client/sign_ins/{}", si.id)).await;
    assert_eq!(got["response"]["first_factor_verification"]["attempts"], 1);

    let assertion = auth.get(&si.nonce);
    let (status, out) = si.answer(&assertion).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let done = &out["response"];
    assert_eq!(
        done["status"], "complete",
        "no second factor after a passkey: {done}"
    );
    assert_eq!(done["identifier"], email.as_str());
    assert!(done["created_session_id"].as_str().is_some());
    let user = &out["client"]["sessions"][0]["user"];
    assert!(
        user["passkeys"][0]["last_used_at"].as_i64().is_some(),
        "{user}"
    );

    // The same assertion for a new challenge, and an old counter, are refused.
    let mut si = PasskeySignIn::start(app, None).await;
    let (status, body) = si.answer(&assertion).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "passkey_invalid");
    auth.counter -= 1;
    let (status, body) = si.answer(&auth.get(&si.nonce)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "passkey_invalid");

    // After an identifier: offered as a first factor, for this user's passkeys only.
    let mut si = PasskeySignIn::start(app, Some(&email)).await;
    assert!(
        strategies(&si.started["supported_first_factors"]).contains(&"passkey"),
        "{}",
        si.started
    );
    let options: Value = serde_json::from_str(&si.nonce).unwrap();
    assert_eq!(options["allowCredentials"][0]["id"], auth.id().as_str());
    auth.counter += 5;
    let (status, out) = si.answer(&auth.get(&si.nonce)).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["response"]["status"], "complete");

    // Another user's passkey does not sign this user in.
    let mut other = signed_in(app).await;
    let mut theirs = Authenticator::new();
    register(&mut other, &mut theirs).await;
    let mut si = PasskeySignIn::start(app, Some(&email)).await;
    let (status, body) = si.answer(&theirs.get(&si.nonce)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "passkey_invalid");

    // A user without passkeys is not offered one.
    let plain = app.user(json!({})).await;
    let mut b = page(app);
    let (_, out) = b
        .post("/client/sign_ins", &[("identifier", &first_email(&plain))])
        .await;
    assert!(
        !strategies(&out["response"]["supported_first_factors"]).contains(&"passkey"),
        "{out}"
    );
}

async fn adding_a_passkey_needs_a_recent_verification(app: &TestApp) {
    enable(app, true).await;
    let mut me = signed_in(app).await;
    // The password was given half an hour ago.
    crate::reverification::age_session(app, &me.sid, 30).await;
    let (status, body) = me.b.post(&me.path("/passkeys"), &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_error(&body, "session_reverification_required");

    // Verified again (clerk-js's reverification modal), it is allowed.
    let sid = me.sid.clone();
    let (_, user) = me.b.get("/me").await;
    assert!(user["response"]["id"].is_string());
    let verify = |p: &str| format!("/client/sessions/{sid}/verify{p}");
    let (status, out) = me.b.post(&verify(""), &[("level", "second_factor")]).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let (status, out) =
        me.b.post(
            &verify("/attempt_first_factor"),
            &[
                ("strategy", "password"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let mut auth = Authenticator::new();
    register(&mut me, &mut auth).await;
}

/// Two requests bringing the same answer at once (a synced passkey, whose
/// counter stays 0, so the counter cannot tell them apart): one session.
async fn one_answer_signs_in_once(app: &TestApp) {
    enable(app, true).await;
    let mut me = signed_in(app).await;
    let mut auth = Authenticator::new();
    auth.synced = true;
    register(&mut me, &mut auth).await;
    let (_, out) = me.b.get("/me").await;
    let user_id = out["response"]["id"].as_str().unwrap().to_owned();
    let sessions_path = format!("/sessions?user_id={user_id}");
    let count = |body: Value| body.as_array().map_or(0, Vec::len);
    let before = count(app.get(&sessions_path).await.1);

    let mut si = PasskeySignIn::start(app, None).await;
    let assertion = auth.get(&si.nonce);
    let mut twin = page(app);
    twin.client_cookie = si.b.client_cookie.clone();
    let path = format!("/client/sign_ins/{}/attempt_first_factor", si.id);
    let ((s1, o1), (s2, o2)) =
        futures::join!(si.answer(&assertion), answer(&mut twin, &path, &assertion));
    let oks = [s1, s2].iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(oks, 1, "{s1} {o1}\n{s2} {o2}");
    for (status, body) in [(s1, &o1), (s2, &o2)] {
        assert!(
            status == StatusCode::OK || status.is_client_error(),
            "{status} {body}"
        );
    }
    assert_eq!(count(app.get(&sessions_path).await.1), before + 1);

    // Afterwards the same answer is refused: the sign-in is complete.
    let (status, body) = si.answer(&assertion).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

/// Registering, renaming and removing a passkey are each a `user.updated`
/// event whose user lists the passkeys.
async fn passkey_changes_are_delivered(app: &TestApp) {
    use crate::webhooks::{endpoint, Receiver};
    enable(app, true).await;
    let mut me = signed_in(app).await;
    let (_, out) = me.b.get("/me").await;
    let user_id = out["response"]["id"].as_str().unwrap().to_owned();
    let rx = Receiver::start().await;
    endpoint(
        app,
        json!({ "url": rx.url, "filter_types": ["user.updated"] }),
    )
    .await;
    let mut auth = Authenticator::new();
    let pid = register(&mut me, &mut auth).await;
    let path = me.path(&format!("/passkeys/{pid}"));
    let (status, _) = me.b.patch(&path, &[("name", "Phone")]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = me.b.delete(&path).await;
    assert_eq!(status, StatusCode::OK);
    let got = rx.wait_for(20, |all| all.len() >= 3).await;
    let passkeys: Vec<Value> = got
        .iter()
        .filter(|d| d.json["type"] == "user.updated" && d.json["data"]["id"] == user_id.as_str())
        .map(|d| d.json["data"]["passkeys"].clone())
        .collect();
    assert_eq!(passkeys.len(), 3, "{got:?}");
    // Deliveries may arrive in any order.
    let names: Vec<Vec<&str>> = passkeys
        .iter()
        .map(|p| {
            p.as_array()
                .unwrap()
                .iter()
                .map(|k| k["name"].as_str().unwrap())
                .collect()
        })
        .collect();
    assert!(names.contains(&vec!["Passkey"]), "{names:?}");
    assert!(names.contains(&vec!["Phone"]), "{names:?}");
    assert!(names.contains(&vec![]), "{names:?}");
}

async fn reverify_with_a_passkey(app: &TestApp) {
    enable(app, true).await;
    let mut me = signed_in(app).await;
    let mut auth = Authenticator::new();
    register(&mut me, &mut auth).await;
    let sid = me.sid.clone();
    let verify = |p: &str| format!("/client/sessions/{sid}/verify{p}");
    let (status, out) = me.b.post(&verify(""), &[("level", "first_factor")]).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert!(
        strategies(&out["response"]["supported_first_factors"]).contains(&"passkey"),
        "{out}"
    );
    let (status, out) =
        me.b.post(&verify("/prepare_first_factor"), &[("strategy", "passkey")])
            .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let nonce = out["response"]["first_factor_verification"]["nonce"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut stranger = Authenticator::new();
    stranger.credential_id = auth.credential_id.clone();
    let (status, body) = answer(
        &mut me.b,
        &verify("/attempt_first_factor"),
        &stranger.get(&nonce),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "passkey_invalid");
    let (status, out) = answer(
        &mut me.b,
        &verify("/attempt_first_factor"),
        &auth.get(&nonce),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["response"]["status"], "complete", "{out}");
}

async fn passkeys_follow_the_settings(app: &TestApp) {
    let (_, env) = Browser::new(app).get("/environment").await;
    assert_eq!(
        env["user_settings"]["attributes"]["passkey"]["enabled"],
        false
    );
    assert_eq!(
        env["user_settings"]["passkey_settings"],
        json!({"allow_autofill": false, "show_sign_in_button": false})
    );
    let mut me = signed_in(app).await;
    let (status, body) = me.b.post(&me.path("/passkeys"), &[]).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{body}");
    assert_error(&body, "feature_not_enabled");
    let (status, body) = page(app)
        .post("/client/sign_ins", &[("strategy", "passkey")])
        .await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{body}");

    // Registered while on; turned off, it no longer signs in or shows.
    enable(app, true).await;
    let mut auth = Authenticator::new();
    register(&mut me, &mut auth).await;
    let (status, doc) = app
        .patch(
            "/instance/settings",
            json!({"user": {"passkey_allow_autofill": false, "passkey_rp_id": "Not a domain"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{doc}");
    let (status, doc) = app
        .patch(
            "/instance/settings",
            json!({"user": {"passkey_allow_autofill": false}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    let (_, env) = Browser::new(app).get("/environment").await;
    assert_eq!(
        env["user_settings"]["passkey_settings"]["allow_autofill"],
        false
    );
    // A relying-party id the page is not within.
    let (status, doc) = app
        .patch(
            "/instance/settings",
            json!({"user": {"passkey_rp_id": "example.com"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    let (status, body) = me.b.post(&me.path("/passkeys"), &[]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_error(&body, "form_param_value_invalid");
    app.patch("/instance/settings", json!({"user": {"passkey_rp_id": ""}}))
        .await;

    enable(app, false).await;
    let (_, out) = me.b.get("/me").await;
    let email = first_email(&out["response"]);
    let (_, out) = page(app)
        .post("/client/sign_ins", &[("identifier", &email)])
        .await;
    assert!(
        !strategies(&out["response"]["supported_first_factors"]).contains(&"passkey"),
        "{out}"
    );
}
