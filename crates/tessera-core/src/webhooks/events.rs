//! The event envelope Clerk sends, and `emit`, which appends one to the
//! outbox inside the caller's transaction: a rolled-back change emits
//! nothing, a committed one cannot lose its event.
//!
//! Adding an event to a feature is one line in its transaction:
//! `self.emit(&mut tx, "thing.created", render(&thing), info).await?;`

use serde_json::{json, Value};
use tessera_domain::ids::MessageId;
use tessera_store::Conn;

use crate::clock::now_ms;
use crate::error::CoreResult;
use crate::request::RequestInfo;
use crate::Core;

tokio::task_local! {
    /// The HTTP request being served, for events emitted while serving it.
    static REQUEST: RequestInfo;
}

/// Runs `work` with `info` as the request its events are attributed to.
pub async fn with_request<F: std::future::Future>(info: RequestInfo, work: F) -> F::Output {
    REQUEST.scope(info, work).await
}

/// The HTTP request being served, when called while serving one.
pub fn current_request() -> Option<RequestInfo> {
    REQUEST.try_with(Clone::clone).ok()
}

/// The event types Tessera emits today.
pub const EVENT_TYPES: &[&str] = &[
    "user.created",
    "user.updated",
    "user.deleted",
    "email.created",
    "sms.created",
    "session.created",
    "session.ended",
    "session.removed",
    "session.revoked",
    "organization.created",
    "organization.updated",
    "organization.deleted",
    "organizationMembership.created",
    "organizationMembership.updated",
    "organizationMembership.deleted",
    "organizationInvitation.created",
    "organizationInvitation.accepted",
    "organizationInvitation.revoked",
    "organizationDomain.created",
    "organizationDomain.updated",
    "organizationDomain.deleted",
    "role.created",
    "role.updated",
    "role.deleted",
    "permission.created",
    "permission.updated",
    "permission.deleted",
];

/// Clerk's envelope around an object as the Backend API renders it.
pub fn envelope(
    event_type: &str,
    data: Value,
    instance_id: &str,
    timestamp_ms: i64,
    request: Option<&RequestInfo>,
) -> Value {
    json!({
        "data": data,
        "object": "event",
        "type": event_type,
        "timestamp": timestamp_ms,
        "instance_id": instance_id,
        "event_attributes": {
            "http_request": {
                "client_ip": request.and_then(|r| r.ip.clone()).unwrap_or_default(),
                "user_agent": request.and_then(|r| r.user_agent.clone()).unwrap_or_default(),
            }
        },
    })
}

impl Core {
    /// Appends an event to the outbox in the caller's transaction.
    pub async fn emit(
        &self,
        conn: &mut Conn,
        event_type: &str,
        data: Value,
        request: Option<&RequestInfo>,
    ) -> CoreResult<()> {
        let now = now_ms();
        let instance_id = self.instance_id();
        let ambient = request.is_none().then(current_request).flatten();
        let payload = envelope(
            event_type,
            data,
            &instance_id,
            now,
            request.or(ambient.as_ref()),
        );
        tessera_store::webhooks::insert_message(
            conn,
            &tessera_store::webhooks::Message {
                id: MessageId::generate(now).as_str().to_owned(),
                event_type: event_type.to_owned(),
                payload: payload.to_string(),
                created_at: now,
            },
        )
        .await?;
        Ok(())
    }
}

impl Core {
    /// A user as the Backend API renders it (event data).
    pub fn user_json(&self, view: &crate::users::UserView) -> Value {
        crate::render::user::user(
            view,
            &self.instance().settings,
            &self.frontend_url,
            now_ms(),
        )
    }

    /// `user.created` / `user.updated` for a user.
    pub async fn emit_user(
        &self,
        conn: &mut Conn,
        event_type: &str,
        view: &crate::users::UserView,
        request: Option<&RequestInfo>,
    ) -> CoreResult<()> {
        let data = self.user_json(view);
        self.emit(conn, event_type, data, request).await
    }

    /// `user.deleted`, whose data is the deleted-object stub.
    pub async fn emit_user_deleted(
        &self,
        conn: &mut Conn,
        id: &str,
        request: Option<&RequestInfo>,
    ) -> CoreResult<()> {
        let data = json!({ "object": "user", "id": id, "deleted": true });
        self.emit(conn, "user.deleted", data, request).await
    }

    /// `session.created|ended|removed|revoked` for each session.
    pub async fn emit_sessions<'a>(
        &self,
        conn: &mut Conn,
        event_type: &str,
        sessions: impl IntoIterator<Item = &'a tessera_store::records::Session>,
        request: Option<&RequestInfo>,
    ) -> CoreResult<()> {
        let policy = self.task_policy();
        for s in sessions {
            let data = crate::render::session::session(s, policy);
            self.emit(conn, event_type, data, request).await?;
        }
        Ok(())
    }
}
