//! Verified domains of organizations, the suggestions they make to users
//! with a verified email address at one, and the membership requests an
//! accepted suggestion becomes.

use sqlx::FromRow;
use tessera_domain::ids::{OrganizationId, UserId};
use tessera_domain::verification::Verification;

use crate::error::{StoreError, StoreResult};
use crate::sql::{like_escape, SqlBuf};
use crate::Conn;

/// A verified (or to-be-verified) domain of an organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    /// `orgdmn_…`
    pub id: String,
    /// The organization.
    pub organization_id: OrganizationId,
    /// `example.com`, lowercase.
    pub name: String,
    /// `manual_invitation`, `automatic_invitation` or `automatic_suggestion`.
    pub enrollment_mode: String,
    /// The address a code was sent to, to prove the affiliation.
    pub affiliation_email_address: Option<String>,
    /// The affiliation verification, once prepared (or set by the backend).
    pub affiliation_verification: Option<Verification>,
    /// When ownership was marked verified by the backend.
    pub ownership_verified_at: Option<i64>,
    /// Creation time (ms).
    pub created_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
}

impl Domain {
    /// Whether the affiliation is verified (the domain takes effect).
    pub fn verified(&self) -> bool {
        self.affiliation_verification
            .as_ref()
            .is_some_and(Verification::is_verified)
    }
}

#[derive(FromRow)]
struct DomainRow {
    id: String,
    organization_id: String,
    name: String,
    enrollment_mode: String,
    affiliation_email_address: Option<String>,
    affiliation_verification: Option<String>,
    ownership_verified_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<DomainRow> for Domain {
    type Error = StoreError;
    fn try_from(r: DomainRow) -> StoreResult<Self> {
        let verification = r
            .affiliation_verification
            .map(|raw| {
                serde_json::from_str(&raw)
                    .map_err(|e| StoreError::Corrupt(format!("domain verification: {e}")))
            })
            .transpose()?;
        Ok(Self {
            id: r.id,
            organization_id: OrganizationId::from_trusted(r.organization_id),
            name: r.name,
            enrollment_mode: r.enrollment_mode,
            affiliation_email_address: r.affiliation_email_address,
            affiliation_verification: verification,
            ownership_verified_at: r.ownership_verified_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

const DOMAIN_COLUMNS: &str = "d.id, d.organization_id, d.name, d.enrollment_mode, \
    d.affiliation_email_address, d.affiliation_verification, d.ownership_verified_at, \
    d.created_at, d.updated_at";

fn verification_text(d: &Domain) -> Option<String> {
    d.affiliation_verification
        .as_ref()
        .map(|v| serde_json::to_string(v).unwrap_or_default())
}

/// Inserts a domain, or saves every column of an existing one.
pub async fn save(conn: &mut Conn, d: &Domain) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO organization_domains (id, organization_id, name, enrollment_mode, \
         affiliation_email_address, affiliation_verification, ownership_verified_at, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (id) DO UPDATE SET enrollment_mode = excluded.enrollment_mode, \
         affiliation_email_address = excluded.affiliation_email_address, \
         affiliation_verification = excluded.affiliation_verification, \
         ownership_verified_at = excluded.ownership_verified_at, updated_at = excluded.updated_at",
    )
    .bind(d.id.clone())
    .bind(d.organization_id.as_str().to_owned())
    .bind(d.name.clone())
    .bind(d.enrollment_mode.clone())
    .bind(d.affiliation_email_address.clone())
    .bind(verification_text(d))
    .bind(d.ownership_verified_at)
    .bind(d.created_at)
    .bind(d.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes a domain.
pub async fn delete(conn: &mut Conn, id: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM organization_domains WHERE id = $1")
        .bind(id.to_owned())
        .execute(conn)
        .await?;
    Ok(())
}

/// One domain of an organization.
pub async fn get(conn: &mut Conn, org: &OrganizationId, id: &str) -> StoreResult<Domain> {
    let row: Option<DomainRow> = sqlx::query_as(&format!(
        "SELECT {DOMAIN_COLUMNS} FROM organization_domains d \
         WHERE d.organization_id = $1 AND d.id = $2"
    ))
    .bind(org.as_str().to_owned())
    .bind(id.to_owned())
    .fetch_optional(conn)
    .await?;
    row.ok_or(StoreError::NotFound)?.try_into()
}

/// Whether the organization has a domain of this name already.
pub async fn name_taken(conn: &mut Conn, org: &OrganizationId, name: &str) -> StoreResult<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM organization_domains WHERE organization_id = $1 AND name = $2",
    )
    .bind(org.as_str().to_owned())
    .bind(name.to_owned())
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}

/// Which domains a list shows.
#[derive(Debug, Clone, Default)]
pub struct DomainFilter {
    /// Of this organization only.
    pub organization_id: Option<String>,
    /// Verified (or not) only.
    pub verified: Option<bool>,
    /// With one of these enrollment modes (none: any).
    pub modes: Vec<String>,
    /// Without any of these enrollment modes.
    pub exclude_modes: Vec<String>,
    /// Name containing this (case-insensitive).
    pub query: Option<String>,
    /// Exactly one of these names.
    pub names: Vec<String>,
}

fn domain_where(buf: &mut SqlBuf, f: &DomainFilter) {
    buf.push(" WHERE 1 = 1");
    if let Some(org) = &f.organization_id {
        buf.push(" AND d.organization_id = ").bind(org.clone());
    }
    match f.verified {
        Some(true) => {
            buf.push(" AND d.affiliation_verification LIKE '%\"status\":\"verified\"%'");
        }
        Some(false) => {
            buf.push(
                " AND (d.affiliation_verification IS NULL OR \
                 d.affiliation_verification NOT LIKE '%\"status\":\"verified\"%')",
            );
        }
        None => {}
    }
    in_list(buf, "d.enrollment_mode", &f.modes, false);
    in_list(buf, "d.enrollment_mode", &f.exclude_modes, true);
    in_list(buf, "d.name", &f.names, false);
    if let Some(q) = &f.query {
        buf.push(" AND LOWER(d.name) LIKE ")
            .bind(format!("%{}%", like_escape(&q.to_lowercase())))
            .push(" ESCAPE '\\'");
    }
}

fn in_list(buf: &mut SqlBuf, column: &str, values: &[String], negate: bool) {
    if values.is_empty() {
        return;
    }
    buf.push(&format!(
        " AND {column} {}IN (",
        if negate { "NOT " } else { "" }
    ));
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            buf.push(", ");
        }
        buf.bind(v.clone());
    }
    buf.push(")");
}

/// Lists domains, newest first unless `by_name`.
pub async fn list(
    conn: &mut Conn,
    f: &DomainFilter,
    by_name: bool,
    descending: bool,
    limit: i64,
    offset: i64,
) -> StoreResult<Vec<Domain>> {
    let mut buf = SqlBuf::new(&format!(
        "SELECT {DOMAIN_COLUMNS} FROM organization_domains d"
    ));
    domain_where(&mut buf, f);
    let dir = if descending { "DESC" } else { "ASC" };
    let column = if by_name { "d.name" } else { "d.created_at" };
    buf.push(&format!(" ORDER BY {column} {dir}, d.id {dir} LIMIT "))
        .bind(limit)
        .push(" OFFSET ")
        .bind(offset);
    let rows: Vec<DomainRow> = sqlx::query_as_with(&buf.sql, buf.args)
        .fetch_all(conn)
        .await?;
    rows.into_iter().map(Domain::try_from).collect()
}

/// How many domains match.
pub async fn count(conn: &mut Conn, f: &DomainFilter) -> StoreResult<i64> {
    let mut buf = SqlBuf::new("SELECT COUNT(*) FROM organization_domains d");
    domain_where(&mut buf, f);
    Ok(sqlx::query_scalar_with(&buf.sql, buf.args)
        .fetch_one(conn)
        .await?)
}

/// Pending invitations and suggestions a domain made, as of `now`.
pub async fn pending_counts(conn: &mut Conn, id: &str, now: i64) -> StoreResult<(i64, i64)> {
    let invitations: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM organization_invitations \
         WHERE domain_id = $1 AND status = 'pending' AND expires_at > $2",
    )
    .bind(id.to_owned())
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let suggestions: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM organization_suggestions WHERE domain_id = $1 AND status = 'pending'",
    )
    .bind(id.to_owned())
    .fetch_one(conn)
    .await?;
    Ok((invitations, suggestions))
}

/// Marks an invitation as made by a domain.
pub async fn mark_invitation(
    conn: &mut Conn,
    invitation_id: &str,
    domain_id: &str,
) -> StoreResult<()> {
    sqlx::query("UPDATE organization_invitations SET domain_id = $1 WHERE id = $2")
        .bind(domain_id.to_owned())
        .bind(invitation_id.to_owned())
        .execute(conn)
        .await?;
    Ok(())
}

/// Revokes the pending invitations, or deletes the pending suggestions, a
/// domain made.
pub async fn drop_pending(conn: &mut Conn, domain_id: &str, now: i64) -> StoreResult<()> {
    sqlx::query(
        "UPDATE organization_invitations SET status = 'revoked', updated_at = $1 \
         WHERE domain_id = $2 AND status = 'pending'",
    )
    .bind(now)
    .bind(domain_id.to_owned())
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM organization_suggestions WHERE domain_id = $1 AND status = 'pending'")
        .bind(domain_id.to_owned())
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether the organization has ever invited this address (any status).
pub async fn ever_invited(conn: &mut Conn, org: &OrganizationId, email: &str) -> StoreResult<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM organization_invitations \
         WHERE organization_id = $1 AND email_address = $2",
    )
    .bind(org.as_str().to_owned())
    .bind(email.to_owned())
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}

// --- suggestions and membership requests --------------------------------------------

/// Which of the two tables of offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offers {
    /// `organization_suggestions`: pending, or accepted by the user.
    Suggestions,
    /// `organization_membership_requests`: pending, accepted or rejected.
    Requests,
}

impl Offers {
    fn table(self) -> &'static str {
        match self {
            Self::Suggestions => "organization_suggestions",
            Self::Requests => "organization_membership_requests",
        }
    }
}

/// A suggestion or a membership request.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Offer {
    /// `orgsugg_…` or `orgmbreq_…`
    pub id: String,
    /// The organization.
    pub organization_id: String,
    /// The user.
    pub user_id: String,
    /// The domain it came from.
    pub domain_id: Option<String>,
    /// `pending`, `accepted` or `rejected`.
    pub status: String,
    /// Creation time (ms).
    pub created_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
}

const OFFER_COLUMNS: &str =
    "id, organization_id, user_id, domain_id, status, created_at, updated_at";

/// Inserts an offer unless the user has one of this organization already;
/// whether it was inserted.
pub async fn offer(conn: &mut Conn, kind: Offers, o: &Offer) -> StoreResult<bool> {
    let done = sqlx::query(&format!(
        "INSERT INTO {} ({OFFER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (organization_id, user_id) DO NOTHING",
        kind.table()
    ))
    .bind(o.id.clone())
    .bind(o.organization_id.clone())
    .bind(o.user_id.clone())
    .bind(o.domain_id.clone())
    .bind(o.status.clone())
    .bind(o.created_at)
    .bind(o.updated_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// One offer by id.
pub async fn get_offer(conn: &mut Conn, kind: Offers, id: &str) -> StoreResult<Offer> {
    let row: Option<Offer> = sqlx::query_as(&format!(
        "SELECT {OFFER_COLUMNS} FROM {} WHERE id = $1",
        kind.table()
    ))
    .bind(id.to_owned())
    .fetch_optional(conn)
    .await?;
    row.ok_or(StoreError::NotFound)
}

/// Saves an offer's status.
pub async fn set_status(
    conn: &mut Conn,
    kind: Offers,
    id: &str,
    status: &str,
    now: i64,
) -> StoreResult<()> {
    sqlx::query(&format!(
        "UPDATE {} SET status = $1, updated_at = $2 WHERE id = $3",
        kind.table()
    ))
    .bind(status.to_owned())
    .bind(now)
    .bind(id.to_owned())
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes the offer of an organization to a user, if any.
pub async fn withdraw(
    conn: &mut Conn,
    kind: Offers,
    org: &OrganizationId,
    user: &UserId,
) -> StoreResult<()> {
    sqlx::query(&format!(
        "DELETE FROM {} WHERE organization_id = $1 AND user_id = $2",
        kind.table()
    ))
    .bind(org.as_str().to_owned())
    .bind(user.as_str().to_owned())
    .execute(conn)
    .await?;
    Ok(())
}

/// Offers of an organization (`by_user = false`) or to a user, with one of
/// `statuses` (none: any), newest first; and how many match.
pub async fn list_offers(
    conn: &mut Conn,
    kind: Offers,
    owner: &str,
    by_user: bool,
    statuses: &[String],
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<Offer>, i64)> {
    let column = if by_user {
        "user_id"
    } else {
        "organization_id"
    };
    let filter = |buf: &mut SqlBuf| {
        buf.push(&format!(" WHERE {column} = "))
            .bind(owner.to_owned());
        in_list(buf, "status", statuses, false);
    };
    let mut buf = SqlBuf::new(&format!("SELECT {OFFER_COLUMNS} FROM {}", kind.table()));
    filter(&mut buf);
    buf.push(" ORDER BY created_at DESC, id DESC LIMIT ")
        .bind(limit)
        .push(" OFFSET ")
        .bind(offset);
    let rows: Vec<Offer> = sqlx::query_as_with(&buf.sql, buf.args)
        .fetch_all(&mut *conn)
        .await?;
    let mut buf = SqlBuf::new(&format!("SELECT COUNT(*) FROM {}", kind.table()));
    filter(&mut buf);
    let total: i64 = sqlx::query_scalar_with(&buf.sql, buf.args)
        .fetch_one(conn)
        .await?;
    Ok((rows, total))
}

/// The verified domains named `names` whose organizations enroll users
/// automatically (`automatic_invitation` or `automatic_suggestion`).
pub async fn enrolling(conn: &mut Conn, names: &[String]) -> StoreResult<Vec<Domain>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let filter = DomainFilter {
        verified: Some(true),
        modes: vec![
            "automatic_invitation".to_owned(),
            "automatic_suggestion".to_owned(),
        ],
        names: names.to_vec(),
        ..DomainFilter::default()
    };
    list(conn, &filter, false, false, 1000, 0).await
}
