//! `email_address` and `phone_number` objects with their verification.

use crate::clock::now_ms;
use serde_json::{json, Value};
use tessera_domain::kinds::{IdentificationKind, VerificationStatus};
use tessera_domain::verification::Strategy;
use tessera_store::records::Identification;

/// The `verification` of an identification: `verification_admin` for ones set
/// by the Backend API, `verification_otp` for code-verified ones, `null` when unverified.
pub fn verification(idn: &Identification) -> Value {
    match (idn.verification_status, idn.verification_strategy) {
        (VerificationStatus::Verified, Some(Strategy::Admin) | None) => json!({
            "object": "verification_admin",
            "status": "verified",
            "strategy": Strategy::Admin,
            "attempts": null,
            "expire_at": null,
            "verified_at_client": null,
        }),
        (status, Some(strategy)) => {
            // A code in flight: its attempts, expiry, and `expired`/`failed` states.
            let code = idn.verification.as_ref();
            let shown = match (code, status) {
                (Some(c), VerificationStatus::Unverified) => c.status_at(now_ms()),
                _ => status,
            };
            json!({
                "object": "verification_otp",
                "status": shown,
                "strategy": strategy,
                "attempts": code.map(|c| c.attempts),
                "expire_at": code.and_then(|c| c.expire_at),
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

/// A `passkey`; its verification carries the WebAuthn options (`nonce`)
/// only while the registration waits for the authenticator's answer.
pub fn passkey(p: &tessera_store::passkeys::Passkey) -> Value {
    let now = now_ms();
    let verification = p.verification.as_ref().map(|v| {
        let status = v.status_at(now);
        json!({
            "object": "verification_passkey",
            "status": status,
            "strategy": Strategy::Passkey,
            "attempts": null,
            "expire_at": v.expire_at,
            "nonce": if status == VerificationStatus::Unverified { v.nonce.clone() } else { None },
        })
    });
    json!({
        "object": "passkey",
        "id": p.id.as_str(),
        "name": p.name,
        "last_used_at": p.last_used_at,
        "verification": verification,
        "created_at": p.created_at,
        "updated_at": p.updated_at,
    })
}
