//! Closed sets of names that travel on the wire and in the store.

/// A closed set of wire names: `as_str`, `parse`, `ALL`, `Display` and serde by wire name.
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $wire:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vdoc])* $variant,)* }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)*];

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $wire,)* }
            }

            /// Parses a wire name.
            pub fn parse(raw: &str) -> Option<Self> {
                match raw { $($wire => Some(Self::$variant),)* _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&raw).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "unknown {} {raw:?}", stringify!($name)
                    ))
                })
            }
        }
    };
}

wire_enum! {
    /// The two kinds of identification a user owns.
    IdentificationKind {
        /// An email address (`email_address` object).
        EmailAddress => "email_address",
        /// A phone number (`phone_number` object).
        PhoneNumber => "phone_number",
    }
}

wire_enum! {
    /// Session lifecycle states, as Clerk names them.
    SessionStatus {
        /// Signed in and usable.
        Active => "active",
        /// Signed in with tasks left to do.
        Pending => "pending",
        /// Signed out by the user.
        Ended => "ended",
        /// Past its lifetime.
        Expired => "expired",
        /// Removed from the client.
        Removed => "removed",
        /// Replaced by another session.
        Replaced => "replaced",
        /// Revoked by an administrator.
        Revoked => "revoked",
        /// Inactive for too long.
        Abandoned => "abandoned",
    }
}

impl SessionStatus {
    /// Whether a session in this state can still mint tokens.
    pub fn is_signed_in(self) -> bool {
        matches!(self, Self::Active | Self::Pending)
    }
}

wire_enum! {
    /// Verification states of an identification or attempt.
    VerificationStatus {
        /// Not verified yet.
        Unverified => "unverified",
        /// Verified.
        Verified => "verified",
        /// Can move to another flow.
        Transferable => "transferable",
        /// Too many failed attempts.
        Failed => "failed",
        /// Past its expiry.
        Expired => "expired",
    }
}

wire_enum! {
    /// Where a sign-in stands (`sign_in.status`).
    SignInStatus {
        /// No identifier yet.
        NeedsIdentifier => "needs_identifier",
        /// The user is known; a first factor is due.
        NeedsFirstFactor => "needs_first_factor",
        /// The first factor passed; a second is due.
        NeedsSecondFactor => "needs_second_factor",
        /// A reset code passed; a new password is due.
        NeedsNewPassword => "needs_new_password",
        /// Done: a session was created.
        Complete => "complete",
    }
}

wire_enum! {
    /// Where a sign-up stands (`sign_up.status`).
    SignUpStatus {
        /// Required fields or verifications are missing.
        MissingRequirements => "missing_requirements",
        /// Done: a user and a session were created.
        Complete => "complete",
        /// Left unfinished past its lifetime.
        Abandoned => "abandoned",
    }
}

wire_enum! {
    /// Where a webhook delivery, or a queued email or SMS job, stands: both are
    /// tried on a schedule until one try succeeds or the schedule runs out.
    DeliveryStatus {
        /// Waiting for its next attempt.
        Pending => "pending",
        /// Delivered.
        Succeeded => "succeeded",
        /// Every attempt of the schedule failed.
        Failed => "failed",
    }
}

wire_enum! {
    /// What a queued job sends.
    JobKind {
        /// An email, through the mailer.
        Email => "email",
        /// A text message, through the SMS gateway.
        Sms => "sms",
    }
}

wire_enum! {
    /// What made a webhook attempt happen (Svix's `trigger_type`).
    AttemptTrigger {
        /// The dispatcher, on the delivery's schedule.
        Scheduled => "scheduled",
        /// An operator, by hand.
        Manual => "manual",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for s in SessionStatus::ALL {
            assert_eq!(SessionStatus::parse(s.as_str()), Some(*s));
        }
        assert_eq!(
            IdentificationKind::parse("email_address"),
            Some(IdentificationKind::EmailAddress)
        );
        assert_eq!(VerificationStatus::parse("nope"), None);
        for s in SignInStatus::ALL {
            assert_eq!(SignInStatus::parse(s.as_str()), Some(*s));
        }
        for s in SignUpStatus::ALL {
            assert_eq!(SignUpStatus::parse(s.as_str()), Some(*s));
        }
        for s in DeliveryStatus::ALL {
            assert_eq!(DeliveryStatus::parse(s.as_str()), Some(*s));
        }
        for k in JobKind::ALL {
            assert_eq!(JobKind::parse(k.as_str()), Some(*k));
        }
        for t in AttemptTrigger::ALL {
            assert_eq!(AttemptTrigger::parse(t.as_str()), Some(*t));
        }
    }
}
