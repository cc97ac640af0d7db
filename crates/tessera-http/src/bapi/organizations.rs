//! BAPI `/v1/organizations…` and the membership lists: organizations (by id
//! or slug), their metadata and logos, and their members.

use axum::extract::{Multipart, Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tessera_core::clock::now_ms;
use tessera_core::organizations::{
    MetadataChange, NewInvitation, NewOrganization, OrganizationPatch, OrganizationView,
};
use tessera_core::render::organization as render;
use tessera_core::Core;
use tessera_domain::identifiers;
use tessera_store::organizations::{
    InvitationFilter, MembershipFilter, MembershipOrder, OrganizationFilter, OrganizationOrder,
};
use tessera_store::records::{Membership, OrganizationInvitation};

use crate::bapi::user_actions::image_file;
use crate::error::{ApiError, ApiResult};
use crate::extract::{rfc3339_ms, JsonArray, JsonBody, QueryPairs, SecretKeyAuth};

fn organization(core: &Core, view: &OrganizationView, with_count: bool) -> Value {
    render::organization(
        &view.organization,
        &core.roles(),
        with_count.then_some(view.members_count),
        view.pending_invitations,
        &core.frontend_url,
    )
}

fn membership(core: &Core, m: &Membership) -> Value {
    render::membership(m, &core.organizations().roles(), &core.frontend_url)
}

/// `+x` / `x` into the first list, `-x` into the second.
fn signed(values: Vec<String>) -> (Vec<String>, Vec<String>) {
    let mut include = Vec::new();
    let mut exclude = Vec::new();
    for raw in values {
        match raw.strip_prefix('-') {
            Some(id) => exclude.push(id.to_owned()),
            None => include.push(raw.trim_start_matches('+').to_owned()),
        }
    }
    (include, exclude)
}

/// `order_by` as (field, descending): `name`, `-created_at`, `+members_count`.
fn order_by<T: Copy>(
    q: &QueryPairs,
    default: (T, bool),
    fields: &[(&str, T)],
) -> ApiResult<(T, bool)> {
    let Some(raw) = q.first("order_by").filter(|s| !s.is_empty()) else {
        return Ok(default);
    };
    let (descending, name) = match raw.as_bytes()[0] {
        b'-' => (true, &raw[1..]),
        b'+' => (false, &raw[1..]),
        _ => (false, raw.as_str()),
    };
    fields
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| (*f, descending))
        .ok_or_else(|| {
            let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
            ApiError::invalid(
                "order_by",
                format!(
                    "must be one of {}, with an optional + or - prefix",
                    names.join(", ")
                ),
            )
        })
}

/// `GET /v1/organizations`
pub async fn list_organizations(
    _: SecretKeyAuth,
    State(core): State<Core>,
    q: QueryPairs,
) -> ApiResult<Json<Value>> {
    let (limit, offset) = q.page()?;
    let with_count = q.bool("include_members_count")?.unwrap_or(false);
    q.bool("include_missing_member_with_elevated_permissions")?;
    let (user_ids, exclude_user_ids) = signed(q.all("user_id"));
    let (organization_ids, exclude_organization_ids) = signed(q.all("organization_id"));
    let filter = OrganizationFilter {
        query: q.first("query"),
        user_ids,
        exclude_user_ids,
        organization_ids,
        exclude_organization_ids,
        created_by: None,
    };
    let (order, descending) = order_by(
        &q,
        (OrganizationOrder::CreatedAt, true),
        &[
            ("created_at", OrganizationOrder::CreatedAt),
            ("name", OrganizationOrder::Name),
            ("members_count", OrganizationOrder::MembersCount),
        ],
    )?;
    let (views, total) = core
        .organizations()
        .list(&filter, order, descending, limit, offset)
        .await?;
    let data: Vec<Value> = views
        .iter()
        .map(|v| organization(&core, v, with_count))
        .collect();
    Ok(Json(json!({ "data": data, "total_count": total })))
}

/// Body of `POST /v1/organizations`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CreateOrganizationBody {
    name: Option<String>,
    slug: Option<String>,
    created_by: Option<String>,
    max_allowed_memberships: Option<i64>,
    public_metadata: Option<Map<String, Value>>,
    private_metadata: Option<Map<String, Value>>,
    created_at: Option<String>,
    role_set_key: Option<String>,
}

/// `POST /v1/organizations`
pub async fn create_organization(
    _: SecretKeyAuth,
    State(core): State<Core>,
    JsonBody(body): JsonBody<CreateOrganizationBody>,
) -> ApiResult<Json<Value>> {
    let input = NewOrganization {
        name: body.name.unwrap_or_default(),
        slug: body.slug,
        created_by: body.created_by,
        max_allowed_memberships: body.max_allowed_memberships,
        public_metadata: body.public_metadata,
        private_metadata: body.private_metadata,
        created_at: body
            .created_at
            .map(|t| rfc3339_ms("created_at", &t))
            .transpose()?,
        role_set_key: body.role_set_key,
    };
    let view = core.organizations().create(input).await?;
    Ok(Json(organization(&core, &view, true)))
}

/// `GET /v1/organizations/{organization_id}` (an id or a slug)
pub async fn get_organization(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    q: QueryPairs,
) -> ApiResult<Json<Value>> {
    let with_count = q.bool("include_members_count")?.unwrap_or(false);
    q.bool("include_missing_member_with_elevated_permissions")?;
    let view = core.organizations().get(&id).await?;
    Ok(Json(organization(&core, &view, with_count)))
}

/// Body of `PATCH /v1/organizations/{organization_id}`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrganizationBody {
    name: Option<String>,
    slug: Option<String>,
    max_allowed_memberships: Option<i64>,
    admin_delete_enabled: Option<bool>,
    created_at: Option<String>,
    role_set_key: Option<String>,
    // Older API versions sent metadata here (replacing it); still taken.
    public_metadata: Option<Map<String, Value>>,
    private_metadata: Option<Map<String, Value>>,
}

/// `PATCH /v1/organizations/{organization_id}`
pub async fn update_organization(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdateOrganizationBody>,
) -> ApiResult<Json<Value>> {
    let patch = OrganizationPatch {
        name: body.name,
        slug: body.slug,
        max_allowed_memberships: body.max_allowed_memberships,
        admin_delete_enabled: body.admin_delete_enabled,
        created_at: body
            .created_at
            .map(|t| rfc3339_ms("created_at", &t))
            .transpose()?,
        role_set_key: body.role_set_key,
    };
    let orgs = core.organizations();
    let mut view = orgs.update(&id, patch).await?;
    if body.public_metadata.is_some() || body.private_metadata.is_some() {
        let change = MetadataChange {
            public_metadata: body.public_metadata,
            private_metadata: body.private_metadata,
        };
        view = orgs
            .update_metadata(view.organization.id.as_str(), change, true)
            .await?;
    }
    Ok(Json(organization(&core, &view, true)))
}

/// `DELETE /v1/organizations/{organization_id}`
pub async fn delete_organization(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let org = core.organizations().delete(&id).await?;
    Ok(Json(json!({
        "object": "organization",
        "id": org.id.as_str(),
        "slug": org.slug,
        "deleted": true,
    })))
}

/// Body of the metadata endpoints.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MetadataBody {
    public_metadata: Option<Map<String, Value>>,
    private_metadata: Option<Map<String, Value>>,
}

impl From<MetadataBody> for MetadataChange {
    fn from(b: MetadataBody) -> Self {
        Self {
            public_metadata: b.public_metadata,
            private_metadata: b.private_metadata,
        }
    }
}

/// `PATCH /v1/organizations/{organization_id}/metadata` (deep merge)
pub async fn merge_metadata(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<MetadataBody>,
) -> ApiResult<Json<Value>> {
    update_metadata(&core, &id, body, false).await
}

/// `PUT /v1/organizations/{organization_id}/metadata` (replace)
pub async fn replace_metadata(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<MetadataBody>,
) -> ApiResult<Json<Value>> {
    update_metadata(&core, &id, body, true).await
}

async fn update_metadata(
    core: &Core,
    id: &str,
    body: MetadataBody,
    replace: bool,
) -> ApiResult<Json<Value>> {
    let view = core
        .organizations()
        .update_metadata(id, body.into(), replace)
        .await?;
    Ok(Json(organization(core, &view, true)))
}

/// `PUT /v1/organizations/{organization_id}/logo` (multipart `file`)
pub async fn upload_logo(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    multipart: Multipart,
) -> ApiResult<Json<Value>> {
    let (content_type, bytes) = image_file(multipart).await?;
    let view = core
        .organizations()
        .set_logo(&id, content_type, bytes)
        .await?;
    Ok(Json(organization(&core, &view, true)))
}

/// `DELETE /v1/organizations/{organization_id}/logo`
pub async fn delete_logo(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let view = core.organizations().delete_logo(&id).await?;
    Ok(Json(organization(&core, &view, true)))
}

// --- memberships --------------------------------------------------------------------

const MEMBERSHIP_ORDERS: &[(&str, MembershipOrder)] = &[
    ("created_at", MembershipOrder::CreatedAt),
    ("first_name", MembershipOrder::FirstName),
    ("last_name", MembershipOrder::LastName),
    ("username", MembershipOrder::Username),
    ("email_address", MembershipOrder::EmailAddress),
    ("phone_number", MembershipOrder::CreatedAt),
];

async fn membership_page(
    core: &Core,
    q: &QueryPairs,
    filter: MembershipFilter,
) -> ApiResult<Json<Value>> {
    let (limit, offset) = q.page()?;
    let (order, descending) = order_by(q, (MembershipOrder::CreatedAt, true), MEMBERSHIP_ORDERS)?;
    let (rows, total) = core
        .organizations()
        .memberships(&filter, order, descending, limit, offset)
        .await?;
    let data: Vec<Value> = rows.iter().map(|m| membership(core, m)).collect();
    Ok(Json(json!({ "data": data, "total_count": total })))
}

/// `GET /v1/organizations/{organization_id}/memberships`
pub async fn list_memberships(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    q: QueryPairs,
) -> ApiResult<Json<Value>> {
    let organization_id = core.organizations().id_of(&id).await?;
    let (user_ids, exclude_user_ids) = signed(q.all("user_id"));
    let non_empty = |key: &str| q.first(key).filter(|s| !s.is_empty());
    let mut filter = MembershipFilter {
        organization_id: Some(organization_id),
        user_ids,
        exclude_user_ids,
        roles: q.all("role"),
        email_addresses: q
            .all("email_address")
            .iter()
            .map(|e| identifiers::normalize_email(e).unwrap_or_else(|_| e.to_lowercase()))
            .collect(),
        usernames: q.all("username").iter().map(|u| u.to_lowercase()).collect(),
        query: non_empty("query"),
        email_address_query: non_empty("email_address_query"),
        username_query: non_empty("username_query"),
        name_query: non_empty("name_query"),
        created_at_before: q.int("created_at_before", 0, i64::MAX)?,
        created_at_after: q.int("created_at_after", 0, i64::MAX)?,
        with_members_count: false,
    };
    q.int("last_active_at_before", 0, i64::MAX)?;
    q.int("last_active_at_after", 0, i64::MAX)?;
    if !q.all("phone_number").is_empty() || !q.all("web3_wallet").is_empty() {
        // Members are matched by phone number or wallet nowhere yet: nobody matches.
        filter.user_ids.push(String::new());
    }
    membership_page(&core, &q, filter).await
}

/// `GET /v1/organization_memberships` (every organization's)
pub async fn list_instance_memberships(
    _: SecretKeyAuth,
    State(core): State<Core>,
    q: QueryPairs,
) -> ApiResult<Json<Value>> {
    membership_page(&core, &q, MembershipFilter::default()).await
}

/// `GET /v1/users/{user_id}/organization_memberships`
pub async fn list_user_memberships(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(user_id): Path<String>,
    q: QueryPairs,
) -> ApiResult<Json<Value>> {
    let user = core.users().get(&user_id).await?;
    let filter = MembershipFilter {
        user_ids: vec![user.user.id.into_string()],
        ..MembershipFilter::default()
    };
    membership_page(&core, &q, filter).await
}

/// Body of `POST /v1/organizations/{organization_id}/memberships`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CreateMembershipBody {
    user_id: Option<String>,
    role: Option<String>,
    public_metadata: Option<Map<String, Value>>,
    private_metadata: Option<Map<String, Value>>,
}

/// `POST /v1/organizations/{organization_id}/memberships`
pub async fn create_membership(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CreateMembershipBody>,
) -> ApiResult<Json<Value>> {
    let user_id = body
        .user_id
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ApiError::from(tessera_core::CoreError::missing("user_id")))?;
    let role = body.role.unwrap_or_default();
    let metadata = MetadataChange {
        public_metadata: body.public_metadata,
        private_metadata: body.private_metadata,
    };
    let m = core
        .organizations()
        .add_member(&id, &user_id, &role, metadata)
        .await?;
    Ok(Json(membership(&core, &m)))
}

/// Body of `PATCH /v1/organizations/{organization_id}/memberships/{user_id}`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateMembershipBody {
    role: Option<String>,
}

/// `PATCH /v1/organizations/{organization_id}/memberships/{user_id}`
pub async fn update_membership(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path((id, user_id)): Path<(String, String)>,
    JsonBody(body): JsonBody<UpdateMembershipBody>,
) -> ApiResult<Json<Value>> {
    let role = body.role.unwrap_or_default();
    let m = core.organizations().set_role(&id, &user_id, &role).await?;
    Ok(Json(membership(&core, &m)))
}

/// `PATCH /v1/organizations/{organization_id}/memberships/{user_id}/metadata`
pub async fn merge_membership_metadata(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path((id, user_id)): Path<(String, String)>,
    JsonBody(body): JsonBody<MetadataBody>,
) -> ApiResult<Json<Value>> {
    let m = core
        .organizations()
        .update_member_metadata(&id, &user_id, body.into())
        .await?;
    Ok(Json(membership(&core, &m)))
}

/// `DELETE /v1/organizations/{organization_id}/memberships/{user_id}`: the removed membership.
pub async fn delete_membership(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path((id, user_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let m = core.organizations().remove_member(&id, &user_id).await?;
    Ok(Json(membership(&core, &m)))
}

// --- invitations --------------------------------------------------------------------

async fn invitation(core: &Core, i: &OrganizationInvitation) -> ApiResult<Value> {
    let mut out = core.organizations().render_invitations(&[i], false).await?;
    Ok(out.pop().unwrap_or(Value::Null))
}

async fn invitations(core: &Core, list: &[&OrganizationInvitation]) -> ApiResult<Vec<Value>> {
    Ok(core.organizations().render_invitations(list, false).await?)
}

/// Body of `POST /v1/organizations/{organization_id}/invitations` (and each
/// item of `…/bulk`).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CreateInvitationBody {
    email_address: Option<String>,
    role: Option<String>,
    inviter_user_id: Option<String>,
    public_metadata: Option<Map<String, Value>>,
    private_metadata: Option<Map<String, Value>>,
    redirect_url: Option<String>,
    expires_in_days: Option<i64>,
    notify: Option<bool>,
}

impl CreateInvitationBody {
    fn into_new(self) -> ApiResult<NewInvitation> {
        let email_address = self
            .email_address
            .filter(|e| !e.is_empty())
            .ok_or_else(|| ApiError::from(tessera_core::CoreError::missing("email_address")))?;
        Ok(NewInvitation {
            email_address,
            role: self.role.unwrap_or_default(),
            inviter_user_id: self.inviter_user_id,
            public_metadata: self.public_metadata,
            private_metadata: self.private_metadata,
            redirect_url: self.redirect_url,
            expires_in_days: self.expires_in_days,
            notify: self.notify.unwrap_or(true),
        })
    }
}

/// `POST /v1/organizations/{organization_id}/invitations`
pub async fn create_invitation(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CreateInvitationBody>,
) -> ApiResult<Json<Value>> {
    let created = core
        .organizations()
        .invite(&id, vec![body.into_new()?])
        .await?;
    let (i, _) = created.first().ok_or_else(ApiError::not_found)?;
    Ok(Json(invitation(&core, i).await?))
}

/// `POST /v1/organizations/{organization_id}/invitations/bulk` (1 to 10): `{data, total_count}`
pub async fn create_invitations(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    JsonArray(body): JsonArray<CreateInvitationBody>,
) -> ApiResult<Json<Value>> {
    if body.is_empty() || body.len() > 10 {
        return Err(ApiError::invalid("body", "must hold 1 to 10 invitations"));
    }
    let inputs = body
        .into_iter()
        .map(CreateInvitationBody::into_new)
        .collect::<ApiResult<Vec<_>>>()?;
    let created = core.organizations().invite(&id, inputs).await?;
    let data = invitations(&core, &created.iter().map(|(i, _)| i).collect::<Vec<_>>()).await?;
    let total = data.len();
    Ok(Json(json!({ "data": data, "total_count": total })))
}

const STATUSES: &[&str] = &["pending", "accepted", "revoked", "expired"];

fn statuses(q: &QueryPairs) -> ApiResult<Vec<String>> {
    let all = q.all("status");
    if let Some(bad) = all.iter().find(|s| !STATUSES.contains(&s.as_str())) {
        return Err(ApiError::invalid(
            "status",
            format!("{bad} is not one of pending, accepted, revoked, expired"),
        ));
    }
    Ok(all)
}

async fn invitation_page(
    core: &Core,
    q: &QueryPairs,
    filter: InvitationFilter,
) -> ApiResult<Json<Value>> {
    let (limit, offset) = q.page()?;
    let (by_email, descending) = order_by(
        q,
        (false, true),
        &[("created_at", false), ("email_address", true)],
    )?;
    let (rows, total) = core
        .organizations()
        .invitations(&filter, by_email, descending, limit, offset)
        .await?;
    let data = invitations(core, &rows.iter().map(|(i, _)| i).collect::<Vec<_>>()).await?;
    Ok(Json(json!({ "data": data, "total_count": total })))
}

/// `GET /v1/organizations/{organization_id}/invitations`
pub async fn list_invitations(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    q: QueryPairs,
) -> ApiResult<Json<Value>> {
    let filter = InvitationFilter {
        organization_id: Some(core.organizations().id_of(&id).await?),
        statuses: statuses(&q)?,
        email_addresses: q
            .all("email_address")
            .iter()
            .map(|e| e.trim().to_lowercase())
            .collect(),
        now: now_ms(),
        ..InvitationFilter::default()
    };
    invitation_page(&core, &q, filter).await
}

/// `GET /v1/organizations/{organization_id}/invitations/pending` (deprecated by Clerk)
pub async fn list_pending_invitations(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    q: QueryPairs,
) -> ApiResult<Json<Value>> {
    let filter = InvitationFilter {
        organization_id: Some(core.organizations().id_of(&id).await?),
        statuses: vec!["pending".to_owned()],
        now: now_ms(),
        ..InvitationFilter::default()
    };
    invitation_page(&core, &q, filter).await
}

/// `GET /v1/organization_invitations` (every organization's; `status`, `query`)
pub async fn list_instance_invitations(
    _: SecretKeyAuth,
    State(core): State<Core>,
    q: QueryPairs,
) -> ApiResult<Json<Value>> {
    let filter = InvitationFilter {
        statuses: statuses(&q)?,
        query: q.first("query").filter(|s| !s.is_empty()),
        now: now_ms(),
        ..InvitationFilter::default()
    };
    invitation_page(&core, &q, filter).await
}

/// `GET /v1/users/{user_id}/organization_invitations` (`status`)
pub async fn list_user_invitations(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(user_id): Path<String>,
    q: QueryPairs,
) -> ApiResult<Json<Value>> {
    let user = core.users().get(&user_id).await?;
    let (limit, offset) = q.page()?;
    let (rows, total) = core
        .organizations()
        .invitations_for_user(&user.user.id, statuses(&q)?, limit, offset)
        .await?;
    let data = invitations(&core, &rows.iter().map(|(i, _)| i).collect::<Vec<_>>()).await?;
    Ok(Json(json!({ "data": data, "total_count": total })))
}

/// `GET /v1/organizations/{organization_id}/invitations/{invitation_id}`
pub async fn get_invitation(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path((id, invitation_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let (i, _) = core.organizations().invitation(&id, &invitation_id).await?;
    Ok(Json(invitation(&core, &i).await?))
}

/// `POST /v1/organizations/{organization_id}/invitations/{invitation_id}/revoke`
/// (a `requesting_user_id` in the body is not needed: the secret key acts).
pub async fn revoke_invitation(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path((id, invitation_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let (i, _) = core
        .organizations()
        .revoke_invitation(&id, &invitation_id)
        .await?;
    Ok(Json(invitation(&core, &i).await?))
}
