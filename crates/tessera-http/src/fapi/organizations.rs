//! The Frontend API's organizations, as a signed-in member uses them (clerk-js
//! `createOrganization`, `Organization`, `OrganizationMembership`, and the
//! `/v1/me` lists behind `<OrganizationSwitcher/>` and `<OrganizationList/>`).
//! Every action on an organization goes through the domain's role policy.

use super::me::Me;
use super::transport::Form;
use super::wire;
use crate::bapi::user_actions::image_file;
use crate::error::{ApiError, ApiResult};
use crate::extract::QueryPairs;
use axum::extract::{Multipart, Path, State};
use axum::response::Response;
use serde_json::{json, Value};
use tessera_core::clock::now_ms;
use tessera_core::organizations::{
    MetadataChange, NewInvitation, OrganizationPatch, OrganizationView,
};
use tessera_core::render::roles::{self as render_roles, Api};
use tessera_core::{Core, CoreError};
use tessera_domain::organizations::Action;
use tessera_store::organizations::{InvitationFilter, MembershipFilter, MembershipOrder};
use tessera_store::records::{Membership, Organization, OrganizationInvitation};

/// The caller's membership of organization `id`, if their role allows `action`.
async fn allowed(core: &Core, me: &Me, id: &str, action: Action) -> ApiResult<Membership> {
    Ok(core
        .organizations()
        .authorize(id, &me.user_id, action)
        .await?)
}

fn org_body(core: &Core, view: &OrganizationView) -> Value {
    wire::organization(
        core,
        &view.organization,
        Some(view.members_count),
        view.pending_invitations,
    )
}

fn page(data: Vec<Value>, total: i64) -> Value {
    json!({ "data": data, "total_count": total })
}

/// `POST /v1/organizations`: the caller creates one and becomes its first member.
pub async fn create(State(core): State<Core>, me: Me, form: Form) -> ApiResult<Response> {
    let name = form.text("name").unwrap_or_default();
    let view = core
        .organizations()
        .create_for_user(&me.user_id, name, form.text("slug"))
        .await?;
    me.respond(&core, org_body(&core, &view)).await
}

/// `GET /v1/organizations/{id}`: an organization the caller is a member of.
pub async fn get(State(core): State<Core>, me: Me, Path(id): Path<String>) -> ApiResult<Response> {
    let member = core.organizations().membership_of(&id, &me.user_id).await?;
    let view = core
        .organizations()
        .get(member.organization.id.as_str())
        .await?;
    me.respond(&core, org_body(&core, &view)).await
}

/// `PATCH /v1/organizations/{id}`: name and slug.
pub async fn update(
    State(core): State<Core>,
    me: Me,
    Path(id): Path<String>,
    form: Form,
) -> ApiResult<Response> {
    let member = allowed(&core, &me, &id, Action::UpdateProfile).await?;
    let patch = OrganizationPatch {
        name: form.text("name"),
        slug: form.text("slug"),
        ..OrganizationPatch::default()
    };
    let orgs = core.organizations();
    let org_id = member.organization.id.as_str();
    let mut view = orgs.update(org_id, patch).await?;
    if let Some(public) = form.json_object("public_metadata")? {
        let change = MetadataChange {
            public_metadata: Some(public),
            private_metadata: None,
        };
        view = orgs.update_metadata(org_id, change, true).await?;
    }
    me.respond(&core, org_body(&core, &view)).await
}

/// `DELETE /v1/organizations/{id}`: only when admins may delete it.
pub async fn delete(
    State(core): State<Core>,
    me: Me,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let member = allowed(&core, &me, &id, Action::Delete).await?;
    if !member.organization.admin_delete_enabled {
        return Err(ApiError::from(CoreError::NotAllowed {
            code: tessera_domain::error_code::ErrorCode::AuthorizationInvalid,
            detail: "This organization cannot be deleted by its members.".to_owned(),
        }));
    }
    let org = core
        .organizations()
        .delete(member.organization.id.as_str())
        .await?;
    let body = json!({ "object": "organization", "id": org.id.as_str(), "slug": org.slug, "deleted": true });
    me.respond(&core, body).await
}

/// `PUT /v1/organizations/{id}/logo` (multipart `file`).
pub async fn set_logo(
    State(core): State<Core>,
    me: Me,
    Path(id): Path<String>,
    multipart: Multipart,
) -> ApiResult<Response> {
    let member = allowed(&core, &me, &id, Action::UpdateProfile).await?;
    let (content_type, bytes) = image_file(multipart).await?;
    let view = core
        .organizations()
        .set_logo(member.organization.id.as_str(), content_type, bytes)
        .await?;
    me.respond(&core, org_body(&core, &view)).await
}

/// `DELETE /v1/organizations/{id}/logo`.
pub async fn delete_logo(
    State(core): State<Core>,
    me: Me,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let member = allowed(&core, &me, &id, Action::UpdateProfile).await?;
    let view = core
        .organizations()
        .delete_logo(member.organization.id.as_str())
        .await?;
    me.respond(&core, org_body(&core, &view)).await
}

/// `GET /v1/organizations/{id}/memberships` (`query`, `role`, `limit`, `offset`).
pub async fn list_members(
    State(core): State<Core>,
    me: Me,
    Path(id): Path<String>,
    q: QueryPairs,
) -> ApiResult<Response> {
    let member = allowed(&core, &me, &id, Action::ReadMemberships).await?;
    let (limit, offset) = q.page()?;
    let filter = MembershipFilter {
        organization_id: Some(member.organization.id.clone()),
        roles: q.all("role"),
        query: q.first("query").filter(|s| !s.is_empty()),
        ..MembershipFilter::default()
    };
    let (rows, total) = core
        .organizations()
        .memberships(&filter, MembershipOrder::CreatedAt, false, limit, offset)
        .await?;
    let data = rows.iter().map(|m| wire::membership(&core, m)).collect();
    me.respond(&core, page(data, total)).await
}

/// `POST /v1/organizations/{id}/memberships` (`user_id`, `role`).
pub async fn add_member(
    State(core): State<Core>,
    me: Me,
    Path(id): Path<String>,
    form: Form,
) -> ApiResult<Response> {
    let member = allowed(&core, &me, &id, Action::ManageMemberships).await?;
    let user_id = form.required_text("user_id")?;
    let role = form.required_text("role")?;
    let m = core
        .organizations()
        .add_member(
            member.organization.id.as_str(),
            &user_id,
            &role,
            MetadataChange::default(),
        )
        .await?;
    me.respond(&core, wire::membership(&core, &m)).await
}

/// `PATCH /v1/organizations/{id}/memberships/{user_id}` (`role`).
pub async fn update_member(
    State(core): State<Core>,
    me: Me,
    Path((id, user_id)): Path<(String, String)>,
    form: Form,
) -> ApiResult<Response> {
    let member = allowed(&core, &me, &id, Action::ManageMemberships).await?;
    let role = form.required_text("role")?;
    let m = core
        .organizations()
        .set_role(member.organization.id.as_str(), &user_id, &role)
        .await?;
    me.respond(&core, wire::membership(&core, &m)).await
}

/// `DELETE /v1/organizations/{id}/memberships/{user_id}`.
pub async fn remove_member(
    State(core): State<Core>,
    me: Me,
    Path((id, user_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let member = allowed(&core, &me, &id, Action::ManageMemberships).await?;
    let m = core
        .organizations()
        .remove_member(member.organization.id.as_str(), &user_id)
        .await?;
    me.respond(&core, wire::membership(&core, &m)).await
}

/// `GET /v1/organizations/{id}/roles`: the roles a member can be given.
pub async fn list_roles(
    State(core): State<Core>,
    me: Me,
    Path(id): Path<String>,
    q: QueryPairs,
) -> ApiResult<Response> {
    let member = allowed(&core, &me, &id, Action::ReadMemberships).await?;
    let (limit, offset) = q.page()?;
    let roles = core.organizations().roles();
    let all = roles
        .set_or_initial(member.organization.role_set_id.as_deref())
        .map(|set| roles.roles_of(set))
        .unwrap_or_default();
    let data = all
        .iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(0))
        .map(|r| render_roles::role(r, &roles, Api::Frontend))
        .collect();
    let mut body = page(data, i64::try_from(all.len()).unwrap_or(i64::MAX));
    body["has_role_set_migration"] = json!(false);
    me.respond(&core, body).await
}

/// `GET /v1/me/organization_memberships` (`limit`, `offset`).
pub async fn my_memberships(
    State(core): State<Core>,
    me: Me,
    q: QueryPairs,
) -> ApiResult<Response> {
    let (limit, offset) = q.page()?;
    let filter = MembershipFilter {
        user_ids: vec![me.user_id.as_str().to_owned()],
        with_members_count: true,
        ..MembershipFilter::default()
    };
    let (rows, total) = core
        .organizations()
        .memberships(&filter, MembershipOrder::CreatedAt, false, limit, offset)
        .await?;
    let data = rows.iter().map(|m| wire::membership(&core, m)).collect();
    me.respond(&core, page(data, total)).await
}

/// `DELETE /v1/me/organization_memberships/{organization_id}`: leave it (the
/// last member who can manage members stays).
pub async fn leave(
    State(core): State<Core>,
    me: Me,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let m = core
        .organizations()
        .remove_member(&id, me.user_id.as_str())
        .await?;
    let body = json!({
        "object": "organization_membership",
        "id": m.membership.id.as_str(),
        "slug": m.organization.slug,
        "deleted": true,
    });
    me.respond(&core, body).await
}

// --- invitations --------------------------------------------------------------------

async fn invitations_json(core: &Core, list: &[&OrganizationInvitation]) -> ApiResult<Vec<Value>> {
    Ok(core.organizations().render_invitations(list, true).await?)
}

async fn invitation_json(core: &Core, i: &OrganizationInvitation) -> ApiResult<Value> {
    let mut out = invitations_json(core, &[i]).await?;
    Ok(out.pop().unwrap_or(Value::Null))
}

/// An invitation as its invitee sees it (`public_organization_data`).
fn user_invitation_json(core: &Core, i: &OrganizationInvitation, org: &Organization) -> Value {
    json!({
        "object": "organization_invitation",
        "id": i.id.as_str(),
        "email_address": i.email_address,
        "public_organization_data":
            tessera_core::render::organization::public_organization_data(org, &core.frontend_url),
        "public_metadata": i.public_metadata,
        "role": i.role,
        "status": i.status_at(now_ms()),
        "created_at": i.created_at,
        "updated_at": i.updated_at,
    })
}

fn statuses(q: &QueryPairs) -> Vec<String> {
    let all = q.all("status");
    if all.is_empty() {
        vec!["pending".to_owned()]
    } else {
        all
    }
}

/// `GET /v1/organizations/{id}/invitations` (`status`, `limit`, `offset`).
pub async fn list_invitations(
    State(core): State<Core>,
    me: Me,
    Path(id): Path<String>,
    q: QueryPairs,
) -> ApiResult<Response> {
    let member = allowed(&core, &me, &id, Action::ManageMemberships).await?;
    let (limit, offset) = q.page()?;
    let filter = InvitationFilter {
        organization_id: Some(member.organization.id.clone()),
        statuses: statuses(&q),
        now: now_ms(),
        ..InvitationFilter::default()
    };
    let (rows, total) = core
        .organizations()
        .invitations(&filter, false, true, limit, offset)
        .await?;
    let data = invitations_json(&core, &rows.iter().map(|(i, _)| i).collect::<Vec<_>>()).await?;
    me.respond(&core, page(data, total)).await
}

async fn invite(
    core: &Core,
    me: &Me,
    id: &str,
    emails: Vec<String>,
    role: String,
) -> ApiResult<Vec<OrganizationInvitation>> {
    let member = allowed(core, me, id, Action::ManageMemberships).await?;
    if emails.is_empty() {
        return Err(CoreError::missing("email_address").into());
    }
    let inputs = emails
        .into_iter()
        .map(|email_address| NewInvitation {
            email_address,
            role: role.clone(),
            inviter_user_id: Some(me.user_id.as_str().to_owned()),
            notify: true,
            ..NewInvitation::default()
        })
        .collect();
    let created = core
        .organizations()
        .invite(member.organization.id.as_str(), inputs)
        .await?;
    Ok(created.into_iter().map(|(i, _)| i).collect())
}

/// `POST /v1/organizations/{id}/invitations` (`email_address`, `role`).
pub async fn create_invitation(
    State(core): State<Core>,
    me: Me,
    Path(id): Path<String>,
    form: Form,
) -> ApiResult<Response> {
    let email = form.required_text("email_address")?;
    let role = form.required_text("role")?;
    let created = invite(&core, &me, &id, vec![email], role).await?;
    let body = match created.first() {
        Some(i) => invitation_json(&core, i).await?,
        None => Value::Null,
    };
    me.respond(&core, body).await
}

/// `POST /v1/organizations/{id}/invitations/bulk` (`email_address` repeated,
/// `role`): the invitations as a bare array.
pub async fn create_invitations(
    State(core): State<Core>,
    me: Me,
    Path(id): Path<String>,
    form: Form,
) -> ApiResult<Response> {
    let emails: Vec<String> = form
        .0
        .iter()
        .filter(|(k, v)| (k == "email_address" || k == "email_address[]") && !v.is_empty())
        .map(|(_, v)| v.clone())
        .collect();
    let role = form.required_text("role")?;
    let created = invite(&core, &me, &id, emails, role).await?;
    let body = Value::Array(invitations_json(&core, &created.iter().collect::<Vec<_>>()).await?);
    me.respond(&core, body).await
}

/// `POST /v1/organizations/{id}/invitations/{invitation_id}/revoke`.
pub async fn revoke_invitation(
    State(core): State<Core>,
    me: Me,
    Path((id, invitation_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let member = allowed(&core, &me, &id, Action::ManageMemberships).await?;
    let (i, _) = core
        .organizations()
        .revoke_invitation(member.organization.id.as_str(), &invitation_id)
        .await?;
    me.respond(&core, invitation_json(&core, &i).await?).await
}

/// `GET /v1/me/organization_invitations` (`status`, `limit`, `offset`): the
/// invitations to the caller's verified email addresses.
pub async fn my_invitations(
    State(core): State<Core>,
    me: Me,
    q: QueryPairs,
) -> ApiResult<Response> {
    let (limit, offset) = q.page()?;
    // Verified domains that enroll automatically invite the user first.
    core.organization_domains().offer_to(&me.user_id).await?;
    let (rows, total) = core
        .organizations()
        .invitations_for_user(&me.user_id, statuses(&q), limit, offset)
        .await?;
    let data = rows
        .iter()
        .map(|(i, org)| user_invitation_json(&core, i, org))
        .collect();
    me.respond(&core, page(data, total)).await
}

/// `POST /v1/me/organization_invitations/{invitation_id}/accept`: the caller
/// joins; the client that comes back shows the new membership.
pub async fn accept_invitation(
    State(core): State<Core>,
    me: Me,
    Path(invitation_id): Path<String>,
) -> ApiResult<Response> {
    let (i, org, _) = core
        .organizations()
        .accept_invitation(&invitation_id, &me.user_id)
        .await?;
    me.respond(&core, user_invitation_json(&core, &i, &org))
        .await
}
