//! The `organization` and `organization_membership` objects.

use serde_json::{json, Value};
use tessera_domain::organizations::Roles;
use tessera_store::records::{MemberUser, Membership, Organization, OrganizationInvitation};

/// Public URL of an organization's logo (a generated one when none is stored).
pub fn image_url(frontend_url: &str, org: &Organization) -> String {
    format!(
        "{frontend_url}/v1/images/organizations/{}?v={}",
        org.id, org.image_version
    )
}

/// An organization as the Backend API renders it; `members_count` only when
/// it was asked for (or is known anyway).
pub fn organization(
    org: &Organization,
    roles: &Roles,
    members_count: Option<i64>,
    pending_invitations: i64,
    frontend_url: &str,
) -> Value {
    let mut out = json!({
        "object": "organization",
        "id": org.id.as_str(),
        "name": org.name,
        "slug": org.slug,
        "image_url": image_url(frontend_url, org),
        "logo_url": org.has_image.then(|| image_url(frontend_url, org)),
        "has_image": org.has_image,
        "max_allowed_memberships": org.max_allowed_memberships,
        "admin_delete_enabled": org.admin_delete_enabled,
        "public_metadata": org.public_metadata,
        "private_metadata": org.private_metadata,
        "pending_invitations_count": pending_invitations,
        "created_by": org.created_by.as_ref().map(|u| u.as_str()),
        "role_set_key": roles
            .set_or_initial(org.role_set_id.as_deref())
            .map(|s| s.key.as_str()),
        "created_at": org.created_at,
        "updated_at": org.updated_at,
    });
    if let Some(count) = members_count {
        out["members_count"] = json!(count);
    }
    out
}

/// What a membership shows of its user.
pub fn public_user_data(user: &MemberUser, frontend_url: &str) -> Value {
    let image = format!(
        "{frontend_url}/v1/images/users/{}?v={}",
        user.user_id, user.image_version
    );
    json!({
        "user_id": user.user_id.as_str(),
        "first_name": user.first_name,
        "last_name": user.last_name,
        "profile_image_url": image,
        "image_url": image,
        "has_image": user.has_image,
        "identifier": user.identifier,
        "username": user.username,
        "banned": user.banned,
    })
}

/// A membership with its organization and user, as the Backend API renders it.
pub fn membership(m: &Membership, roles: &Roles, frontend_url: &str) -> Value {
    let role = roles.get(&m.membership.role);
    json!({
        "object": "organization_membership",
        "id": m.membership.id.as_str(),
        "role": m.membership.role,
        "role_name": role.map(|r| r.name.as_str()),
        "permissions": roles.permissions(&m.membership.role),
        "public_metadata": m.membership.public_metadata,
        "private_metadata": m.membership.private_metadata,
        "organization": organization(&m.organization, roles, None, 0, frontend_url),
        "public_user_data": public_user_data(&m.user, frontend_url),
        "created_at": m.membership.created_at,
        "updated_at": m.membership.updated_at,
    })
}

/// An invitation as the Backend API renders it (`url`: where its link leads).
pub fn invitation(
    i: &OrganizationInvitation,
    roles: &Roles,
    inviter: Option<&MemberUser>,
    url: Option<&str>,
    now: i64,
    frontend_url: &str,
) -> Value {
    json!({
        "object": "organization_invitation",
        "id": i.id.as_str(),
        "email_address": i.email_address,
        "role": i.role,
        "role_name": roles.get(&i.role).map(|r| r.name.as_str()).unwrap_or(&i.role),
        "organization_id": i.organization_id.as_str(),
        "inviter_id": i.inviter_user_id.as_ref().map(|u| u.as_str()),
        "public_inviter_data": inviter.map(|u| public_user_data(u, frontend_url)),
        "status": i.status_at(now),
        "public_metadata": i.public_metadata,
        "private_metadata": i.private_metadata,
        "url": url,
        "expires_at": i.expires_at,
        "created_at": i.created_at,
        "updated_at": i.updated_at,
    })
}

/// What an invitation shows of its organization to the invitee.
pub fn public_organization_data(org: &Organization, frontend_url: &str) -> Value {
    json!({
        "id": org.id.as_str(),
        "name": org.name,
        "slug": org.slug,
        "image_url": image_url(frontend_url, org),
        "has_image": org.has_image,
    })
}
