//! `instance`, `instance_restrictions` and `organization_settings` objects.

use serde_json::{json, Value};
use tessera_domain::organizations::Roles;
use tessera_store::records::Instance;

/// The instance.
pub fn instance(inst: &Instance) -> Value {
    json!({
        "object": "instance",
        "id": inst.id.as_str(),
        "environment_type": inst.environment.as_str(),
        "allowed_origins": inst.settings.instance.allowed_origins,
        "workspace_id": null,
    })
}

/// The allowlist/blocklist restrictions.
pub fn restrictions(inst: &Instance) -> Value {
    let r = &inst.settings.restrictions;
    json!({
        "object": "instance_restrictions",
        "allowlist": r.allowlist,
        "blocklist": r.blocklist,
        "allowlist_blocklist_disabled_on_sign_in": r.allowlist_blocklist_disabled_on_sign_in,
        "block_email_subaddresses": r.block_email_subaddresses,
        "block_disposable_email_domains": r.block_disposable_email_domains,
    })
}

/// The organization settings.
pub fn organization_settings(inst: &Instance, roles: &Roles) -> Value {
    let o = &inst.settings.organizations;
    let set = roles.initial_set();
    json!({
        "object": "organization_settings",
        "enabled": o.enabled,
        "max_allowed_memberships": o.max_allowed_memberships,
        "max_allowed_roles": 10,
        "max_allowed_domains": 10,
        "max_role_sets_allowed": 10,
        "creator_role": set.map(|s| s.creator_role.as_str()),
        "admin_delete_enabled": o.admin_delete_enabled,
        "domains_enabled": o.domains_enabled,
        "slug_disabled": false,
        "domains_enrollment_modes": o.domains_enrollment_modes,
        "domains_default_role": set.map(|s| s.default_role.as_str()),
        "initial_role_set_key": set.map(|s| s.key.as_str()),
        "force_organization_selection": o.force_organization_selection,
    })
}
