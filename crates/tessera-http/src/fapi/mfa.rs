//! `/v1/me/totp` and `/v1/me/backup_codes`: the signed-in user sets up an
//! authenticator app and backup codes (clerk-js `user.createTOTP()`,
//! `verifyTOTP()`, `disableTOTP()`, `createBackupCode()`).

use axum::extract::State;
use axum::response::Response;
use serde_json::{json, Value};
use tessera_core::mfa::{BackupCodeSet, TotpView};
use tessera_core::Core;

use super::me::Me;
use super::transport::Form;
use crate::error::ApiResult;

/// The `totp` object: `secret` and `uri` only when just created,
/// `backup_codes` only when the first verification made them.
fn totp_json(v: &TotpView) -> Value {
    let created = v.uri.is_some();
    json!({
        "object": "totp",
        "id": v.totp.id,
        "secret": created.then(|| v.totp.secret.clone()),
        "uri": v.uri,
        "verified": v.totp.verified,
        "backup_codes": v.backup_codes,
        "created_at": v.totp.created_at,
        "updated_at": v.totp.updated_at,
    })
}

fn backup_codes_json(set: &BackupCodeSet) -> Value {
    json!({
        "object": "backup_code",
        "id": set.id,
        "codes": set.codes,
        "created_at": set.created_at,
        "updated_at": set.created_at,
    })
}

/// `POST /v1/me/totp`
pub async fn create_totp(State(core): State<Core>, me: Me) -> ApiResult<Response> {
    let view = core.mfa().create_totp(&me.user_id).await?;
    me.respond(&core, totp_json(&view)).await
}

/// `POST /v1/me/totp/attempt_verification` (`code`)
pub async fn verify_totp(State(core): State<Core>, me: Me, form: Form) -> ApiResult<Response> {
    let code = form.required_text("code")?;
    let view = core
        .mfa()
        .verify_totp_enrollment(&me.user_id, &code)
        .await?;
    me.respond(&core, totp_json(&view)).await
}

/// `DELETE /v1/me/totp`
pub async fn delete_totp(State(core): State<Core>, me: Me) -> ApiResult<Response> {
    core.mfa().delete_totp(&me.user_id).await?;
    let deleted = json!({ "object": "totp", "id": null, "deleted": true });
    me.respond(&core, deleted).await
}

/// `POST /v1/me/backup_codes` (clerk-js posts to `/v1/me/backup_codes/`)
pub async fn create_backup_codes(State(core): State<Core>, me: Me) -> ApiResult<Response> {
    let set = core.mfa().regenerate_backup_codes(&me.user_id).await?;
    me.respond(&core, backup_codes_json(&set)).await
}
