//! Every error code Tessera sends, in one table: its wire name, its HTTP
//! status and, where the error always concerns one request parameter, the
//! `meta.param_name` clerk-js uses to show it next to that field.
//!
//! Errors are raised with a variant, never with a string, so a mistyped code
//! does not compile. Two variants may share a wire name when Clerk sends the
//! same code about different fields (`form_password_incorrect` about
//! `password` when signing in, about `current_password` when changing it).

macro_rules! error_codes {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident = $wire:literal, $status:literal, $param:expr;
    )*) => {
        /// A Clerk error code Tessera can send.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $(
                $(#[doc = $doc])*
                $variant,
            )*
        }

        impl ErrorCode {
            /// Every code, in table order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The code on the wire (`errors[].code`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $wire,)*
                }
            }

            /// The HTTP status of an answer carrying this code.
            pub fn status(self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $status,)*
                }
            }

            /// The parameter the error always concerns (`meta.param_name`), if one.
            pub fn param(self) -> Option<&'static str> {
                match self {
                    $(ErrorCode::$variant => $param,)*
                }
            }
        }
    };
}

error_codes! {
    /// The resource does not exist.
    ResourceNotFound = "resource_not_found", 404, None;
    /// No route has this path.
    RouteNotFound = "route_not_found", 404, None;
    /// The route exists, but not for this method.
    MethodNotAllowed = "method_not_allowed", 405, None;
    /// The request could not be read (its framing, path or headers).
    MalformedRequest = "malformed_request", 400, None;
    /// The request took too long to arrive.
    RequestTimeout = "request_timeout", 408, None;
    /// The request's URI is longer than this server reads.
    RequestUriTooLong = "request_uri_too_long", 414, None;
    /// The request's headers are larger than this server reads.
    RequestHeaderFieldsTooLarge = "request_header_fields_too_large", 431, None;
    /// The request body is of a type this route does not take.
    UnsupportedMediaType = "unsupported_media_type", 415, None;
    /// A browser bundle this server serves is not in its data folder yet.
    BundleUnavailable = "bundle_unavailable", 503, None;
    /// No credentials, or credentials that do not authenticate.
    AuthenticationInvalid = "authentication_invalid", 401, None;
    /// A secret key that is not this instance's.
    ClerkKeyInvalid = "clerk_key_invalid", 401, None;
    /// A body that is not what the endpoint reads.
    MalformedRequestBody = "malformed_request_body", 400, None;
    /// A body over the size limit.
    RequestBodyTooLarge = "request_body_too_large", 413, None;
    /// A required parameter is missing.
    FormParamMissing = "form_param_missing", 422, None;
    /// A parameter has the wrong shape.
    FormParamFormatInvalid = "form_param_format_invalid", 422, None;
    /// A parameter has an unacceptable value.
    FormParamValueInvalid = "form_param_value_invalid", 422, None;
    /// A parameter the endpoint (or the instance settings) does not take.
    FormParamUnknown = "form_param_unknown", 422, None;
    /// An email, phone, username or external id belongs to someone else.
    FormIdentifierExists = "form_identifier_exists", 422, None;
    /// No user has the identifier signing in.
    FormIdentifierNotFound = "form_identifier_not_found", 422, Some("identifier");
    /// The password signing in is wrong.
    FormPasswordIncorrect = "form_password_incorrect", 422, Some("password");
    /// The current password given to change it is wrong.
    CurrentPasswordIncorrect = "form_password_incorrect", 422, Some("current_password");
    /// The new password is the current one.
    FormNewPasswordMatchesCurrent = "form_new_password_matches_current", 422, Some("new_password");
    /// Password shorter than allowed.
    FormPasswordLengthTooShort = "form_password_length_too_short", 422, Some("password");
    /// Password longer than allowed.
    FormPasswordSizeInBytesExceeded = "form_password_size_in_bytes_exceeded", 422, Some("password");
    /// Password misses a required kind of character.
    FormPasswordNotStrongEnough = "form_password_not_strong_enough", 422, Some("password");
    /// The right password, marked compromised: sign in another way, then choose a new one.
    FormPasswordCompromised = "form_password_compromised", 422, Some("password");
    /// Password found in a breach.
    FormPasswordPwned = "form_password_pwned", 422, Some("password");
    /// Username length outside the rules.
    FormUsernameInvalidLength = "form_username_invalid_length", 422, Some("username");
    /// Username has forbidden characters.
    FormUsernameInvalidCharacter = "form_username_invalid_character", 422, Some("username");
    /// Username made only of digits.
    FormUsernameNeedsNonNumberChar = "form_username_needs_non_number_char", 422, Some("username");
    /// A verification code that is wrong (attempts remain).
    FormCodeIncorrect = "form_code_incorrect", 422, Some("code");
    /// Too many wrong codes: the verification failed.
    VerificationFailed = "verification_failed", 422, Some("code");
    /// The code expired.
    VerificationExpired = "verification_expired", 422, Some("code");
    /// Nothing was prepared to attempt.
    VerificationMissing = "verification_missing", 422, None;
    /// The identification is verified already.
    VerificationAlreadyVerified = "verification_already_verified", 400, None;
    /// The strategy is not one this user can use.
    StrategyForUserInvalid = "strategy_for_user_invalid", 422, Some("password");
    /// The sign-in is complete; nothing more to do.
    SignInAlreadyComplete = "sign_in_already_complete", 422, None;
    /// The sign-in did not verify a reset code.
    SignInNoPasswordReset = "sign_in_no_password_reset", 422, None;
    /// The sign-in needs no second factor.
    SignInNoSecondFactor = "sign_in_no_second_factor", 422, None;
    /// The sign-up is complete; nothing more to do.
    SignUpAlreadyComplete = "sign_up_already_complete", 422, None;
    /// Sign-up is restricted on this instance.
    SignUpModeRestricted = "sign_up_mode_restricted", 422, None;
    /// This identifier already has a session on this client.
    IdentifierAlreadySignedIn = "identifier_already_signed_in", 422, None;
    /// A single-session instance already has a session on this client.
    SessionExists = "session_exists", 400, None;
    /// The session is not active.
    SessionNotActive = "session_not_active", 422, None;
    /// A token that does not verify.
    TokenInvalid = "token_invalid", 422, None;
    /// The user may not do this.
    NotAllowedAccess = "not_allowed_access", 422, None;
    /// The user is banned.
    UserBanned = "user_banned", 403, Some("identifier");
    /// The user is locked after too many failed attempts.
    UserLocked = "user_locked", 403, Some("identifier");
    /// The user has no password to check.
    PasswordNotSet = "password_not_set", 400, None;
    /// A password checked through the Backend API is wrong.
    PasswordIncorrect = "password_incorrect", 422, Some("password");
    /// The request needs a client and has none.
    ClientNotFound = "client_not_found", 422, None;
    /// The origin may not use this instance.
    OriginInvalid = "origin_invalid", 403, None;
    /// Development-only operation on a production instance.
    OperationNotAllowedOnProduction = "operation_not_allowed_on_production", 403, None;
    /// The feature is not available.
    FeatureNotEnabled = "feature_not_enabled", 402, None;
    /// The caller's role does not allow this.
    AuthorizationInvalid = "authorization_invalid", 403, None;
    /// Organizations are turned off on this instance.
    OrganizationNotEnabledInInstance = "organization_not_enabled_in_instance", 403, None;
    /// The user may create no more organizations.
    OrganizationQuotaExceeded = "organization_quota_exceeded", 403, None;
    /// The user is not a member of that organization.
    NotAMemberInOrganization = "not_a_member_in_organization", 403, None;
    /// An invitation's ticket that is unknown, used, revoked or expired.
    TicketInvalid = "ticket_invalid", 422, Some("ticket");
    /// The invitation was accepted, revoked or has expired.
    OrganizationInvitationNotPending = "organization_invitation_not_pending", 400, None;
    /// The user is a member of the organization already.
    AlreadyAMemberInOrganization = "already_a_member_in_organization", 400, None;
    /// The organization has as many members as it may.
    OrganizationMembershipQuotaExceeded = "organization_membership_quota_exceeded", 403, None;
    /// The change would leave the organization without an admin.
    OrganizationMinimumPermissionsNeeded = "organization_minimum_permissions_needed", 422, None;
    /// Verified domains are turned off on this instance.
    OrganizationDomainsNotEnabled = "organization_domains_not_enabled", 403, None;
    /// The domain is an email provider's (gmail.com), not an organization's.
    OrganizationDomainCommon = "organization_domain_common", 422, Some("name");
    /// The domain's affiliation is not verified yet.
    OrganizationDomainNotVerified = "organization_domain_not_verified", 422, None;
    /// The membership request was accepted or rejected already.
    OrganizationMembershipRequestNotPending = "organization_membership_request_not_pending", 400, None;
    /// The record exists already (a permission the role grants already).
    DuplicateRecord = "duplicate_record", 409, None;
    /// The role is still given to members or invitations, or a role set
    /// needs it.
    OrganizationRoleInUse = "organization_role_in_use", 422, None;
    /// The user has a verified authenticator app already.
    TotpAlreadyEnabled = "totp_already_enabled", 400, None;
    /// The user has no authenticator app (or backup codes) to check a code against.
    TotpNotEnabled = "totp_not_enabled", 400, None;
    /// Backup codes back up another second factor, which the user lacks.
    SecondFactorMissing = "second_factor_missing", 422, None;
    /// The authenticator's answer to a passkey registration did not verify.
    PasskeyRegistrationFailed = "passkey_registration_failed", 422, Some("public_key_credential");
    /// The credential is registered already (to this or another account).
    PasskeyAlreadyRegistered = "passkey_already_exists", 422, Some("public_key_credential");
    /// A passkey's signature did not verify, or no registered passkey made it.
    PasskeyInvalid = "passkey_invalid", 422, Some("public_key_credential");
    /// The action needs a recent verification of the session (clerk-js then
    /// opens its reverification modal and retries).
    SessionReverificationRequired = "session_reverification_required", 403, None;
    /// Another request changed the same attempt meanwhile; this one changed nothing.
    RequestConflict = "request_conflict", 409, None;
    /// Too many requests in the current window.
    TooManyRequests = "too_many_requests", 429, None;
    /// A bug or a broken dependency (details are logged, not sent).
    InternalClerkError = "internal_clerk_error", 500, None;
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    #[test]
    fn a_wire_name_has_one_status() {
        for a in ErrorCode::ALL {
            for b in ErrorCode::ALL {
                if a.as_str() == b.as_str() {
                    assert_eq!(a.status(), b.status(), "{a:?} and {b:?}");
                }
            }
        }
    }

    #[test]
    fn wire_names_are_snake_case_and_statuses_errors() {
        for code in ErrorCode::ALL {
            let name = code.as_str();
            assert!(
                name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{name}"
            );
            let status = code.status();
            assert!(
                (400..500).contains(&status)
                    || *code == ErrorCode::InternalClerkError
                    || *code == ErrorCode::BundleUnavailable
            );
        }
    }
}
