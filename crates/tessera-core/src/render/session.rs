//! `session` and `client` objects.

use crate::sessions::{shown_status, tasks_of, ClientView};
use serde_json::{json, Value};
use tessera_domain::tasks::{SessionTask, TaskPolicy};
use tessera_store::records::Session;

/// A session's `tasks`: `null` when none is left, else `[{"key": …}]`.
pub fn tasks(tasks: &[SessionTask]) -> Value {
    if tasks.is_empty() {
        return Value::Null;
    }
    tasks.iter().map(|t| json!({ "key": t.key() })).collect()
}

/// The latest activity of a session: IP, place where known, and the browser and
/// device read from the user agent.
pub fn activity(s: &Session) -> Option<Value> {
    if s.ip_address.is_none() && s.user_agent.is_none() {
        return None;
    }
    let parsed = s
        .user_agent
        .as_deref()
        .and_then(|ua| woothee::parser::Parser::new().parse(ua));
    let known = |v: &str| (v != woothee::woothee::VALUE_UNKNOWN).then(|| v.to_owned());
    let browser_name = parsed.as_ref().and_then(|p| known(p.name));
    let browser_version = parsed.as_ref().and_then(|p| known(p.version));
    let category = parsed.as_ref().map_or("", |p| p.category);
    let is_mobile = matches!(category, "smartphone" | "mobilephone");
    let device_type = parsed.as_ref().and_then(|p| known(p.os));
    Some(json!({
        "object": "session_activity",
        "id": format!("sess_activity_{}", s.id.as_str().trim_start_matches("sess_")),
        "device_type": device_type,
        "is_mobile": is_mobile,
        "browser_name": browser_name,
        "browser_version": browser_version,
        "ip_address": s.ip_address,
        "city": s.city,
        "country": s.country,
    }))
}

/// A session as the Backend API renders it (its status as of now; `pending`
/// with its `tasks` while `policy` leaves it one).
pub fn session(s: &Session, policy: TaskPolicy) -> Value {
    let activity = activity(s);
    json!({
        "object": "session",
        "id": s.id.as_str(),
        "user_id": s.user_id.as_str(),
        "client_id": s.client_id.as_str(),
        "actor": s.actor,
        "status": shown_status(policy, s).as_str(),
        "last_active_organization_id": s.last_active_organization_id,
        "last_active_at": s.last_active_at,
        "latest_activity": activity,
        "expire_at": s.expire_at,
        "abandon_at": s.abandon_at,
        "updated_at": s.updated_at,
        "created_at": s.created_at,
        "tasks": tasks(&tasks_of(policy, s)),
    })
}

/// A client as the Backend API renders it.
pub fn client(view: &ClientView, policy: TaskPolicy) -> Value {
    let c = &view.client;
    json!({
        "object": "client",
        "id": c.id.as_str(),
        "session_ids": view.sessions.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        "sessions": view.sessions.iter().map(|s| session(s, policy)).collect::<Vec<_>>(),
        "sign_in_id": null,
        "sign_up_id": null,
        "last_active_session_id": c.last_active_session_id.as_ref().map(|s| s.as_str()),
        "last_authentication_strategy": null,
        "updated_at": c.updated_at,
        "created_at": c.created_at,
    })
}
