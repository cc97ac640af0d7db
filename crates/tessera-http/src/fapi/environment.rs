//! `GET|PATCH /v1/environment`: the instance settings as clerk-js reads them.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use tessera_core::Core;

use crate::proxy::PublicUrl;
use tessera_domain::settings::{AttributeSetting, EnvironmentType, SignUpMode};
use tessera_domain::sign_in;
use tessera_domain::verification::Strategy;

fn attribute(a: AttributeSetting, first_factors: &[&str], verifications: &[&str]) -> Value {
    // Only phone numbers can be a second factor (SMS codes); `verifications`
    // names the code strategy of the attribute.
    let second = a.enabled && a.used_for_second_factor && verifications == ["phone_code"];
    json!({
        "enabled": a.enabled,
        "required": a.enabled && a.required,
        "used_for_first_factor": a.enabled && a.used_for_first_factor,
        "first_factors": if a.enabled && a.used_for_first_factor { first_factors.to_vec() } else { Vec::new() },
        "used_for_second_factor": second,
        "second_factors": if second { verifications.to_vec() } else { Vec::new() },
        "verifications": if a.enabled { verifications.to_vec() } else { Vec::new() },
        "verify_at_sign_up": a.enabled && a.verify_at_sign_up,
    })
}

/// A second factor the user holds (authenticator app, backup codes): an
/// attribute that is only ever a second factor.
fn held_factor(on: bool, strategy: Strategy) -> Value {
    json!({
        "enabled": on,
        "required": false,
        "used_for_first_factor": false,
        "first_factors": [],
        "used_for_second_factor": on,
        "second_factors": if on { vec![strategy] } else { Vec::new() },
        "verifications": [],
        "verify_at_sign_up": false,
    })
}

fn disabled() -> Value {
    attribute(AttributeSetting::default(), &[], &[])
}

/// Renders the environment document.
pub fn environment(core: &Core, public: &PublicUrl) -> Value {
    let inst = core.instance();
    let s = &inst.settings;
    let u = &s.user;
    let roles = core.roles();
    let role_set = roles.initial_set();
    // Behind the app's proxy the page URLs are the hosted pages, on the app's
    // origin. Otherwise they are relative (the app's own routes): clerk-js on a
    // development key refuses absolute URLs of another origin than the page's
    // ("Missing dev browser").
    let base = if public.proxied() { public.base() } else { "" };
    let name = &s.instance.application_name;
    let on_off = |a: AttributeSetting| match (a.enabled, a.required) {
        (true, true) => "required",
        (true, false) => "on",
        _ => "off",
    };
    let mut identification = Vec::new();
    if u.email_address.enabled && u.email_address.used_for_first_factor {
        identification.push("email_address");
    }
    if u.username.enabled && u.username.used_for_first_factor {
        identification.push("username");
    }
    if u.phone_number.enabled && u.phone_number.used_for_first_factor {
        identification.push("phone_number");
    }
    let mut first_factors = Vec::new();
    if u.password.enabled {
        first_factors.push(Strategy::Password);
    }
    if u.email_address.enabled {
        first_factors.push(Strategy::EmailCode);
        if u.email_link_enabled {
            first_factors.push(Strategy::EmailLink);
        }
    }
    if u.passkey_enabled {
        first_factors.push(Strategy::Passkey);
    }
    let second_factors: Vec<Strategy> = sign_in::SECOND_FACTORS
        .iter()
        .copied()
        .filter(|f| match f {
            Strategy::PhoneCode => u.sms_second_factor(),
            Strategy::Totp => u.authenticator_app_enabled,
            Strategy::BackupCode => u.backup_code_enabled,
            _ => false,
        })
        .collect();
    let any_second_factor = !second_factors.is_empty();
    json!({
        "object": "environment",
        "id": inst.id.as_str(),
        "auth_config": {
            "object": "auth_config",
            "id": format!("aac_{}", inst.id.as_str().trim_start_matches("ins_")),
            "first_name": on_off(u.first_name),
            "last_name": on_off(u.last_name),
            "email_address": on_off(u.email_address),
            "phone_number": on_off(u.phone_number),
            "username": on_off(u.username),
            "password": on_off(u.password),
            "identification_requirements": [identification.clone()],
            "identification_strategies": identification,
            "first_factors": first_factors,
            "second_factors": second_factors,
            "email_address_verification_strategies": if u.email_link_enabled { vec!["email_code", "email_link"] } else { vec!["email_code"] },
            "single_session_mode": u.single_session_mode,
            "enhanced_email_deliverability": false,
            "test_mode": s.instance.test_mode,
            "cookieless_dev": false,
            "url_based_session_syncing": false,
            "claimed_at": null,
            "reverification": false,
            "preferred_channels": null,
            "session_minter": false,
        },
        "display_config": {
            "object": "display_config",
            "id": format!("display_config_{}", inst.id.as_str().trim_start_matches("ins_")),
            "instance_environment_type": inst.environment.as_str(),
            "application_name": name,
            "theme": { "buttons": { "font_color": "#ffffff", "font_family": "sans-serif", "font_weight": "600" },
                       "general": { "color": "#6c47ff", "padding": "1em", "box_shadow": "none", "font_color": "#151515",
                                    "font_family": "sans-serif", "border_radius": "0.5em", "background_color": "#ffffff",
                                    "label_font_weight": "600" },
                       "accounts": { "background_color": "#ffffff" } },
            "preferred_sign_in_strategy": "password",
            "logo_image_url": "",
            "favicon_image_url": "",
            "home_url": "/",
            "sign_in_url": format!("{base}/sign-in"),
            "sign_up_url": format!("{base}/sign-up"),
            "user_profile_url": format!("{base}/user"),
            "waitlist_url": format!("{base}/waitlist"),
            "after_sign_in_url": "/",
            "after_sign_up_url": "/",
            "after_sign_out_one_url": format!("{base}/sign-in"),
            "after_sign_out_all_url": format!("{base}/sign-in"),
            "after_switch_session_url": "/",
            "after_join_waitlist_url": "/",
            "organization_profile_url": format!("{base}/organization"),
            "create_organization_url": format!("{base}/create-organization"),
            "after_leave_organization_url": "/",
            "after_create_organization_url": "/",
            "support_email": s.instance.support_email,
            "branded": false,
            "experimental_force_oauth_first": false,
            "clerk_js_version": s.instance.clerk_js_version,
            "show_devmode_warning": false,
            "google_one_tap_client_id": null,
            "help_url": null,
            "privacy_policy_url": "",
            "terms_url": "",
            "logo_link_url": "/",
            "captcha_public_key": null,
            "captcha_widget_type": null,
            "captcha_public_key_invisible": null,
            "captcha_provider": null,
            "captcha_oauth_bypass": [],
            "captcha_heartbeat": false,
            "captcha_heartbeat_interval_ms": null,
        },
        "user_settings": {
            "attributes": {
                "email_address": attribute(
                    u.email_address,
                    if u.email_link_enabled { &["email_code", "email_link"] } else { &["email_code"] },
                    if u.email_link_enabled { &["email_code", "email_link"] } else { &["email_code"] },
                ),
                "phone_number": attribute(u.phone_number, &["phone_code"], &["phone_code"]),
                "username": attribute(u.username, &[], &[]),
                "first_name": attribute(u.first_name, &[], &[]),
                "last_name": attribute(u.last_name, &[], &[]),
                "password": attribute(u.password, &[], &[]),
                "web3_wallet": disabled(),
                "authenticator_app": held_factor(u.authenticator_app_enabled, Strategy::Totp),
                "backup_code": held_factor(u.backup_code_enabled, Strategy::BackupCode),
                "passkey": json!({
                    "enabled": u.passkey_enabled,
                    "required": false,
                    "used_for_first_factor": u.passkey_enabled,
                    "first_factors": if u.passkey_enabled { vec![Strategy::Passkey] } else { Vec::new() },
                    "used_for_second_factor": false,
                    "second_factors": [],
                    "verifications": if u.passkey_enabled { vec![Strategy::Passkey] } else { Vec::new() },
                    "verify_at_sign_up": false,
                }),
            },
            "social": {},
            "saml": { "enabled": false },
            "enterprise_sso": { "enabled": false, "self_serve_sso": false },
            "sign_in": { "second_factor": { "required": false, "enabled": any_second_factor } },
            "sign_up": {
                "captcha_enabled": false,
                "captcha_widget_type": "smart",
                "custom_action_required": false,
                "progressive": true,
                "mode": match u.sign_up_mode {
                    SignUpMode::Public => "public",
                    SignUpMode::Restricted => "restricted",
                    SignUpMode::Waitlist => "waitlist",
                },
                "legal_consent_enabled": u.legal_consent_enabled,
                "allowlist_only": s.restrictions.allowlist,
                "mfa": { "required": u.mfa_required },
            },
            "restrictions": {
                "allowlist": { "enabled": s.restrictions.allowlist },
                "blocklist": { "enabled": s.restrictions.blocklist },
                "block_email_subaddresses": { "enabled": s.restrictions.block_email_subaddresses },
                "block_disposable_email_domains": { "enabled": s.restrictions.block_disposable_email_domains },
                "ignore_dots_for_gmail_addresses": { "enabled": false },
            },
            "password_settings": {
                "disable_hibp": !s.instance.hibp,
                "min_length": u.password_settings.min_length.max(8),
                "max_length": u.password_settings.max_length.clamp(8, 72),
                "require_special_char": u.password_settings.require_special_char,
                "require_numbers": u.password_settings.require_numbers,
                "require_uppercase": u.password_settings.require_uppercase,
                "require_lowercase": u.password_settings.require_lowercase,
                "allowed_special_characters": u.password_settings.allowed_special_characters,
                "show_zxcvbn": false,
                "min_zxcvbn_strength": 0,
                "enforce_hibp_on_sign_in": false,
            },
            "username_settings": {
                "min_length": u.username_settings.min_length,
                "max_length": u.username_settings.max_length,
            },
            "passkey_settings": {
                "allow_autofill": u.passkey_enabled && u.passkey_allow_autofill,
                "show_sign_in_button": u.passkey_enabled && u.passkey_show_sign_in_button,
            },
            "actions": {
                "delete_self": u.delete_self_enabled,
                "create_organization": u.create_organization_enabled,
                "create_organizations_limit": null,
            },
            "attack_protection": {
                "user_lockout": {
                    "enabled": u.lockout.enabled,
                    "max_attempts": u.lockout.max_attempts,
                    "duration_in_minutes": u.lockout.duration_mins,
                },
                "pii": { "enabled": false },
                "email_link": { "require_same_client": u.email_link_require_same_client },
                "enumeration_protection": { "enabled": u.enumeration_protection },
            },
        },
        "organization_settings": {
            "enabled": s.organizations.enabled,
            "max_allowed_memberships": s.organizations.max_allowed_memberships,
            "force_organization_selection": s.organizations.force_organization_selection,
            "actions": { "admin_delete": s.organizations.admin_delete_enabled },
            "domains": {
                "enabled": s.organizations.domains_enabled,
                "enrollment_modes": s.organizations.domains_enrollment_modes,
                "default_role": role_set.map(|s| s.default_role.as_str()),
            },
            "slug": { "disabled": false },
            "organization_creation_defaults": { "enabled": false },
            "creator_role": role_set.map(|s| s.creator_role.as_str()),
        },
        "commerce_settings": {
            "billing": {
                "stripe_publishable_key": null,
                "enabled": false,
                "has_paid_user_plans": false,
                "has_paid_org_plans": false,
                "organization": { "enabled": false, "has_paid_plans": false },
                "user": { "enabled": false, "has_paid_plans": false },
            },
        },
        "api_keys_settings": { "user_api_keys_enabled": false, "orgs_api_keys_enabled": false, "enabled": false },
        "protect_config": { "object": "protect_config", "id": "protect_config", "loaders": [] },
        "fraud_settings": { "object": "fraud_settings", "native": { "device_attestation_mode": "disabled" } },
        "maintenance_mode": false,
        "client_debug_mode": false,
        "partitioned_cookies": false,
        "is_development": inst.environment == EnvironmentType::Development,
    })
}

/// `GET /v1/environment` and `PATCH /v1/environment` (development "touch").
pub async fn get_environment(State(core): State<Core>, public: PublicUrl) -> Json<Value> {
    Json(environment(&core, &public))
}
