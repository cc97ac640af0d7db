//! BAPI `/v1/jwks` and `/v1/instance…`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use tessera_core::{Core, CoreError};

use crate::error::ApiResult;
use crate::extract::{JsonBody, SecretKeyAuth};
use crate::wire;

/// `GET /v1/jwks`
pub async fn get_jwks(_: SecretKeyAuth, State(core): State<Core>) -> ApiResult<Json<Value>> {
    Ok(Json(core.keyring.jwks()?))
}

/// `GET /v1/instance`
pub async fn get_instance(_: SecretKeyAuth, State(core): State<Core>) -> Json<Value> {
    Json(wire::instance::instance(&core.instance()))
}

/// Body of `PATCH /v1/instance`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateInstanceBody {
    test_mode: Option<bool>,
    hibp: Option<bool>,
    support_email: Option<String>,
    clerk_js_version: Option<String>,
    development_origin: Option<String>,
    allowed_origins: Option<Vec<String>>,
    cookieless_dev: Option<bool>,
    url_based_session_syncing: Option<bool>,
    preferred_sign_in_strategy_when_password_required: Option<String>,
}

/// `PATCH /v1/instance` (204)
pub async fn update_instance(
    _: SecretKeyAuth,
    State(core): State<Core>,
    JsonBody(b): JsonBody<UpdateInstanceBody>,
) -> ApiResult<StatusCode> {
    if let Some(origins) = &b.allowed_origins {
        if let Some(bad) = origins.iter().find(|o| !o.contains("://")) {
            return Err(CoreError::format(
                "allowed_origins",
                format!("{bad:?} is not an origin such as https://app.example.com"),
            )
            .into());
        }
    }
    if let Some(v) = &b.preferred_sign_in_strategy_when_password_required {
        if !["password", "otp", ""].contains(&v.as_str()) {
            return Err(CoreError::value(
                "preferred_sign_in_strategy_when_password_required",
                format!("{v:?} must be password, otp or empty"),
            )
            .into());
        }
    }
    core.settings()
        .update_settings(|s| {
            let i = &mut s.instance;
            if let Some(v) = b.test_mode {
                i.test_mode = v;
            }
            if let Some(v) = b.hibp {
                i.hibp = v;
            }
            if let Some(v) = b.support_email {
                i.support_email = Some(v).filter(|s| !s.is_empty());
            }
            if let Some(v) = b.clerk_js_version {
                i.clerk_js_version = Some(v).filter(|s| !s.is_empty());
            }
            if let Some(v) = b.development_origin {
                i.development_origin = Some(v).filter(|s| !s.is_empty());
            }
            if let Some(v) = b.allowed_origins {
                i.allowed_origins = v;
            }
            if let Some(v) = b.cookieless_dev {
                i.cookieless_dev = v;
            }
            if let Some(v) = b.url_based_session_syncing {
                i.url_based_session_syncing = v;
            }
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of `PATCH /v1/instance/restrictions`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RestrictionsBody {
    allowlist: Option<bool>,
    blocklist: Option<bool>,
    allowlist_blocklist_disabled_on_sign_in: Option<bool>,
    block_email_subaddresses: Option<bool>,
    block_disposable_email_domains: Option<bool>,
}

/// `PATCH /v1/instance/restrictions`
pub async fn update_restrictions(
    _: SecretKeyAuth,
    State(core): State<Core>,
    JsonBody(b): JsonBody<RestrictionsBody>,
) -> ApiResult<Json<Value>> {
    let inst = core
        .settings()
        .update_settings(|s| {
            let r = &mut s.restrictions;
            for (slot, value) in [
                (&mut r.allowlist, b.allowlist),
                (&mut r.blocklist, b.blocklist),
                (
                    &mut r.allowlist_blocklist_disabled_on_sign_in,
                    b.allowlist_blocklist_disabled_on_sign_in,
                ),
                (&mut r.block_email_subaddresses, b.block_email_subaddresses),
                (
                    &mut r.block_disposable_email_domains,
                    b.block_disposable_email_domains,
                ),
            ] {
                if let Some(v) = value {
                    *slot = v;
                }
            }
            Ok(())
        })
        .await?;
    Ok(Json(wire::instance::restrictions(&inst)))
}

/// `GET /v1/instance/organization_settings`
pub async fn get_organization_settings(_: SecretKeyAuth, State(core): State<Core>) -> Json<Value> {
    Json(wire::instance::organization_settings(
        &core.instance(),
        &core.roles(),
    ))
}

/// Body of `PATCH /v1/instance/organization_settings`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct OrganizationSettingsBody {
    enabled: Option<bool>,
    max_allowed_memberships: Option<i64>,
    admin_delete_enabled: Option<bool>,
    domains_enabled: Option<bool>,
    slug_disabled: Option<bool>,
    domains_enrollment_modes: Option<Vec<String>>,
    creator_role_id: Option<String>,
    domains_default_role_id: Option<String>,
    /// Tessera's own: sessions must choose an organization (the
    /// `choose-organization` session task).
    force_organization_selection: Option<bool>,
}

/// `PATCH /v1/instance/organization_settings`
pub async fn update_organization_settings(
    _: SecretKeyAuth,
    State(core): State<Core>,
    JsonBody(b): JsonBody<OrganizationSettingsBody>,
) -> ApiResult<Json<Value>> {
    let _ = b.slug_disabled;
    if b.creator_role_id.is_some() || b.domains_default_role_id.is_some() {
        // The initial role set holds both roles: they join it if needed.
        let roles = core.roles();
        let key_of = |param: &str, raw: &str| {
            roles
                .roles
                .iter()
                .find(|r| r.id == raw || r.key == raw)
                .map(|r| r.key.clone())
                .ok_or_else(|| CoreError::value(param, format!("{raw} is not a role")))
        };
        let creator = b
            .creator_role_id
            .as_deref()
            .map(|r| key_of("creator_role_id", r))
            .transpose()?;
        let default = b
            .domains_default_role_id
            .as_deref()
            .map(|r| key_of("domains_default_role_id", r))
            .transpose()?;
        let set = roles
            .initial_set()
            .ok_or_else(|| CoreError::Internal("the instance has no role set".to_owned()))?;
        let keys = creator.iter().chain(default.iter()).cloned().collect();
        core.organization_roles()
            .add_roles(&set.id, keys, default, creator)
            .await?;
    }
    let inst = core
        .settings()
        .update_settings(|s| {
            let o = &mut s.organizations;
            if let Some(v) = b.enabled {
                o.enabled = v;
            }
            if let Some(v) = b.max_allowed_memberships {
                if v < 0 {
                    return Err(CoreError::value(
                        "max_allowed_memberships",
                        "must be 0 (unlimited) or more",
                    ));
                }
                o.max_allowed_memberships = v;
            }
            if let Some(v) = b.admin_delete_enabled {
                o.admin_delete_enabled = v;
            }
            if let Some(v) = b.domains_enabled {
                o.domains_enabled = v;
            }
            if let Some(v) = b.force_organization_selection {
                o.force_organization_selection = v;
            }
            if let Some(modes) = b.domains_enrollment_modes {
                let allowed = [
                    "manual_invitation",
                    "automatic_invitation",
                    "automatic_suggestion",
                ];
                if let Some(bad) = modes.iter().find(|m| !allowed.contains(&m.as_str())) {
                    return Err(CoreError::value(
                        "domains_enrollment_modes",
                        format!("unknown mode {bad:?}"),
                    ));
                }
                o.domains_enrollment_modes = modes;
            }
            Ok(())
        })
        .await?;
    Ok(Json(wire::instance::organization_settings(
        &inst,
        &core.roles(),
    )))
}
