//! Passkeys: WebAuthn credentials, through the `webauthn-rs` crate.
//!
//! Registration (`/v1/me/passkeys`) keeps its challenge on the passkey's row
//! until the authenticator's answer verifies; sign-in and reverification keep
//! theirs on their own verification. The options the browser needs travel as
//! `verification.nonce` (JSON, base64url binary fields, as clerk-js reads
//! them); the server's side of each ceremony never leaves the store.
//!
//! The relying-party id is the instance's `user.passkey_rp_id`, else the host
//! of the page asking; the origin the browser signs must be that page's. Every
//! credential is asked to be discoverable (a resident key), so that sign-in
//! can start without an identifier, and to verify the user (PIN, biometrics).
//! A signature counter that goes backwards is refused by the crate.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tessera_domain::error_code::ErrorCode;
use tessera_domain::ids::{IdentificationId, SessionId, UserId};
use tessera_domain::kinds::VerificationStatus;
use tessera_domain::verification::{Strategy, Verification};
use tessera_store::passkeys::Passkey;
use tessera_store::{Conn, StoreError};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey as Credential, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
};

use crate::clock::now_ms;
use crate::error::{CoreError, CoreResult};
use crate::second_factors::held_second_factors;
use crate::users::{load_view, UserView};

/// How recent the session's verification must be to add a passkey (10
/// minutes, Clerk's "strict").
pub const RECENT_VERIFICATION_MS: i64 = 10 * 60 * 1000;

/// The longest name a passkey may have.
const MAX_NAME_LEN: usize = 256;

/// What a passkey's signature over a challenge came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assertion {
    /// A registered passkey signed the challenge; its user.
    Verified(UserId),
    /// The signature, the credential or the challenge did not check out.
    Refused,
}

fn invalid_credential(detail: &str) -> CoreError {
    CoreError::value("public_key_credential", detail)
}

fn already_registered() -> CoreError {
    CoreError::NotAllowed {
        code: ErrorCode::PasskeyAlreadyRegistered,
        detail: "This passkey is registered already.".to_owned(),
    }
}

fn not_enabled() -> CoreError {
    CoreError::NotAllowed {
        code: ErrorCode::FeatureNotEnabled,
        detail: "Passkeys are turned off on this instance.".to_owned(),
    }
}

/// The WebAuthn user handle of a user: 16 bytes derived from their id (the
/// crate takes a UUID), the same for all their passkeys.
pub(crate) fn user_handle(user: &UserId) -> Uuid {
    let digest = Sha256::digest(format!("tessera passkey user:{}", user.as_str()).as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

fn credential_of(p: &Passkey) -> CoreResult<Credential> {
    let raw = p.credential.as_deref().ok_or(CoreError::NotFound)?;
    serde_json::from_str(raw).map_err(|e| CoreError::Internal(format!("stored passkey: {e}")))
}

fn json<T: serde::Serialize>(value: &T) -> CoreResult<String> {
    serde_json::to_string(value).map_err(|e| CoreError::Internal(format!("passkey state: {e}")))
}

/// The browser's options of a ceremony, as JSON to adjust before they go out.
fn options_json<T: serde::Serialize>(options: &T) -> CoreResult<Value> {
    serde_json::to_value(options).map_err(|e| CoreError::Internal(format!("passkey options: {e}")))
}

fn ceremony_failed(e: impl std::fmt::Display) -> CoreError {
    CoreError::Internal(format!("passkey ceremony: {e}"))
}

impl crate::Passkeys<'_> {
    fn require_enabled(&self) -> CoreResult<()> {
        if self.instance().settings.user.passkey_enabled {
            Ok(())
        } else {
            Err(not_enabled())
        }
    }

    /// The relying party for a ceremony started by a page on `origin`.
    fn relying_party(&self, origin: Option<&str>) -> CoreResult<Webauthn> {
        let origin = origin
            .and_then(|o| Url::parse(o).ok())
            .filter(|o| matches!(o.scheme(), "http" | "https") && o.domain().is_some())
            .ok_or_else(|| {
                CoreError::value(
                    "origin",
                    "passkeys need a request from a page on a domain name (not an IP address)",
                )
            })?;
        let settings = &self.instance().settings;
        let configured = settings.user.passkey_rp_id.as_str();
        let rp_id = if configured.is_empty() {
            origin.domain().unwrap_or_default().to_owned()
        } else {
            configured.to_owned()
        };
        let name = settings.instance.application_name.clone();
        WebauthnBuilder::new(&rp_id, &origin)
            .map_err(|_| {
                CoreError::value(
                    "origin",
                    format!("the page's origin is not within the passkey domain {rp_id}"),
                )
            })?
            .rp_name(&name)
            .build()
            .map_err(ceremony_failed)
    }

    /// `POST /v1/me/passkeys`: starts registering a passkey; its
    /// verification's nonce holds the options for `navigator.credentials.create`.
    /// A new way in needs a recent verification of the session (as Clerk's
    /// "strict" reverification: the second factor, for users who hold one,
    /// else the first, within [`RECENT_VERIFICATION_MS`]).
    pub async fn start_registration(
        &self,
        user_id: &UserId,
        session_id: &SessionId,
        origin: Option<&str>,
    ) -> CoreResult<Passkey> {
        self.require_enabled()?;
        let webauthn = self.relying_party(origin)?;
        let now = now_ms();
        let mut tx = self.begin().await?;
        let view = load_view(&mut tx, user_id).await?;
        let session = tessera_store::sessions::get(&mut tx, session_id).await?;
        let held = held_second_factors(
            &self.instance().settings.user,
            &view.user,
            &view.identifications,
        );
        let verified_at = if held.is_empty() {
            session.first_factor_at
        } else {
            session.second_factor_at
        };
        if verified_at.is_none_or(|t| now - t > RECENT_VERIFICATION_MS) {
            return Err(CoreError::NotAllowed {
                code: ErrorCode::SessionReverificationRequired,
                detail: "Verify it's you again before adding a passkey.".to_owned(),
            });
        }
        let exclude = view
            .passkeys
            .iter()
            .map(|p| credential_of(p).map(|c| c.cred_id().clone()))
            .collect::<CoreResult<Vec<_>>>()?;
        let (name, display_name) = account_names(&view);
        let (options, state) = webauthn
            .start_passkey_registration(user_handle(user_id), &name, &display_name, Some(exclude))
            .map_err(ceremony_failed)?;
        let mut public_key = options_json(&options.public_key)?;
        // A discoverable credential, so that sign-in needs no identifier.
        public_key["authenticatorSelection"] = serde_json::json!({
            "residentKey": "required",
            "requireResidentKey": true,
            "userVerification": "required",
        });
        tessera_store::passkeys::delete_unregistered(&mut tx, user_id).await?;
        let passkey = Passkey {
            id: IdentificationId::generate(now),
            user_id: user_id.clone(),
            name: default_name(&view),
            credential_id: None,
            credential: None,
            verification: Some(Verification::passkey_challenge(
                public_key.to_string(),
                json(&state)?,
                now,
            )),
            uses: 0,
            last_used_at: None,
            created_at: now,
            updated_at: now,
        };
        tessera_store::passkeys::insert(&mut tx, &passkey).await?;
        tx.commit().await?;
        Ok(passkey)
    }

    /// `POST /v1/me/passkeys/{id}/attempt_verification`: the authenticator's
    /// answer; once it verifies, the passkey can sign in.
    pub async fn finish_registration(
        &self,
        user_id: &UserId,
        id: &str,
        public_key_credential: &str,
        origin: Option<&str>,
    ) -> CoreResult<Passkey> {
        self.require_enabled()?;
        let id = IdentificationId::parse(id).ok_or(CoreError::NotFound)?;
        let webauthn = self.relying_party(origin)?;
        let answer: RegisterPublicKeyCredential = serde_json::from_str(public_key_credential)
            .map_err(|_| invalid_credential("must be the JSON of a WebAuthn attestation"))?;
        let now = now_ms();
        let mut tx = self.begin().await?;
        let mut passkey = tessera_store::passkeys::get(&mut tx, user_id, &id)
            .await
            .map_err(not_found)?;
        let verification = passkey
            .verification
            .clone()
            .filter(|v| v.strategy == Strategy::Passkey)
            .ok_or(CoreError::NotFound)?;
        match verification.status_at(now) {
            VerificationStatus::Verified => {
                return Err(CoreError::NotAllowed {
                    code: ErrorCode::VerificationAlreadyVerified,
                    detail: "This passkey is registered already.".to_owned(),
                })
            }
            VerificationStatus::Unverified => {}
            _ => {
                return Err(CoreError::NotAllowed {
                    code: ErrorCode::VerificationExpired,
                    detail: "This registration has expired. Start it again.".to_owned(),
                })
            }
        }
        let state: PasskeyRegistration = verification
            .challenge
            .as_deref()
            .and_then(|c| serde_json::from_str(c).ok())
            .ok_or(CoreError::NotFound)?;
        // Refused as already there before the crate refuses it as excluded.
        if tessera_store::passkeys::find_by_credential(
            &mut tx,
            &URL_SAFE_NO_PAD.encode(&answer.raw_id),
        )
        .await?
        .is_some()
        {
            return Err(already_registered());
        }
        let credential = webauthn
            .finish_passkey_registration(&answer, &state)
            .map_err(|e| {
                tracing::info!(error = %e, "passkey registration refused");
                CoreError::NotAllowed {
                    code: ErrorCode::PasskeyRegistrationFailed,
                    detail: "The authenticator's answer did not verify.".to_owned(),
                }
            })?;
        // A credential id registered meanwhile is refused by the unique index
        // (mapped to the same answer below).
        let raw_id: &[u8] = credential.cred_id().as_ref();
        let credential_id = URL_SAFE_NO_PAD.encode(raw_id);
        passkey.credential_id = Some(credential_id);
        passkey.credential = Some(json(&credential)?);
        passkey.verification = Some(Verification {
            status: VerificationStatus::Verified,
            challenge: None,
            ..verification
        });
        passkey.updated_at = now;
        tessera_store::passkeys::register(&mut tx, &passkey)
            .await
            .map_err(|e| match e {
                StoreError::Conflict { .. } => already_registered(),
                // Finished or removed by another request meanwhile.
                StoreError::NotFound => CoreError::NotAllowed {
                    code: ErrorCode::VerificationAlreadyVerified,
                    detail: "This passkey is registered already.".to_owned(),
                },
                e => e.into(),
            })?;
        self.touch_user(&mut tx, user_id, now).await?;
        tx.commit().await?;
        Ok(passkey)
    }

    /// One of the user's passkeys (registered or not).
    pub async fn get(&self, user_id: &UserId, id: &str) -> CoreResult<Passkey> {
        let id = IdentificationId::parse(id).ok_or(CoreError::NotFound)?;
        let mut conn = self.store.read().await?;
        tessera_store::passkeys::get(&mut conn, user_id, &id)
            .await
            .map_err(not_found)
    }

    /// `PATCH /v1/me/passkeys/{id}`: a new name.
    pub async fn rename(&self, user_id: &UserId, id: &str, name: &str) -> CoreResult<Passkey> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
            return Err(CoreError::value(
                "name",
                format!("must be 1 to {MAX_NAME_LEN} characters"),
            ));
        }
        let id = IdentificationId::parse(id).ok_or(CoreError::NotFound)?;
        let now = now_ms();
        let mut tx = self.begin().await?;
        tessera_store::passkeys::rename(&mut tx, user_id, &id, name, now)
            .await
            .map_err(not_found)?;
        let passkey = tessera_store::passkeys::get(&mut tx, user_id, &id).await?;
        if passkey.is_registered() {
            self.touch_user(&mut tx, user_id, now).await?;
        }
        tx.commit().await?;
        Ok(passkey)
    }

    /// `DELETE /v1/me/passkeys/{id}`, BAPI `DELETE /users/{id}/passkeys/{id}`.
    pub async fn delete(&self, user_id: &UserId, id: &str) -> CoreResult<IdentificationId> {
        let id = IdentificationId::parse(id).ok_or(CoreError::NotFound)?;
        let now = now_ms();
        let mut tx = self.begin().await?;
        let passkey = tessera_store::passkeys::get(&mut tx, user_id, &id)
            .await
            .map_err(not_found)?;
        if !tessera_store::passkeys::delete(&mut tx, user_id, &id).await? {
            return Err(CoreError::NotFound);
        }
        // An abandoned registration (clerk-js removes it) changed nothing visible.
        if passkey.is_registered() {
            self.touch_user(&mut tx, user_id, now).await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// A sign-in's or a reverification's challenge: `(nonce, state)`. With
    /// `allowed` (an identified user's passkeys) the browser offers only
    /// those; without, any passkey of this site.
    pub fn challenge(
        &self,
        allowed: &[Passkey],
        origin: Option<&str>,
    ) -> CoreResult<(String, String)> {
        self.require_enabled()?;
        let webauthn = self.relying_party(origin)?;
        let (options, state) = webauthn
            .start_discoverable_authentication()
            .map_err(ceremony_failed)?;
        let mut public_key = options_json(&options.public_key)?;
        let allow: Vec<Value> = allowed
            .iter()
            .filter_map(|p| p.credential_id.as_ref())
            .map(|id| serde_json::json!({ "type": "public-key", "id": id }))
            .collect();
        public_key["allowCredentials"] = Value::Array(allow);
        Ok((public_key.to_string(), json(&state)?))
    }

    /// Checks a passkey's signature over a challenge made by
    /// [`Self::challenge`] (its stored `state`), in the caller's transaction:
    /// a good one records the use (counter, last use), so that the same
    /// answer cannot be spent twice.
    pub async fn check_assertion(
        &self,
        conn: &mut Conn,
        state: &str,
        public_key_credential: &str,
        origin: Option<&str>,
    ) -> CoreResult<Assertion> {
        self.require_enabled()?;
        let webauthn = self.relying_party(origin)?;
        let answer: PublicKeyCredential = serde_json::from_str(public_key_credential)
            .map_err(|_| invalid_credential("must be the JSON of a WebAuthn assertion"))?;
        let state: DiscoverableAuthentication =
            serde_json::from_str(state).map_err(ceremony_failed)?;
        let credential_id = URL_SAFE_NO_PAD.encode(answer.get_credential_id());
        let Some(mut passkey) =
            tessera_store::passkeys::find_by_credential(conn, &credential_id).await?
        else {
            return Ok(Assertion::Refused);
        };
        if let Some(handle) = answer.get_user_unique_id() {
            if handle != user_handle(&passkey.user_id).as_bytes() {
                return Ok(Assertion::Refused);
            }
        }
        let mut credential = credential_of(&passkey)?;
        let result =
            match webauthn.finish_discoverable_authentication_v2(&answer, state, &credential) {
                Ok(result) => result,
                Err(e) => {
                    tracing::info!(error = %e, passkey = %passkey.id, "passkey assertion refused");
                    return Ok(Assertion::Refused);
                }
            };
        credential.update_credential(&result);
        let now = now_ms();
        let uses = passkey.uses;
        passkey.credential = Some(json(&credential)?);
        passkey.uses += 1;
        passkey.last_used_at = Some(now);
        passkey.updated_at = now;
        match tessera_store::passkeys::record_use(conn, &passkey, uses).await {
            Ok(()) => Ok(Assertion::Verified(passkey.user_id)),
            // Used by a concurrent request meanwhile, or removed.
            Err(StoreError::NotFound) => Ok(Assertion::Refused),
            Err(e) => Err(e.into()),
        }
    }

    /// The user changed: a new `updated_at` and a `user.updated` event.
    async fn touch_user(&self, conn: &mut Conn, user_id: &UserId, now: i64) -> CoreResult<()> {
        let mut view = load_view(conn, user_id).await?;
        view.user.updated_at = now;
        tessera_store::users::update(conn, &view.user).await?;
        self.emit_user(conn, "user.updated", &view, None).await
    }
}

fn not_found(e: StoreError) -> CoreError {
    match e {
        StoreError::NotFound => CoreError::NotFound,
        e => e.into(),
    }
}

/// The account name and display name an authenticator shows for the user.
fn account_names(view: &UserView) -> (String, String) {
    let u = &view.user;
    let email = view
        .identifications
        .iter()
        .find(|i| Some(&i.id) == u.primary_email_address_id.as_ref())
        .map(|i| i.identifier.clone());
    let name = email
        .or_else(|| u.username.clone())
        .or_else(|| {
            view.identifications
                .iter()
                .find(|i| Some(&i.id) == u.primary_phone_number_id.as_ref())
                .map(|i| i.identifier.clone())
        })
        .unwrap_or_else(|| u.id.as_str().to_owned());
    let full = [u.first_name.as_deref(), u.last_name.as_deref()]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let display = if full.is_empty() { name.clone() } else { full };
    (name, display)
}

/// A new passkey's name until the user renames it.
fn default_name(view: &UserView) -> String {
    let n = view.passkeys.len() + 1;
    if n == 1 {
        "Passkey".to_owned()
    } else {
        format!("Passkey {n}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_handle_is_stable_and_per_user() {
        let a = UserId::generate(1);
        let b = UserId::generate(2);
        assert_eq!(user_handle(&a), user_handle(&a));
        assert_ne!(user_handle(&a), user_handle(&b));
    }
}
