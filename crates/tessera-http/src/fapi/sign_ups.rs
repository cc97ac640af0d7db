//! `/v1/client/sign_ups…`: create, update, get, prepare and attempt verification.

use axum::extract::{Path, State};
use axum::response::Response;
use tessera_core::frontend::sign_ups::SignUpInput;
use tessera_core::passwords::Password;
use tessera_core::Core;
use tessera_domain::verification::Strategy;

use super::context::Caller;
use super::transport::Form;
use super::wire;
use crate::error::ApiResult;

fn input(form: &Form) -> ApiResult<SignUpInput> {
    Ok(SignUpInput {
        email_address: form.text("email_address"),
        phone_number: form.text("phone_number"),
        username: form.text("username"),
        first_name: form.text("first_name"),
        last_name: form.text("last_name"),
        password: form.get("password").map(|p| Password::new(p.to_owned())),
        unsafe_metadata: form.json_object("unsafe_metadata")?,
        legal_accepted: form.flag("legal_accepted"),
        ticket: match form.strategy()? {
            Some(Strategy::Ticket) | None => form.text("ticket"),
            Some(_) => None,
        },
    })
}

/// `POST /v1/client/sign_ups`
pub async fn create_sign_up(
    State(core): State<Core>,
    caller: Caller,
    form: Form,
) -> ApiResult<Response> {
    let client = caller.client.as_ref().map(|c| &c.client);
    let out = core
        .sign_ups()
        .save_sign_up(client, None, input(&form)?, &caller.info)
        .await?;
    wire::sign_up_response(&core, &out, caller.info.origin.clone()).await
}

/// `PATCH /v1/client/sign_ups/{id}`
pub async fn update_sign_up(
    State(core): State<Core>,
    caller: Caller,
    Path(id): Path<String>,
    form: Form,
) -> ApiResult<Response> {
    let client = caller.require_client()?;
    let out = core
        .sign_ups()
        .save_sign_up(Some(&client.client), Some(&id), input(&form)?, &caller.info)
        .await?;
    wire::sign_up_response(&core, &out, caller.info.origin.clone()).await
}

/// `GET /v1/client/sign_ups/{id}`
pub async fn get_sign_up(
    State(core): State<Core>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let client = caller.require_client()?;
    let (sign_up, fields) = core.sign_ups().get(&client.client, &id).await?;
    wire::envelope(
        &core,
        wire::sign_up(&sign_up, &fields),
        Some(client),
        None,
        caller.info.origin.clone(),
    )
    .await
}

/// `POST /v1/client/sign_ups/{id}/prepare_verification`
pub async fn prepare_verification(
    State(core): State<Core>,
    caller: Caller,
    Path(id): Path<String>,
    form: Form,
) -> ApiResult<Response> {
    let client = caller.require_client()?;
    let strategy = form.strategy()?.unwrap_or(Strategy::EmailCode);
    let redirect_url = super::transport::link_redirect(&core, &form, strategy)?;
    let out = core
        .sign_ups()
        .prepare_verification(&client.client, &id, strategy, redirect_url, &caller.info)
        .await?;
    wire::sign_up_response(&core, &out, caller.info.origin.clone()).await
}

/// `POST /v1/client/sign_ups/{id}/attempt_verification`
pub async fn attempt_verification(
    State(core): State<Core>,
    caller: Caller,
    Path(id): Path<String>,
    form: Form,
) -> ApiResult<Response> {
    let client = caller.require_client()?;
    let strategy = form.strategy()?.unwrap_or(Strategy::EmailCode);
    let code = form.text("code").unwrap_or_default();
    let out = core
        .sign_ups()
        .attempt_verification(&client.client, &id, strategy, &code, &caller.info)
        .await
        .map_err(|e| crate::error::ApiError::from(e).param("code"))?;
    wire::sign_up_response(&core, &out, caller.info.origin.clone()).await
}
