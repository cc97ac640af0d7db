//! Frontend API JSON: the client with its sessions (each with its user and a
//! fresh token), sign-up and sign-in attempts, and the `{response, client}` envelope.
//!
//! Rendering is pure: what an answer shows is loaded first, in one place
//! ([`tessera_core::frontend::snapshot`]); the `load_*` functions and the
//! envelopes load, then render.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use tessera_core::clock::now_ms;
use tessera_core::frontend::sign_ins::SignInOutcome;
use tessera_core::frontend::sign_ups::{SignUpFields, SignUpOutcome};
use tessera_core::frontend::snapshot::{self, ClientSnapshot, SessionSnapshot};
use tessera_core::second_factors::second_factor_phones;
use tessera_core::sessions::ClientView;
use tessera_core::users::UserView;
use tessera_core::Core;
use tessera_domain::identifiers::{mask_email, mask_phone};
use tessera_domain::kinds::IdentificationKind;
use tessera_domain::kinds::SignInStatus;
use tessera_domain::kinds::VerificationStatus;
use tessera_domain::verification::{Strategy, Verification};
use tessera_store::attempts::{SignIn, SignUp};
use tessera_store::records::{Identification, Membership, Organization, Session, User};

use super::cookies::client_cookies;
use crate::error::ApiResult;

/// A user as the Frontend API shows it to that user (no private metadata),
/// with their organization memberships.
pub fn user(core: &Core, view: &UserView, memberships: &[Membership]) -> Value {
    let mut u = crate::wire::user::user(
        view,
        &core.instance().settings,
        &core.frontend_url,
        now_ms(),
    );
    if let Some(map) = u.as_object_mut() {
        map.remove("private_metadata");
        map.insert(
            "organization_memberships".to_owned(),
            memberships.iter().map(|m| membership(core, m)).collect(),
        );
    }
    u
}

/// An organization as its members see it (no private metadata).
pub fn organization(
    core: &Core,
    org: &Organization,
    members_count: Option<i64>,
    pending_invitations: i64,
) -> Value {
    let mut o = tessera_core::render::organization::organization(
        org,
        &core.roles(),
        Some(members_count.unwrap_or(0)),
        pending_invitations,
        &core.frontend_url,
    );
    if let Some(map) = o.as_object_mut() {
        map.remove("private_metadata");
    }
    o
}

/// A membership as the Frontend API shows it (no private metadata).
pub fn membership(core: &Core, m: &Membership) -> Value {
    let mut out = tessera_core::render::organization::membership(
        m,
        &core.organizations().roles(),
        &core.frontend_url,
    );
    out["organization"] = organization(core, &m.organization, m.members_count, 0);
    if let Some(map) = out.as_object_mut() {
        map.remove("private_metadata");
    }
    out
}

fn public_user_data(core: &Core, view: &UserView) -> Value {
    let identifier = view
        .user
        .primary_email_address_id
        .as_ref()
        .and_then(|id| view.identifications.iter().find(|i| &i.id == id))
        .map(|i| i.identifier.clone())
        .or_else(|| view.user.username.clone());
    json!({
        "first_name": view.user.first_name,
        "last_name": view.user.last_name,
        "image_url": crate::wire::user::image_url(&core.frontend_url, view),
        "has_image": view.user.has_image,
        "identifier": identifier,
        "user_id": view.user.id.as_str(),
        "username": view.user.username,
        "banned": view.user.banned,
        "deprovisioned": false,
    })
}

/// Loads a session's user and token, and renders it.
pub async fn load_session(core: &Core, s: &Session, origin: Option<String>) -> ApiResult<Value> {
    let snap = snapshot::session(core, s, origin).await?;
    Ok(session(core, &snap))
}

/// A session with its user and, when signed in, its fresh token.
pub fn session(core: &Core, snap: &SessionSnapshot) -> Value {
    let s = &snap.session;
    let view = &snap.user;
    let policy = core.task_policy();
    let token = match &snap.token {
        Some(jwt) => json!({ "object": "token", "jwt": jwt }),
        None => Value::Null,
    };
    let now = now_ms();
    let age = |at: Option<i64>| at.map_or(-1, |t| (now - t).max(0) / 60_000);
    json!({
        "object": "session",
        "id": s.id.as_str(),
        "status": tessera_core::sessions::shown_status(policy, s).as_str(),
        "expire_at": s.expire_at,
        "abandon_at": s.abandon_at,
        "last_active_at": s.last_active_at,
        "last_active_token": token,
        "last_active_organization_id": s.last_active_organization_id,
        "actor": s.actor,
        "tasks": crate::wire::session::tasks(&tessera_core::sessions::tasks_of(policy, s)),
        "factor_verification_age": [age(s.first_factor_at), age(s.second_factor_at)],
        "user": user(core, view, &snap.memberships),
        "public_user_data": public_user_data(core, view),
        "created_at": s.created_at,
        "updated_at": s.updated_at,
    })
}

/// The second factors `user` holds, as `supported_second_factors` lists
/// them (sign-in and reverification): one item per reserved phone number.
fn second_factor_items(core: &Core, user: &User, idns: &[Identification]) -> Vec<Value> {
    let held = tessera_core::second_factors::held_second_factors(
        &core.instance().settings.user,
        user,
        idns,
    );
    let mut items = Vec::new();
    for strategy in held {
        if strategy == Strategy::PhoneCode {
            items.extend(second_factor_phones(idns).into_iter().map(|p| {
                json!({
                    "strategy": Strategy::PhoneCode,
                    "safe_identifier": mask_phone(&p.identifier),
                    "phone_number_id": p.id.as_str(),
                    "default": p.default_second_factor,
                })
            }));
        } else {
            items.push(json!({ "strategy": strategy }));
        }
    }
    items
}

/// A session's reverification (`session_verification`): where it stands, the
/// factors the user can take at each step, and the session with a fresh token.
pub async fn session_verification(
    core: &Core,
    s: &Session,
    origin: Option<String>,
) -> ApiResult<Value> {
    let Some(r) = &s.reverification else {
        return Ok(Value::Null);
    };
    let view = core.users().get(s.user_id.as_str()).await?;
    let primary = |i: &Identification| {
        Some(&i.id) == view.user.primary_email_address_id.as_ref()
            || Some(&i.id) == view.user.primary_phone_number_id.as_ref()
    };
    let first: Vec<Value> = tessera_core::sessions::reverify::first_factors(core, &view)
        .into_iter()
        .map(|(strategy, idn)| match idn {
            Some(i) if i.kind == IdentificationKind::EmailAddress => json!({
                "strategy": strategy,
                "email_address_id": i.id.as_str(),
                "safe_identifier": mask_email(&i.identifier),
                "primary": primary(i),
            }),
            Some(i) => json!({
                "strategy": strategy,
                "phone_number_id": i.id.as_str(),
                "safe_identifier": mask_phone(&i.identifier),
                "primary": primary(i),
                "default": false,
            }),
            None => json!({ "strategy": strategy }),
        })
        .collect();
    let second = second_factor_items(core, &view.user, &view.identifications);
    let now = now_ms();
    Ok(json!({
        "object": "session_verification",
        "id": r.id,
        "status": r.status,
        "level": r.level,
        "session": load_session(core, s, origin).await?,
        "supported_first_factors": first,
        "supported_second_factors": if second.is_empty() { Value::Null } else { Value::from(second) },
        "first_factor_verification": code_verification(r.first_factor.as_ref(), now, &[]),
        "second_factor_verification": code_verification(r.second_factor.as_ref(), now, &[]),
    }))
}

fn code_verification(state: Option<&Verification>, now: i64, supported: &[Strategy]) -> Value {
    let Some(v) = state else { return Value::Null };
    let status = v.status_at(now);
    let next_action = if status == VerificationStatus::Unverified {
        "needs_attempt"
    } else {
        ""
    };
    let object = if v.strategy == Strategy::EmailLink {
        "verification_email_link"
    } else {
        "verification"
    };
    json!({
        "object": object,
        "status": status,
        "strategy": v.strategy,
        "attempts": v.attempts,
        "expire_at": v.expire_at,
        "next_action": next_action,
        "supported_strategies": supported,
        "verified_at_client": v.verified_at_client,
        // A passkey's challenge while it can be signed (a parsed nonce is
        // what clerk-js hands the browser).
        "nonce": if status == VerificationStatus::Unverified { v.nonce.clone() } else { None },
        "error": null,
    })
}

/// A sign-up attempt.
pub fn sign_up(s: &SignUp, f: &SignUpFields) -> Value {
    let now = now_ms();
    let email_verification = if s.email_address.is_some() {
        match &s.email_verification {
            Some(v) => code_verification(Some(v), now, &[Strategy::EmailCode]),
            None => json!({
                "object": "verification", "status": "unverified", "strategy": null, "attempts": null,
                "expire_at": null, "next_action": "needs_prepare", "supported_strategies": [Strategy::EmailCode],
                "verified_at_client": null, "error": null,
            }),
        }
    } else {
        Value::Null
    };
    let phone_verification = if s.phone_number.is_some() {
        match &s.phone_verification {
            Some(v) => code_verification(Some(v), now, &[Strategy::PhoneCode]),
            None => json!({
                "object": "verification", "status": "unverified", "strategy": null, "attempts": null,
                "expire_at": null, "next_action": "needs_prepare", "supported_strategies": [Strategy::PhoneCode],
                "verified_at_client": null, "error": null,
            }),
        }
    } else {
        Value::Null
    };
    json!({
        "object": "sign_up_attempt",
        "id": s.id.as_str(),
        "status": s.status.as_str(),
        "required_fields": f.required,
        "optional_fields": f.optional,
        "missing_fields": f.missing,
        "unverified_fields": f.unverified,
        "verifications": {
            "email_address": email_verification,
            "phone_number": phone_verification,
            "web3_wallet": null,
            "external_account": null,
        },
        "username": s.username,
        "email_address": s.email_address,
        "phone_number": s.phone_number,
        "web3_wallet": null,
        "password_enabled": s.password_hash.is_some(),
        "has_password": s.password_hash.is_some(),
        "first_name": s.first_name,
        "last_name": s.last_name,
        "unsafe_metadata": s.unsafe_metadata,
        "public_metadata": {},
        "custom_action": false,
        "external_id": null,
        "created_session_id": s.created_session_id.as_ref().map(|i| i.as_str()),
        "created_user_id": s.created_user_id.as_ref().map(|i| i.as_str()),
        "abandon_at": s.abandon_at,
        "legal_accepted_at": s.legal_accepted_at,
        "locale": null,
    })
}

/// A sign-in attempt, with what it shows of the user it identified.
pub fn sign_in(core: &Core, s: &SignIn, identified: Option<&UserView>) -> Value {
    let now = now_ms();
    let mut factors = Vec::new();
    let mut user_data = Value::Null;
    if let Some(UserView {
        user,
        identifications: idns,
        passkeys,
    }) = identified
    {
        if user.password_hash.is_some() {
            factors.push(json!({ "strategy": Strategy::Password }));
        }
        for idn in idns
            .iter()
            .filter(|i| i.kind == IdentificationKind::EmailAddress)
        {
            let shown = if s.identifier.as_deref().map(str::to_lowercase).as_deref()
                == Some(idn.identifier.as_str())
            {
                idn.identifier.clone()
            } else {
                mask_email(&idn.identifier)
            };
            let primary = user.primary_email_address_id.as_ref() == Some(&idn.id);
            factors.push(json!({
                "strategy": Strategy::EmailCode,
                "safe_identifier": shown,
                "email_address_id": idn.id.as_str(),
                "primary": primary,
            }));
            if core.instance().settings.user.email_link_enabled
                && idn.verification_status == VerificationStatus::Verified
            {
                factors.push(json!({
                    "strategy": Strategy::EmailLink,
                    "safe_identifier": shown,
                    "email_address_id": idn.id.as_str(),
                    "primary": primary,
                }));
            }
        }
        for idn in idns
            .iter()
            .filter(|i| i.kind == IdentificationKind::PhoneNumber)
        {
            let shown = if s.identifier.as_deref() == Some(idn.identifier.as_str()) {
                idn.identifier.clone()
            } else {
                mask_phone(&idn.identifier)
            };
            factors.push(json!({
                "strategy": Strategy::PhoneCode,
                "safe_identifier": shown,
                "phone_number_id": idn.id.as_str(),
                "primary": user.primary_phone_number_id.as_ref() == Some(&idn.id),
                "default": false,
            }));
        }
        if core.instance().settings.user.passkey_enabled && !passkeys.is_empty() {
            factors.push(json!({ "strategy": Strategy::Passkey }));
        }
        if user.password_hash.is_some() {
            if let Some(primary) = idns
                .iter()
                .find(|i| Some(&i.id) == user.primary_email_address_id.as_ref())
            {
                factors.push(json!({
                    "strategy": Strategy::ResetPasswordEmailCode,
                    "safe_identifier": mask_email(&primary.identifier),
                    "email_address_id": primary.id.as_str(),
                    "primary": true,
                }));
            }
        }
        let has_image = user.has_image;
        user_data = json!({
            "first_name": user.first_name,
            "last_name": user.last_name,
            "image_url": format!("{}/v1/images/users/{}?v={}", core.frontend_url, user.id, user.image_version),
            "has_image": has_image,
        });
    }
    let second_factors = match identified {
        Some(view) if s.status == SignInStatus::NeedsSecondFactor => {
            Value::from(second_factor_items(core, &view.user, &view.identifications))
        }
        _ => Value::Null,
    };
    let settings = &core.instance().settings;
    let mut identifiers = Vec::new();
    if settings.user.email_address.used_for_first_factor {
        identifiers.push("email_address");
    }
    if settings.user.username.enabled && settings.user.username.used_for_first_factor {
        identifiers.push("username");
    }
    if settings.user.phone_number.used_for_first_factor {
        identifiers.push("phone_number");
    }
    json!({
        "object": "sign_in_attempt",
        "id": s.id.as_str(),
        "status": s.status.as_str(),
        "supported_identifiers": identifiers,
        "identifier": s.identifier,
        "user_data": user_data,
        "supported_first_factors": if identified.is_some() { Value::from(factors) } else { Value::Null },
        "supported_second_factors": second_factors,
        "first_factor_verification": code_verification(s.first_factor.as_ref(), now, &[]),
        "second_factor_verification": code_verification(s.second_factor.as_ref(), now, &[]),
        "created_session_id": s.created_session_id.as_ref().map(|i| i.as_str()),
        "abandon_at": s.abandon_at,
        "client_trust_state": "new",
        "locale": null,
    })
}

/// Loads what the client object of `view` shows, and renders it.
pub async fn load_client(
    core: &Core,
    view: &ClientView,
    origin: Option<String>,
) -> ApiResult<Value> {
    let snap = snapshot::client(core, view, origin).await?;
    Ok(client(core, &snap))
}

/// The client with its sessions and current attempts.
pub fn client(core: &Core, snap: &ClientSnapshot) -> Value {
    let sessions: Vec<Value> = snap.sessions.iter().map(|s| session(core, s)).collect();
    let sign_in = snap.sign_in.as_ref().map_or(Value::Null, |a| {
        self::sign_in(core, &a.sign_in, a.user.as_ref())
    });
    let sign_up = snap
        .sign_up
        .as_ref()
        .map_or(Value::Null, |(s, f)| self::sign_up(s, f));
    let c = &snap.client;
    json!({
        "object": "client",
        "id": c.id.as_str(),
        "sessions": sessions,
        "sign_in": sign_in,
        "sign_up": sign_up,
        "last_active_session_id": c.last_active_session_id.as_ref().map(|s| s.as_str()),
        "last_authentication_strategy": null,
        // When the client (and so its cookie's use) ends; clerk-js renews the
        // cookie through `/v1/client/touch` as this nears.
        "cookie_expires_at": c.expire_at,
        "captcha_bypass": false,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
    })
}

/// `{response, client}` with the client cookie set when the token changed.
pub async fn envelope(
    core: &Core,
    response: Value,
    view: Option<&ClientView>,
    new_token: Option<&str>,
    origin: Option<String>,
) -> ApiResult<Response> {
    let client_json = match view {
        Some(v) => load_client(core, v, origin).await?,
        None => Value::Null,
    };
    let mut resp = Json(json!({ "response": response, "client": client_json })).into_response();
    if let (Some(token), Some(v)) = (new_token, view) {
        set_client_cookie(core, &mut resp, Some(token), v.client.updated_at / 1000);
    }
    Ok(resp)
}

/// Adds the `Set-Cookie` headers for a client token (or clears them).
pub fn set_client_cookie(
    core: &Core,
    resp: &mut Response,
    token: Option<&str>,
    updated_at_secs: i64,
) {
    let https = core.frontend_url.starts_with("https://");
    for cookie in client_cookies(core.instance().environment, https, token, updated_at_secs) {
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
}

/// Shorthand for rendering a sign-up outcome.
pub async fn sign_up_response(
    core: &Core,
    out: &SignUpOutcome,
    origin: Option<String>,
) -> ApiResult<Response> {
    envelope(
        core,
        sign_up(&out.sign_up, &out.fields),
        Some(&out.client),
        out.new_token.as_deref(),
        origin,
    )
    .await
}

/// Shorthand for rendering a sign-in outcome.
pub async fn sign_in_response(
    core: &Core,
    out: &SignInOutcome,
    origin: Option<String>,
) -> ApiResult<Response> {
    envelope(
        core,
        sign_in(core, &out.sign_in, out.user.as_ref()),
        Some(&out.client),
        out.new_token.as_deref(),
        origin,
    )
    .await
}

/// The envelope for `GET /v1/client`: `response` is the client (or `null`).
pub async fn envelope_current(
    core: &Core,
    view: Option<&ClientView>,
    origin: Option<String>,
) -> ApiResult<Response> {
    let client_json = match view {
        Some(v) => load_client(core, v, origin).await?,
        None => Value::Null,
    };
    Ok(Json(json!({ "response": client_json, "client": client_json })).into_response())
}

/// Sets only `__client_uat` (sign-out keeps the client cookie).
pub fn set_client_uat(core: &Core, resp: &mut Response, updated_at_secs: i64) {
    let https = core.frontend_url.starts_with("https://");
    let cookies = client_cookies(core.instance().environment, https, None, updated_at_secs);
    if let Some(uat) = cookies
        .into_iter()
        .find(|c| c.starts_with(super::cookies::CLIENT_UAT_COOKIE))
    {
        let uat = uat.replacen(
            "__client_uat=0",
            &format!("__client_uat={updated_at_secs}"),
            1,
        );
        if let Ok(v) = HeaderValue::from_str(&uat) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
}
