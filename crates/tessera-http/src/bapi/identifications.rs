//! BAPI `/v1/email_addresses…` and `/v1/phone_numbers…`.

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use tessera_core::identifications::IdentificationPatch;
use tessera_core::Core;
use tessera_domain::kinds::IdentificationKind;

use crate::error::ApiResult;
use crate::extract::{JsonBody, SecretKeyAuth};
use crate::wire;

/// Body of `POST /v1/email_addresses`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateEmailBody {
    user_id: String,
    email_address: String,
    verified: Option<bool>,
    primary: Option<bool>,
    notify_primary_email_address_changed: Option<bool>,
}

/// Body of `POST /v1/phone_numbers`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePhoneBody {
    user_id: String,
    phone_number: String,
    verified: Option<bool>,
    primary: Option<bool>,
    reserved_for_second_factor: Option<bool>,
}

/// Body of the PATCH endpoints.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    verified: Option<bool>,
    primary: Option<bool>,
    reserved_for_second_factor: Option<bool>,
    notify_primary_email_address_changed: Option<bool>,
}

/// Body of `PUT /v1/users/{id}/email_address|phone_number`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplaceBody {
    email_address: Option<String>,
    phone_number: Option<String>,
    identification_status: Option<String>,
    notify_primary_email_address_changed: Option<bool>,
}

/// `POST /v1/email_addresses`
pub async fn create_email_address(
    _: SecretKeyAuth,
    State(core): State<Core>,
    JsonBody(b): JsonBody<CreateEmailBody>,
) -> ApiResult<Json<Value>> {
    let _ = b.notify_primary_email_address_changed;
    let patch = IdentificationPatch {
        verified: b.verified,
        primary: b.primary,
        reserved_for_second_factor: None,
    };
    let idn = core
        .identifications()
        .create(
            IdentificationKind::EmailAddress,
            &b.user_id,
            &b.email_address,
            patch,
        )
        .await?;
    Ok(Json(wire::identification::identification(&idn)))
}

/// `POST /v1/phone_numbers`
pub async fn create_phone_number(
    _: SecretKeyAuth,
    State(core): State<Core>,
    JsonBody(b): JsonBody<CreatePhoneBody>,
) -> ApiResult<Json<Value>> {
    let patch = IdentificationPatch {
        verified: b.verified,
        primary: b.primary,
        reserved_for_second_factor: b.reserved_for_second_factor,
    };
    let idn = core
        .identifications()
        .create(
            IdentificationKind::PhoneNumber,
            &b.user_id,
            &b.phone_number,
            patch,
        )
        .await?;
    Ok(Json(wire::identification::identification(&idn)))
}

async fn get(core: &Core, kind: IdentificationKind, id: &str) -> ApiResult<Json<Value>> {
    let idn = core.identifications().get(kind, id).await?;
    Ok(Json(wire::identification::identification(&idn)))
}

async fn update(
    core: &Core,
    kind: IdentificationKind,
    id: &str,
    b: UpdateBody,
) -> ApiResult<Json<Value>> {
    let _ = b.notify_primary_email_address_changed;
    let patch = IdentificationPatch {
        verified: b.verified,
        primary: b.primary,
        reserved_for_second_factor: b.reserved_for_second_factor,
    };
    let idn = core.identifications().update(kind, id, patch).await?;
    Ok(Json(wire::identification::identification(&idn)))
}

async fn delete(core: &Core, kind: IdentificationKind, id: &str) -> ApiResult<Json<Value>> {
    let idn = core.identifications().delete(kind, id).await?;
    Ok(Json(wire::deleted(kind.as_str(), idn.id.as_str())))
}

/// `GET /v1/email_addresses/{id}`
pub async fn get_email_address(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    get(&core, IdentificationKind::EmailAddress, &id).await
}

/// `GET /v1/phone_numbers/{id}`
pub async fn get_phone_number(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    get(&core, IdentificationKind::PhoneNumber, &id).await
}

/// `PATCH /v1/email_addresses/{id}`
pub async fn update_email_address(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<UpdateBody>,
) -> ApiResult<Json<Value>> {
    update(&core, IdentificationKind::EmailAddress, &id, b).await
}

/// `PATCH /v1/phone_numbers/{id}`
pub async fn update_phone_number(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<UpdateBody>,
) -> ApiResult<Json<Value>> {
    update(&core, IdentificationKind::PhoneNumber, &id, b).await
}

/// `DELETE /v1/email_addresses/{id}`
pub async fn delete_email_address(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    delete(&core, IdentificationKind::EmailAddress, &id).await
}

/// `DELETE /v1/phone_numbers/{id}`
pub async fn delete_phone_number(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    delete(&core, IdentificationKind::PhoneNumber, &id).await
}

/// `PUT /v1/users/{user_id}/email_address`
pub async fn replace_email_address(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(user_id): Path<String>,
    JsonBody(b): JsonBody<ReplaceBody>,
) -> ApiResult<Json<Value>> {
    let _ = b.notify_primary_email_address_changed;
    let value = b
        .email_address
        .ok_or_else(|| tessera_core::CoreError::missing("email_address"))?;
    let status = b
        .identification_status
        .unwrap_or_else(|| "verified".to_owned());
    let idn = core
        .identifications()
        .replace(IdentificationKind::EmailAddress, &user_id, &value, &status)
        .await?;
    Ok(Json(wire::identification::identification(&idn)))
}

/// `PUT /v1/users/{user_id}/phone_number`
pub async fn replace_phone_number(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(user_id): Path<String>,
    JsonBody(b): JsonBody<ReplaceBody>,
) -> ApiResult<Json<Value>> {
    let value = b
        .phone_number
        .ok_or_else(|| tessera_core::CoreError::missing("phone_number"))?;
    let status = b
        .identification_status
        .unwrap_or_else(|| "verified".to_owned());
    let idn = core
        .identifications()
        .replace(IdentificationKind::PhoneNumber, &user_id, &value, &status)
        .await?;
    Ok(Json(wire::identification::identification(&idn)))
}

/// The verification object of `prepare_verification` / `attempt_verification`.
fn verification_json(
    kind: IdentificationKind,
    v: &tessera_store::identifications::BackendVerification,
) -> Value {
    let now = tessera_core::clock::now_ms();
    serde_json::json!({
        "object": "verification",
        "id": v.id,
        "status": v.state.status_at(now),
        "strategy": v.state.strategy,
        "attempts": v.state.attempts,
        "expire_at": v.state.expire_at,
        "channel": (kind == IdentificationKind::PhoneNumber).then_some("sms"),
    })
}

/// Body of `POST /v1/{email_addresses|phone_numbers}/{id}/attempt_verification`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttemptVerificationBody {
    verification_id: String,
    code: String,
}

async fn prepare(core: &Core, kind: IdentificationKind, id: &str) -> ApiResult<Json<Value>> {
    let v = core
        .identifications()
        .prepare_backend_verification(kind, id)
        .await?;
    Ok(Json(verification_json(kind, &v)))
}

async fn attempt(
    core: &Core,
    kind: IdentificationKind,
    id: &str,
    b: AttemptVerificationBody,
) -> ApiResult<Json<Value>> {
    let v = core
        .identifications()
        .attempt_backend_verification(kind, id, &b.verification_id, &b.code)
        .await?;
    Ok(Json(verification_json(kind, &v)))
}

/// `POST /v1/email_addresses/{id}/prepare_verification`: a code by email.
pub async fn prepare_email_verification(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    prepare(&core, IdentificationKind::EmailAddress, &id).await
}

/// `POST /v1/phone_numbers/{id}/prepare_verification`: a code by SMS.
pub async fn prepare_phone_verification(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    prepare(&core, IdentificationKind::PhoneNumber, &id).await
}

/// `POST /v1/email_addresses/{id}/attempt_verification` (`verification_id`, `code`)
pub async fn attempt_email_verification(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<AttemptVerificationBody>,
) -> ApiResult<Json<Value>> {
    attempt(&core, IdentificationKind::EmailAddress, &id, b).await
}

/// `POST /v1/phone_numbers/{id}/attempt_verification` (`verification_id`, `code`)
pub async fn attempt_phone_verification(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<AttemptVerificationBody>,
) -> ApiResult<Json<Value>> {
    attempt(&core, IdentificationKind::PhoneNumber, &id, b).await
}
