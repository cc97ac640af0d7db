//! Records as the services see them: typed ids, real booleans, parsed JSON.

use serde_json::{Map, Value};
use tessera_domain::ids::{
    ClientId, IdentificationId, InstanceId, KeyId, OrganizationId, OrganizationInvitationId,
    OrganizationMembershipId, SessionId, SignInId, SignUpId, UserId,
};
use tessera_domain::kinds::{IdentificationKind, SessionStatus, VerificationStatus};
use tessera_domain::settings::{EnvironmentType, InstanceSettings};
use tessera_domain::verification::{Strategy, Verification};

/// The one instance this server runs.
#[derive(Debug, Clone)]
pub struct Instance {
    /// `ins_…`
    pub id: InstanceId,
    /// Development or production.
    pub environment: EnvironmentType,
    /// `pk_test_…` / `pk_live_…`
    pub publishable_key: String,
    /// SHA-256 (hex) of the secret key; the key itself is never stored.
    pub secret_key_hash: String,
    /// A masked form of the secret key for display.
    pub secret_key_hint: String,
    /// The public URL (publishable key host, tokens' `iss`); `None` in
    /// instances stored before it was kept.
    pub frontend_url: Option<String>,
    /// Whether an operator configured the frontend URL (else it was derived
    /// from the listen address).
    pub frontend_url_configured: bool,
    /// The settings document.
    pub settings: InstanceSettings,
    /// Creation time (ms).
    pub created_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
}

/// A session-token signing key.
#[derive(Clone)]
pub struct SigningKey {
    /// The JWT `kid`.
    pub kid: KeyId,
    /// `RS256`.
    pub algorithm: String,
    /// PKCS#8 PEM of the private key.
    pub private_key_pem: String,
    /// SPKI PEM of the public key.
    pub public_key_pem: String,
    /// Creation time (ms).
    pub created_at: i64,
    /// When it stopped signing (ms); it stays in the JWKS for an overlap period.
    pub retired_at: Option<i64>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("private_key_pem", &"<redacted>")
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish()
    }
}

/// A user account.
#[derive(Debug, Clone)]
pub struct User {
    /// `user_…`
    pub id: UserId,
    /// The application's own id for this user.
    pub external_id: Option<String>,
    /// Lowercased username.
    pub username: Option<String>,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// PHC string (argon2id) or an imported digest.
    pub password_hash: Option<String>,
    /// `argon2id` for our own hashes, else the imported hasher's name.
    pub password_hasher: Option<String>,
    /// Readable by the frontend, writable by the backend.
    pub public_metadata: Map<String, Value>,
    /// Backend only.
    pub private_metadata: Map<String, Value>,
    /// Readable and writable by the frontend.
    pub unsafe_metadata: Map<String, Value>,
    /// Primary email address.
    pub primary_email_address_id: Option<IdentificationId>,
    /// Primary phone number.
    pub primary_phone_number_id: Option<IdentificationId>,
    /// A profile image is stored.
    pub has_image: bool,
    /// Bumped on each image change, so image URLs change too.
    pub image_version: i64,
    /// Banned users cannot sign in.
    pub banned: bool,
    /// When the account was locked (ms).
    pub locked_at: Option<i64>,
    /// When the lock ends (ms); `None` with `locked_at` set = until unlocked.
    pub locked_until: Option<i64>,
    /// Consecutive failed verification attempts.
    pub failed_attempts: i64,
    /// TOTP is set up.
    pub totp_enabled: bool,
    /// Backup codes are set up.
    pub backup_code_enabled: bool,
    /// The user may delete their own account.
    pub delete_self_enabled: bool,
    /// The user may create organizations.
    pub create_organization_enabled: bool,
    /// How many organizations the user may create.
    pub create_organizations_limit: Option<i64>,
    /// When legal terms were accepted (ms).
    pub legal_accepted_at: Option<i64>,
    /// Last sign-in (ms).
    pub last_sign_in_at: Option<i64>,
    /// Last activity (ms).
    pub last_active_at: Option<i64>,
    /// Last password change (ms).
    pub password_updated_at: Option<i64>,
    /// When the password was marked compromised (Backend API); signing in
    /// with it then leads to the `reset-password` session task.
    pub password_compromised_at: Option<i64>,
    /// Creation time (ms).
    pub created_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
}

impl User {
    /// A user with no attributes yet, created at `now`.
    pub fn new(id: UserId, now: i64) -> Self {
        Self {
            id,
            external_id: None,
            username: None,
            first_name: None,
            last_name: None,
            password_hash: None,
            password_hasher: None,
            public_metadata: Map::new(),
            private_metadata: Map::new(),
            unsafe_metadata: Map::new(),
            primary_email_address_id: None,
            primary_phone_number_id: None,
            has_image: false,
            image_version: 0,
            banned: false,
            locked_at: None,
            locked_until: None,
            failed_attempts: 0,
            totp_enabled: false,
            backup_code_enabled: false,
            delete_self_enabled: true,
            create_organization_enabled: true,
            create_organizations_limit: None,
            legal_accepted_at: None,
            last_sign_in_at: None,
            last_active_at: None,
            password_updated_at: None,
            password_compromised_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// Whether the account is locked at `now`.
    pub fn is_locked(&self, now: i64) -> bool {
        self.locked_at.is_some() && self.locked_until.is_none_or(|until| until > now)
    }
}

/// An email address or phone number of a user.
#[derive(Debug, Clone)]
pub struct Identification {
    /// `idn_…`
    pub id: IdentificationId,
    /// Owner.
    pub user_id: UserId,
    /// Email or phone.
    pub kind: IdentificationKind,
    /// Normalised value.
    pub identifier: String,
    /// Verification state.
    pub verification_status: VerificationStatus,
    /// How it was verified (`admin`, `email_code`, …).
    pub verification_strategy: Option<Strategy>,
    /// When it was verified (ms).
    pub verified_at: Option<i64>,
    /// Reserved: kept but not usable to sign in.
    pub reserved: bool,
    /// Phone reserved for second factor.
    pub reserved_for_second_factor: bool,
    /// Default second-factor phone.
    pub default_second_factor: bool,
    /// The code verification, once one was prepared.
    pub verification: Option<Verification>,
    /// Creation time (ms).
    pub created_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
}

/// A browser or device.
#[derive(Debug, Clone)]
pub struct Client {
    /// `client_…`
    pub id: ClientId,
    /// Hash of the current client token, if the client has a cookie.
    pub token_hash: Option<String>,
    /// The session the client used last.
    pub last_active_session_id: Option<SessionId>,
    /// The sign-up in progress on this client.
    pub sign_up_id: Option<SignUpId>,
    /// The sign-in in progress on this client.
    pub sign_in_id: Option<SignInId>,
    /// When the client's cookie expires (ms).
    pub expire_at: i64,
    /// Creation time (ms).
    pub created_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
}

/// A signed-in session of a user on a client.
#[derive(Debug, Clone)]
pub struct Session {
    /// `sess_…`
    pub id: SessionId,
    /// The client it lives on.
    pub client_id: ClientId,
    /// Its user.
    pub user_id: UserId,
    /// Lifecycle state.
    pub status: SessionStatus,
    /// Impersonation actor claims.
    pub actor: Option<Value>,
    /// Active organization.
    pub last_active_organization_id: Option<String>,
    /// The user's membership of that organization, when the session is
    /// read for tokens (its slug and role); `None` when there is no active
    /// organization, the user is not a member of it, or the read did not ask.
    pub active_organization: Option<ActiveOrganization>,
    /// Last activity (ms).
    pub last_active_at: i64,
    /// Hard end of life (ms).
    pub expire_at: i64,
    /// End of life when inactive (ms).
    pub abandon_at: i64,
    /// When the first factor was verified (ms).
    pub first_factor_at: Option<i64>,
    /// When the second factor was verified (ms).
    pub second_factor_at: Option<i64>,
    /// Latest IP address.
    pub ip_address: Option<String>,
    /// Latest user agent.
    pub user_agent: Option<String>,
    /// Latest city, where known.
    pub city: Option<String>,
    /// Latest country, where known.
    pub country: Option<String>,
    /// Creation time (ms).
    pub created_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
    /// Tasks kept from the session's start until done (`reset-password`,
    /// `setup-mfa`); the organization task is not kept, it follows the session.
    pub pending_tasks: Vec<tessera_domain::tasks::SessionTask>,
    /// Its reverification in progress or last completed.
    pub reverification: Option<tessera_domain::reverification::Reverification>,
    /// Saves of the reverification so far: one from an older read is refused.
    pub reverification_version: i64,
}

/// An organization.
#[derive(Debug, Clone, PartialEq)]
pub struct Organization {
    /// `org_…`
    pub id: OrganizationId,
    /// Display name.
    pub name: String,
    /// Unique, URL-safe name.
    pub slug: String,
    /// A logo is stored.
    pub has_image: bool,
    /// Bumped on each logo change, so logo URLs change too.
    pub image_version: i64,
    /// Members allowed (0 = unlimited).
    pub max_allowed_memberships: i64,
    /// Admins may delete it from the Frontend API.
    pub admin_delete_enabled: bool,
    /// Readable by members, writable by the backend.
    pub public_metadata: Map<String, Value>,
    /// Backend only.
    pub private_metadata: Map<String, Value>,
    /// The user who created it, if one did.
    pub created_by: Option<UserId>,
    /// The role set whose roles its members can have (`rs_…`); `None` reads
    /// as the instance's initial set.
    pub role_set_id: Option<String>,
    /// Creation time (ms).
    pub created_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
}

/// A user's membership of an organization.
#[derive(Debug, Clone, PartialEq)]
pub struct OrganizationMembership {
    /// `orgmem_…`
    pub id: OrganizationMembershipId,
    /// The organization.
    pub organization_id: OrganizationId,
    /// The member.
    pub user_id: UserId,
    /// Role key (`org:admin`).
    pub role: String,
    /// Readable by the member, writable by the backend.
    pub public_metadata: Map<String, Value>,
    /// Backend only.
    pub private_metadata: Map<String, Value>,
    /// Creation time (ms).
    pub created_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
}

/// What a membership shows of its user.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberUser {
    /// The user.
    pub user_id: UserId,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Username.
    pub username: Option<String>,
    /// Primary email address.
    pub identifier: Option<String>,
    /// A profile image is stored.
    pub has_image: bool,
    /// Profile image version.
    pub image_version: i64,
    /// The user is banned.
    pub banned: bool,
}

/// A membership with its organization and its user's public data.
#[derive(Debug, Clone, PartialEq)]
pub struct Membership {
    /// The membership.
    pub membership: OrganizationMembership,
    /// Its organization.
    pub organization: Organization,
    /// Its user.
    pub user: MemberUser,
    /// Its organization's members count, when the read asked for it.
    pub members_count: Option<i64>,
}

/// What a session token says of the active organization: its slug and the
/// user's role in it (the id is the session's `last_active_organization_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveOrganization {
    /// The organization's slug.
    pub slug: String,
    /// The user's role key.
    pub role: String,
}

/// An invitation to join an organization.
#[derive(Debug, Clone, PartialEq)]
pub struct OrganizationInvitation {
    /// `orginv_…`
    pub id: OrganizationInvitationId,
    /// The organization.
    pub organization_id: OrganizationId,
    /// Who is invited (normalised).
    pub email_address: String,
    /// The role the invitee gets.
    pub role: String,
    /// `pending`, `accepted`, `revoked` (a pending one past `expires_at` is expired).
    pub status: String,
    /// The member who invited, if one did.
    pub inviter_user_id: Option<UserId>,
    /// Moves to the membership on acceptance.
    pub public_metadata: Map<String, Value>,
    /// Moves to the membership on acceptance (backend only).
    pub private_metadata: Map<String, Value>,
    /// Where the emailed link leads.
    pub redirect_url: Option<String>,
    /// SHA-256 of the emailed ticket.
    pub ticket_hash: String,
    /// End of validity (ms).
    pub expires_at: i64,
    /// Creation time (ms).
    pub created_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
}

impl OrganizationInvitation {
    /// The status as of `now`: a pending invitation past its end is expired.
    pub fn status_at(&self, now: i64) -> &str {
        if self.status == "pending" && self.expires_at <= now {
            "expired"
        } else {
            &self.status
        }
    }
}
