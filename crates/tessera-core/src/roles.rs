//! The instance's permissions, roles and role sets (Backend API
//! `/organization_permissions`, `/organization_roles`, `/role_sets`). Each
//! change is one transaction with its `permission.*`/`role.*` events; the
//! roles snapshot every check and token reads is reread once it commits.

use std::sync::Arc;

use serde_json::{json, Value};
use tessera_domain::error_code::ErrorCode;
use tessera_domain::ids::{PermissionId, RoleId, RoleSetId};
use tessera_domain::organizations::{self as policy, Permission, Role, RoleSet, Roles};
use tessera_store::roles as store;
use tessera_store::Conn;

use crate::clock::now_ms;
use crate::error::{CoreError, CoreResult};
use crate::render::roles::{self as render, Api};
use crate::OrganizationRoles;

/// Most roles a role set holds.
pub const MAX_ROLES_PER_SET: usize = 10;

/// Paging, search and order of a list.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Exact id, or part of the name or key.
    pub query: Option<String>,
    /// `created_at`, `name` or `key`, `+`/`-` for the direction
    /// (default `-created_at`).
    pub order_by: Option<String>,
    /// Page size.
    pub limit: i64,
    /// Items skipped.
    pub offset: i64,
}

/// What [`ListQuery`] looks at in an item.
trait Listed {
    fn fields(&self) -> (&str, &str, &str, i64);
}

impl Listed for Permission {
    fn fields(&self) -> (&str, &str, &str, i64) {
        (&self.id, &self.name, &self.key, self.created_at)
    }
}

impl Listed for Role {
    fn fields(&self) -> (&str, &str, &str, i64) {
        (&self.id, &self.name, &self.key, self.created_at)
    }
}

impl Listed for RoleSet {
    fn fields(&self) -> (&str, &str, &str, i64) {
        (&self.id, &self.name, &self.key, self.created_at)
    }
}

impl ListQuery {
    /// Filters, orders and pages `items`; returns the page and the total.
    fn apply<'a, T: Listed>(&self, items: &'a [T]) -> CoreResult<(Vec<&'a T>, i64)> {
        let raw = self.query.as_deref();
        let needle = raw.map(str::to_lowercase);
        let mut found: Vec<&T> = items
            .iter()
            .filter(|item| {
                let (id, name, key, _) = item.fields();
                needle.as_deref().is_none_or(|q| {
                    raw == Some(id)
                        || name.to_lowercase().contains(q)
                        || key.to_lowercase().contains(q)
                })
            })
            .collect();
        let order = self.order_by.as_deref().unwrap_or("-created_at");
        let (descending, field) = match order.strip_prefix('-') {
            Some(f) => (true, f),
            None => (false, order.strip_prefix('+').unwrap_or(order)),
        };
        match field {
            "created_at" => found.sort_by_key(|i| (i.fields().3, i.fields().0.to_owned())),
            "name" => found.sort_by_key(|i| (i.fields().1.to_lowercase(), i.fields().0.to_owned())),
            "key" => found.sort_by_key(|i| i.fields().2.to_owned()),
            _ => {
                return Err(CoreError::value(
                    "order_by",
                    "must be created_at, name or key, with an optional + or -",
                ))
            }
        }
        if descending {
            found.reverse();
        }
        let total = i64::try_from(found.len()).unwrap_or(i64::MAX);
        let page = found
            .into_iter()
            .skip(usize::try_from(self.offset).unwrap_or(usize::MAX))
            .take(usize::try_from(self.limit).unwrap_or(0))
            .collect();
        Ok((page, total))
    }
}

/// Input of a new permission.
#[derive(Debug, Clone, Default)]
pub struct NewPermission {
    /// Display name.
    pub name: String,
    /// `org:<feature>:<action>`.
    pub key: String,
    /// What it allows.
    pub description: Option<String>,
}

/// Changes of a permission or role; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct Patch {
    /// Display name.
    pub name: Option<String>,
    /// Key.
    pub key: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Permission ids a role grants, replacing the ones it had.
    pub permissions: Option<Vec<String>>,
}

/// Input of a new role.
#[derive(Debug, Clone, Default)]
pub struct NewRole {
    /// Display name.
    pub name: String,
    /// `org:<name>`.
    pub key: String,
    /// What it is for.
    pub description: Option<String>,
    /// Permission ids it grants.
    pub permissions: Vec<String>,
    /// Also add it to the initial role set.
    pub include_in_initial_role_set: bool,
}

/// Input of a new role set.
#[derive(Debug, Clone, Default)]
pub struct NewRoleSet {
    /// Display name.
    pub name: String,
    /// `role_set:<name>`; made from the name when absent.
    pub key: Option<String>,
    /// What it is for.
    pub description: Option<String>,
    /// Role keys, 1 to [`MAX_ROLES_PER_SET`].
    pub roles: Vec<String>,
    /// Role new members get.
    pub default_role_key: String,
    /// Role creators get.
    pub creator_role_key: String,
    /// Make it the set new organizations get.
    pub initial: bool,
}

/// Changes of a role set; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct RoleSetPatch {
    /// Display name.
    pub name: Option<String>,
    /// Key.
    pub key: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Make it the initial set.
    pub initial: bool,
    /// Role new members get.
    pub default_role_key: Option<String>,
    /// Role creators get.
    pub creator_role_key: Option<String>,
}

fn check_name(name: &str) -> CoreResult<()> {
    if name.trim().is_empty() {
        return Err(CoreError::missing("name"));
    }
    if !policy::valid_name(name) {
        return Err(CoreError::value(
            "name",
            "must be at most 256 characters, without markup or URLs",
        ));
    }
    Ok(())
}

fn check_description(description: Option<&str>) -> CoreResult<()> {
    if description.is_some_and(|d| d.len() > 1000) {
        return Err(CoreError::value(
            "description",
            "must be at most 1000 characters",
        ));
    }
    Ok(())
}

/// What a key names.
#[derive(Clone, Copy)]
enum Key {
    Permission,
    Role,
    RoleSet,
}

fn check_key(key: &str, kind: Key) -> CoreResult<()> {
    if key.is_empty() {
        return Err(CoreError::missing("key"));
    }
    let (valid, shape) = match kind {
        Key::Permission => (
            policy::valid_permission_key(key),
            "org:<feature>:<action>, the feature not starting with sys_,",
        ),
        Key::Role => (policy::valid_role_key(key), "org:<name>"),
        Key::RoleSet => (policy::valid_role_set_key(key), "role_set:<name>"),
    };
    if valid {
        Ok(())
    } else {
        Err(CoreError::value(
            "key",
            format!("must be {shape} in lowercase letters, digits and underscores"),
        ))
    }
}

fn check_patch(name: Option<&str>, description: Option<&str>) -> CoreResult<()> {
    if let Some(name) = name {
        check_name(name)?;
    }
    check_description(description)
}

fn system_refused() -> CoreError {
    CoreError::NotAllowed {
        code: ErrorCode::AuthorizationInvalid,
        detail: "System permissions cannot be changed or deleted.".to_owned(),
    }
}

fn in_use(detail: impl Into<String>) -> CoreError {
    CoreError::NotAllowed {
        code: ErrorCode::OrganizationRoleInUse,
        detail: detail.into(),
    }
}

fn not_creator_eligible(key: &str) -> CoreError {
    CoreError::value(
        "creator_role_key",
        format!("{key} cannot be a creator role: it must grant org:sys_memberships:manage"),
    )
}

impl OrganizationRoles<'_> {
    /// The catalog as stored now (not the snapshot, which another replica's
    /// change may not have reached yet).
    async fn fresh(&self, conn: &mut Conn) -> CoreResult<Roles> {
        Ok(store::load(conn).await?)
    }

    async fn read(&self) -> CoreResult<Roles> {
        let mut conn = self.store.read().await?;
        self.fresh(&mut conn).await
    }

    /// Emits the change's event, commits, and answers its data.
    async fn finish(
        &self,
        mut tx: crate::work::Work,
        event: &str,
        data: Value,
    ) -> CoreResult<Value> {
        self.emit(&mut tx, event, data.clone(), None).await?;
        self.committed(tx).await?;
        Ok(data)
    }

    async fn committed(&self, tx: crate::work::Work) -> CoreResult<Arc<Roles>> {
        tx.commit().await?;
        self.reload_roles().await
    }

    // --- permissions ---------------------------------------------------------------

    /// Lists permissions (`/organization_permissions`).
    pub async fn list_permissions(&self, q: &ListQuery) -> CoreResult<(Vec<Value>, i64)> {
        let roles = self.read().await?;
        let (page, total) = q.apply(&roles.permissions)?;
        Ok((
            page.into_iter()
                .map(|p| render::permission(p, Api::Backend))
                .collect(),
            total,
        ))
    }

    /// One permission.
    pub async fn get_permission(&self, id: &str) -> CoreResult<Value> {
        let roles = self.read().await?;
        let p = roles.permission_with_id(id).ok_or(CoreError::NotFound)?;
        Ok(render::permission(p, Api::Backend))
    }

    /// Creates a permission of the instance's own.
    pub async fn create_permission(&self, input: NewPermission) -> CoreResult<Value> {
        check_name(&input.name)?;
        check_description(input.description.as_deref())?;
        check_key(&input.key, Key::Permission)?;
        let now = now_ms();
        let mut tx = self.begin().await?;
        let roles = self.fresh(&mut tx).await?;
        if roles.permissions.iter().any(|p| p.key == input.key) {
            return Err(CoreError::IdentifierExists {
                param: "key".to_owned(),
            });
        }
        let p = Permission {
            id: PermissionId::generate(now).as_str().to_owned(),
            key: input.key,
            name: input.name,
            description: input.description.unwrap_or_default(),
            system: false,
            created_at: now,
            updated_at: now,
        };
        store::save_permission(&mut tx, &p).await?;
        let data = render::permission(&p, Api::Backend);
        self.finish(tx, "permission.created", data).await
    }

    /// Changes a permission's name, key or description; the roles granting it
    /// change with it.
    pub async fn update_permission(&self, id: &str, patch: Patch) -> CoreResult<Value> {
        check_patch(patch.name.as_deref(), patch.description.as_deref())?;
        let mut tx = self.begin().await?;
        let roles = self.fresh(&mut tx).await?;
        let mut p = roles
            .permission_with_id(id)
            .cloned()
            .ok_or(CoreError::NotFound)?;
        if p.system {
            return Err(system_refused());
        }
        if let Some(key) = patch.key {
            if key != p.key {
                check_key(&key, Key::Permission)?;
                if roles.permissions.iter().any(|o| o.key == key) {
                    return Err(CoreError::IdentifierExists {
                        param: "key".to_owned(),
                    });
                }
                p.key = key;
            }
        }
        if let Some(name) = patch.name {
            p.name = name;
        }
        if let Some(description) = patch.description {
            p.description = description;
        }
        p.updated_at = now_ms();
        store::save_permission(&mut tx, &p).await?;
        let data = render::permission(&p, Api::Backend);
        self.finish(tx, "permission.updated", data).await
    }

    /// Deletes a permission of the instance's own; the roles granting it no
    /// longer do (each gets a `role.updated`).
    pub async fn delete_permission(&self, id: &str) -> CoreResult<Value> {
        let mut tx = self.begin().await?;
        let roles = self.fresh(&mut tx).await?;
        let p = roles.permission_with_id(id).ok_or(CoreError::NotFound)?;
        if p.system {
            return Err(system_refused());
        }
        let granting = store::roles_granting(&mut tx, id).await?;
        store::delete_permission(&mut tx, id).await?;
        let deleted = json!({ "object": "permission", "id": id, "deleted": true });
        self.emit(&mut tx, "permission.deleted", deleted.clone(), None)
            .await?;
        if !granting.is_empty() {
            let after = self.fresh(&mut tx).await?;
            for r in after.roles.iter().filter(|r| granting.contains(&r.id)) {
                let data = render::role(r, &after, Api::Backend);
                self.emit(&mut tx, "role.updated", data, None).await?;
            }
        }
        self.committed(tx).await?;
        Ok(deleted)
    }

    // --- roles ---------------------------------------------------------------------

    /// Lists roles (`/organization_roles`).
    pub async fn list_roles(&self, q: &ListQuery) -> CoreResult<(Vec<Value>, i64)> {
        let roles = self.read().await?;
        let (page, total) = q.apply(&roles.roles)?;
        Ok((
            page.into_iter()
                .map(|r| render::role(r, &roles, Api::Backend))
                .collect(),
            total,
        ))
    }

    /// One role.
    pub async fn get_role(&self, id: &str) -> CoreResult<Value> {
        let roles = self.read().await?;
        let r = roles.role_with_id(id).ok_or(CoreError::NotFound)?;
        Ok(render::role(r, &roles, Api::Backend))
    }

    /// The ids of `ids`, checked to be permissions of the instance.
    fn permission_ids(roles: &Roles, ids: &[String]) -> CoreResult<Vec<String>> {
        let mut out: Vec<String> = Vec::with_capacity(ids.len());
        for id in ids {
            let p = roles
                .permissions
                .iter()
                .find(|p| &p.id == id || &p.key == id)
                .ok_or_else(|| {
                    CoreError::value("permissions", format!("{id} is not a permission"))
                })?;
            if !out.contains(&p.id) {
                out.push(p.id.clone());
            }
        }
        Ok(out)
    }

    /// Creates a role.
    pub async fn create_role(&self, input: NewRole) -> CoreResult<Value> {
        check_name(&input.name)?;
        check_description(input.description.as_deref())?;
        check_key(&input.key, Key::Role)?;
        let now = now_ms();
        let mut tx = self.begin().await?;
        let roles = self.fresh(&mut tx).await?;
        if roles.get(&input.key).is_some() {
            return Err(CoreError::IdentifierExists {
                param: "key".to_owned(),
            });
        }
        let permissions = Self::permission_ids(&roles, &input.permissions)?;
        let role = Role {
            id: RoleId::generate(now).as_str().to_owned(),
            key: input.key,
            name: input.name,
            description: input.description,
            permissions: Vec::new(),
            created_at: now,
            updated_at: now,
        };
        store::save_role(&mut tx, &role).await?;
        store::set_role_permissions(&mut tx, &role.id, &permissions).await?;
        if input.include_in_initial_role_set {
            if let Some(set) = roles.initial_set() {
                if set.roles.len() >= MAX_ROLES_PER_SET {
                    return Err(CoreError::value(
                        "include_in_initial_role_set",
                        format!("the initial role set holds {MAX_ROLES_PER_SET} roles already"),
                    ));
                }
                let mut ids = Self::role_ids(&roles, &set.roles)?;
                ids.push(role.id.clone());
                store::set_role_set_roles(&mut tx, &set.id, &ids).await?;
            }
        }
        let after = self.fresh(&mut tx).await?;
        let created = after.get(&role.key).ok_or(CoreError::NotFound)?;
        let data = render::role(created, &after, Api::Backend);
        self.finish(tx, "role.created", data).await
    }

    /// Changes a role; a new key follows on every member and invitation that
    /// has the role.
    pub async fn update_role(&self, id: &str, patch: Patch) -> CoreResult<Value> {
        check_patch(patch.name.as_deref(), patch.description.as_deref())?;
        let mut tx = self.begin().await?;
        let roles = self.fresh(&mut tx).await?;
        let mut role = roles.role_with_id(id).cloned().ok_or(CoreError::NotFound)?;
        if let Some(key) = patch.key {
            if key != role.key {
                check_key(&key, Key::Role)?;
                if roles.get(&key).is_some() {
                    return Err(CoreError::IdentifierExists {
                        param: "key".to_owned(),
                    });
                }
                store::rename_role(&mut tx, &role.key, &key).await?;
                role.key = key;
            }
        }
        if let Some(name) = patch.name {
            role.name = name;
        }
        if let Some(description) = patch.description {
            role.description = Some(description);
        }
        role.updated_at = now_ms();
        store::save_role(&mut tx, &role).await?;
        if let Some(ids) = &patch.permissions {
            let ids = Self::permission_ids(&roles, ids)?;
            store::set_role_permissions(&mut tx, &role.id, &ids).await?;
        }
        let data = self.role_changed(&mut tx, &role.id).await?;
        self.committed(tx).await?;
        Ok(data)
    }

    /// After a role's change in `tx`: checks that every set still has a
    /// creator role that can manage members, emits `role.updated`, and
    /// returns the role's rendering.
    async fn role_changed(&self, tx: &mut Conn, id: &str) -> CoreResult<Value> {
        let after = self.fresh(tx).await?;
        let role = after.role_with_id(id).ok_or(CoreError::NotFound)?;
        if after.sets.iter().any(|s| s.creator_role == role.key) && !role.creator_eligible() {
            return Err(CoreError::value(
                "permissions",
                format!(
                    "{} is a creator role: it must keep org:sys_memberships:manage",
                    role.key
                ),
            ));
        }
        let data = render::role(role, &after, Api::Backend);
        self.emit(tx, "role.updated", data.clone(), None).await?;
        Ok(data)
    }

    /// Grants a role one more permission (409 when it has it already).
    pub async fn assign_permission(&self, role_id: &str, permission_id: &str) -> CoreResult<Value> {
        self.change_grant(role_id, permission_id, true).await
    }

    /// Takes a permission from a role.
    pub async fn remove_permission(&self, role_id: &str, permission_id: &str) -> CoreResult<Value> {
        self.change_grant(role_id, permission_id, false).await
    }

    async fn change_grant(
        &self,
        role_id: &str,
        permission_id: &str,
        grant: bool,
    ) -> CoreResult<Value> {
        let mut tx = self.begin().await?;
        let roles = self.fresh(&mut tx).await?;
        let role = roles.role_with_id(role_id).ok_or(CoreError::NotFound)?;
        let p = roles
            .permission_with_id(permission_id)
            .ok_or(CoreError::NotFound)?;
        let mut keys = role.permissions.clone();
        let has = keys.contains(&p.key);
        match (grant, has) {
            (true, true) => {
                return Err(CoreError::NotAllowed {
                    code: ErrorCode::DuplicateRecord,
                    detail: format!("{} grants {} already.", role.key, p.key),
                })
            }
            (false, false) => {
                return Err(CoreError::value(
                    "permission_id",
                    format!("{} does not grant {}", role.key, p.key),
                ))
            }
            (true, false) => keys.push(p.key.clone()),
            (false, true) => keys.retain(|k| k != &p.key),
        }
        let ids = Self::permission_ids(&roles, &keys)?;
        store::set_role_permissions(&mut tx, role_id, &ids).await?;
        let mut touched = role.clone();
        touched.updated_at = now_ms();
        store::save_role(&mut tx, &touched).await?;
        let data = self.role_changed(&mut tx, role_id).await?;
        self.committed(tx).await?;
        Ok(data)
    }

    /// Deletes a role no member, pending invitation or role set's default or
    /// creator role uses; the sets that list it drop it.
    pub async fn delete_role(&self, id: &str) -> CoreResult<Value> {
        let mut tx = self.begin().await?;
        let roles = self.fresh(&mut tx).await?;
        let role = roles.role_with_id(id).ok_or(CoreError::NotFound)?;
        if let Some(set) = roles
            .sets
            .iter()
            .find(|s| s.default_role == role.key || s.creator_role == role.key)
        {
            return Err(in_use(format!(
                "{} is the default or creator role of {}.",
                role.key, set.key
            )));
        }
        let (members, invitations) = store::role_usage(&mut tx, &role.key).await?;
        if members > 0 || invitations > 0 {
            return Err(in_use(format!(
                "{} is given to {members} members and {invitations} pending invitations.",
                role.key
            )));
        }
        for set in roles.sets.iter().filter(|s| s.roles.contains(&role.key)) {
            let keep: Vec<String> = set
                .roles
                .iter()
                .filter(|k| **k != role.key)
                .cloned()
                .collect();
            store::set_role_set_roles(&mut tx, &set.id, &Self::role_ids(&roles, &keep)?).await?;
        }
        store::set_role_permissions(&mut tx, id, &[]).await?;
        store::delete_role(&mut tx, id).await?;
        let deleted = json!({ "object": "role", "id": id, "deleted": true });
        self.finish(tx, "role.deleted", deleted).await
    }

    // --- role sets -----------------------------------------------------------------

    fn role_ids(roles: &Roles, keys: &[String]) -> CoreResult<Vec<String>> {
        keys.iter()
            .map(|k| {
                roles
                    .get(k)
                    .map(|r| r.id.clone())
                    .ok_or_else(|| CoreError::value("roles", format!("{k} is not a role")))
            })
            .collect()
    }

    fn role_id(roles: &Roles, param: &str, key: &str) -> CoreResult<String> {
        roles
            .get(key)
            .map(|r| r.id.clone())
            .ok_or_else(|| CoreError::value(param, format!("{key} is not a role")))
    }

    /// Renders a set with its members per role.
    async fn render_set(&self, conn: &mut Conn, roles: &Roles, set: &RoleSet) -> CoreResult<Value> {
        let members = store::members_per_role(conn, &set.id).await?;
        Ok(render::role_set(set, roles, Some(&members)))
    }

    /// Lists role sets (`/role_sets`).
    pub async fn list_role_sets(&self, q: &ListQuery) -> CoreResult<(Vec<Value>, i64)> {
        let mut conn = self.store.read().await?;
        let roles = self.fresh(&mut conn).await?;
        let (page, total) = q.apply(&roles.sets)?;
        let mut data = Vec::with_capacity(page.len());
        for set in page {
            data.push(self.render_set(&mut conn, &roles, set).await?);
        }
        Ok((data, total))
    }

    /// One role set, by key or id.
    pub async fn get_role_set(&self, key_or_id: &str) -> CoreResult<Value> {
        let mut conn = self.store.read().await?;
        let roles = self.fresh(&mut conn).await?;
        let set = roles.find_set(key_or_id).ok_or(CoreError::NotFound)?;
        self.render_set(&mut conn, &roles, set).await
    }

    /// Checks a set's roles, default and creator role; returns the default's
    /// and the creator's ids.
    fn check_set(roles: &Roles, set: &RoleSet) -> CoreResult<(String, String)> {
        if set.roles.is_empty() {
            return Err(CoreError::missing("roles"));
        }
        if set.roles.len() > MAX_ROLES_PER_SET {
            return Err(CoreError::value(
                "roles",
                format!("a role set holds at most {MAX_ROLES_PER_SET} roles"),
            ));
        }
        Self::role_ids(roles, &set.roles)?;
        if !set.roles.contains(&set.default_role) {
            return Err(CoreError::value(
                "default_role_key",
                "must be one of the set's roles",
            ));
        }
        if !set.roles.contains(&set.creator_role) {
            return Err(CoreError::value(
                "creator_role_key",
                "must be one of the set's roles",
            ));
        }
        let creator = roles.get(&set.creator_role);
        if !creator.is_some_and(Role::creator_eligible) {
            return Err(not_creator_eligible(&set.creator_role));
        }
        Ok((
            Self::role_id(roles, "default_role_key", &set.default_role)?,
            Self::role_id(roles, "creator_role_key", &set.creator_role)?,
        ))
    }

    async fn save_set(&self, tx: &mut Conn, roles: &Roles, set: &RoleSet) -> CoreResult<()> {
        let (default_id, creator_id) = Self::check_set(roles, set)?;
        store::save_role_set(tx, set, &default_id, &creator_id).await?;
        store::set_role_set_roles(tx, &set.id, &Self::role_ids(roles, &set.roles)?).await?;
        Ok(())
    }

    async fn saved(&self, mut tx: crate::work::Work, id: &str) -> CoreResult<Value> {
        let after = self.fresh(&mut tx).await?;
        let set = after
            .sets
            .iter()
            .find(|s| s.id == id)
            .ok_or(CoreError::NotFound)?;
        let data = self.render_set(&mut tx, &after, set).await?;
        self.committed(tx).await?;
        Ok(data)
    }

    /// Creates a role set.
    pub async fn create_role_set(&self, input: NewRoleSet) -> CoreResult<Value> {
        check_name(&input.name)?;
        check_description(input.description.as_deref())?;
        let key = input
            .key
            .unwrap_or_else(|| policy::role_set_key_from(&input.name));
        check_key(&key, Key::RoleSet)?;
        let mut keys: Vec<String> = Vec::new();
        for k in input.roles {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        let now = now_ms();
        let mut tx = self.begin().await?;
        let roles = self.fresh(&mut tx).await?;
        if roles.find_set(&key).is_some() {
            return Err(CoreError::IdentifierExists {
                param: "key".to_owned(),
            });
        }
        let set = RoleSet {
            id: RoleSetId::generate(now).as_str().to_owned(),
            key,
            name: input.name,
            description: input.description,
            initial: input.initial,
            roles: keys,
            default_role: input.default_role_key,
            creator_role: input.creator_role_key,
            created_at: now,
            updated_at: now,
        };
        self.save_set(&mut tx, &roles, &set).await?;
        self.saved(tx, &set.id).await
    }

    /// Changes a role set's name, key, description, default or creator role,
    /// or makes it the initial set.
    pub async fn update_role_set(&self, key_or_id: &str, patch: RoleSetPatch) -> CoreResult<Value> {
        check_patch(patch.name.as_deref(), patch.description.as_deref())?;
        let mut tx = self.begin().await?;
        let roles = self.fresh(&mut tx).await?;
        let mut set = roles
            .find_set(key_or_id)
            .cloned()
            .ok_or(CoreError::NotFound)?;
        if let Some(key) = patch.key {
            if key != set.key {
                check_key(&key, Key::RoleSet)?;
                if roles.find_set(&key).is_some() {
                    return Err(CoreError::IdentifierExists {
                        param: "key".to_owned(),
                    });
                }
                set.key = key;
            }
        }
        if let Some(name) = patch.name {
            set.name = name;
        }
        if let Some(description) = patch.description {
            set.description = Some(description);
        }
        if patch.initial {
            set.initial = true;
        }
        if let Some(key) = patch.default_role_key {
            set.default_role = key;
        }
        if let Some(key) = patch.creator_role_key {
            set.creator_role = key;
        }
        set.updated_at = now_ms();
        self.save_set(&mut tx, &roles, &set).await?;
        self.saved(tx, &set.id).await
    }

    /// Adds roles to a role set, optionally changing its default or creator
    /// role to one of them.
    pub async fn add_roles(
        &self,
        key_or_id: &str,
        role_keys: Vec<String>,
        default_role_key: Option<String>,
        creator_role_key: Option<String>,
    ) -> CoreResult<Value> {
        if role_keys.is_empty() {
            return Err(CoreError::missing("role_keys"));
        }
        let mut tx = self.begin().await?;
        let roles = self.fresh(&mut tx).await?;
        let mut set = roles
            .find_set(key_or_id)
            .cloned()
            .ok_or(CoreError::NotFound)?;
        for key in role_keys {
            if roles.get(&key).is_none() {
                return Err(CoreError::value(
                    "role_keys",
                    format!("{key} is not a role"),
                ));
            }
            if !set.roles.contains(&key) {
                set.roles.push(key);
            }
        }
        if let Some(key) = default_role_key {
            set.default_role = key;
        }
        if let Some(key) = creator_role_key {
            set.creator_role = key;
        }
        set.updated_at = now_ms();
        self.save_set(&mut tx, &roles, &set).await?;
        self.saved(tx, &set.id).await
    }

    /// Removes a role from a role set; the members (and pending invitations)
    /// of the set's organizations that had it get `to_role_key`, which also
    /// takes over as default or creator role.
    pub async fn replace_role(
        &self,
        key_or_id: &str,
        role_key: &str,
        to_role_key: &str,
    ) -> CoreResult<Value> {
        if role_key == to_role_key {
            return Err(CoreError::value("to_role_key", "must differ from role_key"));
        }
        let mut tx = self.begin().await?;
        let roles = self.fresh(&mut tx).await?;
        let mut set = roles
            .find_set(key_or_id)
            .cloned()
            .ok_or(CoreError::NotFound)?;
        if !set.roles.iter().any(|k| k == role_key) {
            return Err(CoreError::value(
                "role_key",
                "must be one of the set's roles",
            ));
        }
        if !set.roles.iter().any(|k| k == to_role_key) {
            return Err(CoreError::value(
                "to_role_key",
                "must be one of the set's roles",
            ));
        }
        store::reassign_role(&mut tx, &set.id, role_key, to_role_key).await?;
        set.roles.retain(|k| k != role_key);
        if set.default_role == role_key {
            to_role_key.clone_into(&mut set.default_role);
        }
        if set.creator_role == role_key {
            to_role_key.clone_into(&mut set.creator_role);
        }
        set.updated_at = now_ms();
        self.save_set(&mut tx, &roles, &set).await?;
        self.saved(tx, &set.id).await
    }

    /// Deletes a role set, moving its organizations to another: members whose
    /// role the destination lacks get the role `mappings` names for it.
    pub async fn replace_role_set(
        &self,
        key_or_id: &str,
        dest_key: &str,
        mappings: &[(String, String)],
    ) -> CoreResult<Value> {
        let mut tx = self.begin().await?;
        let roles = self.fresh(&mut tx).await?;
        let source = roles.find_set(key_or_id).ok_or(CoreError::NotFound)?;
        let dest = roles.find_set(dest_key).ok_or_else(|| {
            CoreError::value("dest_role_set_key", format!("{dest_key} is not a role set"))
        })?;
        if dest.id == source.id {
            return Err(CoreError::value(
                "dest_role_set_key",
                "must be another role set",
            ));
        }
        for (from, to) in mappings {
            if !dest.roles.contains(to) {
                return Err(CoreError::value(
                    "reassignment_mappings",
                    format!("{to} is not a role of {}", dest.key),
                ));
            }
            if !source.roles.contains(from) {
                return Err(CoreError::value(
                    "reassignment_mappings",
                    format!("{from} is not a role of {}", source.key),
                ));
            }
        }
        let members = store::members_per_role(&mut tx, &source.id).await?;
        for (role, count) in &members {
            if *count == 0 || dest.roles.contains(role) {
                continue;
            }
            let Some((_, to)) = mappings.iter().find(|(from, _)| from == role) else {
                return Err(CoreError::value(
                    "reassignment_mappings",
                    format!(
                        "{count} members have {role}, which {} lacks: map it to one of its roles",
                        dest.key
                    ),
                ));
            };
            store::reassign_role(&mut tx, &source.id, role, to).await?;
        }
        // Pending invitations whose role the destination lacks get its
        // default role.
        for role in source.roles.iter().filter(|r| !dest.roles.contains(r)) {
            let to = mappings
                .iter()
                .find(|(from, _)| from == role)
                .map_or(&dest.default_role, |(_, to)| to);
            store::reassign_role(&mut tx, &source.id, role, to).await?;
        }
        store::move_organizations(&mut tx, &source.id, &dest.id).await?;
        if source.initial {
            let mut next = dest.clone();
            next.initial = true;
            next.updated_at = now_ms();
            self.save_set(&mut tx, &roles, &next).await?;
        }
        store::delete_role_set(&mut tx, &source.id).await?;
        let deleted = json!({ "object": "role_set", "id": source.id, "deleted": true });
        self.committed(tx).await?;
        Ok(deleted)
    }
}
