//! BAPI `/v1/organization_permissions`, `/v1/organization_roles` and
//! `/v1/role_sets`: the instance's permissions, roles and role sets.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tessera_core::error::CoreError;
use tessera_core::roles::{ListQuery, NewPermission, NewRole, NewRoleSet, Patch, RoleSetPatch};
use tessera_core::Core;

use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, QueryPairs, SecretKeyAuth};

fn list_query(q: &QueryPairs) -> ApiResult<ListQuery> {
    let (limit, offset) = q.page()?;
    Ok(ListQuery {
        query: q.first("query").filter(|s| !s.is_empty()),
        order_by: q.first("order_by").filter(|s| !s.is_empty()),
        limit,
        offset,
    })
}

fn page((data, total): (Vec<Value>, i64)) -> Json<Value> {
    Json(json!({ "data": data, "total_count": total }))
}

fn required(value: Option<String>, param: &str) -> ApiResult<String> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::from(CoreError::missing(param)))
}

// --- permissions ---------------------------------------------------------------------

/// `GET /v1/organization_permissions`
pub async fn list_permissions(
    _: SecretKeyAuth,
    State(core): State<Core>,
    q: QueryPairs,
) -> ApiResult<Json<Value>> {
    let q = list_query(&q)?;
    Ok(page(core.organization_roles().list_permissions(&q).await?))
}

/// Body of `POST /v1/organization_permissions` and its `PATCH`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PermissionBody {
    name: Option<String>,
    key: Option<String>,
    description: Option<String>,
}

/// `POST /v1/organization_permissions`
pub async fn create_permission(
    _: SecretKeyAuth,
    State(core): State<Core>,
    JsonBody(b): JsonBody<PermissionBody>,
) -> ApiResult<Json<Value>> {
    let input = NewPermission {
        name: required(b.name, "name")?,
        key: required(b.key, "key")?,
        description: b.description,
    };
    Ok(Json(
        core.organization_roles().create_permission(input).await?,
    ))
}

/// `GET /v1/organization_permissions/{permission_id}`
pub async fn get_permission(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(core.organization_roles().get_permission(&id).await?))
}

/// `PATCH /v1/organization_permissions/{permission_id}`
pub async fn update_permission(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<PermissionBody>,
) -> ApiResult<Json<Value>> {
    let patch = Patch {
        name: b.name,
        key: b.key,
        description: b.description,
        permissions: None,
    };
    Ok(Json(
        core.organization_roles()
            .update_permission(&id, patch)
            .await?,
    ))
}

/// `DELETE /v1/organization_permissions/{permission_id}`
pub async fn delete_permission(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        core.organization_roles().delete_permission(&id).await?,
    ))
}

// --- roles ---------------------------------------------------------------------------

/// `GET /v1/organization_roles`
pub async fn list_roles(
    _: SecretKeyAuth,
    State(core): State<Core>,
    q: QueryPairs,
) -> ApiResult<Json<Value>> {
    let q = list_query(&q)?;
    Ok(page(core.organization_roles().list_roles(&q).await?))
}

/// Body of `POST /v1/organization_roles` and its `PATCH`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    name: Option<String>,
    key: Option<String>,
    description: Option<String>,
    permissions: Option<Vec<String>>,
    include_in_initial_role_set: Option<bool>,
}

/// `POST /v1/organization_roles`
pub async fn create_role(
    _: SecretKeyAuth,
    State(core): State<Core>,
    JsonBody(b): JsonBody<RoleBody>,
) -> ApiResult<Json<Value>> {
    let input = NewRole {
        name: required(b.name, "name")?,
        key: required(b.key, "key")?,
        description: b.description,
        permissions: b.permissions.unwrap_or_default(),
        include_in_initial_role_set: b.include_in_initial_role_set.unwrap_or(false),
    };
    Ok(Json(core.organization_roles().create_role(input).await?))
}

/// `GET /v1/organization_roles/{organization_role_id}`
pub async fn get_role(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(core.organization_roles().get_role(&id).await?))
}

/// `PATCH /v1/organization_roles/{organization_role_id}`
pub async fn update_role(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<RoleBody>,
) -> ApiResult<Json<Value>> {
    if b.include_in_initial_role_set.is_some() {
        return Err(ApiError::invalid(
            "include_in_initial_role_set",
            "is for new roles; add a role to a set with POST /v1/role_sets/{key}/roles",
        ));
    }
    let patch = Patch {
        name: b.name,
        key: b.key,
        description: b.description,
        permissions: b.permissions,
    };
    Ok(Json(
        core.organization_roles().update_role(&id, patch).await?,
    ))
}

/// `DELETE /v1/organization_roles/{organization_role_id}`
pub async fn delete_role(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(core.organization_roles().delete_role(&id).await?))
}

/// `POST /v1/organization_roles/{organization_role_id}/permissions/{permission_id}`
pub async fn assign_permission(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path((role, permission)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        core.organization_roles()
            .assign_permission(&role, &permission)
            .await?,
    ))
}

/// `DELETE /v1/organization_roles/{organization_role_id}/permissions/{permission_id}`
pub async fn remove_permission(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path((role, permission)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        core.organization_roles()
            .remove_permission(&role, &permission)
            .await?,
    ))
}

// --- role sets -----------------------------------------------------------------------

/// `GET /v1/role_sets`
pub async fn list_role_sets(
    _: SecretKeyAuth,
    State(core): State<Core>,
    q: QueryPairs,
) -> ApiResult<Json<Value>> {
    let q = list_query(&q)?;
    Ok(page(core.organization_roles().list_role_sets(&q).await?))
}

/// Body of `POST /v1/role_sets` and its `PATCH`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RoleSetBody {
    name: Option<String>,
    key: Option<String>,
    description: Option<String>,
    default_role_key: Option<String>,
    creator_role_key: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    roles: Option<Vec<String>>,
}

fn initial(kind: Option<&str>, allow_custom: bool) -> ApiResult<bool> {
    match kind {
        None => Ok(false),
        Some("initial") => Ok(true),
        Some("custom") if allow_custom => Ok(false),
        Some(_) => Err(ApiError::invalid(
            "type",
            if allow_custom {
                "must be initial or custom"
            } else {
                "must be initial"
            },
        )),
    }
}

/// `POST /v1/role_sets`
pub async fn create_role_set(
    _: SecretKeyAuth,
    State(core): State<Core>,
    JsonBody(b): JsonBody<RoleSetBody>,
) -> ApiResult<Json<Value>> {
    let input = NewRoleSet {
        initial: initial(b.kind.as_deref(), true)?,
        name: required(b.name, "name")?,
        key: b.key.filter(|k| !k.is_empty()),
        description: b.description,
        roles: b
            .roles
            .ok_or_else(|| ApiError::from(CoreError::missing("roles")))?,
        default_role_key: required(b.default_role_key, "default_role_key")?,
        creator_role_key: required(b.creator_role_key, "creator_role_key")?,
    };
    Ok(Json(
        core.organization_roles().create_role_set(input).await?,
    ))
}

/// `GET /v1/role_sets/{role_set_key_or_id}`
pub async fn get_role_set(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(core.organization_roles().get_role_set(&id).await?))
}

/// `PATCH /v1/role_sets/{role_set_key_or_id}`
pub async fn update_role_set(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<RoleSetBody>,
) -> ApiResult<Json<Value>> {
    if b.roles.is_some() {
        return Err(ApiError::invalid(
            "roles",
            "change a set's roles with POST /v1/role_sets/{key}/roles and …/roles/replace",
        ));
    }
    let patch = RoleSetPatch {
        initial: initial(b.kind.as_deref(), false)?,
        name: b.name,
        key: b.key,
        description: b.description,
        default_role_key: b.default_role_key,
        creator_role_key: b.creator_role_key,
    };
    Ok(Json(
        core.organization_roles()
            .update_role_set(&id, patch)
            .await?,
    ))
}

/// Body of `POST /v1/role_sets/{role_set_key_or_id}/replace`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ReplaceRoleSetBody {
    dest_role_set_key: Option<String>,
    reassignment_mappings: Option<BTreeMap<String, String>>,
}

/// `POST /v1/role_sets/{role_set_key_or_id}/replace`
pub async fn replace_role_set(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ReplaceRoleSetBody>,
) -> ApiResult<Json<Value>> {
    let dest = required(b.dest_role_set_key, "dest_role_set_key")?;
    let mappings: Vec<(String, String)> = b
        .reassignment_mappings
        .unwrap_or_default()
        .into_iter()
        .collect();
    Ok(Json(
        core.organization_roles()
            .replace_role_set(&id, &dest, &mappings)
            .await?,
    ))
}

/// Body of `POST /v1/role_sets/{role_set_key_or_id}/roles`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AddRolesBody {
    role_keys: Option<Vec<String>>,
    default_role_key: Option<String>,
    creator_role_key: Option<String>,
}

/// `POST /v1/role_sets/{role_set_key_or_id}/roles`
pub async fn add_roles(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<AddRolesBody>,
) -> ApiResult<Json<Value>> {
    let keys = b
        .role_keys
        .ok_or_else(|| ApiError::from(CoreError::missing("role_keys")))?;
    Ok(Json(
        core.organization_roles()
            .add_roles(&id, keys, b.default_role_key, b.creator_role_key)
            .await?,
    ))
}

/// Body of `POST /v1/role_sets/{role_set_key_or_id}/roles/replace`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ReplaceRoleBody {
    role_key: Option<String>,
    to_role_key: Option<String>,
}

/// `POST /v1/role_sets/{role_set_key_or_id}/roles/replace`
pub async fn replace_role(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ReplaceRoleBody>,
) -> ApiResult<Json<Value>> {
    let from = required(b.role_key, "role_key")?;
    let to = required(b.to_role_key, "to_role_key")?;
    Ok(Json(
        core.organization_roles()
            .replace_role(&id, &from, &to)
            .await?,
    ))
}
