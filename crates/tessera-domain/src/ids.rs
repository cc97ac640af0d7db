//! Clerk-shaped identifiers: a resource prefix, `_`, and 27 base62 characters.
//!
//! The 27 characters encode 20 bytes the way KSUIDs do: a 4-byte big-endian
//! timestamp (seconds since 2014-05-13, the KSUID epoch) followed by 16 random
//! bytes, so ids sort by creation time. The prefix table lives here and only here.

use std::fmt;

use rand::RngCore;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const KSUID_EPOCH_SECS: u64 = 1_400_000_000;
const BODY_LEN: usize = 27;

/// Encodes 20 bytes as 27 base62 characters (big-endian, zero-padded).
fn encode_base62(bytes: [u8; 20]) -> String {
    // Repeated division of a 160-bit big-endian number by 62.
    let mut num = bytes;
    let mut out = [b'0'; BODY_LEN];
    for slot in out.iter_mut().rev() {
        let mut rem: u32 = 0;
        for byte in num.iter_mut() {
            let acc = (rem << 8) | u32::from(*byte);
            *byte = (acc / 62) as u8;
            rem = acc % 62;
        }
        *slot = BASE62[rem as usize];
    }
    out.iter().map(|&b| b as char).collect()
}

/// Makes a new id body from the wall-clock time in milliseconds.
pub fn new_body(now_ms: i64) -> String {
    let secs = (now_ms.max(0) as u64 / 1000).saturating_sub(KSUID_EPOCH_SECS);
    let mut bytes = [0u8; 20];
    bytes[..4].copy_from_slice(&(secs as u32).to_be_bytes());
    rand::rngs::OsRng.fill_bytes(&mut bytes[4..]);
    encode_base62(bytes)
}

/// Checks the part after the prefix: exactly 27 base62 characters.
fn valid_body(body: &str) -> bool {
    body.len() == BODY_LEN && body.bytes().all(|b| b.is_ascii_alphanumeric())
}

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident => $prefix:literal;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The wire prefix, including the trailing underscore.
            pub const PREFIX: &'static str = concat!($prefix, "_");

            /// A fresh, time-ordered id.
            pub fn generate(now_ms: i64) -> Self {
                Self(format!("{}{}", Self::PREFIX, new_body(now_ms)))
            }

            /// Parses a wire id, checking prefix, length and alphabet.
            pub fn parse(raw: &str) -> Option<Self> {
                raw.strip_prefix(Self::PREFIX)
                    .filter(|body| valid_body(body))
                    .map(|_| Self(raw.to_owned()))
            }

            /// Wraps a value read back from our own store without re-checking it.
            pub fn from_trusted(raw: String) -> Self {
                Self(raw)
            }

            /// The id as it appears on the wire.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Consumes the id into its wire string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Self::parse(&raw).ok_or_else(|| {
                    serde::de::Error::custom(format!("not a valid {} id", $prefix))
                })
            }
        }
    )*};
}

ids! {
    /// A user.
    UserId => "user";
    /// An email address or phone number ("identification").
    IdentificationId => "idn";
    /// A session.
    SessionId => "sess";
    /// A client (one browser or device).
    ClientId => "client";
    /// The instance itself; also the `kid` family of its signing keys.
    InstanceId => "ins";
    /// A signing key of the instance (the JWT `kid`).
    KeyId => "ins";
    /// A sign-in attempt.
    SignInId => "sia";
    /// A sign-up attempt.
    SignUpId => "sua";
    /// An outgoing email message.
    EmailMessageId => "ema";
    /// An outgoing SMS message.
    SmsMessageId => "sms";
    /// A webhook message (one event; its id is the `svix-id` header).
    MessageId => "msg";
    /// A webhook endpoint.
    EndpointId => "ep";
    /// One message due to one endpoint.
    DeliveryId => "dlv";
    /// One attempt to deliver a message to an endpoint.
    AttemptId => "atmpt";
    /// A signing secret of a webhook endpoint.
    EndpointSecretId => "whsk";
    /// A queued email or SMS send.
    JobId => "job";
    /// An organization.
    OrganizationId => "org";
    /// A user's membership of an organization.
    OrganizationMembershipId => "orgmem";
    /// An invitation to an organization.
    OrganizationInvitationId => "orginv";
    /// A permission of organization members.
    PermissionId => "perm";
    /// A role of organization members.
    RoleId => "role";
    /// A role set.
    RoleSetId => "rs";
    /// A verified domain of an organization.
    OrganizationDomainId => "orgdmn";
    /// A suggestion to join an organization (by a verified domain).
    OrganizationSuggestionId => "orgsugg";
    /// A request to join an organization (an accepted suggestion).
    OrganizationMembershipRequestId => "orgmbreq";
    /// A user's authenticator-app (TOTP) secret.
    TotpId => "totp";
    /// A set of backup codes.
    BackupCodeId => "bcode";
    /// A verification the Backend API started for an email address or phone number.
    VerificationId => "ver";
    /// A session's reverification.
    SessionVerificationId => "sessver";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_prefix_and_27_base62_chars() {
        let id = UserId::generate(1_700_000_000_000);
        let body = id.as_str().strip_prefix("user_").unwrap();
        assert_eq!(body.len(), 27);
        assert!(body.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(UserId::parse(id.as_str()), Some(id.clone()));
    }

    #[test]
    fn ids_sort_by_time() {
        let a = SessionId::generate(1_700_000_000_000);
        let b = SessionId::generate(1_700_000_100_000);
        assert!(a < b);
    }

    #[test]
    fn parse_rejects_wrong_prefix_length_and_alphabet() {
        let id = UserId::generate(0);
        assert!(SessionId::parse(id.as_str()).is_none());
        assert!(UserId::parse("user_short").is_none());
        assert!(UserId::parse("user_!!!!!!!!!!!!!!!!!!!!!!!!!!!").is_none());
        assert!(UserId::parse("").is_none());
    }

    #[test]
    fn base62_of_max_is_ksuid_max() {
        assert_eq!(encode_base62([0xff; 20]), "aWgEPTl1tmebfsQzFP4bxwgy80V");
        assert_eq!(encode_base62([0; 20]), "000000000000000000000000000");
    }
}
