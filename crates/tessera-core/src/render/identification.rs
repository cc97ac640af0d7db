//! `email_address` and `phone_number` objects with their verification.

use crate::clock::now_ms;
use crate::codes::CodeState;
use serde_json::{json, Value};
use tessera_domain::kinds::{IdentificationKind, VerificationStatus};
use tessera_store::records::Identification;

/// The `verification` of an identification: `verification_admin` for ones set
/// by the Backend API, `verification_otp` for code-verified ones, `null` when unverified.
pub fn verification(idn: &Identification) -> Value {
    match (
        idn.verification_status,
        idn.verification_strategy.as_deref(),
    ) {
        (VerificationStatus::Verified, Some("admin") | None) => json!({
            "object": "verification_admin",
            "status": "verified",
            "strategy": "admin",
            "attempts": null,
            "expire_at": null,
            "verified_at_client": null,
        }),
        (status, Some(strategy)) => {
            // A code in flight: its attempts, expiry, and `expired`/`failed` states.
            let code: Option<CodeState> = idn
                .verification
                .clone()
                .and_then(|v| serde_json::from_value(v).ok());
            let shown = match (&code, status) {
                (Some(c), VerificationStatus::Unverified) => c.status_at(now_ms()).to_owned(),
                _ => status.as_str().to_owned(),
            };
            json!({
                "object": "verification_otp",
                "status": shown,
                "strategy": strategy,
                "attempts": code.as_ref().map(|c| c.attempts),
                "expire_at": code.as_ref().and_then(|c| c.expire_at),
                "verified_at_client": null,
            })
        }
        (_, None) => Value::Null,
    }
}

/// An identification as Clerk renders it.
pub fn identification(idn: &Identification) -> Value {
    match idn.kind {
        IdentificationKind::EmailAddress => json!({
            "id": idn.id.as_str(),
            "object": "email_address",
            "email_address": idn.identifier,
            "reserved": idn.reserved,
            "verification": verification(idn),
            "linked_to": [],
            "matches_sso_connection": false,
            "created_at": idn.created_at,
            "updated_at": idn.updated_at,
        }),
        IdentificationKind::PhoneNumber => json!({
            "id": idn.id.as_str(),
            "object": "phone_number",
            "phone_number": idn.identifier,
            "reserved_for_second_factor": idn.reserved_for_second_factor,
            "default_second_factor": idn.default_second_factor,
            "reserved": idn.reserved,
            "verification": verification(idn),
            "linked_to": [],
            "backup_codes": null,
            "created_at": idn.created_at,
            "updated_at": idn.updated_at,
        }),
    }
}
