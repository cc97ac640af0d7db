//! `/v1/me/email_addresses…` and `/v1/me/phone_numbers…`: the signed-in user's
//! own email addresses and phone numbers, verified by a code sent by email or SMS.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;
use serde_json::Value;
use tessera_core::frontend::identifications::LinkRequest;
use tessera_core::Core;
use tessera_domain::kinds::IdentificationKind;

use super::me::Me;
use super::transport::Form;
use crate::error::{ApiError, ApiResult};
use crate::wire::identification::identification;

const EMAIL: IdentificationKind = IdentificationKind::EmailAddress;
const PHONE: IdentificationKind = IdentificationKind::PhoneNumber;

async fn create(
    core: &Core,
    me: &Me,
    form: &Form,
    kind: IdentificationKind,
) -> ApiResult<Response> {
    let value = form.required_text(kind.as_str())?;
    let idn = core
        .identifications()
        .create_own_identification(&me.user_id, kind, &value)
        .await?;
    me.respond(core, identification(&idn)).await
}

async fn get(core: &Core, me: &Me, kind: IdentificationKind, id: &str) -> ApiResult<Response> {
    let idn = core
        .identifications()
        .own_identification(&me.user_id, kind, id)
        .await?;
    me.respond(core, identification(&idn)).await
}

async fn delete(core: &Core, me: &Me, kind: IdentificationKind, id: &str) -> ApiResult<Response> {
    core.identifications()
        .delete_own_identification(&me.user_id, kind, id)
        .await?;
    me.respond(core, crate::wire::deleted(kind.as_str(), id))
        .await
}

async fn prepare(
    core: &Core,
    me: &Me,
    kind: IdentificationKind,
    id: &str,
    form: &Form,
) -> ApiResult<Response> {
    let strategy = form.strategy()?;
    let redirect_url = match strategy {
        Some(s) => super::transport::link_redirect(core, form, s)?,
        None => None,
    };
    let idn = core
        .identifications()
        .prepare_own_verification(
            &me.user_id,
            kind,
            id,
            strategy,
            redirect_url.map(|redirect_url| LinkRequest {
                redirect_url,
                client_id: me.caller.client.as_ref().map(|c| &c.client.id),
            }),
            &me.caller.info,
        )
        .await?;
    me.respond(core, identification(&idn)).await
}

async fn attempt(
    core: &Core,
    me: &Me,
    kind: IdentificationKind,
    id: &str,
    form: &Form,
) -> ApiResult<Response> {
    let code = form.text("code").unwrap_or_default();
    let idn = core
        .identifications()
        .attempt_own_verification(&me.user_id, kind, id, &code)
        .await
        .map_err(|e| ApiError::from(e).param("code"))?;
    me.respond(core, identification(&idn)).await
}

/// `POST /v1/me/email_addresses`: adds an unverified address.
pub async fn create_email_address(
    State(core): State<Core>,
    me: Me,
    form: Form,
) -> ApiResult<Response> {
    create(&core, &me, &form, EMAIL).await
}

/// `GET /v1/me/email_addresses/{id}`
pub async fn get_email_address(
    State(core): State<Core>,
    me: Me,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    get(&core, &me, EMAIL, &id).await
}

/// `DELETE /v1/me/email_addresses/{id}`
pub async fn delete_email_address(
    State(core): State<Core>,
    me: Me,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    delete(&core, &me, EMAIL, &id).await
}

/// `POST /v1/me/email_addresses/{id}/prepare_verification` (`strategy=email_code`)
pub async fn prepare_email_verification(
    State(core): State<Core>,
    me: Me,
    Path(id): Path<String>,
    form: Form,
) -> ApiResult<Response> {
    prepare(&core, &me, EMAIL, &id, &form).await
}

/// `POST /v1/me/email_addresses/{id}/attempt_verification` (`code`)
pub async fn attempt_email_verification(
    State(core): State<Core>,
    me: Me,
    Path(id): Path<String>,
    form: Form,
) -> ApiResult<Response> {
    attempt(&core, &me, EMAIL, &id, &form).await
}

/// `GET /v1/me/phone_numbers`: a bare array, as fapi.yml's `Server.UserPhoneNumbers`.
pub async fn list_phone_numbers(State(core): State<Core>, me: Me) -> ApiResult<Json<Value>> {
    let phones = core
        .identifications()
        .own_identifications(&me.user_id, PHONE)
        .await?;
    Ok(Json(Value::Array(
        phones.iter().map(identification).collect(),
    )))
}

/// `POST /v1/me/phone_numbers`: adds an unverified phone number.
pub async fn create_phone_number(
    State(core): State<Core>,
    me: Me,
    form: Form,
) -> ApiResult<Response> {
    create(&core, &me, &form, PHONE).await
}

/// `GET /v1/me/phone_numbers/{id}`
pub async fn get_phone_number(
    State(core): State<Core>,
    me: Me,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    get(&core, &me, PHONE, &id).await
}

/// `PATCH /v1/me/phone_numbers/{id}`: `reserved_for_second_factor`, `default_second_factor`.
pub async fn update_phone_number(
    State(core): State<Core>,
    me: Me,
    Path(id): Path<String>,
    form: Form,
) -> ApiResult<Response> {
    let flag = |name: &str| match form.get(name) {
        None | Some("") => Ok(None),
        Some(_) => form
            .flag(name)
            .map(Some)
            .ok_or_else(|| ApiError::invalid(name, "must be true or false")),
    };
    let idn = core
        .identifications()
        .update_own_phone_number(
            &me.user_id,
            &id,
            flag("reserved_for_second_factor")?,
            flag("default_second_factor")?,
        )
        .await?;
    me.respond(&core, identification(&idn)).await
}

/// `DELETE /v1/me/phone_numbers/{id}`
pub async fn delete_phone_number(
    State(core): State<Core>,
    me: Me,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    delete(&core, &me, PHONE, &id).await
}

/// `POST /v1/me/phone_numbers/{id}/prepare_verification` (`strategy=phone_code`)
pub async fn prepare_phone_verification(
    State(core): State<Core>,
    me: Me,
    Path(id): Path<String>,
    form: Form,
) -> ApiResult<Response> {
    prepare(&core, &me, PHONE, &id, &form).await
}

/// `POST /v1/me/phone_numbers/{id}/attempt_verification` (`code`)
pub async fn attempt_phone_verification(
    State(core): State<Core>,
    me: Me,
    Path(id): Path<String>,
    form: Form,
) -> ApiResult<Response> {
    attempt(&core, &me, PHONE, &id, &form).await
}
