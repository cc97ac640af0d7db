//! `/v1/client` and the client's sessions: get, create, destroy, touch
//! (setActive), tokens, end, remove, sign out of all.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tessera_core::Core;
use tessera_domain::error_code::ErrorCode;
use tessera_domain::kinds::SessionStatus;

use super::context::{no_client, Caller, TokenCaller};
use super::transport::Form;
use super::wire;
use crate::error::{ApiError, ApiResult};

/// `GET /v1/client`: the caller's client, or `null`.
pub async fn get_client(State(core): State<Core>, caller: Caller) -> ApiResult<Response> {
    wire::envelope_current(&core, caller.client.as_ref(), caller.info.origin.clone()).await
}

/// `PUT|POST /v1/client`: a fresh client with a new cookie.
pub async fn create_client(State(core): State<Core>, caller: Caller) -> ApiResult<Response> {
    let (view, token) = core.sessions().create_client().await?;
    let client = wire::load_client(&core, &view, caller.info.origin.clone()).await?;
    let mut resp = Json(json!({ "response": client, "client": client })).into_response();
    wire::set_client_cookie(
        &core,
        &mut resp,
        Some(&token),
        view.client.updated_at / 1000,
    );
    Ok(resp)
}

/// `GET /v1/client/touch?redirect_url=…` (clerk-js `client.buildTouchUrl`): a
/// top-level visit that sets the client cookie again as a first-party cookie
/// (browsers that cap script-set or third-party cookies keep it longer), then
/// returns to the page. Only to origins the instance allows.
pub async fn touch_client(
    State(core): State<Core>,
    caller: Caller,
    q: crate::extract::QueryPairs,
) -> ApiResult<Response> {
    let target = q
        .first("redirect_url")
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ApiError::from(tessera_core::CoreError::missing("redirect_url")))?;
    let allowed = url::Url::parse(&target).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https")
            && super::transport::origin_allowed(&core, &u.origin().ascii_serialization())
    });
    if !allowed {
        return Err(ApiError::new(
            ErrorCode::FormParamValueInvalid,
            "is invalid",
            "redirect_url must be a URL on an origin this instance allows.",
        )
        .param("redirect_url"));
    }
    let mut resp = axum::response::Redirect::to(&target).into_response();
    if let Some(view) = &caller.client {
        let (after, token) = core.sessions().reissue_client_token(&view.client).await?;
        wire::set_client_cookie(
            &core,
            &mut resp,
            Some(&token),
            after.client.updated_at / 1000,
        );
    }
    Ok(resp)
}

/// `DELETE /v1/client`: signs out everywhere on this client and forgets it.
pub async fn delete_client(State(core): State<Core>, caller: Caller) -> ApiResult<Response> {
    let Some(view) = &caller.client else {
        return Ok(Json(json!({ "response": null, "client": null })).into_response());
    };
    let (ended, _) = core
        .sessions()
        .end_client_sessions(&view.client, None, SessionStatus::Ended)
        .await?;
    let client = wire::load_client(&core, &ended, caller.info.origin.clone()).await?;
    let mut resp = Json(json!({ "response": client, "client": null })).into_response();
    wire::set_client_cookie(&core, &mut resp, None, 0);
    Ok(resp)
}

/// `DELETE /v1/client/sessions`: sign out of every session (clerk-js `signOut()`).
pub async fn end_all_sessions(State(core): State<Core>, caller: Caller) -> ApiResult<Response> {
    let view = caller.require_client()?;
    let (ended, _) = core
        .sessions()
        .end_client_sessions(&view.client, None, SessionStatus::Ended)
        .await?;
    let client = wire::load_client(&core, &ended, caller.info.origin.clone()).await?;
    let mut resp = Json(json!({ "response": client, "client": client })).into_response();
    // The client and its cookie stay; only "signed in since" goes back to 0.
    wire::set_client_uat(&core, &mut resp, 0);
    Ok(resp)
}

async fn end_one(
    core: &Core,
    caller: &Caller,
    id: &str,
    status: SessionStatus,
) -> ApiResult<Response> {
    let view = caller.require_client()?;
    let (after, session) = core
        .sessions()
        .end_client_sessions(&view.client, Some(id), status)
        .await?;
    let session = session.ok_or_else(ApiError::not_found)?;
    let body = wire::load_session(core, &session, caller.info.origin.clone()).await?;
    wire::envelope(core, body, Some(&after), None, caller.info.origin.clone()).await
}

/// `POST /v1/client/sessions/{id}/end`: sign out of one session.
pub async fn end_session(
    State(core): State<Core>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    end_one(&core, &caller, &id, SessionStatus::Ended).await
}

/// `POST /v1/client/sessions/{id}/remove`: remove a session from the client.
pub async fn remove_session(
    State(core): State<Core>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    end_one(&core, &caller, &id, SessionStatus::Removed).await
}

/// `POST /v1/client/sessions/{id}/touch`: make it the active session (clerk-js `setActive`).
pub async fn touch_session(
    State(core): State<Core>,
    caller: Caller,
    Path(id): Path<String>,
    form: Form,
) -> ApiResult<Response> {
    let view = caller.require_client()?;
    if let Some(intent) = form.text("intent") {
        if !["focus", "select_session", "select_org"].contains(&intent.as_str()) {
            return Err(ApiError::invalid(
                "intent",
                "must be one of focus, select_session, select_org",
            ));
        }
    }
    let org = form
        .get("active_organization_id")
        .map(|v| Some(v.to_owned()).filter(|v| !v.is_empty()));
    let (after, session) = core
        .sessions()
        .touch_session(&view.client, &id, org, &caller.info)
        .await?;
    let body = wire::load_session(&core, &session, caller.info.origin.clone()).await?;
    wire::envelope(&core, body, Some(&after), None, caller.info.origin.clone()).await
}

/// `GET /v1/client/sessions/{id}`.
pub async fn get_session(
    State(core): State<Core>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let view = caller.require_client()?;
    let session = view
        .sessions
        .iter()
        .find(|s| s.id.as_str() == id)
        .ok_or_else(ApiError::not_found)?;
    let body = wire::load_session(&core, session, caller.info.origin.clone()).await?;
    wire::envelope(&core, body, Some(view), None, caller.info.origin.clone()).await
}

/// `POST /v1/client/sessions/{id}/tokens`: a fresh session token (bare `{object, jwt}`).
pub async fn create_token(
    State(core): State<Core>,
    caller: TokenCaller,
    Path(id): Path<String>,
    form: Form,
) -> ApiResult<Json<TokenBody>> {
    // clerk-js names the organization the token is for (empty: the personal
    // account); a page without focus switches organizations this way only.
    if let (Some(token), Some(wanted)) = (&caller.client_token, form.get("organization_id")) {
        let wanted = Some(wanted.to_owned()).filter(|v| !v.is_empty());
        if let Some(view) = core.sessions().client_for_token(token).await? {
            let differs = view.sessions.iter().any(|s| {
                s.id.as_str() == id
                    && s.status.is_signed_in()
                    && s.last_active_organization_id != wanted
            });
            if differs {
                let info = tessera_core::frontend::RequestInfo::default();
                core.sessions()
                    .touch_session(&view.client, &id, Some(wanted), &info)
                    .await?;
            }
        }
    }
    let minted = match caller.client_token {
        Some(token) => {
            core.sessions()
                .client_token_session_token(&token, &id, caller.origin)
                .await
        }
        None => Ok(None),
    };
    let jwt = minted
        .map_err(|e| match e {
            tessera_core::CoreError::NotAllowed { .. } => ApiError::new(
                ErrorCode::AuthenticationInvalid,
                "Unauthorized request",
                "The session is no longer active; sign in again.",
            ),
            other => other.into(),
        })?
        .ok_or_else(no_client)?;
    Ok(Json(TokenBody {
        object: "token",
        jwt,
    }))
}

/// The `/tokens` answer: `{object: "token", jwt}`.
#[derive(serde::Serialize)]
pub struct TokenBody {
    object: &'static str,
    jwt: String,
}

/// `POST /v1/client/sessions/{id}/tokens/{template}`: JWT templates arrive later.
pub async fn create_template_token(Path((_id, template)): Path<(String, String)>) -> ApiError {
    ApiError::new(
        ErrorCode::ResourceNotFound,
        "not found",
        format!("No JWT template named {template:?} exists."),
    )
}

/// `POST /v1/dev_browser`: development browsers get an opaque id (clerk-js only asks
/// for one on Clerk's own development domains).
pub async fn create_dev_browser() -> impl IntoResponse {
    let id = tessera_core::sessions::clients::new_token();
    (
        StatusCode::OK,
        Json(json!({ "object": "dev_browser", "id": id, "token": id })),
    )
}

fn reverification_level(form: &Form) -> ApiResult<tessera_domain::reverification::Level> {
    let raw = form
        .text("level")
        .unwrap_or_else(|| "second_factor".to_owned());
    tessera_domain::reverification::Level::parse(&raw).ok_or_else(|| {
        ApiError::invalid(
            "level",
            "must be one of first_factor, second_factor, multi_factor",
        )
    })
}

/// `POST /v1/client/sessions/{id}/verify` (`level`): clerk-js
/// `session.startVerification()`.
pub async fn start_verification(
    State(core): State<Core>,
    caller: Caller,
    Path(id): Path<String>,
    form: Form,
) -> ApiResult<Response> {
    let view = caller.require_client()?;
    let level = reverification_level(&form)?;
    let (after, session) = core
        .sessions()
        .start_reverification(&view.client, &id, level)
        .await?;
    verification_answer(&core, &caller, &after, &session).await
}

async fn verification_answer(
    core: &Core,
    caller: &Caller,
    after: &tessera_core::sessions::ClientView,
    session: &tessera_store::records::Session,
) -> ApiResult<Response> {
    let origin = caller.info.origin.clone();
    let body = wire::session_verification(core, session, origin.clone()).await?;
    wire::envelope(core, body, Some(after), None, origin).await
}

/// One reverification step: prepare (`attempt` false) or attempt a first
/// (or `second`) factor.
async fn verification_step(
    core: Core,
    caller: Caller,
    id: String,
    form: Form,
    attempt: bool,
    second: bool,
) -> ApiResult<Response> {
    use tessera_core::sessions::reverify::FactorProof;
    let view = caller.require_client()?;
    let strategy = form.required_strategy()?;
    let sessions = core.sessions();
    let passkey = strategy == tessera_domain::verification::Strategy::Passkey;
    if passkey {
        super::transport::passkey_origin(&caller.info)?;
    }
    let (after, session) = if attempt {
        let proof = if strategy == tessera_domain::verification::Strategy::Password {
            FactorProof::Password(form.required_password("password")?)
        } else if passkey {
            FactorProof::PublicKeyCredential(form.required_text("public_key_credential")?)
        } else {
            FactorProof::Code(form.required_text("code")?)
        };
        sessions
            .attempt_reverification(&view.client, &id, second, strategy, proof, &caller.info)
            .await?
    } else {
        let target = form
            .text("email_address_id")
            .or_else(|| form.text("phone_number_id"));
        sessions
            .prepare_reverification(
                &view.client,
                &id,
                second,
                strategy,
                target.as_deref(),
                &caller.info,
            )
            .await?
    };
    verification_answer(&core, &caller, &after, &session).await
}

/// `POST /v1/client/sessions/{id}/verify/prepare_first_factor`
pub async fn prepare_first_factor_verification(
    State(core): State<Core>,
    caller: Caller,
    Path(id): Path<String>,
    form: Form,
) -> ApiResult<Response> {
    verification_step(core, caller, id, form, false, false).await
}

/// `POST /v1/client/sessions/{id}/verify/attempt_first_factor`
pub async fn attempt_first_factor_verification(
    State(core): State<Core>,
    caller: Caller,
    Path(id): Path<String>,
    form: Form,
) -> ApiResult<Response> {
    verification_step(core, caller, id, form, true, false).await
}

/// `POST /v1/client/sessions/{id}/verify/prepare_second_factor`
pub async fn prepare_second_factor_verification(
    State(core): State<Core>,
    caller: Caller,
    Path(id): Path<String>,
    form: Form,
) -> ApiResult<Response> {
    verification_step(core, caller, id, form, false, true).await
}

/// `POST /v1/client/sessions/{id}/verify/attempt_second_factor`
pub async fn attempt_second_factor_verification(
    State(core): State<Core>,
    caller: Caller,
    Path(id): Path<String>,
    form: Form,
) -> ApiResult<Response> {
    verification_step(core, caller, id, form, true, true).await
}
