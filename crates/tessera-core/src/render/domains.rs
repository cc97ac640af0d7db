//! Verified domains, suggestions and membership requests as the Backend API
//! renders them (the Frontend API's shapes are the same, less what only the
//! backend sees).

use serde_json::{json, Value};
use tessera_domain::verification::Verification;
use tessera_store::domains::{Domain, Offer};
use tessera_store::records::{MemberUser, Organization};

use super::organization::{public_organization_data, public_user_data};

fn verification(v: &Verification, now: i64) -> Value {
    json!({
        "status": v.status_at(now).as_str(),
        "strategy": "email_code",
        "attempts": v.attempts,
        // Clerk's Backend API names it `expire_at`, clerk-js reads `expires_at`.
        "expire_at": v.expire_at,
        "expires_at": v.expire_at,
        "verified_at": null,
    })
}

/// A domain, with its pending invitations and suggestions counted.
pub fn domain(
    d: &Domain,
    org: &Organization,
    (invitations, suggestions): (i64, i64),
    now: i64,
    frontend_url: &str,
) -> Value {
    let affiliation = d
        .affiliation_verification
        .as_ref()
        .map(|v| verification(v, now));
    let ownership = d.ownership_verified_at.map(|at| {
        json!({
            "status": "verified",
            "strategy": "manual_override",
            "attempts": null,
            "expire_at": null,
            "verified_at": at,
        })
    });
    json!({
        "object": "organization_domain",
        "id": d.id,
        "organization_id": d.organization_id.as_str(),
        "name": d.name,
        "enrollment_mode": d.enrollment_mode,
        "affiliation_email_address": d.affiliation_email_address,
        "affiliation_verification": affiliation,
        "ownership_verification": ownership,
        "verification": affiliation,
        "total_pending_invitations": invitations,
        "total_pending_suggestions": suggestions,
        "public_organization_data": public_organization_data(org, frontend_url),
        "created_at": d.created_at,
        "updated_at": d.updated_at,
    })
}

/// A suggestion to join an organization.
pub fn suggestion(o: &Offer, org: &Organization, frontend_url: &str) -> Value {
    json!({
        "object": "organization_suggestion",
        "id": o.id,
        "public_organization_data": public_organization_data(org, frontend_url),
        "status": o.status,
        "created_at": o.created_at,
        "updated_at": o.updated_at,
    })
}

/// A request to join an organization, with who asks.
pub fn membership_request(o: &Offer, user: &MemberUser, frontend_url: &str) -> Value {
    json!({
        "object": "organization_membership_request",
        "id": o.id,
        "organization_id": o.organization_id,
        "status": o.status,
        "public_user_data": public_user_data(user, frontend_url),
        "created_at": o.created_at,
        "updated_at": o.updated_at,
    })
}
