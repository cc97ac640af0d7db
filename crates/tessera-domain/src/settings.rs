//! The instance settings document: one typed tree with Clerk's defaults.
//!
//! Everything that decides how sign-up, sign-in and the Frontend API's
//! `environment` behave reads this document; it is stored as one JSON value so
//! that new settings are added with a default and old documents still load.

use serde::{Deserialize, Serialize};

/// Development or production: decides test identifiers, cookie rules and key prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum EnvironmentType {
    /// A development instance (`pk_test_`/`sk_test_` keys).
    #[default]
    Development,
    /// A production instance (`pk_live_`/`sk_live_` keys).
    Production,
}

impl EnvironmentType {
    /// The wire name (`development` or `production`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Production => "production",
        }
    }

    /// The key prefix fragment (`test` or `live`).
    pub fn key_kind(self) -> &'static str {
        match self {
            Self::Development => "test",
            Self::Production => "live",
        }
    }
}

/// The whole settings document of an instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct InstanceSettings {
    /// Settings of BAPI `PATCH /v1/instance`.
    pub instance: InstanceConfig,
    /// Settings of BAPI `PATCH /v1/instance/restrictions`.
    pub restrictions: Restrictions,
    /// Settings of BAPI `PATCH /v1/instance/organization_settings`.
    pub organizations: OrganizationSettings,
    /// Which identifiers and attributes users have, and how they sign up and in.
    pub user: UserSettings,
    /// Settings of BAPI `PATCH /v1/instance/protect`.
    pub protect: ProtectSettings,
    /// Countries whose phone numbers get no SMS (`PATCH /v1/instance/communication`).
    pub blocked_country_codes: Vec<String>,
    /// Settings of BAPI `PATCH /v1/instance/oauth_application_settings`.
    pub oauth_applications: OAuthApplicationSettings,
    /// Local part of the address emails are sent from.
    pub from_email_address: Option<String>,
    /// Progressive sign-up (kept for the beta settings endpoint).
    pub progressive_sign_up: bool,
}

/// Bot and abuse protection switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ProtectSettings {
    /// Rule-based protection.
    pub rules_enabled: bool,
    /// Device fingerprint protection.
    pub specter_enabled: bool,
}

/// Settings for OAuth applications that use this instance as their identity provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct OAuthApplicationSettings {
    /// Dynamic client registration (RFC 7591).
    pub dynamic_oauth_client_registration: bool,
    /// JWT access tokens instead of opaque ones.
    pub oauth_jwt_access_tokens: bool,
    /// Advertise client ID metadata documents.
    pub client_id_metadata_documents_advertised: bool,
    /// Only pre-registered clients may use metadata documents.
    pub client_id_metadata_documents_only_allow_pre_registered_clients: bool,
    /// Block implicitly allowed clients.
    pub client_id_metadata_documents_block_implicitly_allowed_clients: bool,
    /// Default scopes (`None` = the built-in defaults).
    pub default_scopes: Option<Vec<String>>,
}

/// General instance options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InstanceConfig {
    /// The application's display name (emails, hosted pages, clerk-js UI).
    pub application_name: String,
    /// Accept Clerk's test identifiers (development instances only).
    pub test_mode: bool,
    /// Reject passwords found in the shipped breached-password list.
    pub hibp: bool,
    /// Address shown to users for support.
    pub support_email: Option<String>,
    /// clerk-js version the hosted pages load.
    pub clerk_js_version: Option<String>,
    /// Origin of the development app.
    pub development_origin: Option<String>,
    /// Origins allowed to call the Frontend API with credentials.
    pub allowed_origins: Vec<String>,
    /// Development instances without the dev-browser cookie.
    pub cookieless_dev: bool,
    /// Session syncing through URL parameters (development).
    pub url_based_session_syncing: bool,
}

impl Default for InstanceConfig {
    fn default() -> Self {
        Self {
            application_name: "Tessera".to_owned(),
            test_mode: true,
            hibp: true,
            support_email: None,
            clerk_js_version: None,
            development_origin: None,
            allowed_origins: Vec::new(),
            cookieless_dev: false,
            url_based_session_syncing: false,
        }
    }
}

/// Allowlist and blocklist rules for sign-ups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Restrictions {
    /// Only identifiers on the allowlist may sign up.
    pub allowlist: bool,
    /// Identifiers on the blocklist may not sign up.
    pub blocklist: bool,
    /// Skip the lists when signing in.
    pub allowlist_blocklist_disabled_on_sign_in: bool,
    /// Reject `+tag` email subaddresses.
    pub block_email_subaddresses: bool,
    /// Reject email domains known to be disposable.
    pub block_disposable_email_domains: bool,
}

/// Organization feature settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrganizationSettings {
    /// Organizations are on.
    pub enabled: bool,
    /// Members per organization (0 = unlimited).
    pub max_allowed_memberships: i64,
    /// Admins may delete their organization.
    pub admin_delete_enabled: bool,
    /// Verified domains are on.
    pub domains_enabled: bool,
    /// Enrollment modes allowed for verified domains.
    pub domains_enrollment_modes: Vec<String>,
    /// Every session must have an active organization: a session without one
    /// is pending with the `choose-organization` task, and there is no
    /// personal account to switch to.
    pub force_organization_selection: bool,
}

impl Default for OrganizationSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            max_allowed_memberships: 5,
            admin_delete_enabled: true,
            domains_enabled: false,
            domains_enrollment_modes: Vec::new(),
            force_organization_selection: false,
        }
    }
}

/// One user attribute (email address, phone number, username, names, password).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AttributeSetting {
    /// Users can have it.
    pub enabled: bool,
    /// Users must have it.
    pub required: bool,
    /// It can identify a user at sign-in.
    pub used_for_first_factor: bool,
    /// It must be verified during sign-up.
    pub verify_at_sign_up: bool,
    /// It can be a second factor (phone numbers: SMS codes after the first factor).
    pub used_for_second_factor: bool,
}

impl AttributeSetting {
    const fn new(enabled: bool, required: bool, first_factor: bool, verify: bool) -> Self {
        Self {
            enabled,
            required,
            used_for_first_factor: first_factor,
            verify_at_sign_up: verify,
            used_for_second_factor: false,
        }
    }
}

impl Default for AttributeSetting {
    fn default() -> Self {
        Self::new(false, false, false, false)
    }
}

/// Sign-up modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SignUpMode {
    /// Anyone may sign up.
    #[default]
    Public,
    /// Only invited users may sign up.
    Restricted,
    /// Users join a waitlist first.
    Waitlist,
}

/// Password rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PasswordSettings {
    /// Minimum length in characters (at least 8).
    pub min_length: usize,
    /// Maximum length in bytes (at most 72, bcrypt's limit as Clerk keeps it).
    pub max_length: usize,
    /// Require one of `allowed_special_characters`.
    pub require_special_char: bool,
    /// Require a digit.
    pub require_numbers: bool,
    /// Require an uppercase letter.
    pub require_uppercase: bool,
    /// Require a lowercase letter.
    pub require_lowercase: bool,
    /// Characters that count as special.
    pub allowed_special_characters: String,
}

impl Default for PasswordSettings {
    fn default() -> Self {
        Self {
            min_length: 8,
            max_length: 72,
            require_special_char: false,
            require_numbers: false,
            require_uppercase: false,
            require_lowercase: false,
            allowed_special_characters: "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".to_owned(),
        }
    }
}

/// Username length rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UsernameSettings {
    /// Minimum length (Clerk: at least 4).
    pub min_length: usize,
    /// Maximum length (Clerk: at most 64).
    pub max_length: usize,
}

impl Default for UsernameSettings {
    fn default() -> Self {
        Self {
            min_length: 4,
            max_length: 64,
        }
    }
}

/// Lockout after repeated wrong passwords or codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LockoutSettings {
    /// Lockout is on.
    pub enabled: bool,
    /// Failed attempts before the account locks.
    pub max_attempts: i64,
    /// Lock duration in minutes (0 = until unlocked by an admin).
    pub duration_mins: i64,
}

impl Default for LockoutSettings {
    fn default() -> Self {
        // Clerk's defaults: on, 100 attempts, 60 minutes.
        Self {
            enabled: true,
            max_attempts: 100,
            duration_mins: 60,
        }
    }
}

/// User attributes and the sign-up/sign-in rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserSettings {
    /// Email address attribute.
    pub email_address: AttributeSetting,
    /// Phone number attribute.
    pub phone_number: AttributeSetting,
    /// Username attribute.
    pub username: AttributeSetting,
    /// First name attribute.
    pub first_name: AttributeSetting,
    /// Last name attribute.
    pub last_name: AttributeSetting,
    /// Password attribute.
    pub password: AttributeSetting,
    /// Password rules.
    pub password_settings: PasswordSettings,
    /// Username rules.
    pub username_settings: UsernameSettings,
    /// Who may sign up.
    pub sign_up_mode: SignUpMode,
    /// Sign-up asks for acceptance of legal terms.
    pub legal_consent_enabled: bool,
    /// One session per client.
    pub single_session_mode: bool,
    /// Users may delete their own account.
    pub delete_self_enabled: bool,
    /// Users may create organizations.
    pub create_organization_enabled: bool,
    /// Lockout rules.
    pub lockout: LockoutSettings,
    /// Hide whether an identifier exists at sign-in.
    pub enumeration_protection: bool,
    /// Per-IP and per-identifier limits on sign-in, sign-up and code sending.
    pub rate_limits_enabled: bool,
    /// Users may add an authenticator app (TOTP) as a second factor.
    pub authenticator_app_enabled: bool,
    /// Users with a second factor may hold backup codes.
    pub backup_code_enabled: bool,
    /// Every user needs a second factor: a session of a user without one
    /// has the `setup-mfa` task until they add one.
    pub mfa_required: bool,
    /// Users may sign in with a link emailed to a verified address.
    pub email_link_enabled: bool,
    /// An email link only works in the browser that asked for it.
    pub email_link_require_same_client: bool,
    /// Users may register passkeys (WebAuthn) and sign in with them.
    pub passkey_enabled: bool,
    /// The sign-in form offers the browser's passkeys as it autofills the identifier.
    pub passkey_allow_autofill: bool,
    /// The sign-in form shows a "sign in with passkey" button.
    pub passkey_show_sign_in_button: bool,
    /// The WebAuthn relying-party id passkeys are bound to (a registrable
    /// domain such as `example.com`); empty: the host of the page asking.
    pub passkey_rp_id: String,
}

impl UserSettings {
    /// SMS codes to a phone number the user reserved are a second factor.
    pub fn sms_second_factor(&self) -> bool {
        self.phone_number.enabled && self.phone_number.used_for_second_factor
    }
}

impl Default for UserSettings {
    fn default() -> Self {
        // Clerk's default application: email + password, optional names.
        Self {
            email_address: AttributeSetting::new(true, true, true, true),
            phone_number: AttributeSetting::new(false, false, false, true),
            username: AttributeSetting::new(false, false, false, false),
            first_name: AttributeSetting::new(true, false, false, false),
            last_name: AttributeSetting::new(true, false, false, false),
            password: AttributeSetting::new(true, true, true, false),
            password_settings: PasswordSettings::default(),
            username_settings: UsernameSettings::default(),
            sign_up_mode: SignUpMode::Public,
            legal_consent_enabled: false,
            single_session_mode: false,
            delete_self_enabled: true,
            create_organization_enabled: true,
            lockout: LockoutSettings::default(),
            enumeration_protection: false,
            rate_limits_enabled: true,
            authenticator_app_enabled: true,
            backup_code_enabled: true,
            mfa_required: false,
            email_link_enabled: false,
            email_link_require_same_client: false,
            passkey_enabled: false,
            passkey_allow_autofill: true,
            passkey_show_sign_in_button: true,
            passkey_rp_id: String::new(),
        }
    }
}

/// Why a change to the settings document was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    /// Dotted path of the offending key (`user.phone_number.enabled`), or `settings`.
    pub path: String,
    /// What is wrong.
    pub detail: String,
}

impl InstanceSettings {
    /// Applies a partial document: objects merge key by key, any other value
    /// replaces what was there. Unknown keys, values of the wrong type and
    /// values outside the rules are refused, naming the key; nothing changes then.
    pub fn merged(&self, patch: &serde_json::Value) -> Result<Self, SettingsError> {
        use serde_json::Value;
        let Value::Object(_) = patch else {
            return Err(SettingsError {
                path: "settings".to_owned(),
                detail: "must be a JSON object".to_owned(),
            });
        };
        let mut doc = serde_json::to_value(self).map_err(|e| SettingsError {
            path: "settings".to_owned(),
            detail: e.to_string(),
        })?;
        unknown_key(&doc, patch, "")?;
        merge(&mut doc, patch);
        let next: Self = serde_json::from_value(doc).map_err(|e| SettingsError {
            path: "settings".to_owned(),
            detail: e.to_string(),
        })?;
        next.check()?;
        Ok(next)
    }

    /// The rules a document must keep (those Clerk's dashboard enforces).
    fn check(&self) -> Result<(), SettingsError> {
        let fail = |path: &str, detail: &str| {
            Err(SettingsError {
                path: path.to_owned(),
                detail: detail.to_owned(),
            })
        };
        let u = &self.user;
        let p = &u.password_settings;
        if !(8..=72).contains(&p.min_length) {
            return fail("user.password_settings.min_length", "must be 8 to 72");
        }
        if p.max_length > 72 || p.max_length < p.min_length {
            return fail(
                "user.password_settings.max_length",
                "must be at least min_length and at most 72",
            );
        }
        let n = &u.username_settings;
        if n.min_length < 1 || n.max_length > 64 || n.max_length < n.min_length {
            return fail(
                "user.username_settings",
                "lengths must be 1 to 64, min_length at most max_length",
            );
        }
        if u.lockout.enabled && u.lockout.max_attempts < 1 {
            return fail("user.lockout.max_attempts", "must be at least 1");
        }
        if u.lockout.duration_mins < 0 {
            return fail("user.lockout.duration_mins", "must not be negative");
        }
        let rp_id = &u.passkey_rp_id;
        let rp_id_ok = rp_id.is_empty()
            || (rp_id.len() <= 253
                && rp_id.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                        && !label.starts_with('-')
                        && !label.ends_with('-')
                })
                && rp_id.bytes().any(|b| b.is_ascii_alphabetic())
                && *rp_id == rp_id.to_ascii_lowercase());
        if !rp_id_ok {
            return fail(
                "user.passkey_rp_id",
                "must be empty or a lower-case domain name (example.com), without scheme or port",
            );
        }
        let first_factor = [u.email_address, u.phone_number, u.username]
            .iter()
            .any(|a| a.enabled && a.used_for_first_factor);
        if !first_factor {
            return fail(
                "user",
                "at least one of email_address, phone_number and username must be enabled and used_for_first_factor",
            );
        }
        Ok(())
    }
}

fn unknown_key(
    doc: &serde_json::Value,
    patch: &serde_json::Value,
    prefix: &str,
) -> Result<(), SettingsError> {
    let (Some(doc), Some(patch)) = (doc.as_object(), patch.as_object()) else {
        return Ok(());
    };
    for (key, value) in patch {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match doc.get(key) {
            None => {
                return Err(SettingsError {
                    path,
                    detail: "is not a setting".to_owned(),
                })
            }
            Some(inner) => unknown_key(inner, value, &path)?,
        }
    }
    Ok(())
}

fn merge(doc: &mut serde_json::Value, patch: &serde_json::Value) {
    match (doc, patch) {
        (serde_json::Value::Object(d), serde_json::Value::Object(p)) => {
            for (k, v) in p {
                match d.get_mut(k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge(slot, v),
                    _ => {
                        d.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (doc, patch) => *doc = patch.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_document_loads_with_defaults() {
        let settings: InstanceSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(settings, InstanceSettings::default());
        assert!(settings.user.email_address.required);
        assert_eq!(settings.user.password_settings.max_length, 72);
    }

    #[test]
    fn partial_document_keeps_other_defaults() {
        let settings: InstanceSettings =
            serde_json::from_str(r#"{"instance":{"hibp":false}}"#).unwrap();
        assert!(!settings.instance.hibp);
        assert!(settings.instance.test_mode);
    }

    #[test]
    fn a_partial_document_merges_into_the_settings() {
        let base = InstanceSettings::default();
        let next = base
            .merged(&serde_json::json!({
                "user": {"phone_number": {"enabled": true, "used_for_second_factor": true},
                         "sign_up_mode": "restricted"}
            }))
            .unwrap();
        assert!(next.user.sms_second_factor());
        assert_eq!(next.user.sign_up_mode, SignUpMode::Restricted);
        assert!(
            !next.user.phone_number.required,
            "siblings keep their values"
        );
        assert!(next.user.email_address.required);
        assert_eq!(next.instance, base.instance);
    }

    #[test]
    fn unknown_keys_wrong_types_and_broken_rules_are_refused() {
        let base = InstanceSettings::default();
        let err = base
            .merged(&serde_json::json!({"user": {"phone_number": {"enbled": true}}}))
            .unwrap_err();
        assert_eq!(err.path, "user.phone_number.enbled");
        let err = base.merged(&serde_json::json!({"nope": 1})).unwrap_err();
        assert_eq!(err.path, "nope");
        let err = base
            .merged(&serde_json::json!({"user": {"single_session_mode": "yes"}}))
            .unwrap_err();
        assert_eq!(err.path, "settings");
        let err = base
            .merged(&serde_json::json!({"user": {"password_settings": {"min_length": 4}}}))
            .unwrap_err();
        assert_eq!(err.path, "user.password_settings.min_length");
        let err = base
            .merged(
                &serde_json::json!({"user": {"email_address": {"used_for_first_factor": false}}}),
            )
            .unwrap_err();
        assert_eq!(err.path, "user");
        assert!(base.merged(&serde_json::json!([1])).is_err());
    }
}
