//! Permissions, roles and role sets as the Backend API renders them (and the
//! Frontend API, whose permissions name their type `user` where the Backend
//! API says `custom`).

use serde_json::{json, Value};
use tessera_domain::organizations::{Permission, Role, RoleSet, Roles};

/// Which API a rendering is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `@clerk/backend` and the webhooks.
    Backend,
    /// clerk-js.
    Frontend,
}

/// A permission.
pub fn permission(p: &Permission, api: Api) -> Value {
    let kind = match (p.system, api) {
        (true, _) => "system",
        (false, Api::Backend) => "custom",
        (false, Api::Frontend) => "user",
    };
    json!({
        "object": "permission",
        "id": p.id,
        "name": p.name,
        "key": p.key,
        "description": p.description,
        "type": kind,
        "created_at": p.created_at,
        "updated_at": p.updated_at,
    })
}

/// A role with its permissions.
pub fn role(r: &Role, roles: &Roles, api: Api) -> Value {
    let permissions: Vec<Value> = r
        .permissions
        .iter()
        .filter_map(|key| roles.permissions.iter().find(|p| &p.key == key))
        .map(|p| permission(p, api))
        .collect();
    json!({
        "object": "role",
        "id": r.id,
        "name": r.name,
        "key": r.key,
        "description": r.description,
        "is_creator_eligible": r.creator_eligible(),
        "permissions": permissions,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
    })
}

/// A role as a role set lists it, with its members in the set's
/// organizations when counted.
fn item(r: &Role, members: Option<i64>) -> Value {
    json!({
        "object": "role_set_item",
        "id": r.id,
        "name": r.name,
        "key": r.key,
        "description": r.description,
        "members_count": members,
        "has_members": members.map(|n| n > 0),
        "created_at": r.created_at,
        "updated_at": r.updated_at,
    })
}

/// A role set; `members` counts members per role key when known.
pub fn role_set(s: &RoleSet, roles: &Roles, members: Option<&[(String, i64)]>) -> Value {
    let count =
        |key: &str| members.map(|m| m.iter().find(|(k, _)| k == key).map_or(0, |(_, n)| *n));
    let render = |key: &str| roles.get(key).map(|r| item(r, count(key)));
    json!({
        "object": "role_set",
        "id": s.id,
        "name": s.name,
        "key": s.key,
        "description": s.description,
        "roles": s.roles.iter().filter_map(|k| render(k)).collect::<Vec<_>>(),
        "default_role": render(&s.default_role),
        "creator_role": render(&s.creator_role),
        "type": if s.initial { "initial" } else { "custom" },
        "role_set_migration": null,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
    })
}
