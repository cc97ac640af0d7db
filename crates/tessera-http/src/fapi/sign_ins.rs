//! `/v1/client/sign_ins…`: create, get, prepare and attempt the first and
//! second factors, reset the password.

use axum::extract::{Path, State};
use axum::response::Response;
use tessera_core::passwords::Password;
use tessera_core::Core;

use super::context::Caller;
use super::transport::Form;
use super::wire;
use crate::error::ApiResult;

/// `POST /v1/client/sign_ins`
pub async fn create_sign_in(
    State(core): State<Core>,
    caller: Caller,
    form: Form,
) -> ApiResult<Response> {
    let client = caller.client.as_ref().map(|c| &c.client);
    let out = core
        .sign_ins()
        .create(
            client,
            form.text("identifier"),
            form.get("password").map(|p| Password::new(p.to_owned())),
            form.text("strategy").as_deref(),
            form.text("ticket"),
            &caller.info,
        )
        .await?;
    wire::sign_in_response(&core, &out, caller.info.origin.clone()).await
}

/// `GET /v1/client/sign_ins/{id}`
pub async fn get_sign_in(
    State(core): State<Core>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let client = caller.require_client()?;
    let out = core.sign_ins().get(&client.client, &id).await?;
    wire::sign_in_response(&core, &out, caller.info.origin.clone()).await
}

/// `POST /v1/client/sign_ins/{id}/prepare_first_factor`
pub async fn prepare_first_factor(
    State(core): State<Core>,
    caller: Caller,
    Path(id): Path<String>,
    form: Form,
) -> ApiResult<Response> {
    let client = caller.require_client()?;
    let strategy = form.required_strategy()?;
    let out = core
        .sign_ins()
        .prepare_first_factor(
            &client.client,
            &id,
            strategy,
            form.get("email_address_id").or(form.get("phone_number_id")),
            &caller.info,
        )
        .await?;
    wire::sign_in_response(&core, &out, caller.info.origin.clone()).await
}

/// `POST /v1/client/sign_ins/{id}/attempt_first_factor`
pub async fn attempt_first_factor(
    State(core): State<Core>,
    caller: Caller,
    Path(id): Path<String>,
    form: Form,
) -> ApiResult<Response> {
    let client = caller.require_client()?;
    let strategy = form.required_strategy()?;
    let out = core
        .sign_ins()
        .attempt_first_factor(
            &client.client,
            &id,
            strategy,
            form.text("code"),
            form.get("password").map(|p| Password::new(p.to_owned())),
            &caller.info,
        )
        .await?;
    wire::sign_in_response(&core, &out, caller.info.origin.clone()).await
}

/// `POST /v1/client/sign_ins/{id}/prepare_second_factor`
pub async fn prepare_second_factor(
    State(core): State<Core>,
    caller: Caller,
    Path(id): Path<String>,
    form: Form,
) -> ApiResult<Response> {
    let client = caller.require_client()?;
    let strategy = form.required_strategy()?;
    let out = core
        .sign_ins()
        .prepare_second_factor(
            &client.client,
            &id,
            strategy,
            form.get("phone_number_id"),
            &caller.info,
        )
        .await?;
    wire::sign_in_response(&core, &out, caller.info.origin.clone()).await
}

/// `POST /v1/client/sign_ins/{id}/attempt_second_factor`
pub async fn attempt_second_factor(
    State(core): State<Core>,
    caller: Caller,
    Path(id): Path<String>,
    form: Form,
) -> ApiResult<Response> {
    let client = caller.require_client()?;
    let strategy = form.required_strategy()?;
    let out = core
        .sign_ins()
        .attempt_second_factor(
            &client.client,
            &id,
            strategy,
            form.text("code"),
            &caller.info,
        )
        .await?;
    wire::sign_in_response(&core, &out, caller.info.origin.clone()).await
}

/// `POST /v1/client/sign_ins/{id}/reset_password`
pub async fn reset_password(
    State(core): State<Core>,
    caller: Caller,
    Path(id): Path<String>,
    form: Form,
) -> ApiResult<Response> {
    let client = caller.require_client()?;
    let password = form.required_password("password")?;
    let out = core
        .sign_ins()
        .reset_password(
            &client.client,
            &id,
            password,
            form.flag("sign_out_of_other_sessions").unwrap_or(false),
            &caller.info,
        )
        .await?;
    wire::sign_in_response(&core, &out, caller.info.origin.clone()).await
}
