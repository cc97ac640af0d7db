//! `/v1/me/passkeys`: the signed-in user registers, renames and removes
//! passkeys (clerk-js `user.createPasskey()`, `passkey.update()`,
//! `passkey.delete()`).

use axum::extract::{Path, State};
use axum::response::Response;
use tessera_core::render::identification::passkey;
use tessera_core::Core;

use super::me::Me;
use super::transport::{passkey_origin, Form};
use crate::error::ApiResult;

/// `POST /v1/me/passkeys`: a passkey whose verification's `nonce` holds the
/// options for `navigator.credentials.create()`.
pub async fn create_passkey(State(core): State<Core>, me: Me) -> ApiResult<Response> {
    passkey_origin(&me.caller.info)?;
    let p = core
        .passkeys()
        .start_registration(
            &me.user_id,
            &me.session_id,
            me.caller.info.origin.as_deref(),
        )
        .await?;
    me.respond(&core, passkey(&p)).await
}

/// `POST /v1/me/passkeys/{id}/attempt_verification` (`strategy=passkey`,
/// `public_key_credential`: the authenticator's attestation as JSON).
pub async fn attempt_passkey_verification(
    State(core): State<Core>,
    me: Me,
    Path(id): Path<String>,
    form: Form,
) -> ApiResult<Response> {
    passkey_origin(&me.caller.info)?;
    let strategy = form.required_strategy()?;
    if strategy != tessera_domain::verification::Strategy::Passkey {
        return Err(crate::error::ApiError::invalid(
            "strategy",
            "must be passkey",
        ));
    }
    let credential = form.required_text("public_key_credential")?;
    let p = core
        .passkeys()
        .finish_registration(
            &me.user_id,
            &id,
            &credential,
            me.caller.info.origin.as_deref(),
        )
        .await?;
    me.respond(&core, passkey(&p)).await
}

/// `GET /v1/me/passkeys/{id}`
pub async fn get_passkey(
    State(core): State<Core>,
    me: Me,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let p = core.passkeys().get(&me.user_id, &id).await?;
    me.respond(&core, passkey(&p)).await
}

/// `PATCH /v1/me/passkeys/{id}` (`name`)
pub async fn update_passkey(
    State(core): State<Core>,
    me: Me,
    Path(id): Path<String>,
    form: Form,
) -> ApiResult<Response> {
    let name = form.required_text("name")?;
    let p = core.passkeys().rename(&me.user_id, &id, &name).await?;
    me.respond(&core, passkey(&p)).await
}

/// `DELETE /v1/me/passkeys/{id}`
pub async fn delete_passkey(
    State(core): State<Core>,
    me: Me,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = core.passkeys().delete(&me.user_id, &id).await?;
    me.respond(&core, crate::wire::deleted("passkey", id.as_str()))
        .await
}
