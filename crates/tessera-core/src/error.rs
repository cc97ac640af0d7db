//! The services' error type. Each variant knows its Clerk error code (an
//! [`ErrorCode`], whose table in `tessera-domain` also holds its HTTP status
//! and usual parameter), its messages and the request parameter it concerns.

use tessera_domain::error_code::ErrorCode;
use tessera_store::StoreError;

/// Errors of the service layer.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The resource does not exist.
    #[error("not found")]
    NotFound,
    /// A required parameter is missing.
    #[error("{param} is missing")]
    ParamMissing {
        /// The parameter.
        param: String,
    },
    /// A parameter has the wrong shape.
    #[error("{param} is invalid: {detail}")]
    ParamFormatInvalid {
        /// The parameter.
        param: String,
        /// What is wrong.
        detail: String,
    },
    /// A parameter has an unacceptable value.
    #[error("{param}: {detail}")]
    ParamValueInvalid {
        /// The parameter.
        param: String,
        /// What is wrong.
        detail: String,
    },
    /// An email, phone, username or external id belongs to someone else.
    #[error("{param} is taken")]
    IdentifierExists {
        /// The parameter.
        param: String,
    },
    /// A parameter for an attribute the instance settings turn off.
    #[error("{param} is not enabled")]
    AttributeDisabled {
        /// The parameter (the attribute's name).
        param: String,
    },
    /// Password shorter than allowed.
    #[error("password too short")]
    PasswordTooShort {
        /// Minimum length.
        min: usize,
    },
    /// Password longer than allowed.
    #[error("password too long")]
    PasswordTooLong {
        /// Maximum length in bytes.
        max: usize,
    },
    /// Password misses a required character class.
    #[error("password not strong enough")]
    PasswordNotStrongEnough,
    /// Password is on the breached-password list.
    #[error("password found in a breach")]
    PasswordPwned,
    /// Username length outside the rules.
    #[error("username length")]
    UsernameInvalidLength {
        /// Minimum.
        min: usize,
        /// Maximum.
        max: usize,
    },
    /// Username has forbidden characters.
    #[error("username characters")]
    UsernameInvalidCharacter,
    /// Username made only of digits.
    #[error("username needs a non-digit")]
    UsernameNeedsNonNumber,
    /// The operation conflicts with the resource's state.
    #[error("{detail}")]
    NotAllowed {
        /// The Clerk code (its status and parameter come with it).
        code: ErrorCode,
        /// Explanation.
        detail: String,
    },
    /// The feature this operation needs is not available on this server yet.
    #[error("{feature} is not available")]
    FeatureUnavailable {
        /// The feature.
        feature: &'static str,
    },
    /// Too many requests for this subject in the current window.
    #[error("rate limited")]
    RateLimited {
        /// Seconds until the window ends.
        retry_after_secs: i64,
    },
    /// Configuration problem at start-up.
    #[error("configuration: {0}")]
    Config(String),
    /// A bug or broken dependency; details are logged, not sent.
    #[error("internal: {0}")]
    Internal(String),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

/// Result alias for services.
pub type CoreResult<T> = Result<T, CoreError>;

impl From<StoreError> for CoreError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => Self::NotFound,
            StoreError::Stale => Self::NotAllowed {
                code: ErrorCode::RequestConflict,
                detail: "Another request changed this at the same time; try again.".to_owned(),
            },
            StoreError::InvalidText(_) => Self::format(
                "body",
                "must not contain NUL characters or invalid byte sequences",
            ),
            other => Self::Store(other),
        }
    }
}

impl CoreError {
    /// Shorthand for an invalid-format error.
    pub fn format(param: &str, detail: impl Into<String>) -> Self {
        Self::ParamFormatInvalid {
            param: param.to_owned(),
            detail: detail.into(),
        }
    }

    /// Shorthand for an invalid-value error.
    pub fn value(param: &str, detail: impl Into<String>) -> Self {
        Self::ParamValueInvalid {
            param: param.to_owned(),
            detail: detail.into(),
        }
    }

    /// Shorthand for a missing-parameter error.
    pub fn missing(param: &str) -> Self {
        Self::ParamMissing {
            param: param.to_owned(),
        }
    }

    /// The stable Clerk error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotFound => ErrorCode::ResourceNotFound,
            Self::ParamMissing { .. } => ErrorCode::FormParamMissing,
            Self::ParamFormatInvalid { .. } => ErrorCode::FormParamFormatInvalid,
            Self::ParamValueInvalid { .. } => ErrorCode::FormParamValueInvalid,
            Self::IdentifierExists { .. } => ErrorCode::FormIdentifierExists,
            Self::AttributeDisabled { .. } => ErrorCode::FormParamUnknown,
            Self::PasswordTooShort { .. } => ErrorCode::FormPasswordLengthTooShort,
            Self::PasswordTooLong { .. } => ErrorCode::FormPasswordSizeInBytesExceeded,
            Self::PasswordNotStrongEnough => ErrorCode::FormPasswordNotStrongEnough,
            Self::PasswordPwned => ErrorCode::FormPasswordPwned,
            Self::UsernameInvalidLength { .. } => ErrorCode::FormUsernameInvalidLength,
            Self::UsernameInvalidCharacter => ErrorCode::FormUsernameInvalidCharacter,
            Self::UsernameNeedsNonNumber => ErrorCode::FormUsernameNeedsNonNumberChar,
            Self::NotAllowed { code, .. } => *code,
            Self::FeatureUnavailable { .. } => ErrorCode::FeatureNotEnabled,
            Self::RateLimited { .. } => ErrorCode::TooManyRequests,
            Self::Config(_) | Self::Internal(_) | Self::Store(_) => ErrorCode::InternalClerkError,
        }
    }

    /// The request parameter the error concerns, for `meta.param_name`.
    pub fn param(&self) -> Option<&str> {
        match self {
            Self::ParamMissing { param }
            | Self::ParamFormatInvalid { param, .. }
            | Self::ParamValueInvalid { param, .. }
            | Self::IdentifierExists { param }
            | Self::AttributeDisabled { param } => Some(param),
            Self::PasswordTooShort { .. }
            | Self::PasswordTooLong { .. }
            | Self::PasswordNotStrongEnough
            | Self::PasswordPwned => Some("password"),
            Self::UsernameInvalidLength { .. }
            | Self::UsernameInvalidCharacter
            | Self::UsernameNeedsNonNumber => Some("username"),
            Self::NotAllowed { code, .. } => code.param(),
            _ => None,
        }
    }

    /// The short message.
    pub fn message(&self) -> String {
        match self {
            Self::NotFound => "not found".to_owned(),
            Self::ParamMissing { .. } => "is missing".to_owned(),
            Self::ParamFormatInvalid { .. } => "is invalid".to_owned(),
            Self::ParamValueInvalid { .. } => "is invalid".to_owned(),
            Self::IdentifierExists { .. } => {
                "That identifier is taken. Please try another.".to_owned()
            }
            Self::AttributeDisabled { .. } => "is unknown".to_owned(),
            Self::PasswordTooShort { .. } | Self::PasswordTooLong { .. } => {
                "Password has the wrong length.".to_owned()
            }
            Self::PasswordNotStrongEnough => "Password is not strong enough.".to_owned(),
            Self::PasswordPwned => "Password has been found in an online data breach.".to_owned(),
            Self::UsernameInvalidLength { .. }
            | Self::UsernameInvalidCharacter
            | Self::UsernameNeedsNonNumber => "Username is invalid.".to_owned(),
            Self::NotAllowed { detail, .. } => detail.clone(),
            Self::FeatureUnavailable { .. } => "feature not enabled".to_owned(),
            Self::RateLimited { .. } => "Too many requests".to_owned(),
            Self::Config(_) | Self::Internal(_) | Self::Store(_) => {
                "Oops, an unexpected error occurred".to_owned()
            }
        }
    }

    /// The long, human-readable message.
    pub fn long_message(&self) -> String {
        match self {
            Self::NotFound => "Resource not found".to_owned(),
            Self::ParamMissing { param } => format!("{param} must be included."),
            Self::ParamFormatInvalid { param, detail }
            | Self::ParamValueInvalid { param, detail } => {
                format!("{param} is invalid: {detail}")
            }
            Self::IdentifierExists { param } => {
                format!(
                    "That {} is taken. Please try another.",
                    param.replace('_', " ")
                )
            }
            Self::AttributeDisabled { param } => {
                format!("{param} is not enabled for this instance.")
            }
            Self::PasswordTooShort { min } => {
                format!("Passwords must be {min} characters or more.")
            }
            Self::PasswordTooLong { max } => {
                format!("Passwords must be at most {max} bytes long.")
            }
            Self::PasswordNotStrongEnough => {
                "Given password is not strong enough: it misses a required kind of character."
                    .to_owned()
            }
            Self::PasswordPwned => "Password has been found in an online data breach. For account \
                 safety, please use a different password."
                .to_owned(),
            Self::UsernameInvalidLength { min, max } => {
                format!("Username must be between {min} and {max} characters long.")
            }
            Self::UsernameInvalidCharacter => {
                "Username can only contain letters, numbers, '_', '-' and '.'.".to_owned()
            }
            Self::UsernameNeedsNonNumber => {
                "Username must contain at least one non-number character.".to_owned()
            }
            Self::NotAllowed { detail, .. } => detail.clone(),
            Self::RateLimited { retry_after_secs } => {
                format!("Too many requests. Please try again in {retry_after_secs} seconds.")
            }
            Self::FeatureUnavailable { feature } => {
                format!("{feature} is not available on this Tessera server yet.")
            }
            Self::Config(_) | Self::Internal(_) | Self::Store(_) => {
                "An unexpected error occurred. Please try again; the server log has the details."
                    .to_owned()
            }
        }
    }
}
