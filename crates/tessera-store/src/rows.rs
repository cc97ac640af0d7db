//! Raw rows as the driver returns them, and their conversion into records.

use serde_json::{Map, Value};
use sqlx::FromRow;
use tessera_domain::ids::{
    ClientId, IdentificationId, InstanceId, KeyId, SessionId, SignInId, SignUpId, UserId,
};
use tessera_domain::kinds::{IdentificationKind, SessionStatus, VerificationStatus};
use tessera_domain::settings::EnvironmentType;
use tessera_domain::verification::Strategy;

use crate::error::{StoreError, StoreResult};
use crate::records::{
    ActiveOrganization, Client, Identification, Instance, Session, SigningKey, User,
};

pub(crate) fn json_map(raw: &str) -> StoreResult<Map<String, Value>> {
    match serde_json::from_str(raw) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(StoreError::Corrupt("metadata is not an object".to_owned())),
        Err(e) => Err(StoreError::Corrupt(format!("metadata: {e}"))),
    }
}

pub(crate) fn json_text(map: &Map<String, Value>) -> String {
    Value::Object(map.clone()).to_string()
}

pub(crate) fn flag(v: bool) -> i64 {
    i64::from(v)
}

#[derive(FromRow)]
pub(crate) struct InstanceRow {
    id: String,
    environment: String,
    publishable_key: String,
    secret_key_hash: String,
    secret_key_hint: String,
    frontend_url: Option<String>,
    frontend_url_configured: i64,
    settings: String,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<InstanceRow> for Instance {
    type Error = StoreError;
    fn try_from(r: InstanceRow) -> StoreResult<Self> {
        let environment = match r.environment.as_str() {
            "production" => EnvironmentType::Production,
            "development" => EnvironmentType::Development,
            other => return Err(StoreError::Corrupt(format!("environment {other}"))),
        };
        let settings = serde_json::from_str(&r.settings)
            .map_err(|e| StoreError::Corrupt(format!("settings: {e}")))?;
        Ok(Self {
            id: InstanceId::from_trusted(r.id),
            environment,
            publishable_key: r.publishable_key,
            secret_key_hash: r.secret_key_hash,
            secret_key_hint: r.secret_key_hint,
            frontend_url: r.frontend_url,
            frontend_url_configured: r.frontend_url_configured != 0,
            settings,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct KeyRow {
    kid: String,
    algorithm: String,
    private_key_pem: String,
    public_key_pem: String,
    created_at: i64,
    retired_at: Option<i64>,
}

impl From<KeyRow> for SigningKey {
    fn from(r: KeyRow) -> Self {
        Self {
            kid: KeyId::from_trusted(r.kid),
            algorithm: r.algorithm,
            private_key_pem: r.private_key_pem,
            public_key_pem: r.public_key_pem,
            created_at: r.created_at,
            retired_at: r.retired_at,
        }
    }
}

#[derive(FromRow)]
pub(crate) struct UserRow {
    id: String,
    external_id: Option<String>,
    username: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    password_hash: Option<String>,
    password_hasher: Option<String>,
    public_metadata: String,
    private_metadata: String,
    unsafe_metadata: String,
    primary_email_address_id: Option<String>,
    primary_phone_number_id: Option<String>,
    has_image: i64,
    image_version: i64,
    banned: i64,
    locked_at: Option<i64>,
    locked_until: Option<i64>,
    failed_attempts: i64,
    totp_enabled: i64,
    backup_code_enabled: i64,
    delete_self_enabled: i64,
    create_organization_enabled: i64,
    create_organizations_limit: Option<i64>,
    legal_accepted_at: Option<i64>,
    last_sign_in_at: Option<i64>,
    last_active_at: Option<i64>,
    password_updated_at: Option<i64>,
    password_compromised_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> StoreResult<Self> {
        Ok(Self {
            id: UserId::from_trusted(r.id),
            external_id: r.external_id,
            username: r.username,
            first_name: r.first_name,
            last_name: r.last_name,
            password_hash: r.password_hash,
            password_hasher: r.password_hasher,
            public_metadata: json_map(&r.public_metadata)?,
            private_metadata: json_map(&r.private_metadata)?,
            unsafe_metadata: json_map(&r.unsafe_metadata)?,
            primary_email_address_id: r
                .primary_email_address_id
                .map(IdentificationId::from_trusted),
            primary_phone_number_id: r
                .primary_phone_number_id
                .map(IdentificationId::from_trusted),
            has_image: r.has_image != 0,
            image_version: r.image_version,
            banned: r.banned != 0,
            locked_at: r.locked_at,
            locked_until: r.locked_until,
            failed_attempts: r.failed_attempts,
            totp_enabled: r.totp_enabled != 0,
            backup_code_enabled: r.backup_code_enabled != 0,
            delete_self_enabled: r.delete_self_enabled != 0,
            create_organization_enabled: r.create_organization_enabled != 0,
            create_organizations_limit: r.create_organizations_limit,
            legal_accepted_at: r.legal_accepted_at,
            last_sign_in_at: r.last_sign_in_at,
            last_active_at: r.last_active_at,
            password_updated_at: r.password_updated_at,
            password_compromised_at: r.password_compromised_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct IdentificationRow {
    id: String,
    user_id: String,
    kind: String,
    identifier: String,
    verification_status: String,
    verification_strategy: Option<String>,
    verified_at: Option<i64>,
    reserved: i64,
    reserved_for_second_factor: i64,
    default_second_factor: i64,
    verification: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<IdentificationRow> for Identification {
    type Error = StoreError;
    fn try_from(r: IdentificationRow) -> StoreResult<Self> {
        Ok(Self {
            id: IdentificationId::from_trusted(r.id),
            user_id: UserId::from_trusted(r.user_id),
            kind: IdentificationKind::parse(&r.kind)
                .ok_or_else(|| StoreError::Corrupt(format!("identification kind {}", r.kind)))?,
            identifier: r.identifier,
            verification_status: VerificationStatus::parse(&r.verification_status).ok_or_else(
                || StoreError::Corrupt(format!("verification status {}", r.verification_status)),
            )?,
            verification_strategy: r
                .verification_strategy
                .map(|raw| {
                    Strategy::parse(&raw)
                        .ok_or_else(|| StoreError::Corrupt(format!("verification strategy {raw}")))
                })
                .transpose()?,
            verified_at: r.verified_at,
            reserved: r.reserved != 0,
            reserved_for_second_factor: r.reserved_for_second_factor != 0,
            default_second_factor: r.default_second_factor != 0,
            verification: crate::attempts::verification_from(r.verification)?,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct ClientRow {
    id: String,
    token_hash: Option<String>,
    last_active_session_id: Option<String>,
    sign_up_id: Option<String>,
    sign_in_id: Option<String>,
    expire_at: i64,
    created_at: i64,
    updated_at: i64,
}

impl ClientRow {
    /// Reads a client from columns named `c_<column>` (a join with its sessions).
    pub(crate) fn from_prefixed(row: &sqlx::any::AnyRow) -> sqlx::Result<Self> {
        use sqlx::Row;
        Ok(Self {
            id: row.try_get("c_id")?,
            token_hash: row.try_get("c_token_hash")?,
            last_active_session_id: row.try_get("c_last_active_session_id")?,
            sign_up_id: row.try_get("c_sign_up_id")?,
            sign_in_id: row.try_get("c_sign_in_id")?,
            expire_at: row.try_get("c_expire_at")?,
            created_at: row.try_get("c_created_at")?,
            updated_at: row.try_get("c_updated_at")?,
        })
    }
}

impl From<ClientRow> for Client {
    fn from(r: ClientRow) -> Self {
        Self {
            id: ClientId::from_trusted(r.id),
            token_hash: r.token_hash,
            last_active_session_id: r.last_active_session_id.map(SessionId::from_trusted),
            sign_up_id: r.sign_up_id.map(SignUpId::from_trusted),
            sign_in_id: r.sign_in_id.map(SignInId::from_trusted),
            expire_at: r.expire_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(FromRow)]
pub(crate) struct SessionRow {
    id: String,
    client_id: String,
    user_id: String,
    status: String,
    actor: Option<String>,
    last_active_organization_id: Option<String>,
    last_active_at: i64,
    expire_at: i64,
    abandon_at: i64,
    first_factor_at: Option<i64>,
    second_factor_at: Option<i64>,
    ip_address: Option<String>,
    user_agent: Option<String>,
    city: Option<String>,
    country: Option<String>,
    created_at: i64,
    updated_at: i64,
    pending_tasks: String,
    reverification: Option<String>,
    reverification_version: i64,
    /// Present when the query joined the active organization's membership.
    #[sqlx(default)]
    active_org_slug: Option<String>,
    #[sqlx(default)]
    active_org_role: Option<String>,
}

impl TryFrom<SessionRow> for Session {
    type Error = StoreError;
    fn try_from(r: SessionRow) -> StoreResult<Self> {
        let actor = match r.actor {
            Some(raw) => Some(
                serde_json::from_str(&raw)
                    .map_err(|e| StoreError::Corrupt(format!("actor: {e}")))?,
            ),
            None => None,
        };
        Ok(Self {
            id: SessionId::from_trusted(r.id),
            client_id: ClientId::from_trusted(r.client_id),
            user_id: UserId::from_trusted(r.user_id),
            status: SessionStatus::parse(&r.status)
                .ok_or_else(|| StoreError::Corrupt(format!("session status {}", r.status)))?,
            actor,
            last_active_organization_id: r.last_active_organization_id,
            active_organization: r
                .active_org_slug
                .zip(r.active_org_role)
                .map(|(slug, role)| ActiveOrganization { slug, role }),
            last_active_at: r.last_active_at,
            expire_at: r.expire_at,
            abandon_at: r.abandon_at,
            first_factor_at: r.first_factor_at,
            second_factor_at: r.second_factor_at,
            ip_address: r.ip_address,
            user_agent: r.user_agent,
            city: r.city,
            country: r.country,
            created_at: r.created_at,
            updated_at: r.updated_at,
            pending_tasks: tessera_domain::tasks::SessionTask::split(&r.pending_tasks),
            reverification: match r.reverification {
                Some(raw) => Some(
                    serde_json::from_str(&raw)
                        .map_err(|e| StoreError::Corrupt(format!("reverification: {e}")))?,
                ),
                None => None,
            },
            reverification_version: r.reverification_version,
        })
    }
}
