//! Permissions, roles and role sets of organization members. The whole
//! catalog is small (tens of rows) and is read at once into
//! [`tessera_domain::organizations::Roles`]; writes go row by row.

use sqlx::FromRow;
use tessera_domain::organizations::{Permission, Role, RoleSet, Roles};

use crate::error::StoreResult;
use crate::rows::flag;
use crate::Conn;

#[derive(FromRow)]
struct PermissionRow {
    id: String,
    key: String,
    name: String,
    description: String,
    system: i64,
    created_at: i64,
    updated_at: i64,
}

#[derive(FromRow)]
struct RoleRow {
    id: String,
    key: String,
    name: String,
    description: Option<String>,
    created_at: i64,
    updated_at: i64,
}

#[derive(FromRow)]
struct SetRow {
    id: String,
    key: String,
    name: String,
    description: Option<String>,
    initial: i64,
    default_role: String,
    creator_role: String,
    created_at: i64,
    updated_at: i64,
}

/// Reads every permission, role and role set.
pub async fn load(conn: &mut Conn) -> StoreResult<Roles> {
    let permissions: Vec<PermissionRow> = sqlx::query_as(
        "SELECT id, key, name, description, system, created_at, updated_at \
         FROM organization_permissions ORDER BY system DESC, created_at, id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let roles: Vec<RoleRow> = sqlx::query_as(
        "SELECT id, key, name, description, created_at, updated_at \
         FROM organization_roles ORDER BY created_at, id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let grants: Vec<(String, String)> = sqlx::query_as(
        "SELECT rp.role_id, p.key FROM organization_role_permissions rp \
         JOIN organization_permissions p ON p.id = rp.permission_id ORDER BY p.key",
    )
    .fetch_all(&mut *conn)
    .await?;
    let sets: Vec<SetRow> = sqlx::query_as(
        "SELECT s.id, s.key, s.name, s.description, s.initial, d.key AS default_role, \
         c.key AS creator_role, s.created_at, s.updated_at FROM role_sets s \
         JOIN organization_roles d ON d.id = s.default_role_id \
         JOIN organization_roles c ON c.id = s.creator_role_id ORDER BY s.created_at, s.id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let members: Vec<(String, String)> = sqlx::query_as(
        "SELECT sr.role_set_id, r.key FROM role_set_roles sr \
         JOIN organization_roles r ON r.id = sr.role_id ORDER BY sr.position, r.key",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(Roles {
        permissions: permissions
            .into_iter()
            .map(|p| Permission {
                id: p.id,
                key: p.key,
                name: p.name,
                description: p.description,
                system: p.system != 0,
                created_at: p.created_at,
                updated_at: p.updated_at,
            })
            .collect(),
        roles: roles
            .into_iter()
            .map(|r| Role {
                permissions: grants
                    .iter()
                    .filter(|(role, _)| *role == r.id)
                    .map(|(_, key)| key.clone())
                    .collect(),
                id: r.id,
                key: r.key,
                name: r.name,
                description: r.description,
                created_at: r.created_at,
                updated_at: r.updated_at,
            })
            .collect(),
        sets: sets
            .into_iter()
            .map(|s| RoleSet {
                roles: members
                    .iter()
                    .filter(|(set, _)| *set == s.id)
                    .map(|(_, key)| key.clone())
                    .collect(),
                id: s.id,
                key: s.key,
                name: s.name,
                description: s.description,
                initial: s.initial != 0,
                default_role: s.default_role,
                creator_role: s.creator_role,
                created_at: s.created_at,
                updated_at: s.updated_at,
            })
            .collect(),
    })
}

/// Inserts a permission, or saves every column of an existing one.
pub async fn save_permission(conn: &mut Conn, p: &Permission) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO organization_permissions \
         (id, key, name, description, system, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (id) DO UPDATE SET key = excluded.key, name = excluded.name, \
         description = excluded.description, updated_at = excluded.updated_at",
    )
    .bind(p.id.clone())
    .bind(p.key.clone())
    .bind(p.name.clone())
    .bind(p.description.clone())
    .bind(flag(p.system))
    .bind(p.created_at)
    .bind(p.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes a permission; the roles that granted it no longer do.
pub async fn delete_permission(conn: &mut Conn, id: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM organization_role_permissions WHERE permission_id = $1")
        .bind(id.to_owned())
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM organization_permissions WHERE id = $1")
        .bind(id.to_owned())
        .execute(conn)
        .await?;
    Ok(())
}

/// The ids of the roles that grant a permission.
pub async fn roles_granting(conn: &mut Conn, permission_id: &str) -> StoreResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT role_id FROM organization_role_permissions WHERE permission_id = $1",
    )
    .bind(permission_id.to_owned())
    .fetch_all(conn)
    .await?)
}

/// Inserts a role, or saves every column of an existing one.
pub async fn save_role(conn: &mut Conn, r: &Role) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO organization_roles (id, key, name, description, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (id) DO UPDATE SET key = excluded.key, name = excluded.name, \
         description = excluded.description, updated_at = excluded.updated_at",
    )
    .bind(r.id.clone())
    .bind(r.key.clone())
    .bind(r.name.clone())
    .bind(r.description.clone())
    .bind(r.created_at)
    .bind(r.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Replaces the permissions a role grants.
pub async fn set_role_permissions(
    conn: &mut Conn,
    role_id: &str,
    permission_ids: &[String],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM organization_role_permissions WHERE role_id = $1")
        .bind(role_id.to_owned())
        .execute(&mut *conn)
        .await?;
    for p in permission_ids {
        sqlx::query(
            "INSERT INTO organization_role_permissions (role_id, permission_id) VALUES ($1, $2)",
        )
        .bind(role_id.to_owned())
        .bind(p.clone())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Deletes a role (which no set, member or invitation uses any more).
pub async fn delete_role(conn: &mut Conn, id: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM organization_roles WHERE id = $1")
        .bind(id.to_owned())
        .execute(conn)
        .await?;
    Ok(())
}

/// Members and pending invitations that have the role `key`.
pub async fn role_usage(conn: &mut Conn, key: &str) -> StoreResult<(i64, i64)> {
    let members: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM organization_memberships WHERE role = $1")
            .bind(key.to_owned())
            .fetch_one(&mut *conn)
            .await?;
    let invitations: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM organization_invitations WHERE role = $1 AND status = 'pending'",
    )
    .bind(key.to_owned())
    .fetch_one(conn)
    .await?;
    Ok((members, invitations))
}

/// Renames a role key on every membership and invitation that has it.
pub async fn rename_role(conn: &mut Conn, from: &str, to: &str) -> StoreResult<()> {
    for table in ["organization_memberships", "organization_invitations"] {
        sqlx::query(&format!("UPDATE {table} SET role = $1 WHERE role = $2"))
            .bind(to.to_owned())
            .bind(from.to_owned())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Inserts a role set, or saves every column of an existing one; its roles
/// are [`set_role_set_roles`]'.
pub async fn save_role_set(
    conn: &mut Conn,
    s: &RoleSet,
    default_role_id: &str,
    creator_role_id: &str,
) -> StoreResult<()> {
    if s.initial {
        sqlx::query("UPDATE role_sets SET initial = 0 WHERE id <> $1 AND initial <> 0")
            .bind(s.id.clone())
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query(
        "INSERT INTO role_sets (id, key, name, description, initial, default_role_id, \
         creator_role_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (id) DO UPDATE SET key = excluded.key, name = excluded.name, \
         description = excluded.description, initial = excluded.initial, \
         default_role_id = excluded.default_role_id, creator_role_id = excluded.creator_role_id, \
         updated_at = excluded.updated_at",
    )
    .bind(s.id.clone())
    .bind(s.key.clone())
    .bind(s.name.clone())
    .bind(s.description.clone())
    .bind(flag(s.initial))
    .bind(default_role_id.to_owned())
    .bind(creator_role_id.to_owned())
    .bind(s.created_at)
    .bind(s.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Replaces the roles of a role set, in order.
pub async fn set_role_set_roles(
    conn: &mut Conn,
    set_id: &str,
    role_ids: &[String],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM role_set_roles WHERE role_set_id = $1")
        .bind(set_id.to_owned())
        .execute(&mut *conn)
        .await?;
    for (position, role) in role_ids.iter().enumerate() {
        sqlx::query(
            "INSERT INTO role_set_roles (role_set_id, role_id, position) VALUES ($1, $2, $3)",
        )
        .bind(set_id.to_owned())
        .bind(role.clone())
        .bind(i64::try_from(position).unwrap_or(i64::MAX))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Deletes a role set (whose organizations have moved to another).
pub async fn delete_role_set(conn: &mut Conn, id: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM role_set_roles WHERE role_set_id = $1")
        .bind(id.to_owned())
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM role_sets WHERE id = $1")
        .bind(id.to_owned())
        .execute(conn)
        .await?;
    Ok(())
}

/// The SQL condition "the organization `o` uses role set `$n`", where an
/// organization without a set uses the initial one.
fn in_set(param: &str) -> String {
    format!(
        "(o.role_set_id = {param} OR (o.role_set_id IS NULL AND EXISTS \
         (SELECT 1 FROM role_sets i WHERE i.id = {param} AND i.initial <> 0)))"
    )
}

/// Members of organizations using role set `set_id`, per role key.
pub async fn members_per_role(conn: &mut Conn, set_id: &str) -> StoreResult<Vec<(String, i64)>> {
    Ok(sqlx::query_as(&format!(
        "SELECT m.role, COUNT(*) FROM organization_memberships m \
         JOIN organizations o ON o.id = m.organization_id WHERE {} GROUP BY m.role",
        in_set("$1")
    ))
    .bind(set_id.to_owned())
    .fetch_all(conn)
    .await?)
}

/// Gives the members (and pending invitations) of the organizations using
/// role set `set_id` role `to` instead of `from`.
pub async fn reassign_role(conn: &mut Conn, set_id: &str, from: &str, to: &str) -> StoreResult<()> {
    for table in ["organization_memberships", "organization_invitations"] {
        sqlx::query(&format!(
            "UPDATE {table} SET role = $1 WHERE role = $2 AND organization_id IN \
             (SELECT o.id FROM organizations o WHERE {})",
            in_set("$3")
        ))
        .bind(to.to_owned())
        .bind(from.to_owned())
        .bind(set_id.to_owned())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Moves the organizations using role set `from` to role set `to`.
pub async fn move_organizations(conn: &mut Conn, from: &str, to: &str) -> StoreResult<()> {
    sqlx::query(&format!(
        "UPDATE organizations SET role_set_id = $1 WHERE id IN \
         (SELECT o.id FROM organizations o WHERE {})",
        in_set("$2")
    ))
    .bind(to.to_owned())
    .bind(from.to_owned())
    .execute(conn)
    .await?;
    Ok(())
}
