//! `/v1/me…`: the signed-in user's own account. The caller is the session named
//! by `_clerk_session_id` (else the client's last active one), which must be
//! signed in on the caller's client.

use axum::extract::{FromRequestParts, Multipart, Path, State};
use axum::http::request::Parts;
use axum::response::Response;
use axum::Json;
use serde_json::{json, Value};
use tessera_core::passwords::Password;
use tessera_core::users::{MetadataPatch, UserPatch};
use tessera_core::{Core, CoreError};
use tessera_domain::error_code::ErrorCode;
use tessera_domain::ids::{SessionId, UserId};

use super::context::Caller;
use super::transport::Form;
use super::wire;
use crate::error::{ApiError, ApiResult};
use crate::extract::QueryPairs;

/// The signed-in user behind a `/v1/me` request.
#[derive(Debug, Clone)]
pub struct Me {
    /// The caller and its client.
    pub caller: Caller,
    /// The session acting.
    pub session_id: SessionId,
    /// Its user.
    pub user_id: UserId,
}

fn signed_out() -> ApiError {
    ApiError::new(
        ErrorCode::AuthenticationInvalid,
        "Unauthorized request",
        "You are not signed in (no active session on this client).",
    )
}

impl FromRequestParts<Core> for Me {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, core: &Core) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, core).await?;
        let query = QueryPairs::from_request_parts(parts, core).await?;
        let view = caller.client.as_ref().ok_or_else(signed_out)?;
        let wanted = query
            .first("_clerk_session_id")
            .filter(|s| !s.is_empty())
            .or_else(|| {
                view.client
                    .last_active_session_id
                    .as_ref()
                    .map(|s| s.as_str().to_owned())
            })
            .ok_or_else(signed_out)?;
        let session = view
            .sessions
            .iter()
            .find(|s| s.id.as_str() == wanted && s.status.is_signed_in())
            .ok_or_else(signed_out)?;
        Ok(Self {
            session_id: session.id.clone(),
            user_id: session.user_id.clone(),
            caller,
        })
    }
}

impl Me {
    /// Renders `response` in the `{response, client}` envelope with the caller's current client.
    pub async fn respond(&self, core: &Core, response: Value) -> ApiResult<Response> {
        // Re-read the client so the user embedded in its sessions is current.
        let token_view = match &self.caller.client {
            Some(v) => Some(core.sessions().get_client(v.client.id.as_str()).await?),
            None => None,
        };
        wire::envelope(
            core,
            response,
            token_view.as_ref(),
            None,
            self.caller.info.origin.clone(),
        )
        .await
    }

    async fn user_json(&self, core: &Core) -> ApiResult<Value> {
        let memberships =
            tessera_core::frontend::snapshot::memberships(core, &self.user_id).await?;
        Ok(wire::user(
            core,
            &core.users().get(self.user_id.as_str()).await?,
            &memberships,
        ))
    }
}

/// `GET /v1/me`
pub async fn get_me(State(core): State<Core>, me: Me) -> ApiResult<Response> {
    let user = me.user_json(&core).await?;
    me.respond(&core, user).await
}

/// `PATCH /v1/me`: names, username, primary identifiers.
pub async fn update_me(State(core): State<Core>, me: Me, form: Form) -> ApiResult<Response> {
    let patch = UserPatch {
        first_name: form.get("first_name").map(|v| Some(v.to_owned())),
        last_name: form.get("last_name").map(|v| Some(v.to_owned())),
        username: form.get("username").map(|v| Some(v.to_owned())),
        primary_email_address_id: form.text("primary_email_address_id"),
        primary_phone_number_id: form.text("primary_phone_number_id"),
        ..UserPatch::default()
    };
    core.users().update(me.user_id.as_str(), patch).await?;
    if let Some(meta) = form.json_object("unsafe_metadata")? {
        let patch = MetadataPatch {
            unsafe_metadata: Some(meta),
            ..MetadataPatch::default()
        };
        core.users()
            .update_metadata(me.user_id.as_str(), patch, true)
            .await?;
    }
    let user = me.user_json(&core).await?;
    me.respond(&core, user).await
}

/// `PATCH /v1/me/metadata`: deep-merges `unsafe_metadata`.
pub async fn merge_my_metadata(
    State(core): State<Core>,
    me: Me,
    form: Form,
) -> ApiResult<Response> {
    let patch = MetadataPatch {
        unsafe_metadata: form.json_object("unsafe_metadata")?,
        ..MetadataPatch::default()
    };
    core.users()
        .update_metadata(me.user_id.as_str(), patch, false)
        .await?;
    let user = me.user_json(&core).await?;
    me.respond(&core, user).await
}

/// `POST /v1/me/change_password`
pub async fn change_password(State(core): State<Core>, me: Me, form: Form) -> ApiResult<Response> {
    let new = form.required_password("new_password")?;
    core.users()
        .change_own_password(
            &me.user_id,
            form.get("current_password")
                .map(|p| Password::new(p.to_owned())),
            new,
            form.flag("sign_out_of_other_sessions").unwrap_or(false),
            Some(&me.session_id),
        )
        .await
        .map_err(|e| {
            // The password rules name `password`; here the new one is `new_password`.
            let mut api = ApiError::from(e);
            if api.meta.get("param_name").and_then(Value::as_str) == Some("password") {
                api.meta
                    .insert("param_name".to_owned(), json!("new_password"));
            }
            api
        })?;
    let user = me.user_json(&core).await?;
    me.respond(&core, user).await
}

/// `GET /v1/me/sessions/active`: a bare array, as clerk-js expects.
pub async fn active_sessions(State(core): State<Core>, me: Me) -> ApiResult<Json<Value>> {
    let sessions = core.users().own_active_sessions(&me.user_id).await?;
    let items: Vec<Value> = sessions
        .iter()
        .map(|s| crate::wire::session::session(s, core.task_policy()))
        .collect();
    Ok(Json(Value::Array(items)))
}

/// `POST /v1/me/sessions/{id}/revoke`
pub async fn revoke_session(
    State(core): State<Core>,
    me: Me,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let session = core.users().revoke_own_session(&me.user_id, &id).await?;
    me.respond(
        &core,
        crate::wire::session::session(&session, core.task_policy()),
    )
    .await
}

/// `POST /v1/me/profile_image` (multipart `file`) → `{id, name, public_url}`.
pub async fn set_profile_image(
    State(core): State<Core>,
    me: Me,
    mut multipart: Multipart,
) -> ApiResult<Response> {
    let mut file = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| ApiError::bad_body(format!("invalid multipart body: {e}")))?
    {
        if field.name() == Some("file") {
            file = Some(
                field
                    .bytes()
                    .await
                    .map_err(|e| ApiError::bad_body(e.to_string()))?,
            );
        }
    }
    let bytes = file.ok_or_else(|| ApiError::from(CoreError::missing("file")))?;
    let content_type = crate::bapi::user_actions::sniff_image(&bytes)
        .ok_or_else(|| ApiError::invalid("file", "must be a PNG, JPEG, GIF or WebP image"))?;
    let view = core
        .users()
        .set_profile_image(me.user_id.as_str(), content_type.to_owned(), bytes.to_vec())
        .await?;
    let image = json!({
        "object": "image",
        "id": format!("img_{}", view.user.id.as_str().trim_start_matches("user_")),
        "name": "profile_image",
        "public_url": crate::wire::user::image_url(&core.frontend_url, &view),
    });
    me.respond(&core, image).await
}

/// `DELETE /v1/me/profile_image`
pub async fn delete_profile_image(State(core): State<Core>, me: Me) -> ApiResult<Response> {
    core.users()
        .delete_profile_image(me.user_id.as_str())
        .await?;
    me.respond(&core, crate::wire::deleted("image", me.user_id.as_str()))
        .await
}

/// `DELETE /v1/me`: deletes the account when allowed; clerk-js then signs out.
pub async fn delete_me(State(core): State<Core>, me: Me) -> ApiResult<Response> {
    let view = core.users().delete_own_account(&me.user_id).await?;
    me.respond(&core, crate::wire::deleted("user", view.user.id.as_str()))
        .await
}
