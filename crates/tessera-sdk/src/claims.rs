//! [`Claims`]: the typed view of a verified session token (Clerk's v2 claims).

use serde::Deserialize;
use serde_json::Value;

use crate::error::{VerifyError, VerifyResult};

/// The claims of a verified session token.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    /// The signed-in user's id (`sub`, `user_…`).
    pub user_id: String,
    /// The session's id (`sid`, `sess_…`).
    pub session_id: String,
    /// The session's status (`sts`); absent on instances that do not send it.
    pub session_status: Option<SessionStatus>,
    /// The Frontend API URL that issued the token (`iss`).
    pub issuer: String,
    /// The Origin of the page the token was made for (`azp`), when it had one.
    pub authorized_party: Option<String>,
    /// When the token was issued (`iat`), in seconds since the Unix epoch.
    pub issued_at: i64,
    /// When the token becomes valid (`nbf`), in seconds since the Unix epoch.
    pub not_before: Option<i64>,
    /// When the token expires (`exp`), in seconds since the Unix epoch.
    pub expires_at: i64,
    /// Minutes since each factor was verified (`fva`); absent when not sent.
    pub factor_verification_age: Option<FactorVerificationAge>,
    /// The active organization (`o`), when there is one.
    pub organization: Option<OrgClaims>,
    /// Every claim as sent, for the ones not typed here (`act`, `fea`, `pla`, custom claims).
    pub raw: Value,
}

/// A session's status as carried by `sts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionStatus {
    /// Signed in.
    Active,
    /// Signed in with tasks still to finish (for example choosing an organization).
    Pending,
    /// A status this version does not know.
    Other(String),
}

impl SessionStatus {
    fn parse(raw: &str) -> Self {
        match raw {
            "active" => Self::Active,
            "pending" => Self::Pending,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// How long ago each factor was verified, in whole minutes (`fva`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FactorVerificationAge {
    /// Minutes since the first factor (password, code…) was verified; `None` if never.
    pub first_factor_minutes: Option<i64>,
    /// Minutes since a second factor was verified; `None` if never (or none exists).
    pub second_factor_minutes: Option<i64>,
}

/// The active organization of the session (the `o` claim).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgClaims {
    /// The organization's id (`o.id`, `org_…`).
    pub id: String,
    /// Its slug (`o.slg`).
    pub slug: Option<String>,
    /// The member's role, prefixed as Clerk's SDKs report it (`org:admin` for `o.rol = "admin"`).
    pub role: Option<String>,
    /// The member's permissions as `org:<feature>:<permission>`, decoded from
    /// `o.per`, `o.fpm` and the organization features of `fea`.
    pub permissions: Vec<String>,
}

/// `admin` and `org:admin` are the same role (Clerk's SDKs compare them so).
fn with_org_prefix(role: &str) -> String {
    let mut bare = role;
    while let Some(rest) = bare.strip_prefix("org:") {
        bare = rest;
    }
    format!("org:{bare}")
}

impl Claims {
    /// Whether the active organization grants `permission` (`org:<feature>:<permission>`,
    /// or `<feature>:<permission>`). System permissions (`org:sys_…`) are never in
    /// session tokens, so they are never granted here.
    pub fn has_permission(&self, permission: &str) -> bool {
        let wanted = with_org_prefix(permission);
        self.organization
            .as_ref()
            .is_some_and(|o| o.permissions.contains(&wanted))
    }

    /// Whether the member's role in the active organization is `role`
    /// (`org:admin`, or `admin`).
    pub fn has_role(&self, role: &str) -> bool {
        let wanted = with_org_prefix(role);
        self.organization
            .as_ref()
            .and_then(|o| o.role.as_deref())
            .is_some_and(|r| with_org_prefix(r) == wanted)
    }
}

#[derive(Deserialize)]
struct WireClaims {
    sub: String,
    sid: String,
    iss: String,
    iat: i64,
    exp: i64,
    nbf: Option<i64>,
    azp: Option<String>,
    sts: Option<String>,
    fva: Option<[i64; 2]>,
    fea: Option<String>,
    o: Option<WireOrg>,
}

#[derive(Deserialize)]
struct WireOrg {
    id: String,
    slg: Option<String>,
    rol: Option<String>,
    per: Option<String>,
    fpm: Option<String>,
}

/// Reads the typed claims out of a verified payload.
pub(crate) fn parse(raw: Value) -> VerifyResult<Claims> {
    let wire = WireClaims::deserialize(&raw)
        .map_err(|e| VerifyError::Malformed(format!("claims: {e}")))?;
    let organization = wire.o.map(|o| OrgClaims {
        permissions: org_permissions(wire.fea.as_deref(), o.per.as_deref(), o.fpm.as_deref()),
        id: o.id,
        slug: o.slg,
        role: o.rol.map(|r| format!("org:{r}")),
    });
    let never = |m: i64| (m >= 0).then_some(m);
    Ok(Claims {
        user_id: wire.sub,
        session_id: wire.sid,
        session_status: wire.sts.as_deref().map(SessionStatus::parse),
        issuer: wire.iss,
        authorized_party: wire.azp,
        issued_at: wire.iat,
        not_before: wire.nbf,
        expires_at: wire.exp,
        factor_verification_age: wire.fva.map(|[first, second]| FactorVerificationAge {
            first_factor_minutes: never(first),
            second_factor_minutes: never(second),
        }),
        organization,
        raw,
    })
}

/// Decodes v2 organization permissions, as Clerk's SDKs do: `fea` lists
/// features as `scope:name` (scope `o`, `u` or `uo`); the organization ones,
/// in order, pair with the comma-separated decimal bitmaps of `o.fpm`; bit `i`
/// of a feature's bitmap grants the `i`-th permission of `o.per`.
fn org_permissions(fea: Option<&str>, per: Option<&str>, fpm: Option<&str>) -> Vec<String> {
    let (Some(fea), Some(per), Some(fpm)) = (fea, per, fpm) else {
        return Vec::new();
    };
    if per.is_empty() || fpm.is_empty() {
        return Vec::new();
    }
    let permissions: Vec<&str> = per.split(',').map(str::trim).collect();
    let org_features = fea.split(',').filter_map(|f| {
        let (scope, name) = f.trim().split_once(':')?;
        scope.contains('o').then_some(name)
    });
    let mut granted = Vec::new();
    for (feature, bitmap) in org_features.zip(fpm.split(',')) {
        let bits = decimal_bits(bitmap.trim());
        for (permission, bit) in permissions.iter().zip(bits) {
            if bit {
                granted.push(format!("org:{feature}:{permission}"));
            }
        }
    }
    granted
}

/// The bits of a non-negative decimal number of any length, least significant
/// first (a feature may have more permissions than a machine word has bits).
/// Anything but ASCII digits gives no bits.
fn decimal_bits(decimal: &str) -> Vec<bool> {
    if decimal.is_empty() || !decimal.bytes().all(|b| b.is_ascii_digit()) {
        return Vec::new();
    }
    let mut digits: Vec<u8> = decimal.bytes().map(|b| b - b'0').collect();
    let mut bits = Vec::new();
    while digits.iter().any(|&d| d != 0) {
        let mut remainder = 0;
        for digit in &mut digits {
            let value = remainder * 10 + *digit;
            *digit = value / 2;
            remainder = value % 2;
        }
        bits.push(remainder == 1);
    }
    bits
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn base() -> Value {
        json!({
            "sub": "user_1", "sid": "sess_1", "iss": "https://auth.example.com",
            "iat": 100, "nbf": 90, "exp": 160, "v": 2,
        })
    }

    #[test]
    fn minimal_claims_parse_and_keep_raw() {
        let claims = parse(base()).unwrap();
        assert_eq!(claims.user_id, "user_1");
        assert_eq!(claims.session_id, "sess_1");
        assert_eq!(claims.session_status, None);
        assert_eq!(claims.factor_verification_age, None);
        assert_eq!(claims.organization, None);
        assert_eq!(claims.raw["v"], 2);
    }

    #[test]
    fn missing_sid_is_malformed() {
        let mut raw = base();
        raw.as_object_mut().unwrap().remove("sid");
        assert!(matches!(parse(raw), Err(VerifyError::Malformed(_))));
    }

    #[test]
    fn fva_minus_one_means_never() {
        let mut raw = base();
        raw["fva"] = json!([7, -1]);
        raw["sts"] = json!("pending");
        let claims = parse(raw).unwrap();
        assert_eq!(
            claims.factor_verification_age,
            Some(FactorVerificationAge {
                first_factor_minutes: Some(7),
                second_factor_minutes: None
            })
        );
        assert_eq!(claims.session_status, Some(SessionStatus::Pending));
    }

    #[test]
    fn org_claims_decode_permissions_per_feature() {
        let mut raw = base();
        // Features: dashboard (org), billing (user only), reports (user+org).
        raw["fea"] = json!("o:dashboard,u:billing,uo:reports");
        // dashboard: 0b011 = read, manage; reports: 0b100 = export.
        raw["o"] = json!({"id": "org_1", "slg": "acme", "rol": "admin",
                          "per": "read,manage,export", "fpm": "3,4"});
        let claims = parse(raw).unwrap();
        let org = claims.organization.clone().unwrap();
        assert_eq!(org.id, "org_1");
        assert_eq!(org.slug.as_deref(), Some("acme"));
        assert_eq!(org.role.as_deref(), Some("org:admin"));
        assert_eq!(
            org.permissions,
            [
                "org:dashboard:read",
                "org:dashboard:manage",
                "org:reports:export"
            ]
        );
        assert!(claims.has_permission("org:reports:export"));
        assert!(claims.has_permission("reports:export"));
        assert!(!claims.has_permission("org:reports:read"));
        assert!(claims.has_role("org:admin"));
        assert!(claims.has_role("admin"));
        assert!(!claims.has_role("org:member"));
    }

    #[test]
    fn no_organization_no_role() {
        let claims = parse(base()).unwrap();
        assert!(!claims.has_role("org:admin"));
        assert!(!claims.has_permission("org:reports:read"));
    }

    #[test]
    fn org_without_features_has_no_permissions() {
        let mut raw = base();
        raw["o"] = json!({"id": "org_1", "rol": "member", "per": "read", "fpm": "1"});
        let org = parse(raw).unwrap().organization.unwrap();
        assert!(org.permissions.is_empty());
        assert_eq!(org.slug, None);
    }

    #[test]
    fn decimal_bits_handles_long_numbers() {
        assert_eq!(decimal_bits("0"), Vec::<bool>::new());
        assert_eq!(decimal_bits("6"), [false, true, true]);
        assert_eq!(decimal_bits("x1"), Vec::<bool>::new());
        // 2^70 has only bit 70 set.
        let bits = decimal_bits("1180591620717411303424");
        assert_eq!(bits.len(), 71);
        assert!(bits[70] && bits[..70].iter().all(|b| !b));
    }
}
