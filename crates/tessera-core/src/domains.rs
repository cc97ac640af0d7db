//! Verified domains of organizations and what they offer users with a
//! verified email address at one: with `automatic_invitation` an invitation
//! (with the role set's default role), with `automatic_suggestion` a
//! suggestion, which the user accepts to ask to join (a membership request
//! the organization's managers accept or reject).
//!
//! Offers are made when the user next asks for their invitations or
//! suggestions ([`OrganizationDomains::offer_to`]): an address verified
//! anywhere, by any path, is seen, and a domain verified later reaches the
//! users who already have addresses at it.

use serde_json::Value;
use tessera_domain::error_code::ErrorCode;
use tessera_domain::ids::{
    OrganizationDomainId, OrganizationId, OrganizationInvitationId,
    OrganizationMembershipRequestId, OrganizationSuggestionId, UserId,
};
use tessera_domain::kinds::{IdentificationKind, VerificationStatus};
use tessera_domain::settings::EnvironmentType;
use tessera_domain::verification::{Proof, Strategy, Verification};
use tessera_store::domains::{self as store, Domain, DomainFilter, Offer, Offers};
use tessera_store::records::{Organization, OrganizationInvitation};
use tessera_store::Conn;

use crate::clock::now_ms;
use crate::error::{CoreError, CoreResult};
use crate::render::domains as render;
use crate::OrganizationDomains;

/// Enrollment modes a domain can have.
pub const ENROLLMENT_MODES: [&str; 3] = [
    "manual_invitation",
    "automatic_invitation",
    "automatic_suggestion",
];

/// Providers whose addresses say nothing about an organization: their
/// domains cannot be added.
const COMMON_PROVIDERS: &[&str] = &[
    "aol.com",
    "gmail.com",
    "gmx.com",
    "gmx.net",
    "googlemail.com",
    "hotmail.com",
    "icloud.com",
    "live.com",
    "mail.com",
    "me.com",
    "msn.com",
    "outlook.com",
    "proton.me",
    "protonmail.com",
    "yahoo.com",
    "yandex.com",
    "zoho.com",
];

/// Invitations a domain makes last as long as emailed ones by default.
const INVITATION_DAYS: i64 = 30;

/// The normalized domain name, or why it is refused.
pub fn check_name(raw: &str) -> CoreResult<String> {
    let name = raw.trim().trim_end_matches('.').to_lowercase();
    if name.is_empty() {
        return Err(CoreError::missing("name"));
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    let labels: Vec<&str> = name.split('.').collect();
    if name.len() > 253 || labels.len() < 2 || !labels.iter().all(|l| label_ok(l)) {
        return Err(CoreError::value(
            "name",
            "must be a domain name like example.com",
        ));
    }
    if COMMON_PROVIDERS.contains(&name.as_str()) {
        return Err(CoreError::NotAllowed {
            code: ErrorCode::OrganizationDomainCommon,
            detail: format!("{name} is an email provider's domain, not an organization's."),
        });
    }
    Ok(name)
}

fn check_mode(mode: &str) -> CoreResult<()> {
    if ENROLLMENT_MODES.contains(&mode) {
        Ok(())
    } else {
        Err(CoreError::value(
            "enrollment_mode",
            "must be manual_invitation, automatic_invitation or automatic_suggestion",
        ))
    }
}

fn not_verified() -> CoreError {
    CoreError::NotAllowed {
        code: ErrorCode::OrganizationDomainNotVerified,
        detail: "Verify the domain before changing how users join through it.".to_owned(),
    }
}

/// The domain part of an email address.
fn domain_of(email: &str) -> Option<&str> {
    email.rsplit_once('@').map(|(_, d)| d)
}

impl OrganizationDomains<'_> {
    /// The role members joining through a domain get: the default role of
    /// the organization's role set.
    fn default_role(&self, org: &Organization) -> String {
        self.roles()
            .set_or_initial(org.role_set_id.as_deref())
            .map_or_else(
                || tessera_domain::organizations::MEMBER_ROLE.to_owned(),
                |s| s.default_role.clone(),
            )
    }

    async fn render(&self, conn: &mut Conn, d: &Domain, org: &Organization) -> CoreResult<Value> {
        let now = now_ms();
        let counts = store::pending_counts(conn, &d.id, now).await?;
        Ok(render::domain(d, org, counts, now, &self.frontend_url))
    }

    /// Renders a domain changed in `tx`, emits `event`, and commits.
    async fn finish(
        &self,
        mut tx: crate::work::Work,
        event: &str,
        d: &Domain,
        org: &Organization,
    ) -> CoreResult<Value> {
        let data = self.render(&mut tx, d, org).await?;
        self.emit(&mut tx, event, data.clone(), None).await?;
        tx.commit().await?;
        Ok(data)
    }

    /// Adds a domain to an organization: verified at once when the backend
    /// says so, else once an admin proves an address at it.
    pub async fn create(
        &self,
        org: &OrganizationId,
        name: &str,
        mode: Option<&str>,
        verified: bool,
    ) -> CoreResult<Value> {
        let name = check_name(name)?;
        let mode = mode.unwrap_or("manual_invitation");
        check_mode(mode)?;
        let now = now_ms();
        let mut tx = self.begin().await?;
        let organization = tessera_store::organizations::get(&mut tx, org).await?;
        if store::name_taken(&mut tx, org, &name).await? {
            return Err(CoreError::IdentifierExists {
                param: "name".to_owned(),
            });
        }
        let d = Domain {
            id: OrganizationDomainId::generate(now).as_str().to_owned(),
            organization_id: org.clone(),
            name,
            enrollment_mode: mode.to_owned(),
            affiliation_email_address: None,
            affiliation_verification: verified.then(|| Verification::passed(Strategy::EmailCode)),
            ownership_verified_at: None,
            created_at: now,
            updated_at: now,
        };
        store::save(&mut tx, &d).await?;
        self.finish(tx, "organizationDomain.created", &d, &organization)
            .await
    }

    async fn load(
        &self,
        conn: &mut Conn,
        org: &OrganizationId,
        id: &str,
    ) -> CoreResult<(Domain, Organization)> {
        let organization = tessera_store::organizations::get(conn, org).await?;
        Ok((store::get(conn, org, id).await?, organization))
    }

    /// One domain of an organization.
    pub async fn get(&self, org: &OrganizationId, id: &str) -> CoreResult<Value> {
        let mut conn = self.store.read().await?;
        let (d, organization) = self.load(&mut conn, org, id).await?;
        self.render(&mut conn, &d, &organization).await
    }

    /// Lists domains.
    pub async fn list(
        &self,
        filter: &DomainFilter,
        by_name: bool,
        descending: bool,
        limit: i64,
        offset: i64,
    ) -> CoreResult<(Vec<Value>, i64)> {
        let mut conn = self.store.read().await?;
        let domains = store::list(&mut conn, filter, by_name, descending, limit, offset).await?;
        let total = store::count(&mut conn, filter).await?;
        let mut out = Vec::with_capacity(domains.len());
        for d in &domains {
            let org = tessera_store::organizations::get(&mut conn, &d.organization_id).await?;
            out.push(self.render(&mut conn, d, &org).await?);
        }
        Ok((out, total))
    }

    /// Changes a domain's enrollment mode (a verified domain's, unless the
    /// backend verifies it in the same change) or its verification; with
    /// `delete_pending`, the invitations and suggestions it made go.
    pub async fn update(
        &self,
        org: &OrganizationId,
        id: &str,
        mode: Option<&str>,
        verified: Option<bool>,
        delete_pending: bool,
    ) -> CoreResult<Value> {
        if let Some(mode) = mode {
            check_mode(mode)?;
        }
        let now = now_ms();
        let mut tx = self.begin().await?;
        let (mut d, organization) = self.load(&mut tx, org, id).await?;
        match verified {
            Some(true) if !d.verified() => {
                d.affiliation_verification = Some(Verification::passed(Strategy::EmailCode));
            }
            Some(false) => d.affiliation_verification = None,
            _ => {}
        }
        if let Some(mode) = mode {
            if mode != "manual_invitation" && !d.verified() {
                return Err(not_verified());
            }
            mode.clone_into(&mut d.enrollment_mode);
        }
        if delete_pending {
            store::drop_pending(&mut tx, &d.id, now).await?;
        }
        d.updated_at = now;
        store::save(&mut tx, &d).await?;
        self.finish(tx, "organizationDomain.updated", &d, &organization)
            .await
    }

    /// Marks a domain's ownership verified (the backend's override of a DNS
    /// check); idempotent.
    pub async fn verify_ownership(&self, org: &OrganizationId, id: &str) -> CoreResult<Value> {
        let mut tx = self.begin().await?;
        let (mut d, organization) = self.load(&mut tx, org, id).await?;
        if d.ownership_verified_at.is_some() {
            return self.render(&mut tx, &d, &organization).await;
        }
        let now = now_ms();
        d.ownership_verified_at = Some(now);
        d.updated_at = now;
        store::save(&mut tx, &d).await?;
        self.finish(tx, "organizationDomain.updated", &d, &organization)
            .await
    }

    /// Removes a domain; the invitations and suggestions it made that are
    /// still pending go with it.
    pub async fn delete(&self, org: &OrganizationId, id: &str) -> CoreResult<Value> {
        let mut tx = self.begin().await?;
        let (d, _) = self.load(&mut tx, org, id).await?;
        store::drop_pending(&mut tx, &d.id, now_ms()).await?;
        store::delete(&mut tx, &d.id).await?;
        let deleted =
            serde_json::json!({ "object": "organization_domain", "id": d.id, "deleted": true });
        self.emit(&mut tx, "organizationDomain.deleted", deleted.clone(), None)
            .await?;
        tx.commit().await?;
        Ok(deleted)
    }

    /// Sends a code to an address at the domain, to prove the organization's
    /// affiliation with it.
    pub async fn prepare_affiliation(
        &self,
        org: &OrganizationId,
        id: &str,
        email: &str,
    ) -> CoreResult<Value> {
        if email.trim().is_empty() {
            return Err(CoreError::missing("affiliation_email_address"));
        }
        let mut tx = self.begin().await?;
        let (mut d, organization) = self.load(&mut tx, org, id).await?;
        // clerk-js's "resend" sends the local part alone.
        let email = if email.contains('@') {
            email.to_owned()
        } else {
            format!("{}@{}", email.trim(), d.name)
        };
        let email = tessera_domain::identifiers::normalize_email(&email).map_err(|_| {
            CoreError::value("affiliation_email_address", "must be an email address")
        })?;
        if d.verified() {
            return Err(CoreError::NotAllowed {
                code: ErrorCode::VerificationAlreadyVerified,
                detail: "This domain is verified already.".to_owned(),
            });
        }
        let local_ok = email
            .rsplit_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain == d.name);
        if !local_ok {
            return Err(CoreError::value(
                "affiliation_email_address",
                format!("must be an email address at {}", d.name),
            ));
        }
        let now = now_ms();
        let code = crate::codes::generate();
        d.affiliation_verification = Some(Verification::code_sent(
            Strategy::EmailCode,
            &d.id,
            &code,
            None,
            now,
        ));
        d.affiliation_email_address = Some(email.clone());
        d.updated_at = now;
        store::save(&mut tx, &d).await?;
        let data = self.render(&mut tx, &d, &organization).await?;
        tx.commit().await?;
        let is_test = tessera_domain::identifiers::is_test_email(&email);
        self.send_code(
            IdentificationKind::EmailAddress,
            &email,
            is_test,
            crate::mailer::CodePurpose::Verify,
            &code,
        )
        .await;
        Ok(data)
    }

    /// Checks the emailed code; the domain is verified when it is right.
    pub async fn attempt_affiliation(
        &self,
        org: &OrganizationId,
        id: &str,
        code: &str,
    ) -> CoreResult<Value> {
        if code.trim().is_empty() {
            return Err(CoreError::missing("code"));
        }
        let now = now_ms();
        let inst = self.instance();
        let mut tx = self.begin().await?;
        let (mut d, organization) = self.load(&mut tx, org, id).await?;
        let sent_to = d.affiliation_email_address.clone().unwrap_or_default();
        let proof = Proof::Code {
            code,
            accept_test_code: inst.environment == EnvironmentType::Development
                && inst.settings.instance.test_mode
                && tessera_domain::identifiers::is_test_email(&sent_to),
        };
        let (state, outcome) =
            crate::codes::prepared(d.affiliation_verification.clone())?.attempt(&d.id, proof, now);
        d.affiliation_verification = Some(state);
        d.updated_at = now;
        store::save(&mut tx, &d).await?;
        let data = if outcome == tessera_domain::verification::Attempt::Verified {
            let data = self.render(&mut tx, &d, &organization).await?;
            self.emit(&mut tx, "organizationDomain.updated", data.clone(), None)
                .await?;
            data
        } else {
            self.render(&mut tx, &d, &organization).await?
        };
        tx.commit().await?;
        crate::codes::refused(outcome)?;
        Ok(data)
    }

    // --- offers -----------------------------------------------------------------------

    /// Makes the offers the user's verified email addresses earn: for each
    /// verified domain enrolling automatically whose organization the user is
    /// not in, an invitation (once per address and organization, ever) or a
    /// suggestion (once per organization).
    pub async fn offer_to(&self, user: &UserId) -> CoreResult<()> {
        let mut conn = self.store.read().await?;
        let addresses: Vec<String> = tessera_store::identifications::list_for_user(&mut conn, user)
            .await?
            .into_iter()
            .filter(|i| {
                i.kind == IdentificationKind::EmailAddress
                    && i.verification_status == VerificationStatus::Verified
            })
            .map(|i| i.identifier.to_lowercase())
            .collect();
        let mut names: Vec<String> = addresses
            .iter()
            .filter_map(|a| domain_of(a).map(str::to_owned))
            .collect();
        names.sort();
        names.dedup();
        let domains = store::enrolling(&mut conn, &names).await?;
        drop(conn);
        if domains.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        let mut tx = self.begin().await?;
        for d in domains {
            if tessera_store::organizations::find_membership(&mut tx, &d.organization_id, user)
                .await?
                .is_some()
            {
                continue;
            }
            if d.enrollment_mode == "automatic_suggestion" {
                let offer = Offer {
                    id: OrganizationSuggestionId::generate(now).as_str().to_owned(),
                    organization_id: d.organization_id.as_str().to_owned(),
                    user_id: user.as_str().to_owned(),
                    domain_id: Some(d.id.clone()),
                    status: "pending".to_owned(),
                    created_at: now,
                    updated_at: now,
                };
                store::offer(&mut tx, Offers::Suggestions, &offer).await?;
                continue;
            }
            let Some(email) = addresses
                .iter()
                .find(|a| domain_of(a) == Some(d.name.as_str()))
            else {
                continue;
            };
            if store::ever_invited(&mut tx, &d.organization_id, email).await? {
                continue;
            }
            let org = tessera_store::organizations::get(&mut tx, &d.organization_id).await?;
            let role = self.default_role(&org);
            let invitation = OrganizationInvitation {
                id: OrganizationInvitationId::generate(now),
                organization_id: org.id.clone(),
                email_address: email.clone(),
                role,
                status: "pending".to_owned(),
                inviter_user_id: None,
                public_metadata: serde_json::Map::new(),
                private_metadata: serde_json::Map::new(),
                redirect_url: None,
                // Accepted from the user's own list, never by a link.
                ticket_hash: crate::keys::hash_secret(&crate::sessions::clients::new_token()),
                expires_at: now + INVITATION_DAYS * 24 * 60 * 60 * 1000,
                created_at: now,
                updated_at: now,
            };
            tessera_store::organizations::insert_invitation(&mut tx, &invitation).await?;
            store::mark_invitation(&mut tx, invitation.id.as_str(), &d.id).await?;
            self.organizations()
                .emit_invitation(&mut tx, "organizationInvitation.created", &invitation, now)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The user's suggestions (made first), newest first.
    pub async fn suggestions(
        &self,
        user: &UserId,
        statuses: &[String],
        limit: i64,
        offset: i64,
    ) -> CoreResult<(Vec<Value>, i64)> {
        self.offer_to(user).await?;
        let mut conn = self.store.read().await?;
        let (offers, total) = store::list_offers(
            &mut conn,
            Offers::Suggestions,
            user.as_str(),
            true,
            statuses,
            limit,
            offset,
        )
        .await?;
        let mut out = Vec::with_capacity(offers.len());
        for o in &offers {
            let org = tessera_store::organizations::get(
                &mut conn,
                &OrganizationId::from_trusted(o.organization_id.clone()),
            )
            .await?;
            out.push(render::suggestion(o, &org, &self.frontend_url));
        }
        Ok((out, total))
    }

    /// The user accepts a suggestion: a membership request goes to the
    /// organization.
    pub async fn accept_suggestion(&self, user: &UserId, id: &str) -> CoreResult<Value> {
        let now = now_ms();
        let mut tx = self.begin().await?;
        let mut s = store::get_offer(&mut tx, Offers::Suggestions, id).await?;
        if s.user_id != user.as_str() {
            return Err(CoreError::NotFound);
        }
        let org_id = OrganizationId::from_trusted(s.organization_id.clone());
        let org = tessera_store::organizations::get(&mut tx, &org_id).await?;
        if s.status == "pending" {
            store::set_status(&mut tx, Offers::Suggestions, id, "accepted", now).await?;
            s.status = "accepted".to_owned();
            s.updated_at = now;
            let request = Offer {
                id: OrganizationMembershipRequestId::generate(now)
                    .as_str()
                    .to_owned(),
                status: "pending".to_owned(),
                ..s.clone()
            };
            store::offer(&mut tx, Offers::Requests, &request).await?;
        }
        tx.commit().await?;
        Ok(render::suggestion(&s, &org, &self.frontend_url))
    }

    /// An organization's membership requests, newest first.
    pub async fn requests(
        &self,
        org: &OrganizationId,
        statuses: &[String],
        limit: i64,
        offset: i64,
    ) -> CoreResult<(Vec<Value>, i64)> {
        let mut conn = self.store.read().await?;
        let (offers, total) = store::list_offers(
            &mut conn,
            Offers::Requests,
            org.as_str(),
            false,
            statuses,
            limit,
            offset,
        )
        .await?;
        let mut out = Vec::with_capacity(offers.len());
        for o in &offers {
            let user = UserId::from_trusted(o.user_id.clone());
            let member = tessera_store::organizations::member_user(&mut conn, &user).await?;
            out.push(render::membership_request(o, &member, &self.frontend_url));
        }
        Ok((out, total))
    }

    /// Accepts (the user joins with the set's default role) or rejects a
    /// pending membership request.
    pub async fn answer_request(
        &self,
        org: &OrganizationId,
        id: &str,
        accept: bool,
    ) -> CoreResult<Value> {
        let now = now_ms();
        let mut tx = self.begin().await?;
        let mut r = store::get_offer(&mut tx, Offers::Requests, id).await?;
        if r.organization_id != org.as_str() {
            return Err(CoreError::NotFound);
        }
        if r.status != "pending" {
            return Err(CoreError::NotAllowed {
                code: ErrorCode::OrganizationMembershipRequestNotPending,
                detail: format!("This request was {} already.", r.status),
            });
        }
        let user = UserId::from_trusted(r.user_id.clone());
        let status = if accept { "accepted" } else { "rejected" };
        if accept {
            let organization = tessera_store::organizations::get(&mut tx, org).await?;
            let m = crate::Organizations::new_membership(
                &organization,
                &user,
                &self.default_role(&organization),
                now,
            );
            self.organizations()
                .join(&mut tx, &organization, &m)
                .await?;
            // Joined: the suggestion that led here is done with.
            store::withdraw(&mut tx, Offers::Suggestions, org, &user).await?;
        }
        store::set_status(&mut tx, Offers::Requests, id, status, now).await?;
        status.clone_into(&mut r.status);
        r.updated_at = now;
        let member = tessera_store::organizations::member_user(&mut tx, &user).await?;
        tx.commit().await?;
        Ok(render::membership_request(&r, &member, &self.frontend_url))
    }
}
