//! The smaller instance settings of BAPI: protect, communication, OAuth
//! applications, the beta instance settings, and domain changes; and Tessera's
//! own `/v1/instance/settings`, the whole settings document.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tessera_core::{Core, CoreError};
use tessera_domain::error_code::ErrorCode;
use tessera_domain::settings::InstanceSettings;

use crate::error::{ApiError, ApiResult};
use crate::extract::{double_option, JsonBody, SecretKeyAuth};

fn protect(s: &InstanceSettings) -> Value {
    json!({
        "object": "instance_protect",
        "rules_enabled": s.protect.rules_enabled,
        "specter_enabled": s.protect.specter_enabled,
        "checks_bypassed": false,
    })
}

fn communication(s: &InstanceSettings) -> Value {
    json!({ "object": "instance_communication", "blocked_country_codes": s.blocked_country_codes })
}

fn oauth_applications(s: &InstanceSettings) -> Value {
    let o = &s.oauth_applications;
    json!({
        "object": "oauth_application_settings",
        "dynamic_oauth_client_registration": o.dynamic_oauth_client_registration,
        "default_scopes": o.default_scopes.clone().unwrap_or_else(|| vec!["profile".to_owned(), "email".to_owned()]),
        "oauth_jwt_access_tokens": o.oauth_jwt_access_tokens,
        "client_id_metadata_documents_advertised": o.client_id_metadata_documents_advertised,
        "client_id_metadata_documents_only_allow_pre_registered_clients": o.client_id_metadata_documents_only_allow_pre_registered_clients,
        "client_id_metadata_documents_block_implicitly_allowed_clients": o.client_id_metadata_documents_block_implicitly_allowed_clients,
    })
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

/// `GET /v1/instance/protect`
pub async fn get_protect(_: SecretKeyAuth, State(core): State<Core>) -> Json<Value> {
    Json(protect(&core.instance().settings))
}

/// Body of `PATCH /v1/instance/protect`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ProtectBody {
    rules_enabled: Option<bool>,
    specter_enabled: Option<bool>,
}

/// `PATCH /v1/instance/protect`
pub async fn update_protect(
    _: SecretKeyAuth,
    State(core): State<Core>,
    JsonBody(b): JsonBody<ProtectBody>,
) -> ApiResult<Json<Value>> {
    let inst = core
        .settings()
        .update_settings(|s| {
            set(&mut s.protect.rules_enabled, b.rules_enabled);
            set(&mut s.protect.specter_enabled, b.specter_enabled);
            Ok(())
        })
        .await?;
    Ok(Json(protect(&inst.settings)))
}

/// `GET /v1/instance/communication`
pub async fn get_communication(_: SecretKeyAuth, State(core): State<Core>) -> Json<Value> {
    Json(communication(&core.instance().settings))
}

/// Body of `PATCH /v1/instance/communication`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CommunicationBody {
    blocked_country_codes: Option<Vec<String>>,
}

/// `PATCH /v1/instance/communication`: replaces the whole list.
pub async fn update_communication(
    _: SecretKeyAuth,
    State(core): State<Core>,
    JsonBody(b): JsonBody<CommunicationBody>,
) -> ApiResult<Json<Value>> {
    if let Some(codes) = &b.blocked_country_codes {
        if codes.len() > 250 {
            return Err(ApiError::invalid(
                "blocked_country_codes",
                "must hold at most 250 codes",
            ));
        }
        if let Some(bad) = codes
            .iter()
            .find(|c| !tessera_domain::identifiers::is_country_code(c))
        {
            return Err(ApiError::invalid(
                "blocked_country_codes",
                format!("{bad:?} is not an ISO 3166-1 alpha-2 code such as DE"),
            ));
        }
    }
    let inst = core
        .settings()
        .update_settings(|s| {
            if let Some(mut codes) = b.blocked_country_codes {
                codes.sort();
                codes.dedup();
                s.blocked_country_codes = codes;
            }
            Ok(())
        })
        .await?;
    Ok(Json(communication(&inst.settings)))
}

/// `GET /v1/instance/oauth_application_settings`
pub async fn get_oauth_applications(_: SecretKeyAuth, State(core): State<Core>) -> Json<Value> {
    Json(oauth_applications(&core.instance().settings))
}

/// Body of `PATCH /v1/instance/oauth_application_settings`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct OAuthApplicationsBody {
    dynamic_oauth_client_registration: Option<bool>,
    oauth_jwt_access_tokens: Option<bool>,
    client_id_metadata_documents_advertised: Option<bool>,
    client_id_metadata_documents_only_allow_pre_registered_clients: Option<bool>,
    client_id_metadata_documents_block_implicitly_allowed_clients: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    default_scopes: Option<Option<Vec<String>>>,
}

/// `PATCH /v1/instance/oauth_application_settings` (`default_scopes: null` resets)
pub async fn update_oauth_applications(
    _: SecretKeyAuth,
    State(core): State<Core>,
    JsonBody(b): JsonBody<OAuthApplicationsBody>,
) -> ApiResult<Json<Value>> {
    let inst = core
        .settings()
        .update_settings(|s| {
            let o = &mut s.oauth_applications;
            set(
                &mut o.dynamic_oauth_client_registration,
                b.dynamic_oauth_client_registration,
            );
            set(&mut o.oauth_jwt_access_tokens, b.oauth_jwt_access_tokens);
            set(
                &mut o.client_id_metadata_documents_advertised,
                b.client_id_metadata_documents_advertised,
            );
            set(
                &mut o.client_id_metadata_documents_only_allow_pre_registered_clients,
                b.client_id_metadata_documents_only_allow_pre_registered_clients,
            );
            set(
                &mut o.client_id_metadata_documents_block_implicitly_allowed_clients,
                b.client_id_metadata_documents_block_implicitly_allowed_clients,
            );
            set(&mut o.default_scopes, b.default_scopes);
            Ok(())
        })
        .await?;
    Ok(Json(oauth_applications(&inst.settings)))
}

/// Body of `PATCH /v1/beta_features/instance_settings`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct BetaSettingsBody {
    restricted_to_allowlist: Option<bool>,
    from_email_address: Option<String>,
    progressive_sign_up: Option<bool>,
    test_mode: Option<bool>,
}

/// `PATCH /v1/beta_features/instance_settings`
pub async fn update_beta_settings(
    _: SecretKeyAuth,
    State(core): State<Core>,
    JsonBody(b): JsonBody<BetaSettingsBody>,
) -> ApiResult<Json<Value>> {
    if let Some(local) = &b.from_email_address {
        if local.is_empty() || !local.bytes().all(|c| c.is_ascii_alphanumeric()) {
            return Err(CoreError::format(
                "from_email_address",
                "must be the alphanumeric local part of an address",
            )
            .into());
        }
    }
    let inst = core
        .settings()
        .update_settings(|s| {
            set(&mut s.restrictions.allowlist, b.restricted_to_allowlist);
            if let Some(local) = b.from_email_address {
                s.from_email_address = Some(local);
            }
            set(&mut s.progressive_sign_up, b.progressive_sign_up);
            set(&mut s.instance.test_mode, b.test_mode);
            Ok(())
        })
        .await?;
    let s = &inst.settings;
    Ok(Json(json!({
        "object": "instance_settings",
        "id": inst.id.as_str(),
        "restricted_to_allowlist": s.restrictions.allowlist,
        "from_email_address": s.from_email_address.clone().unwrap_or_else(|| "notifications".to_owned()),
        "progressive_sign_up": s.progressive_sign_up,
        "enhanced_email_deliverability": false,
    })))
}

/// `POST /v1/instance/change_domain`, `PUT /v1/beta_features/domain`,
/// `POST /v1/beta_features/change_domain`: the domain is configuration here.
pub async fn change_domain(_: SecretKeyAuth) -> ApiError {
    ApiError::new(
        ErrorCode::FormParamValueInvalid,
        "domain changes are configuration",
        "A Tessera server's public URL is set with TESSERA_FRONTEND_URL (or frontend_url in \
         tessera.toml); restart the server with the new URL to change its domain.",
    )
    .param("home_url")
}

/// `GET /v1/instance/settings` (Tessera): the whole settings document, every
/// key with its current value.
pub async fn get_settings(_: SecretKeyAuth, State(core): State<Core>) -> ApiResult<Json<Value>> {
    settings_document(&core.instance().settings)
}

/// `PATCH /v1/instance/settings` (Tessera): merges a partial document into the
/// settings (objects key by key, other values replace) and answers the whole
/// new document. Unknown keys, wrong types and broken rules are refused with
/// the key's path as `param_name`, and nothing changes.
pub async fn patch_settings(
    _: SecretKeyAuth,
    State(core): State<Core>,
    JsonBody(patch): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let inst = core.settings().patch_settings(&patch).await?;
    settings_document(&inst.settings)
}

fn settings_document(s: &InstanceSettings) -> ApiResult<Json<Value>> {
    serde_json::to_value(s)
        .map(Json)
        .map_err(|e| CoreError::Internal(e.to_string()).into())
}
