//! Organizations, their memberships and logos; the filtered lists behind BAPI
//! `GET /v1/organizations`, `…/memberships` and the users' memberships.

use sqlx::FromRow;
use tessera_domain::ids::{
    OrganizationId, OrganizationInvitationId, OrganizationMembershipId, UserId,
};

use crate::error::{StoreError, StoreResult};
use crate::records::{
    MemberUser, Membership, Organization, OrganizationInvitation, OrganizationMembership,
};
use crate::rows::{flag, json_map, json_text};
use crate::sql::{like_escape, SqlBuf};
use crate::Conn;

const COLUMNS: &str = "organizations.id, organizations.name, organizations.slug, \
    organizations.has_image, organizations.image_version, \
    organizations.max_allowed_memberships, organizations.admin_delete_enabled, \
    organizations.public_metadata, organizations.private_metadata, organizations.created_by, \
    organizations.role_set_id, organizations.created_at, organizations.updated_at";

/// Members of `organizations.id`, as a column.
const MEMBERS_COUNT: &str = "(SELECT COUNT(*) FROM organization_memberships mc \
    WHERE mc.organization_id = organizations.id) AS members_count";

#[derive(FromRow)]
struct OrganizationRow {
    id: String,
    name: String,
    slug: String,
    has_image: i64,
    image_version: i64,
    max_allowed_memberships: i64,
    admin_delete_enabled: i64,
    public_metadata: String,
    private_metadata: String,
    created_by: Option<String>,
    role_set_id: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<OrganizationRow> for Organization {
    type Error = StoreError;
    fn try_from(r: OrganizationRow) -> StoreResult<Self> {
        Ok(Self {
            id: OrganizationId::from_trusted(r.id),
            name: r.name,
            slug: r.slug,
            has_image: r.has_image != 0,
            image_version: r.image_version,
            max_allowed_memberships: r.max_allowed_memberships,
            admin_delete_enabled: r.admin_delete_enabled != 0,
            public_metadata: json_map(&r.public_metadata)?,
            private_metadata: json_map(&r.private_metadata)?,
            created_by: r.created_by.map(UserId::from_trusted),
            role_set_id: r.role_set_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(FromRow)]
struct CountedRow {
    #[sqlx(flatten)]
    org: OrganizationRow,
    members_count: i64,
    pending_count: i64,
}

/// Loads one organization.
pub async fn get(conn: &mut Conn, id: &OrganizationId) -> StoreResult<Organization> {
    let row: Option<OrganizationRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM organizations WHERE id = $1"
    ))
    .bind(id.as_str().to_owned())
    .fetch_optional(conn)
    .await?;
    row.ok_or(StoreError::NotFound)?.try_into()
}

/// Finds an organization by its slug.
pub async fn find_by_slug(conn: &mut Conn, slug: &str) -> StoreResult<Option<Organization>> {
    let row: Option<OrganizationRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM organizations WHERE slug = $1"
    ))
    .bind(slug.to_owned())
    .fetch_optional(conn)
    .await?;
    row.map(Organization::try_from).transpose()
}

/// Whether another organization than `except` has this slug.
pub async fn slug_taken(
    conn: &mut Conn,
    slug: &str,
    except: Option<&OrganizationId>,
) -> StoreResult<bool> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM organizations WHERE slug = $1 AND id <> $2")
            .bind(slug.to_owned())
            .bind(except.map_or(String::new(), |i| i.as_str().to_owned()))
            .fetch_one(conn)
            .await?;
    Ok(n > 0)
}

/// Inserts a new organization.
pub async fn insert(conn: &mut Conn, org: &Organization) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO organizations (id, name, slug, has_image, image_version, \
         max_allowed_memberships, admin_delete_enabled, public_metadata, private_metadata, \
         created_by, role_set_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(org.id.as_str().to_owned())
    .bind(org.name.clone())
    .bind(org.slug.clone())
    .bind(flag(org.has_image))
    .bind(org.image_version)
    .bind(org.max_allowed_memberships)
    .bind(flag(org.admin_delete_enabled))
    .bind(json_text(&org.public_metadata))
    .bind(json_text(&org.private_metadata))
    .bind(org.created_by.as_ref().map(|u| u.as_str().to_owned()))
    .bind(org.role_set_id.clone())
    .bind(org.created_at)
    .bind(org.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Saves every mutable column of an organization.
pub async fn update(conn: &mut Conn, org: &Organization) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE organizations SET name = $1, slug = $2, has_image = $3, image_version = $4, \
         max_allowed_memberships = $5, admin_delete_enabled = $6, public_metadata = $7, \
         private_metadata = $8, created_at = $9, updated_at = $10, role_set_id = $11 \
         WHERE id = $12",
    )
    .bind(org.name.clone())
    .bind(org.slug.clone())
    .bind(flag(org.has_image))
    .bind(org.image_version)
    .bind(org.max_allowed_memberships)
    .bind(flag(org.admin_delete_enabled))
    .bind(json_text(&org.public_metadata))
    .bind(json_text(&org.private_metadata))
    .bind(org.created_at)
    .bind(org.updated_at)
    .bind(org.role_set_id.clone())
    .bind(org.id.as_str().to_owned())
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Deletes an organization; its memberships and logo go with it, and no
/// session keeps it as the active organization.
pub async fn delete(conn: &mut Conn, id: &OrganizationId) -> StoreResult<()> {
    sqlx::query(
        "UPDATE sessions SET last_active_organization_id = NULL \
         WHERE last_active_organization_id = $1",
    )
    .bind(id.as_str().to_owned())
    .execute(&mut *conn)
    .await?;
    let done = sqlx::query("DELETE FROM organizations WHERE id = $1")
        .bind(id.as_str().to_owned())
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Columns `GET /v1/organizations` can sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrganizationOrder {
    /// Creation time (the default, newest first).
    #[default]
    CreatedAt,
    /// Name.
    Name,
    /// Number of members.
    MembersCount,
}

/// Filters of `GET /v1/organizations`; empty lists mean "no filter".
#[derive(Debug, Clone, Default)]
pub struct OrganizationFilter {
    /// Exact id, or a case-insensitive substring of the name or slug.
    pub query: Option<String>,
    /// Organizations having all of these members.
    pub user_ids: Vec<String>,
    /// Organizations having none of these members.
    pub exclude_user_ids: Vec<String>,
    /// Organization ids to include.
    pub organization_ids: Vec<String>,
    /// Organization ids to exclude.
    pub exclude_organization_ids: Vec<String>,
    /// Organizations this user created.
    pub created_by: Option<String>,
}

fn push_in(buf: &mut SqlBuf, values: &[String]) {
    buf.push("(");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            buf.push(", ");
        }
        buf.bind(v.clone());
    }
    buf.push(")");
}

fn organization_where(buf: &mut SqlBuf, f: &OrganizationFilter) {
    buf.push(" WHERE 1 = 1");
    if let Some(q) = f.query.as_deref().filter(|q| !q.is_empty()) {
        let pattern = format!("%{}%", like_escape(&q.to_lowercase()));
        buf.push(" AND (organizations.id = ")
            .bind(q.to_owned())
            .push(" OR LOWER(organizations.name) LIKE ")
            .bind(pattern.clone())
            .push(" ESCAPE '\\' OR organizations.slug LIKE ")
            .bind(pattern)
            .push(" ESCAPE '\\')");
    }
    for user in &f.user_ids {
        buf.push(
            " AND EXISTS (SELECT 1 FROM organization_memberships fu \
             WHERE fu.organization_id = organizations.id AND fu.user_id = ",
        )
        .bind(user.clone())
        .push(")");
    }
    if !f.exclude_user_ids.is_empty() {
        buf.push(
            " AND NOT EXISTS (SELECT 1 FROM organization_memberships fx \
             WHERE fx.organization_id = organizations.id AND fx.user_id IN ",
        );
        push_in(buf, &f.exclude_user_ids);
        buf.push(")");
    }
    if let Some(user) = &f.created_by {
        buf.push(" AND organizations.created_by = ")
            .bind(user.clone());
    }
    if !f.organization_ids.is_empty() {
        buf.push(" AND organizations.id IN ");
        push_in(buf, &f.organization_ids);
    }
    if !f.exclude_organization_ids.is_empty() {
        buf.push(" AND organizations.id NOT IN ");
        push_in(buf, &f.exclude_organization_ids);
    }
}

/// One page of organizations with their members counts and the numbers of
/// invitations pending at `now`.
pub async fn list(
    conn: &mut Conn,
    filter: &OrganizationFilter,
    order: OrganizationOrder,
    descending: bool,
    limit: i64,
    offset: i64,
    now: i64,
) -> StoreResult<Vec<(Organization, i64, i64)>> {
    let mut buf = SqlBuf::new(&format!(
        "SELECT {COLUMNS}, {MEMBERS_COUNT}, (SELECT COUNT(*) FROM organization_invitations pc \
         WHERE pc.organization_id = organizations.id AND pc.status = 'pending' AND pc.expires_at > "
    ));
    buf.bind(now).push(") AS pending_count FROM organizations");
    organization_where(&mut buf, filter);
    let dir = if descending { "DESC" } else { "ASC" };
    let column = match order {
        OrganizationOrder::CreatedAt => "organizations.created_at",
        OrganizationOrder::Name => "LOWER(organizations.name)",
        OrganizationOrder::MembersCount => "members_count",
    };
    buf.push(&format!(
        " ORDER BY {column} {dir}, organizations.id {dir} LIMIT "
    ))
    .bind(limit)
    .push(" OFFSET ")
    .bind(offset);
    let rows: Vec<CountedRow> = sqlx::query_as_with(&buf.sql, buf.args)
        .fetch_all(conn)
        .await?;
    rows.into_iter()
        .map(|r| Ok((r.org.try_into()?, r.members_count, r.pending_count)))
        .collect()
}

/// How many organizations match.
pub async fn count(conn: &mut Conn, filter: &OrganizationFilter) -> StoreResult<i64> {
    let mut buf = SqlBuf::new("SELECT COUNT(*) FROM organizations");
    organization_where(&mut buf, filter);
    Ok(sqlx::query_scalar_with(&buf.sql, buf.args)
        .fetch_one(conn)
        .await?)
}

/// The number of members of an organization.
pub async fn members_count(conn: &mut Conn, id: &OrganizationId) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM organization_memberships WHERE organization_id = $1",
    )
    .bind(id.as_str().to_owned())
    .fetch_one(conn)
    .await?)
}

/// The roles the members of an organization have.
pub async fn member_roles(conn: &mut Conn, id: &OrganizationId) -> StoreResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT role FROM organization_memberships WHERE organization_id = $1",
    )
    .bind(id.as_str().to_owned())
    .fetch_all(conn)
    .await?)
}

/// The number of members of an organization whose role is one of `roles`.
pub async fn count_with_roles(
    conn: &mut Conn,
    id: &OrganizationId,
    roles: &[String],
) -> StoreResult<i64> {
    if roles.is_empty() {
        return Ok(0);
    }
    let mut buf =
        SqlBuf::new("SELECT COUNT(*) FROM organization_memberships WHERE organization_id = ");
    buf.bind(id.as_str().to_owned()).push(" AND role IN ");
    push_in(&mut buf, roles);
    Ok(sqlx::query_scalar_with(&buf.sql, buf.args)
        .fetch_one(conn)
        .await?)
}

// --- memberships ------------------------------------------------------------------

#[derive(FromRow)]
struct MembershipRow {
    m_id: String,
    m_role: String,
    m_public_metadata: String,
    m_private_metadata: String,
    m_created_at: i64,
    m_updated_at: i64,
    u_id: String,
    u_first_name: Option<String>,
    u_last_name: Option<String>,
    u_username: Option<String>,
    u_identifier: Option<String>,
    u_has_image: i64,
    u_image_version: i64,
    u_banned: i64,
    #[sqlx(default)]
    members_count: Option<i64>,
    #[sqlx(flatten)]
    org: OrganizationRow,
}

impl TryFrom<MembershipRow> for Membership {
    type Error = StoreError;
    fn try_from(r: MembershipRow) -> StoreResult<Self> {
        let organization = Organization::try_from(r.org)?;
        let user_id = UserId::from_trusted(r.u_id);
        Ok(Self {
            membership: OrganizationMembership {
                id: OrganizationMembershipId::from_trusted(r.m_id),
                organization_id: organization.id.clone(),
                user_id: user_id.clone(),
                role: r.m_role,
                public_metadata: json_map(&r.m_public_metadata)?,
                private_metadata: json_map(&r.m_private_metadata)?,
                created_at: r.m_created_at,
                updated_at: r.m_updated_at,
            },
            organization,
            user: MemberUser {
                user_id,
                first_name: r.u_first_name,
                last_name: r.u_last_name,
                username: r.u_username,
                identifier: r.u_identifier,
                has_image: r.u_has_image != 0,
                image_version: r.u_image_version,
                banned: r.u_banned != 0,
            },
            members_count: r.members_count,
        })
    }
}

const MEMBERSHIP_SELECT: &str = "SELECT m.id AS m_id, m.role AS m_role, \
    m.public_metadata AS m_public_metadata, m.private_metadata AS m_private_metadata, \
    m.created_at AS m_created_at, m.updated_at AS m_updated_at, \
    u.id AS u_id, u.first_name AS u_first_name, u.last_name AS u_last_name, \
    u.username AS u_username, e.identifier AS u_identifier, u.has_image AS u_has_image, \
    u.image_version AS u_image_version, u.banned AS u_banned, ";

const MEMBERSHIP_FROM: &str = " FROM organization_memberships m \
    JOIN organizations ON organizations.id = m.organization_id \
    JOIN users u ON u.id = m.user_id \
    LEFT JOIN identifications e ON e.id = u.primary_email_address_id";

#[derive(FromRow)]
struct MemberUserRow {
    u_id: String,
    u_first_name: Option<String>,
    u_last_name: Option<String>,
    u_username: Option<String>,
    u_identifier: Option<String>,
    u_has_image: i64,
    u_image_version: i64,
    u_banned: i64,
}

/// A user's public data, as memberships carry it.
pub async fn member_user(conn: &mut Conn, user: &UserId) -> StoreResult<MemberUser> {
    let row: Option<MemberUserRow> = sqlx::query_as(
        "SELECT u.id AS u_id, u.first_name AS u_first_name, u.last_name AS u_last_name, \
         u.username AS u_username, e.identifier AS u_identifier, u.has_image AS u_has_image, \
         u.image_version AS u_image_version, u.banned AS u_banned FROM users u \
         LEFT JOIN identifications e ON e.id = u.primary_email_address_id WHERE u.id = $1",
    )
    .bind(user.as_str().to_owned())
    .fetch_optional(conn)
    .await?;
    let r = row.ok_or(StoreError::NotFound)?;
    Ok(MemberUser {
        user_id: UserId::from_trusted(r.u_id),
        first_name: r.u_first_name,
        last_name: r.u_last_name,
        username: r.u_username,
        identifier: r.u_identifier,
        has_image: r.u_has_image != 0,
        image_version: r.u_image_version,
        banned: r.u_banned != 0,
    })
}

/// Inserts a membership.
pub async fn insert_membership(conn: &mut Conn, m: &OrganizationMembership) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO organization_memberships (id, organization_id, user_id, role, \
         public_metadata, private_metadata, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(m.id.as_str().to_owned())
    .bind(m.organization_id.as_str().to_owned())
    .bind(m.user_id.as_str().to_owned())
    .bind(m.role.clone())
    .bind(json_text(&m.public_metadata))
    .bind(json_text(&m.private_metadata))
    .bind(m.created_at)
    .bind(m.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Saves a membership's role and metadata.
pub async fn update_membership(conn: &mut Conn, m: &OrganizationMembership) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE organization_memberships SET role = $1, public_metadata = $2, \
         private_metadata = $3, updated_at = $4 WHERE id = $5",
    )
    .bind(m.role.clone())
    .bind(json_text(&m.public_metadata))
    .bind(json_text(&m.private_metadata))
    .bind(m.updated_at)
    .bind(m.id.as_str().to_owned())
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Deletes a membership; the member's sessions with that organization active
/// have no active organization any more.
pub async fn delete_membership(conn: &mut Conn, id: &OrganizationMembershipId) -> StoreResult<()> {
    sqlx::query(
        "UPDATE sessions SET last_active_organization_id = NULL \
         WHERE (user_id, last_active_organization_id) IN \
         (SELECT user_id, organization_id FROM organization_memberships WHERE id = $1)",
    )
    .bind(id.as_str().to_owned())
    .execute(&mut *conn)
    .await?;
    let done = sqlx::query("DELETE FROM organization_memberships WHERE id = $1")
        .bind(id.as_str().to_owned())
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// A user's membership of an organization, if they are a member.
pub async fn find_membership(
    conn: &mut Conn,
    org: &OrganizationId,
    user: &UserId,
) -> StoreResult<Option<Membership>> {
    let mut buf = SqlBuf::new(&format!("{MEMBERSHIP_SELECT}{COLUMNS}{MEMBERSHIP_FROM}"));
    buf.push(" WHERE m.organization_id = ")
        .bind(org.as_str().to_owned())
        .push(" AND m.user_id = ")
        .bind(user.as_str().to_owned());
    let row: Option<MembershipRow> = sqlx::query_as_with(&buf.sql, buf.args)
        .fetch_optional(conn)
        .await?;
    row.map(Membership::try_from).transpose()
}

/// Columns membership lists can sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MembershipOrder {
    /// Creation time (the default).
    #[default]
    CreatedAt,
    /// The member's first name.
    FirstName,
    /// The member's last name.
    LastName,
    /// The member's username.
    Username,
    /// The member's primary email address.
    EmailAddress,
}

/// Filters of the membership lists; empty lists mean "no filter".
#[derive(Debug, Clone, Default)]
pub struct MembershipFilter {
    /// Memberships of this organization.
    pub organization_id: Option<OrganizationId>,
    /// Members among these users.
    pub user_ids: Vec<String>,
    /// Members not among these users.
    pub exclude_user_ids: Vec<String>,
    /// Members with one of these roles.
    pub roles: Vec<String>,
    /// Members with one of these (normalised) email addresses.
    pub email_addresses: Vec<String>,
    /// Members with one of these (lowercased) usernames.
    pub usernames: Vec<String>,
    /// Case-insensitive substring of the member's id, names, username or emails.
    pub query: Option<String>,
    /// Substring of an email address of the member.
    pub email_address_query: Option<String>,
    /// Substring of the member's username.
    pub username_query: Option<String>,
    /// Substring of the member's first or last name.
    pub name_query: Option<String>,
    /// Joined strictly before (ms).
    pub created_at_before: Option<i64>,
    /// Joined strictly after (ms).
    pub created_at_after: Option<i64>,
    /// Count each membership's organization's members (for short lists: a
    /// user's own memberships).
    pub with_members_count: bool,
}

fn membership_where(buf: &mut SqlBuf, f: &MembershipFilter) {
    buf.push(" WHERE 1 = 1");
    if let Some(org) = &f.organization_id {
        buf.push(" AND m.organization_id = ")
            .bind(org.as_str().to_owned());
    }
    if !f.user_ids.is_empty() {
        buf.push(" AND m.user_id IN ");
        push_in(buf, &f.user_ids);
    }
    if !f.exclude_user_ids.is_empty() {
        buf.push(" AND m.user_id NOT IN ");
        push_in(buf, &f.exclude_user_ids);
    }
    if !f.roles.is_empty() {
        buf.push(" AND m.role IN ");
        push_in(buf, &f.roles);
    }
    if !f.email_addresses.is_empty() {
        buf.push(
            " AND EXISTS (SELECT 1 FROM identifications fe WHERE fe.user_id = m.user_id \
             AND fe.kind = 'email_address' AND fe.identifier IN ",
        );
        push_in(buf, &f.email_addresses);
        buf.push(")");
    }
    if !f.usernames.is_empty() {
        buf.push(" AND u.username IN ");
        push_in(buf, &f.usernames);
    }
    let like = |buf: &mut SqlBuf, q: &str| {
        buf.bind(format!("%{}%", like_escape(&q.to_lowercase())))
            .push(" ESCAPE '\\'");
    };
    if let Some(q) = f.query.as_deref().filter(|q| !q.is_empty()) {
        buf.push(" AND (m.user_id = ").bind(q.to_owned());
        for column in ["LOWER(u.first_name)", "LOWER(u.last_name)", "u.username"] {
            buf.push(&format!(" OR {column} LIKE "));
            like(buf, q);
        }
        buf.push(
            " OR EXISTS (SELECT 1 FROM identifications fq WHERE fq.user_id = m.user_id \
             AND fq.identifier LIKE ",
        );
        like(buf, q);
        buf.push("))");
    }
    if let Some(q) = f.email_address_query.as_deref().filter(|q| !q.is_empty()) {
        buf.push(
            " AND EXISTS (SELECT 1 FROM identifications fa WHERE fa.user_id = m.user_id \
             AND fa.kind = 'email_address' AND fa.identifier LIKE ",
        );
        like(buf, q);
        buf.push(")");
    }
    if let Some(q) = f.username_query.as_deref().filter(|q| !q.is_empty()) {
        buf.push(" AND u.username LIKE ");
        like(buf, q);
    }
    if let Some(q) = f.name_query.as_deref().filter(|q| !q.is_empty()) {
        buf.push(" AND (LOWER(u.first_name) LIKE ");
        like(buf, q);
        buf.push(" OR LOWER(u.last_name) LIKE ");
        like(buf, q);
        buf.push(")");
    }
    if let Some(t) = f.created_at_before {
        buf.push(" AND m.created_at < ").bind(t);
    }
    if let Some(t) = f.created_at_after {
        buf.push(" AND m.created_at > ").bind(t);
    }
}

/// One page of memberships, each with its organization and user.
pub async fn list_memberships(
    conn: &mut Conn,
    filter: &MembershipFilter,
    order: MembershipOrder,
    descending: bool,
    limit: i64,
    offset: i64,
) -> StoreResult<Vec<Membership>> {
    let count = if filter.with_members_count {
        format!(", {MEMBERS_COUNT}")
    } else {
        String::new()
    };
    let mut buf = SqlBuf::new(&format!(
        "{MEMBERSHIP_SELECT}{COLUMNS}{count}{MEMBERSHIP_FROM}"
    ));
    membership_where(&mut buf, filter);
    let dir = if descending { "DESC" } else { "ASC" };
    let column = match order {
        MembershipOrder::CreatedAt => "m.created_at",
        MembershipOrder::FirstName => "LOWER(u.first_name)",
        MembershipOrder::LastName => "LOWER(u.last_name)",
        MembershipOrder::Username => "u.username",
        MembershipOrder::EmailAddress => "e.identifier",
    };
    // NULLs last either way, as on both backends alike (creation times are
    // never NULL: that order walks the (organization, created_at) index).
    let nulls_last = if order == MembershipOrder::CreatedAt {
        String::new()
    } else {
        format!("CASE WHEN {column} IS NULL THEN 1 ELSE 0 END, ")
    };
    buf.push(&format!(
        " ORDER BY {nulls_last}{column} {dir}, m.id {dir} LIMIT "
    ))
    .bind(limit)
    .push(" OFFSET ")
    .bind(offset);
    let rows: Vec<MembershipRow> = sqlx::query_as_with(&buf.sql, buf.args)
        .fetch_all(conn)
        .await?;
    rows.into_iter().map(Membership::try_from).collect()
}

/// How many memberships match (the filters read the membership and its user only).
pub async fn count_memberships(conn: &mut Conn, filter: &MembershipFilter) -> StoreResult<i64> {
    let mut buf = SqlBuf::new(
        "SELECT COUNT(*) FROM organization_memberships m JOIN users u ON u.id = m.user_id",
    );
    membership_where(&mut buf, filter);
    Ok(sqlx::query_scalar_with(&buf.sql, buf.args)
        .fetch_one(conn)
        .await?)
}

// --- logos --------------------------------------------------------------------------

/// Stores (replaces) an organization's logo.
pub async fn set_logo(
    conn: &mut Conn,
    id: &OrganizationId,
    content_type: &str,
    bytes: Vec<u8>,
    now: i64,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM organization_logos WHERE organization_id = $1")
        .bind(id.as_str().to_owned())
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO organization_logos (organization_id, content_type, bytes, updated_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(id.as_str().to_owned())
    .bind(content_type.to_owned())
    .bind(bytes)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes an organization's logo.
pub async fn delete_logo(conn: &mut Conn, id: &OrganizationId) -> StoreResult<()> {
    sqlx::query("DELETE FROM organization_logos WHERE organization_id = $1")
        .bind(id.as_str().to_owned())
        .execute(conn)
        .await?;
    Ok(())
}

/// Reads an organization's logo as (content type, bytes).
pub async fn get_logo(
    conn: &mut Conn,
    id: &OrganizationId,
) -> StoreResult<Option<(String, Vec<u8>)>> {
    Ok(sqlx::query_as(
        "SELECT content_type, bytes FROM organization_logos WHERE organization_id = $1",
    )
    .bind(id.as_str().to_owned())
    .fetch_optional(conn)
    .await?)
}

// --- invitations ----------------------------------------------------------------------

const INVITATION_COLUMNS: &str = "i.id AS i_id, i.email_address AS i_email_address, \
    i.role AS i_role, i.status AS i_status, i.inviter_user_id AS i_inviter_user_id, \
    i.public_metadata AS i_public_metadata, i.private_metadata AS i_private_metadata, \
    i.redirect_url AS i_redirect_url, i.ticket_hash AS i_ticket_hash, \
    i.expires_at AS i_expires_at, i.created_at AS i_created_at, i.updated_at AS i_updated_at";

const INVITATION_FROM: &str =
    " FROM organization_invitations i JOIN organizations ON organizations.id = i.organization_id";

#[derive(FromRow)]
struct InvitationRow {
    i_id: String,
    i_email_address: String,
    i_role: String,
    i_status: String,
    i_inviter_user_id: Option<String>,
    i_public_metadata: String,
    i_private_metadata: String,
    i_redirect_url: Option<String>,
    i_ticket_hash: String,
    i_expires_at: i64,
    i_created_at: i64,
    i_updated_at: i64,
    #[sqlx(flatten)]
    org: OrganizationRow,
}

fn invitation_of(r: InvitationRow) -> StoreResult<(OrganizationInvitation, Organization)> {
    let org = Organization::try_from(r.org)?;
    Ok((
        OrganizationInvitation {
            id: OrganizationInvitationId::from_trusted(r.i_id),
            organization_id: org.id.clone(),
            email_address: r.i_email_address,
            role: r.i_role,
            status: r.i_status,
            inviter_user_id: r.i_inviter_user_id.map(UserId::from_trusted),
            public_metadata: json_map(&r.i_public_metadata)?,
            private_metadata: json_map(&r.i_private_metadata)?,
            redirect_url: r.i_redirect_url,
            ticket_hash: r.i_ticket_hash,
            expires_at: r.i_expires_at,
            created_at: r.i_created_at,
            updated_at: r.i_updated_at,
        },
        org,
    ))
}

/// Inserts an invitation.
pub async fn insert_invitation(conn: &mut Conn, i: &OrganizationInvitation) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO organization_invitations (id, organization_id, email_address, role, status, \
         inviter_user_id, public_metadata, private_metadata, redirect_url, ticket_hash, \
         expires_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(i.id.as_str().to_owned())
    .bind(i.organization_id.as_str().to_owned())
    .bind(i.email_address.clone())
    .bind(i.role.clone())
    .bind(i.status.clone())
    .bind(i.inviter_user_id.as_ref().map(|u| u.as_str().to_owned()))
    .bind(json_text(&i.public_metadata))
    .bind(json_text(&i.private_metadata))
    .bind(i.redirect_url.clone())
    .bind(i.ticket_hash.clone())
    .bind(i.expires_at)
    .bind(i.created_at)
    .bind(i.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Saves an invitation's status.
pub async fn update_invitation_status(
    conn: &mut Conn,
    id: &OrganizationInvitationId,
    status: &str,
    now: i64,
) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE organization_invitations SET status = $1, updated_at = $2 WHERE id = $3",
    )
    .bind(status.to_owned())
    .bind(now)
    .bind(id.as_str().to_owned())
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Loads one invitation with its organization.
pub async fn get_invitation(
    conn: &mut Conn,
    id: &OrganizationInvitationId,
) -> StoreResult<(OrganizationInvitation, Organization)> {
    let row: Option<InvitationRow> = sqlx::query_as(&format!(
        "SELECT {INVITATION_COLUMNS}, {COLUMNS}{INVITATION_FROM} WHERE i.id = $1"
    ))
    .bind(id.as_str().to_owned())
    .fetch_optional(conn)
    .await?;
    invitation_of(row.ok_or(StoreError::NotFound)?)
}

/// The invitation whose emailed ticket hashes to `hash`.
pub async fn find_invitation_by_ticket(
    conn: &mut Conn,
    hash: &str,
) -> StoreResult<Option<(OrganizationInvitation, Organization)>> {
    let row: Option<InvitationRow> = sqlx::query_as(&format!(
        "SELECT {INVITATION_COLUMNS}, {COLUMNS}{INVITATION_FROM} WHERE i.ticket_hash = $1"
    ))
    .bind(hash.to_owned())
    .fetch_optional(conn)
    .await?;
    row.map(invitation_of).transpose()
}

/// Filters of the invitation lists; empty lists mean "no filter".
#[derive(Debug, Clone, Default)]
pub struct InvitationFilter {
    /// Invitations to this organization.
    pub organization_id: Option<OrganizationId>,
    /// Statuses as of `now` (`pending`, `accepted`, `revoked`, `expired`).
    pub statuses: Vec<String>,
    /// Invitations to these (normalised) addresses.
    pub email_addresses: Vec<String>,
    /// Case-insensitive substring of the address.
    pub query: Option<String>,
    /// The time statuses are judged at (ms).
    pub now: i64,
}

fn invitation_where(buf: &mut SqlBuf, f: &InvitationFilter) {
    buf.push(" WHERE 1 = 1");
    if let Some(org) = &f.organization_id {
        buf.push(" AND i.organization_id = ")
            .bind(org.as_str().to_owned());
    }
    if !f.email_addresses.is_empty() {
        buf.push(" AND i.email_address IN ");
        push_in(buf, &f.email_addresses);
    }
    if let Some(q) = f.query.as_deref().filter(|q| !q.is_empty()) {
        buf.push(" AND i.email_address LIKE ")
            .bind(format!("%{}%", like_escape(&q.to_lowercase())))
            .push(" ESCAPE '\\'");
    }
    if !f.statuses.is_empty() {
        buf.push(" AND (1 = 0");
        for status in &f.statuses {
            match status.as_str() {
                "pending" => {
                    buf.push(" OR (i.status = 'pending' AND i.expires_at > ")
                        .bind(f.now)
                        .push(")");
                }
                "expired" => {
                    buf.push(" OR (i.status = 'pending' AND i.expires_at <= ")
                        .bind(f.now)
                        .push(")");
                }
                other => {
                    buf.push(" OR i.status = ").bind(other.to_owned());
                }
            }
        }
        buf.push(")");
    }
}

/// One page of invitations (newest first unless `by_email`), each with its organization.
pub async fn list_invitations(
    conn: &mut Conn,
    filter: &InvitationFilter,
    by_email: bool,
    descending: bool,
    limit: i64,
    offset: i64,
) -> StoreResult<Vec<(OrganizationInvitation, Organization)>> {
    let mut buf = SqlBuf::new(&format!(
        "SELECT {INVITATION_COLUMNS}, {COLUMNS}{INVITATION_FROM}"
    ));
    invitation_where(&mut buf, filter);
    let dir = if descending { "DESC" } else { "ASC" };
    let column = if by_email {
        "i.email_address"
    } else {
        "i.created_at"
    };
    buf.push(&format!(" ORDER BY {column} {dir}, i.id {dir} LIMIT "))
        .bind(limit)
        .push(" OFFSET ")
        .bind(offset);
    let rows: Vec<InvitationRow> = sqlx::query_as_with(&buf.sql, buf.args)
        .fetch_all(conn)
        .await?;
    rows.into_iter().map(invitation_of).collect()
}

/// How many invitations match.
pub async fn count_invitations(conn: &mut Conn, filter: &InvitationFilter) -> StoreResult<i64> {
    let mut buf = SqlBuf::new(&format!("SELECT COUNT(*){INVITATION_FROM}"));
    invitation_where(&mut buf, filter);
    Ok(sqlx::query_scalar_with(&buf.sql, buf.args)
        .fetch_one(conn)
        .await?)
}

/// Records that a sign-up was started with an invitation's ticket.
pub async fn attach_ticket(
    conn: &mut Conn,
    sign_up_id: &str,
    invitation: &OrganizationInvitationId,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM sign_up_tickets WHERE sign_up_id = $1")
        .bind(sign_up_id.to_owned())
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO sign_up_tickets (sign_up_id, invitation_id) VALUES ($1, $2)")
        .bind(sign_up_id.to_owned())
        .bind(invitation.as_str().to_owned())
        .execute(conn)
        .await?;
    Ok(())
}

/// The invitation a sign-up was started with, if any.
pub async fn ticket_of_sign_up(
    conn: &mut Conn,
    sign_up_id: &str,
) -> StoreResult<Option<OrganizationInvitationId>> {
    let id: Option<String> =
        sqlx::query_scalar("SELECT invitation_id FROM sign_up_tickets WHERE sign_up_id = $1")
            .bind(sign_up_id.to_owned())
            .fetch_optional(conn)
            .await?;
    Ok(id.map(OrganizationInvitationId::from_trusted))
}
