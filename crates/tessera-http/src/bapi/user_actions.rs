//! BAPI `/v1/users/{id}/…` actions: bans, locks, passwords, profile images, and the
//! user sub-resources of features that arrive later (empty lists, clear errors).

use axum::extract::{Multipart, Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tessera_core::passwords::Password;
use tessera_core::Core;
use tessera_domain::error_code::ErrorCode;

use super::users::render;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, QueryPairs, SecretKeyAuth};

/// `POST /v1/users/{user_id}/ban`
pub async fn ban_user(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(render(
        &core,
        &core.users().set_banned(&id, true).await?,
    )))
}

/// `POST /v1/users/{user_id}/unban`
pub async fn unban_user(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(render(
        &core,
        &core.users().set_banned(&id, false).await?,
    )))
}

/// Body of `POST /v1/users/ban` and `/unban`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct UserIdsBody {
    user_ids: Vec<String>,
}

async fn set_banned_many(core: &Core, ids: Vec<String>, banned: bool) -> ApiResult<Json<Value>> {
    if ids.is_empty() || ids.len() > 50 {
        return Err(ApiError::invalid(
            "user_ids",
            "must hold between 1 and 50 user ids",
        ));
    }
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(render(core, &core.users().set_banned(&id, banned).await?));
    }
    Ok(Json(Value::Array(out)))
}

/// `POST /v1/users/ban`
pub async fn ban_users(
    _: SecretKeyAuth,
    State(core): State<Core>,
    JsonBody(body): JsonBody<UserIdsBody>,
) -> ApiResult<Json<Value>> {
    set_banned_many(&core, body.user_ids, true).await
}

/// `POST /v1/users/unban`
pub async fn unban_users(
    _: SecretKeyAuth,
    State(core): State<Core>,
    JsonBody(body): JsonBody<UserIdsBody>,
) -> ApiResult<Json<Value>> {
    set_banned_many(&core, body.user_ids, false).await
}

/// `POST /v1/users/{user_id}/lock`
pub async fn lock_user(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(render(
        &core,
        &core.users().set_locked(&id, true).await?,
    )))
}

/// `POST /v1/users/{user_id}/unlock`
pub async fn unlock_user(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(render(
        &core,
        &core.users().set_locked(&id, false).await?,
    )))
}

/// Body of `POST /v1/users/{user_id}/verify_password`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyPasswordBody {
    password: String,
}

/// `POST /v1/users/{user_id}/verify_password`: 200 `{verified: true}`, 422 when wrong.
pub async fn verify_password(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<VerifyPasswordBody>,
) -> ApiResult<Json<Value>> {
    if core
        .users()
        .verify_password(&id, Password::new(body.password))
        .await?
    {
        Ok(Json(json!({ "verified": true })))
    } else {
        Err(ApiError::new(
            ErrorCode::PasswordIncorrect,
            "Password is incorrect",
            "The provided password was incorrect.",
        ))
    }
}

/// Body of `POST /v1/users/{user_id}/remove_password`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RemovePasswordBody {
    sign_out_of_other_sessions: Option<bool>,
}

/// `POST /v1/users/{user_id}/remove_password`
pub async fn remove_password(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RemovePasswordBody>,
) -> ApiResult<Json<Value>> {
    let view = core
        .users()
        .remove_password(&id, body.sign_out_of_other_sessions.unwrap_or(false))
        .await?;
    Ok(Json(render(&core, &view)))
}

/// Body of `POST /v1/users/{user_id}/password/set_compromised`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SetCompromisedBody {
    revoke_all_sessions: Option<bool>,
}

/// `POST /v1/users/{user_id}/password/set_compromised`: the next sign-in with
/// the password leads to the `reset-password` session task.
pub async fn set_password_compromised(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<SetCompromisedBody>,
) -> ApiResult<Json<Value>> {
    let revoke = body.revoke_all_sessions.unwrap_or(false);
    let view = core
        .users()
        .set_password_compromised(&id, true, revoke)
        .await?;
    Ok(Json(render(&core, &view)))
}

/// `POST /v1/users/{user_id}/password/unset_compromised`
pub async fn unset_password_compromised(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let view = core
        .users()
        .set_password_compromised(&id, false, false)
        .await?;
    Ok(Json(render(&core, &view)))
}

/// Accepted image types, by their leading bytes.
pub(crate) fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(b"\xff\xd8\xff") {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// `POST /v1/users/{user_id}/profile_image` (multipart, part `file`; PNG, JPEG, GIF or WebP up to 10 MB)
pub async fn set_profile_image(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    multipart: Multipart,
) -> ApiResult<Json<Value>> {
    let (content_type, bytes) = image_file(multipart).await?;
    let view = core
        .users()
        .set_profile_image(&id, content_type.to_owned(), bytes)
        .await?;
    Ok(Json(render(&core, &view)))
}

/// The image in a multipart body's `file` field, with its sniffed content type.
pub(crate) async fn image_file(mut multipart: Multipart) -> ApiResult<(&'static str, Vec<u8>)> {
    let mut file = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| ApiError::bad_body(format!("invalid multipart body: {e}")))?
    {
        if field.name() == Some("file") {
            let bytes = field
                .bytes()
                .await
                .map_err(|e| ApiError::bad_body(format!("invalid multipart body: {e}")))?;
            file = Some(bytes);
        }
    }
    let bytes = file.ok_or_else(|| {
        ApiError::new(
            ErrorCode::FormParamMissing,
            "is missing",
            "file must be included.",
        )
        .param("file")
    })?;
    let content_type = sniff_image(&bytes)
        .ok_or_else(|| ApiError::invalid("file", "must be a PNG, JPEG, GIF or WebP image"))?;
    Ok((content_type, bytes.to_vec()))
}

/// `DELETE /v1/users/{user_id}/profile_image`
pub async fn delete_profile_image(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(render(
        &core,
        &core.users().delete_profile_image(&id).await?,
    )))
}

/// `GET /v1/users/{user_id}/oauth_access_tokens/{provider}`: no external accounts yet.
pub async fn list_oauth_access_tokens(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path((id, _provider)): Path<(String, String)>,
    q: QueryPairs,
) -> ApiResult<Json<Value>> {
    q.page()?;
    let paginated = q.bool("paginated")? == Some(true);
    core.users().get(&id).await?;
    Ok(Json(crate::wire::list(Vec::new(), 0, paginated)))
}

/// `DELETE /v1/users/{user_id}/mfa`: every second factor of the user goes (the
/// The user id of the path, or 404.
fn user_id(raw: &str) -> ApiResult<tessera_domain::ids::UserId> {
    tessera_domain::ids::UserId::parse(raw)
        .ok_or_else(|| tessera_core::error::CoreError::NotFound.into())
}

/// `DELETE /v1/users/{user_id}/mfa`: no authenticator app, no backup codes and
/// no phone number reserved for second factor are left.
pub async fn disable_mfa(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let view = core.mfa().disable_mfa(&user_id(&id)?).await?;
    Ok(Json(json!({ "user_id": view.user.id.as_str() })))
}

/// `DELETE /v1/users/{user_id}/totp`: the authenticator app goes (and the
/// backup codes, when nothing else is left for them to back up).
pub async fn delete_totp(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let view = core.mfa().delete_totp(&user_id(&id)?).await?;
    Ok(Json(json!({ "user_id": view.user.id.as_str() })))
}

/// `DELETE /v1/users/{user_id}/backup_code`
pub async fn delete_backup_codes(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let view = core.mfa().delete_backup_codes(&user_id(&id)?).await?;
    Ok(Json(json!({ "user_id": view.user.id.as_str() })))
}

/// Body of `POST /v1/users/{user_id}/verify_totp`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyTotpBody {
    code: String,
}

/// `POST /v1/users/{user_id}/verify_totp`: a code of the user's authenticator
/// app, or one of their backup codes (spent by the check).
pub async fn verify_totp(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<VerifyTotpBody>,
) -> ApiResult<Json<Value>> {
    let kind = core.mfa().verify_code(&user_id(&id)?, &b.code).await?;
    Ok(Json(json!({ "verified": true, "code_type": kind })))
}

/// `DELETE /v1/users/{user_id}/passkeys/{id}`
pub async fn delete_passkey(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path((user, passkey)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let id = core.passkeys().delete(&user_id(&user)?, &passkey).await?;
    Ok(Json(crate::wire::deleted("passkey", id.as_str())))
}

/// Sub-resources (web3 wallets, external accounts, TOTP checks) that
/// cannot exist on this server yet: the item asked for is never there.
pub async fn missing_sub_resource(_: SecretKeyAuth) -> ApiError {
    ApiError::not_found()
}

/// `GET /v1/users/{user_id}/trusted_devices`: no device trust yet, so none.
pub async fn list_trusted_devices(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    core.users().get(&id).await?;
    Ok(Json(json!({ "data": [], "total_count": 0 })))
}

/// `…/billing/subscription` and `…/billing/credits`: billing is not enabled.
pub async fn billing_not_enabled(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    core.users().get(&id).await?;
    Err(ApiError::new(
        ErrorCode::ResourceNotFound,
        "not found",
        "Billing is not enabled on this instance, so the user has no subscription or credits.",
    ))
}
