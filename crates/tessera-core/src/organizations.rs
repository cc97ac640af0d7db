//! Organizations and memberships: creation (with the creator as its first
//! member), updates, metadata, logos, deletion, and the members with their
//! roles. Every write is one transaction with its webhook events; the roles'
//! rules (an organization keeps a member who can manage members) come from the
//! domain's policy.

use serde_json::{json, Map, Value};
use std::collections::HashMap;
use tessera_domain::error_code::ErrorCode;
use tessera_domain::ids::{
    OrganizationId, OrganizationInvitationId, OrganizationMembershipId, UserId,
};
use tessera_domain::organizations::{self as policy, Roles};
use tessera_store::organizations::{
    self as store, MembershipFilter, MembershipOrder, OrganizationFilter, OrganizationOrder,
};
use tessera_store::records::{
    Membership, Organization, OrganizationInvitation, OrganizationMembership,
};
use tessera_store::Conn;

use crate::clock::now_ms;
use crate::error::{CoreError, CoreResult};
use crate::Organizations;

/// Days an invitation is valid unless said otherwise.
pub const INVITATION_DAYS: i64 = 30;

/// Input of an invitation (BAPI `POST …/invitations`, clerk-js `inviteMembers`).
#[derive(Debug, Clone, Default)]
pub struct NewInvitation {
    /// Who is invited.
    pub email_address: String,
    /// The role they get.
    pub role: String,
    /// The member inviting (must be able to manage members).
    pub inviter_user_id: Option<String>,
    /// Moves to the membership.
    pub public_metadata: Option<Map<String, Value>>,
    /// Moves to the membership.
    pub private_metadata: Option<Map<String, Value>>,
    /// Where the emailed link leads (else the hosted sign-up or sign-in).
    pub redirect_url: Option<String>,
    /// Validity in days (30 by default).
    pub expires_in_days: Option<i64>,
    /// Send the email.
    pub notify: bool,
}

fn not_pending() -> CoreError {
    CoreError::NotAllowed {
        code: ErrorCode::OrganizationInvitationNotPending,
        detail: "This invitation is no longer pending.".to_owned(),
    }
}

/// An organization with its members count, ready to render.
#[derive(Debug, Clone)]
pub struct OrganizationView {
    /// The organization.
    pub organization: Organization,
    /// How many members it has.
    pub members_count: i64,
    /// How many invitations to it are pending.
    pub pending_invitations: i64,
}

/// Input of BAPI `POST /v1/organizations`.
#[derive(Debug, Clone, Default)]
pub struct NewOrganization {
    /// Display name.
    pub name: String,
    /// Slug; made from the name when absent.
    pub slug: Option<String>,
    /// The creating user, who becomes its first member with the creator role.
    pub created_by: Option<String>,
    /// Members allowed (0 = unlimited; absent = the instance's setting).
    pub max_allowed_memberships: Option<i64>,
    /// Public metadata.
    pub public_metadata: Option<Map<String, Value>>,
    /// Private metadata.
    pub private_metadata: Option<Map<String, Value>>,
    /// Backdated creation time (ms).
    pub created_at: Option<i64>,
    /// The role set (key or id); absent = the instance's initial set.
    pub role_set_key: Option<String>,
}

/// Changes of BAPI `PATCH /v1/organizations/{id}`; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct OrganizationPatch {
    /// Display name.
    pub name: Option<String>,
    /// Slug.
    pub slug: Option<String>,
    /// Members allowed (0 = unlimited).
    pub max_allowed_memberships: Option<i64>,
    /// Admins may delete it.
    pub admin_delete_enabled: Option<bool>,
    /// Backdated creation time (ms).
    pub created_at: Option<i64>,
    /// Another role set (key or id): every member's role must be in it.
    pub role_set_key: Option<String>,
}

/// Public and private metadata to merge or replace.
#[derive(Debug, Clone, Default)]
pub struct MetadataChange {
    /// Public metadata.
    pub public_metadata: Option<Map<String, Value>>,
    /// Private metadata.
    pub private_metadata: Option<Map<String, Value>>,
}

fn apply_metadata(
    public: &mut Map<String, Value>,
    private: &mut Map<String, Value>,
    change: MetadataChange,
    replace: bool,
) {
    for (target, patch) in [
        (public, change.public_metadata),
        (private, change.private_metadata),
    ] {
        if let Some(patch) = patch {
            tessera_domain::metadata::apply(target, patch, replace);
        }
    }
}

fn check_name(name: &str) -> CoreResult<()> {
    if name.trim().is_empty() {
        return Err(CoreError::missing("name"));
    }
    if !policy::valid_name(name) {
        return Err(CoreError::value(
            "name",
            "must be at most 256 characters and contain no HTML or URLs",
        ));
    }
    Ok(())
}

fn check_slug(slug: &str) -> CoreResult<()> {
    if !policy::valid_slug(slug) {
        return Err(CoreError::format(
            "slug",
            "may contain only lowercase letters, digits and hyphens, and must not start or end \
             with a hyphen",
        ));
    }
    Ok(())
}

fn check_max(max: i64) -> CoreResult<()> {
    if max < 0 {
        return Err(CoreError::value(
            "max_allowed_memberships",
            "must be 0 (unlimited) or more",
        ));
    }
    Ok(())
}

/// A slug no other organization has: the wanted one, else it with a suffix.
async fn free_slug(conn: &mut Conn, base: &str) -> CoreResult<String> {
    if !store::slug_taken(conn, base, None).await? {
        return Ok(base.to_owned());
    }
    for _ in 0..8 {
        let candidate = format!("{base}-{:06x}", rand::random::<u32>() & 0xff_ffff);
        if !store::slug_taken(conn, &candidate, None).await? {
            return Ok(candidate);
        }
    }
    Err(CoreError::IdentifierExists {
        param: "slug".to_owned(),
    })
}

/// The organization's rendering as webhook data: members count included.
fn event_data(core: &Organizations<'_>, view: &OrganizationView) -> Value {
    crate::render::organization::organization(
        &view.organization,
        &core.roles(),
        Some(view.members_count),
        view.pending_invitations,
        &core.frontend_url,
    )
}

impl Organizations<'_> {
    /// The instance's roles.
    pub fn roles(&self) -> std::sync::Arc<Roles> {
        self.core.roles()
    }

    async fn resolve(&self, conn: &mut Conn, id_or_slug: &str) -> CoreResult<Organization> {
        if let Some(id) = OrganizationId::parse(id_or_slug) {
            return Ok(store::get(conn, &id).await?);
        }
        store::find_by_slug(conn, id_or_slug)
            .await?
            .ok_or(CoreError::NotFound)
    }

    async fn view(&self, conn: &mut Conn, org: Organization) -> CoreResult<OrganizationView> {
        let members_count = store::members_count(conn, &org.id).await?;
        let pending = store::InvitationFilter {
            organization_id: Some(org.id.clone()),
            statuses: vec!["pending".to_owned()],
            now: now_ms(),
            ..store::InvitationFilter::default()
        };
        let pending_invitations = store::count_invitations(conn, &pending).await?;
        Ok(OrganizationView {
            organization: org,
            members_count,
            pending_invitations,
        })
    }

    /// Loads an organization by id or slug.
    pub async fn get(&self, id_or_slug: &str) -> CoreResult<OrganizationView> {
        let mut conn = self.store.read().await?;
        let org = self.resolve(&mut conn, id_or_slug).await?;
        self.view(&mut conn, org).await
    }

    /// Lists organizations with their members counts.
    pub async fn list(
        &self,
        filter: &OrganizationFilter,
        order: OrganizationOrder,
        descending: bool,
        limit: i64,
        offset: i64,
    ) -> CoreResult<(Vec<OrganizationView>, i64)> {
        let mut conn = self.store.read().await?;
        let rows = store::list(
            &mut conn,
            filter,
            order,
            descending,
            limit,
            offset,
            now_ms(),
        )
        .await?;
        let total = store::count(&mut conn, filter).await?;
        let views = rows
            .into_iter()
            .map(
                |(organization, members_count, pending_invitations)| OrganizationView {
                    organization,
                    members_count,
                    pending_invitations,
                },
            )
            .collect();
        Ok((views, total))
    }

    /// Creates an organization; its creator, if given, joins it with the
    /// instance's creator role.
    pub async fn create(&self, input: NewOrganization) -> CoreResult<OrganizationView> {
        let now = now_ms();
        check_name(&input.name)?;
        if let Some(slug) = &input.slug {
            check_slug(slug)?;
        }
        let settings = self.instance().settings.organizations.clone();
        let max = input
            .max_allowed_memberships
            .unwrap_or(settings.max_allowed_memberships);
        check_max(max)?;
        let roles = self.roles();
        let set = match &input.role_set_key {
            Some(key) => roles.find_set(key).ok_or_else(|| {
                CoreError::value(
                    "role_set_key",
                    format!("{key} is not a role set of this instance"),
                )
            })?,
            None => roles
                .initial_set()
                .ok_or_else(|| CoreError::Internal("the instance has no role set".to_owned()))?,
        };
        let creator = match &input.created_by {
            Some(raw) => Some(UserId::parse(raw).ok_or_else(|| {
                CoreError::value("created_by", "must be the id of an existing user")
            })?),
            None => None,
        };
        let mut tx = self.begin().await?;
        if let Some(user) = &creator {
            if tessera_store::users::find(&mut tx, user).await?.is_none() {
                return Err(CoreError::value(
                    "created_by",
                    "must be the id of an existing user",
                ));
            }
        }
        let slug = match input.slug {
            Some(slug) => {
                if store::slug_taken(&mut tx, &slug, None).await? {
                    return Err(CoreError::IdentifierExists {
                        param: "slug".to_owned(),
                    });
                }
                slug
            }
            None => free_slug(&mut tx, &policy::slugify(&input.name)).await?,
        };
        let created_at = input.created_at.unwrap_or(now);
        let org = Organization {
            id: OrganizationId::generate(now),
            name: input.name,
            slug,
            has_image: false,
            image_version: 0,
            max_allowed_memberships: max,
            admin_delete_enabled: settings.admin_delete_enabled,
            public_metadata: input.public_metadata.unwrap_or_default(),
            private_metadata: input.private_metadata.unwrap_or_default(),
            created_by: creator.clone(),
            role_set_id: Some(set.id.clone()),
            created_at,
            updated_at: now,
        };
        store::insert(&mut tx, &org).await?;
        let mut membership = None;
        if let Some(user) = creator {
            let m = OrganizationMembership {
                id: OrganizationMembershipId::generate(now),
                organization_id: org.id.clone(),
                user_id: user.clone(),
                role: set.creator_role.clone(),
                public_metadata: Map::new(),
                private_metadata: Map::new(),
                created_at: now,
                updated_at: now,
            };
            store::insert_membership(&mut tx, &m).await?;
            membership = store::find_membership(&mut tx, &org.id, &user).await?;
        }
        let view = self.view(&mut tx, org).await?;
        self.emit(
            &mut tx,
            "organization.created",
            event_data(self, &view),
            None,
        )
        .await?;
        if let Some(m) = &membership {
            self.emit_membership(&mut tx, "organizationMembership.created", m)
                .await?;
        }
        tx.commit().await?;
        Ok(view)
    }

    /// Saves a changed organization, announces it and commits.
    async fn save_changed(
        &self,
        mut tx: crate::work::Work,
        mut org: Organization,
    ) -> CoreResult<OrganizationView> {
        org.updated_at = now_ms();
        store::update(&mut tx, &org).await?;
        let view = self.view(&mut tx, org).await?;
        self.emit(
            &mut tx,
            "organization.updated",
            event_data(self, &view),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(view)
    }

    async fn modify(
        &self,
        id_or_slug: &str,
        change: impl FnOnce(&mut Organization) -> CoreResult<()>,
    ) -> CoreResult<OrganizationView> {
        let mut tx = self.begin().await?;
        let mut org = self.resolve(&mut tx, id_or_slug).await?;
        change(&mut org)?;
        self.save_changed(tx, org).await
    }

    /// Updates an organization's fields.
    pub async fn update(
        &self,
        id_or_slug: &str,
        patch: OrganizationPatch,
    ) -> CoreResult<OrganizationView> {
        if let Some(name) = &patch.name {
            check_name(name)?;
        }
        if let Some(slug) = &patch.slug {
            check_slug(slug)?;
        }
        if let Some(max) = patch.max_allowed_memberships {
            check_max(max)?;
        }
        let mut tx = self.begin().await?;
        let mut org = self.resolve(&mut tx, id_or_slug).await?;
        if let Some(slug) = patch.slug {
            if store::slug_taken(&mut tx, &slug, Some(&org.id)).await? {
                return Err(CoreError::IdentifierExists {
                    param: "slug".to_owned(),
                });
            }
            org.slug = slug;
        }
        if let Some(name) = patch.name {
            org.name = name;
        }
        if let Some(max) = patch.max_allowed_memberships {
            org.max_allowed_memberships = max;
        }
        if let Some(enabled) = patch.admin_delete_enabled {
            org.admin_delete_enabled = enabled;
        }
        if let Some(at) = patch.created_at {
            org.created_at = at;
        }
        if let Some(key) = &patch.role_set_key {
            let roles = self.roles();
            let set = roles.find_set(key).ok_or_else(|| {
                CoreError::value(
                    "role_set_key",
                    format!("{key} is not a role set of this instance"),
                )
            })?;
            for role in store::member_roles(&mut tx, &org.id).await? {
                if !set.roles.contains(&role) {
                    return Err(CoreError::value(
                        "role_set_key",
                        format!("members have {role}, which {} lacks", set.key),
                    ));
                }
            }
            org.role_set_id = Some(set.id.clone());
        }
        self.save_changed(tx, org).await
    }

    /// Merges (`replace = false`) or replaces the metadata documents.
    pub async fn update_metadata(
        &self,
        id_or_slug: &str,
        change: MetadataChange,
        replace: bool,
    ) -> CoreResult<OrganizationView> {
        self.modify(id_or_slug, |org| {
            apply_metadata(
                &mut org.public_metadata,
                &mut org.private_metadata,
                change,
                replace,
            );
            Ok(())
        })
        .await
    }

    /// Deletes an organization with its memberships and logo.
    pub async fn delete(&self, id_or_slug: &str) -> CoreResult<Organization> {
        let mut tx = self.begin().await?;
        let org = self.resolve(&mut tx, id_or_slug).await?;
        store::delete(&mut tx, &org.id).await?;
        self.emit(
            &mut tx,
            "organization.deleted",
            json!({ "object": "organization", "id": org.id.as_str(), "slug": org.slug, "deleted": true }),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(org)
    }

    /// Stores a logo (already checked to be an image).
    pub async fn set_logo(
        &self,
        id_or_slug: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> CoreResult<OrganizationView> {
        let now = now_ms();
        let mut tx = self.begin().await?;
        let mut org = self.resolve(&mut tx, id_or_slug).await?;
        store::set_logo(&mut tx, &org.id, content_type, bytes, now).await?;
        org.has_image = true;
        org.image_version += 1;
        self.save_changed(tx, org).await
    }

    /// Removes the logo.
    pub async fn delete_logo(&self, id_or_slug: &str) -> CoreResult<OrganizationView> {
        let mut tx = self.begin().await?;
        let mut org = self.resolve(&mut tx, id_or_slug).await?;
        store::delete_logo(&mut tx, &org.id).await?;
        org.has_image = false;
        org.image_version += 1;
        self.save_changed(tx, org).await
    }

    /// An organization and its stored logo, as (content type, bytes).
    pub async fn logo(&self, id: &str) -> CoreResult<(Organization, Option<(String, Vec<u8>)>)> {
        let id = OrganizationId::parse(id).ok_or(CoreError::NotFound)?;
        let mut conn = self.store.read().await?;
        let org = store::get(&mut conn, &id).await?;
        let logo = store::get_logo(&mut conn, &id).await?;
        Ok((org, logo))
    }

    // --- as a member (the Frontend API) ---------------------------------------------

    /// Every membership of a user with its organization's members count,
    /// oldest first (the user object's `organization_memberships`).
    pub async fn memberships_of_user(&self, user: &UserId) -> CoreResult<Vec<Membership>> {
        let filter = MembershipFilter {
            user_ids: vec![user.as_str().to_owned()],
            with_members_count: true,
            ..MembershipFilter::default()
        };
        let mut conn = self.store.read().await?;
        Ok(store::list_memberships(
            &mut conn,
            &filter,
            MembershipOrder::CreatedAt,
            false,
            500,
            0,
        )
        .await?)
    }

    /// The user's membership of an organization (any role); an organization
    /// they are not a member of does not exist for them.
    pub async fn membership_of(&self, id_or_slug: &str, user: &UserId) -> CoreResult<Membership> {
        let mut conn = self.store.read().await?;
        self.member(&mut conn, id_or_slug, user.as_str()).await
    }

    /// The user's membership of an organization, if the policy lets them take
    /// `action` there; an organization they are not a member of does not exist
    /// for them.
    pub async fn authorize(
        &self,
        id_or_slug: &str,
        user: &UserId,
        action: policy::Action,
    ) -> CoreResult<Membership> {
        let mut conn = self.store.read().await?;
        let member = self.member(&mut conn, id_or_slug, user.as_str()).await?;
        if !self.roles().allows(&member.membership.role, action) {
            return Err(CoreError::NotAllowed {
                code: ErrorCode::AuthorizationInvalid,
                detail: "Your role in this organization does not allow this.".to_owned(),
            });
        }
        Ok(member)
    }

    /// Creates an organization for a signed-in user (the Frontend API), who
    /// becomes its first member, when the instance and the user allow it.
    pub async fn create_for_user(
        &self,
        user: &UserId,
        name: String,
        slug: Option<String>,
    ) -> CoreResult<OrganizationView> {
        let settings = self.instance().settings.clone();
        if !settings.organizations.enabled {
            return Err(CoreError::NotAllowed {
                code: ErrorCode::OrganizationNotEnabledInInstance,
                detail: "Organizations are not enabled on this instance.".to_owned(),
            });
        }
        let mut conn = self.store.read().await?;
        let account = tessera_store::users::get(&mut conn, user).await?;
        if !account.create_organization_enabled || !settings.user.create_organization_enabled {
            return Err(CoreError::NotAllowed {
                code: ErrorCode::AuthorizationInvalid,
                detail: "You may not create organizations.".to_owned(),
            });
        }
        let limit = account.create_organizations_limit;
        if let Some(limit) = limit.filter(|l| *l > 0) {
            let created = store::count(
                &mut conn,
                &OrganizationFilter {
                    created_by: Some(user.as_str().to_owned()),
                    ..OrganizationFilter::default()
                },
            )
            .await?;
            if created >= limit {
                return Err(CoreError::NotAllowed {
                    code: ErrorCode::OrganizationQuotaExceeded,
                    detail: format!("You may create at most {limit} organizations."),
                });
            }
        }
        drop(conn);
        self.create(NewOrganization {
            name,
            slug,
            created_by: Some(user.as_str().to_owned()),
            ..NewOrganization::default()
        })
        .await
    }

    // --- invitations ----------------------------------------------------------------

    /// Invites people to an organization, in one transaction; each gets an
    /// email with a link carrying a single-use ticket (stored hashed).
    pub async fn invite(
        &self,
        id_or_slug: &str,
        inputs: Vec<NewInvitation>,
    ) -> CoreResult<Vec<(OrganizationInvitation, Organization)>> {
        let now = now_ms();
        for input in &inputs {
            self.check_role(&input.role)?;
        }
        let mut tx = self.begin().await?;
        let org = self.resolve(&mut tx, id_or_slug).await?;
        for input in &inputs {
            self.check_role_in(&org, &input.role)?;
        }
        let members = store::members_count(&mut tx, &org.id).await?;
        let pending_filter = store::InvitationFilter {
            organization_id: Some(org.id.clone()),
            statuses: vec!["pending".to_owned()],
            now,
            ..store::InvitationFilter::default()
        };
        let pending = store::count_invitations(&mut tx, &pending_filter).await?;
        let wanted = i64::try_from(inputs.len()).unwrap_or(i64::MAX);
        if org.max_allowed_memberships > 0
            && members + pending + wanted > org.max_allowed_memberships
        {
            return Err(CoreError::NotAllowed {
                code: ErrorCode::OrganizationMembershipQuotaExceeded,
                detail: format!(
                    "This organization allows {} members, invitations included.",
                    org.max_allowed_memberships
                ),
            });
        }
        let mut created = Vec::with_capacity(inputs.len());
        let mut mails = Vec::with_capacity(inputs.len());
        for input in inputs {
            let email = tessera_domain::identifiers::normalize_email(&input.email_address)
                .map_err(|_| CoreError::format("email_address", "must be a valid email address"))?;
            let inviter = match &input.inviter_user_id {
                Some(raw) => {
                    let user = UserId::parse(raw).ok_or_else(|| {
                        CoreError::value("inviter_user_id", "must be a member of the organization")
                    })?;
                    let member = store::find_membership(&mut tx, &org.id, &user).await?;
                    if !member.is_some_and(|m| self.roles().manages_members(&m.membership.role)) {
                        return Err(CoreError::value(
                            "inviter_user_id",
                            "must be a member of the organization who can manage members",
                        ));
                    }
                    Some(user)
                }
                None => None,
            };
            let holder = tessera_store::identifications::find(
                &mut tx,
                tessera_domain::kinds::IdentificationKind::EmailAddress,
                &email,
            )
            .await?;
            if let Some(holder) = &holder {
                if store::find_membership(&mut tx, &org.id, &holder.user_id)
                    .await?
                    .is_some()
                {
                    return Err(CoreError::NotAllowed {
                        code: ErrorCode::AlreadyAMemberInOrganization,
                        detail: format!("{email} is already a member of this organization."),
                    });
                }
            }
            let duplicate = store::InvitationFilter {
                email_addresses: vec![email.clone()],
                ..pending_filter.clone()
            };
            if store::count_invitations(&mut tx, &duplicate).await? > 0 {
                return Err(CoreError::IdentifierExists {
                    param: "email_address".to_owned(),
                });
            }
            let days = input.expires_in_days.unwrap_or(INVITATION_DAYS);
            if !(1..=365).contains(&days) {
                return Err(CoreError::value(
                    "expires_in_days",
                    "must be between 1 and 365",
                ));
            }
            let ticket = crate::sessions::clients::new_token();
            let invitation = OrganizationInvitation {
                id: OrganizationInvitationId::generate(now),
                organization_id: org.id.clone(),
                email_address: email.clone(),
                role: input.role,
                status: "pending".to_owned(),
                inviter_user_id: inviter,
                public_metadata: input.public_metadata.unwrap_or_default(),
                private_metadata: input.private_metadata.unwrap_or_default(),
                redirect_url: input.redirect_url,
                ticket_hash: crate::keys::hash_secret(&ticket),
                expires_at: now + days * 24 * 60 * 60 * 1000,
                created_at: now,
                updated_at: now,
            };
            store::insert_invitation(&mut tx, &invitation).await?;
            self.emit_invitation(&mut tx, "organizationInvitation.created", &invitation, now)
                .await?;
            if input.notify {
                let link = self.invitation_link(&invitation, &ticket, holder.is_some());
                mails.push(crate::mailer::invitation_email(
                    &email,
                    &self.app_name(),
                    &org.name,
                    &link,
                ));
            }
            created.push((invitation, org.clone()));
        }
        tx.commit().await?;
        for mail in mails {
            self.deliver_as(mail, "organization_invitation").await;
        }
        Ok(created)
    }

    /// The emailed link: the invitation's redirect URL, else the hosted
    /// sign-up (or sign-in, for an address that has an account), with the
    /// ticket clerk-js reads (`__clerk_ticket`, `__clerk_status`).
    fn invitation_link(
        &self,
        i: &OrganizationInvitation,
        ticket: &str,
        has_account: bool,
    ) -> String {
        let (page, status) = if has_account {
            ("sign-in", "sign_in")
        } else {
            ("sign-up", "sign_up")
        };
        let base = i
            .redirect_url
            .clone()
            .unwrap_or_else(|| format!("{}/{page}", self.frontend_url.trim_end_matches('/')));
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}__clerk_ticket={ticket}&__clerk_status={status}")
    }

    /// Lists invitations.
    pub async fn invitations(
        &self,
        filter: &store::InvitationFilter,
        by_email: bool,
        descending: bool,
        limit: i64,
        offset: i64,
    ) -> CoreResult<(Vec<(OrganizationInvitation, Organization)>, i64)> {
        let mut conn = self.store.read().await?;
        let rows =
            store::list_invitations(&mut conn, filter, by_email, descending, limit, offset).await?;
        let total = store::count_invitations(&mut conn, filter).await?;
        Ok((rows, total))
    }

    /// One invitation of an organization.
    pub async fn invitation(
        &self,
        id_or_slug: &str,
        invitation_id: &str,
    ) -> CoreResult<(OrganizationInvitation, Organization)> {
        let mut conn = self.store.read().await?;
        let org = self.resolve(&mut conn, id_or_slug).await?;
        let id = OrganizationInvitationId::parse(invitation_id).ok_or(CoreError::NotFound)?;
        let found = store::get_invitation(&mut conn, &id).await?;
        if found.0.organization_id != org.id {
            return Err(CoreError::NotFound);
        }
        Ok(found)
    }

    /// Revokes a pending invitation.
    pub async fn revoke_invitation(
        &self,
        id_or_slug: &str,
        invitation_id: &str,
    ) -> CoreResult<(OrganizationInvitation, Organization)> {
        let now = now_ms();
        let (mut invitation, org) = self.invitation(id_or_slug, invitation_id).await?;
        if invitation.status_at(now) != "pending" {
            return Err(not_pending());
        }
        let mut tx = self.begin().await?;
        store::update_invitation_status(&mut tx, &invitation.id, "revoked", now).await?;
        invitation.status = "revoked".to_owned();
        invitation.updated_at = now;
        self.emit_invitation(&mut tx, "organizationInvitation.revoked", &invitation, now)
            .await?;
        tx.commit().await?;
        Ok((invitation, org))
    }

    /// The pending (or other) invitations addressed to a user's verified
    /// email addresses.
    pub async fn invitations_for_user(
        &self,
        user: &UserId,
        statuses: Vec<String>,
        limit: i64,
        offset: i64,
    ) -> CoreResult<(Vec<(OrganizationInvitation, Organization)>, i64)> {
        let mut conn = self.store.read().await?;
        let emails: Vec<String> = tessera_store::identifications::list_for_user(&mut conn, user)
            .await?
            .into_iter()
            .filter(|i| {
                i.kind == tessera_domain::kinds::IdentificationKind::EmailAddress
                    && i.verification_status == tessera_domain::kinds::VerificationStatus::Verified
            })
            .map(|i| i.identifier)
            .collect();
        if emails.is_empty() {
            return Ok((Vec::new(), 0));
        }
        let filter = store::InvitationFilter {
            email_addresses: emails,
            statuses,
            now: now_ms(),
            ..store::InvitationFilter::default()
        };
        let rows = store::list_invitations(&mut conn, &filter, false, true, limit, offset).await?;
        let total = store::count_invitations(&mut conn, &filter).await?;
        Ok((rows, total))
    }

    /// Accepts an invitation addressed to one of the user's verified email
    /// addresses: the user joins with its role and metadata.
    pub async fn accept_invitation(
        &self,
        invitation_id: &str,
        user: &UserId,
    ) -> CoreResult<(OrganizationInvitation, Organization, Membership)> {
        let id = OrganizationInvitationId::parse(invitation_id).ok_or(CoreError::NotFound)?;
        let (mine, _) = self.invitations_for_user(user, Vec::new(), 500, 0).await?;
        if !mine.iter().any(|(i, _)| i.id == id) {
            return Err(CoreError::NotFound);
        }
        self.join_by_invitation(&id, user).await
    }

    async fn join_by_invitation(
        &self,
        id: &OrganizationInvitationId,
        user: &UserId,
    ) -> CoreResult<(OrganizationInvitation, Organization, Membership)> {
        let mut tx = self.begin().await?;
        let joined = self.join_in(&mut tx, id, user, now_ms()).await?;
        tx.commit().await?;
        Ok(joined)
    }

    /// In the caller's transaction: the user joins the organization of a
    /// pending invitation with its role and metadata; the invitation is
    /// accepted.
    pub(crate) async fn join_in(
        &self,
        conn: &mut Conn,
        id: &OrganizationInvitationId,
        user: &UserId,
        now: i64,
    ) -> CoreResult<(OrganizationInvitation, Organization, Membership)> {
        let (mut invitation, org) = store::get_invitation(conn, id).await?;
        if invitation.status_at(now) != "pending" {
            return Err(not_pending());
        }
        let mut m = Self::new_membership(&org, user, &invitation.role, now);
        m.public_metadata.clone_from(&invitation.public_metadata);
        m.private_metadata.clone_from(&invitation.private_metadata);
        let membership = self.join(conn, &org, &m).await?;
        store::update_invitation_status(conn, &invitation.id, "accepted", now).await?;
        invitation.status = "accepted".to_owned();
        invitation.updated_at = now;
        self.emit_invitation(conn, "organizationInvitation.accepted", &invitation, now)
            .await?;
        Ok((invitation, org, membership))
    }

    /// In the caller's transaction: a new membership of `org` (its user
    /// not a member yet), within the organization's quota, with its event.
    pub(crate) async fn join(
        &self,
        conn: &mut Conn,
        org: &Organization,
        m: &OrganizationMembership,
    ) -> CoreResult<Membership> {
        if store::find_membership(conn, &org.id, &m.user_id)
            .await?
            .is_some()
        {
            return Err(CoreError::NotAllowed {
                code: ErrorCode::AlreadyAMemberInOrganization,
                detail: "The user is already a member of this organization.".to_owned(),
            });
        }
        let count = store::members_count(conn, &org.id).await?;
        if org.max_allowed_memberships > 0 && count >= org.max_allowed_memberships {
            return Err(CoreError::NotAllowed {
                code: ErrorCode::OrganizationMembershipQuotaExceeded,
                detail: format!(
                    "This organization allows {} members.",
                    org.max_allowed_memberships
                ),
            });
        }
        store::insert_membership(conn, m).await?;
        let membership = store::find_membership(conn, &org.id, &m.user_id)
            .await?
            .ok_or(CoreError::NotFound)?;
        self.emit_membership(conn, "organizationMembership.created", &membership)
            .await?;
        Ok(membership)
    }

    /// A membership of `user` in `org` with `role`, no metadata, created now.
    pub(crate) fn new_membership(
        org: &Organization,
        user: &UserId,
        role: &str,
        now: i64,
    ) -> OrganizationMembership {
        OrganizationMembership {
            id: OrganizationMembershipId::generate(now),
            organization_id: org.id.clone(),
            user_id: user.clone(),
            role: role.to_owned(),
            public_metadata: Map::new(),
            private_metadata: Map::new(),
            created_at: now,
            updated_at: now,
        }
    }

    /// The pending invitation an emailed ticket belongs to.
    pub async fn invitation_by_ticket(
        &self,
        ticket: &str,
    ) -> CoreResult<(OrganizationInvitation, Organization)> {
        let mut conn = self.store.read().await?;
        let found =
            store::find_invitation_by_ticket(&mut conn, &crate::keys::hash_secret(ticket)).await?;
        match found {
            Some((i, org)) if i.status_at(now_ms()) == "pending" => Ok((i, org)),
            _ => Err(CoreError::NotAllowed {
                code: ErrorCode::TicketInvalid,
                detail: "This invitation link is not valid any more.".to_owned(),
            }),
        }
    }

    pub(crate) async fn emit_invitation(
        &self,
        conn: &mut Conn,
        event_type: &str,
        i: &OrganizationInvitation,
        now: i64,
    ) -> CoreResult<()> {
        let inviters = inviters(conn, &[i]).await?;
        let data = self.render_invitation(i, &inviters, false, now);
        self.emit(conn, event_type, data, None).await
    }

    /// Renders invitations with their inviters' public data
    /// (`public_inviter_data`); `public` leaves out what only the Backend API
    /// shows (private metadata, the link).
    pub async fn render_invitations(
        &self,
        list: &[&OrganizationInvitation],
        public: bool,
    ) -> CoreResult<Vec<Value>> {
        let mut conn = self.store.read().await?;
        let inviters = inviters(&mut conn, list).await?;
        let now = now_ms();
        Ok(list
            .iter()
            .map(|i| self.render_invitation(i, &inviters, public, now))
            .collect())
    }

    fn render_invitation(
        &self,
        i: &OrganizationInvitation,
        inviters: &HashMap<String, tessera_store::records::MemberUser>,
        public: bool,
        now: i64,
    ) -> Value {
        let inviter = i
            .inviter_user_id
            .as_ref()
            .and_then(|u| inviters.get(u.as_str()));
        let url = if public {
            None
        } else {
            i.redirect_url.as_deref()
        };
        let mut out = crate::render::organization::invitation(
            i,
            &self.roles(),
            inviter,
            url,
            now,
            &self.frontend_url,
        );
        if public {
            if let Some(map) = out.as_object_mut() {
                map.remove("private_metadata");
            }
        }
        out
    }

    // --- memberships ----------------------------------------------------------------

    /// Lists memberships (of one organization, of one user, or all).
    pub async fn memberships(
        &self,
        filter: &MembershipFilter,
        order: MembershipOrder,
        descending: bool,
        limit: i64,
        offset: i64,
    ) -> CoreResult<(Vec<Membership>, i64)> {
        let mut conn = self.store.read().await?;
        let rows =
            store::list_memberships(&mut conn, filter, order, descending, limit, offset).await?;
        let total = store::count_memberships(&mut conn, filter).await?;
        Ok((rows, total))
    }

    /// The organization's id for a list of its memberships (404 when it does not exist).
    pub async fn id_of(&self, id_or_slug: &str) -> CoreResult<OrganizationId> {
        let mut conn = self.store.read().await?;
        Ok(self.resolve(&mut conn, id_or_slug).await?.id)
    }

    fn check_role(&self, role: &str) -> CoreResult<()> {
        if role.is_empty() {
            return Err(CoreError::missing("role"));
        }
        if self.roles().get(role).is_none() {
            return Err(CoreError::value(
                "role",
                format!("{role} is not a role of this instance"),
            ));
        }
        Ok(())
    }

    /// Refuses a role the organization's role set does not have.
    fn check_role_in(&self, org: &Organization, role: &str) -> CoreResult<()> {
        let roles = self.roles();
        let allowed = roles
            .set_or_initial(org.role_set_id.as_deref())
            .is_some_and(|set| set.roles.iter().any(|r| r == role));
        if allowed {
            Ok(())
        } else {
            Err(CoreError::value(
                "role",
                format!("{role} is not a role of this organization"),
            ))
        }
    }

    /// Adds a user to an organization with a role.
    pub async fn add_member(
        &self,
        id_or_slug: &str,
        user_id: &str,
        role: &str,
        metadata: MetadataChange,
    ) -> CoreResult<Membership> {
        self.check_role(role)?;
        let user = UserId::parse(user_id)
            .ok_or_else(|| CoreError::value("user_id", "must be the id of an existing user"))?;
        let now = now_ms();
        let mut tx = self.begin().await?;
        let org = self.resolve(&mut tx, id_or_slug).await?;
        self.check_role_in(&org, role)?;
        if tessera_store::users::find(&mut tx, &user).await?.is_none() {
            return Err(CoreError::value(
                "user_id",
                "must be the id of an existing user",
            ));
        }
        let mut m = Self::new_membership(&org, &user, role, now);
        apply_metadata(
            &mut m.public_metadata,
            &mut m.private_metadata,
            metadata,
            true,
        );
        let membership = self.join(&mut tx, &org, &m).await?;
        tx.commit().await?;
        Ok(membership)
    }

    /// Refuses a change that leaves `org` without a member who can manage
    /// members: `leaving` is the membership that loses that power.
    async fn keep_a_manager(
        &self,
        conn: &mut Conn,
        org: &OrganizationId,
        leaving: &OrganizationMembership,
    ) -> CoreResult<()> {
        let roles = self.roles();
        if !roles.manages_members(&leaving.role) {
            return Ok(());
        }
        let managing: Vec<String> = roles
            .all()
            .iter()
            .filter(|r| roles.manages_members(&r.key))
            .map(|r| r.key.clone())
            .collect();
        if store::count_with_roles(conn, org, &managing).await? <= 1 {
            return Err(CoreError::NotAllowed {
                code: ErrorCode::OrganizationMinimumPermissionsNeeded,
                detail: "An organization needs at least one member who can manage its members."
                    .to_owned(),
            });
        }
        Ok(())
    }

    async fn member(
        &self,
        conn: &mut Conn,
        id_or_slug: &str,
        user_id: &str,
    ) -> CoreResult<Membership> {
        let org = self.resolve(conn, id_or_slug).await?;
        let user = UserId::parse(user_id).ok_or(CoreError::NotFound)?;
        store::find_membership(conn, &org.id, &user)
            .await?
            .ok_or(CoreError::NotFound)
    }

    /// Changes a member's role; the last member who can manage members keeps
    /// that power.
    pub async fn set_role(
        &self,
        id_or_slug: &str,
        user_id: &str,
        role: &str,
    ) -> CoreResult<Membership> {
        self.check_role(role)?;
        let mut tx = self.begin().await?;
        let mut member = self.member(&mut tx, id_or_slug, user_id).await?;
        self.check_role_in(&member.organization, role)?;
        let roles = self.roles();
        if !roles.manages_members(role) {
            self.keep_a_manager(&mut tx, &member.organization.id, &member.membership)
                .await?;
        }
        member.membership.role = role.to_owned();
        member.membership.updated_at = now_ms();
        store::update_membership(&mut tx, &member.membership).await?;
        self.emit_membership(&mut tx, "organizationMembership.updated", &member)
            .await?;
        tx.commit().await?;
        Ok(member)
    }

    /// Merges a membership's metadata.
    pub async fn update_member_metadata(
        &self,
        id_or_slug: &str,
        user_id: &str,
        change: MetadataChange,
    ) -> CoreResult<Membership> {
        let mut tx = self.begin().await?;
        let mut member = self.member(&mut tx, id_or_slug, user_id).await?;
        let m = &mut member.membership;
        apply_metadata(
            &mut m.public_metadata,
            &mut m.private_metadata,
            change,
            false,
        );
        m.updated_at = now_ms();
        store::update_membership(&mut tx, &member.membership).await?;
        self.emit_membership(&mut tx, "organizationMembership.updated", &member)
            .await?;
        tx.commit().await?;
        Ok(member)
    }

    /// Removes a member; the last member who can manage members stays.
    pub async fn remove_member(&self, id_or_slug: &str, user_id: &str) -> CoreResult<Membership> {
        let mut tx = self.begin().await?;
        let member = self.member(&mut tx, id_or_slug, user_id).await?;
        self.keep_a_manager(&mut tx, &member.organization.id, &member.membership)
            .await?;
        store::delete_membership(&mut tx, &member.membership.id).await?;
        self.emit_membership(&mut tx, "organizationMembership.deleted", &member)
            .await?;
        tx.commit().await?;
        Ok(member)
    }

    async fn emit_membership(
        &self,
        conn: &mut Conn,
        event_type: &str,
        m: &Membership,
    ) -> CoreResult<()> {
        let data = crate::render::organization::membership(m, &self.roles(), &self.frontend_url);
        self.emit(conn, event_type, data, None).await
    }
}

/// The public data of the users who sent `list`, by user id; an inviter
/// deleted since is left out.
async fn inviters(
    conn: &mut Conn,
    list: &[&OrganizationInvitation],
) -> CoreResult<HashMap<String, tessera_store::records::MemberUser>> {
    let mut out = HashMap::new();
    for id in list.iter().filter_map(|i| i.inviter_user_id.as_ref()) {
        if out.contains_key(id.as_str()) {
            continue;
        }
        match store::member_user(conn, id).await {
            Ok(user) => {
                out.insert(id.as_str().to_owned(), user);
            }
            Err(tessera_store::StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}
