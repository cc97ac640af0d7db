//! `/v1/client/sign_ins…`: create, get, prepare and attempt the first and
//! second factors, reset the password.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use tessera_core::passwords::Password;
use tessera_core::Core;
use tessera_domain::error_code::ErrorCode;

use super::context::Caller;
use super::transport::Form;
use super::wire;
use crate::error::{ApiError, ApiResult};

/// `POST /v1/client/sign_ins`
pub async fn create_sign_in(
    State(core): State<Core>,
    caller: Caller,
    form: Form,
) -> ApiResult<Response> {
    let client = caller.client.as_ref().map(|c| &c.client);
    if form.get("strategy") == Some("passkey") {
        super::transport::passkey_origin(&caller.info)?;
    }
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
    if strategy == tessera_domain::verification::Strategy::Passkey {
        super::transport::passkey_origin(&caller.info)?;
    }
    let out = if let Some(redirect_url) = super::transport::link_redirect(&core, &form, strategy)? {
        core.sign_ins()
            .prepare_email_link(
                &client.client,
                &id,
                form.get("email_address_id"),
                redirect_url,
                &caller.info,
            )
            .await?
    } else {
        core.sign_ins()
            .prepare_first_factor(
                &client.client,
                &id,
                strategy,
                form.get("email_address_id").or(form.get("phone_number_id")),
                &caller.info,
            )
            .await?
    };
    wire::sign_in_response(&core, &out, caller.info.origin.clone()).await
}

/// `GET /v1/verify?token=…`: an email link opened. Redirects to the link's
/// `redirect_url` with `__clerk_status` (and `__clerk_created_session` when
/// it signed in); the opening browser's own client gets its new cookie.
pub async fn open_email_link(
    State(core): State<Core>,
    caller: Caller,
    q: crate::extract::QueryPairs,
) -> ApiResult<Response> {
    let token = q.first("token").unwrap_or_default();
    let opener = caller.client.as_ref().map(|v| &v.client);
    let out = core
        .sign_ins()
        .open_email_link(&token, opener, &caller.info)
        .await?;
    let Some(target) = out.redirect_url.as_deref() else {
        return Err(ApiError::new(
            ErrorCode::FormParamValueInvalid,
            "is invalid",
            "This link is invalid or has been used; return to the original tab.",
        )
        .param("token"));
    };
    let mut params = vec![("__clerk_status", out.status.to_owned())];
    if let Some(sid) = &out.created_session_id {
        params.push(("__clerk_created_session", sid.clone()));
    }
    // Checked when the link was prepared (an http(s) URL on an allowed origin).
    let location = with_query(target, &params)
        .ok_or_else(|| ApiError::invalid("redirect_url", "must be an absolute http(s) URL"))?;
    let mut resp = axum::response::Redirect::to(&location).into_response();
    if let (Some(token), Some(view)) = (&out.new_client_token, &caller.client) {
        wire::set_client_cookie(&core, &mut resp, Some(token), view.client.updated_at / 1000);
    }
    Ok(resp)
}

/// `url` with `params` added to its query, before any `#fragment` (clerk-js
/// reads them from the query even with hash routing), serialized as ASCII
/// (non-ASCII characters percent-encoded, so that it is a valid header).
fn with_query(url: &str, params: &[(&str, String)]) -> Option<String> {
    let mut u = url::Url::parse(url).ok()?;
    u.query_pairs_mut()
        .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())));
    Some(u.into())
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
    if strategy == tessera_domain::verification::Strategy::Passkey {
        super::transport::passkey_origin(&caller.info)?;
        let credential = form.required_text("public_key_credential")?;
        let out = core
            .sign_ins()
            .attempt_passkey(&client.client, &id, &credential, &caller.info)
            .await?;
        return wire::sign_in_response(&core, &out, caller.info.origin.clone()).await;
    }
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
