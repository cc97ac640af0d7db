//! Organizations: slugs, roles, and the one policy that says what a member's
//! role allows.
//!
//! Every organization action of the Frontend API is a typed [`Action`]; an
//! action needs one of Clerk's system permissions, and a role grants a set of
//! permissions. Handlers ask [`Roles::allows`], never compare role strings.

/// Clerk's system permissions, which every instance has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SystemPermission {
    /// Change the organization's name, slug and logo.
    ProfileManage,
    /// Delete the organization.
    ProfileDelete,
    /// See the members and invitations.
    MembershipsRead,
    /// Invite, remove and change the role of members.
    MembershipsManage,
    /// See the verified domains.
    DomainsRead,
    /// Add, verify and remove verified domains.
    DomainsManage,
    /// See the organization's billing.
    BillingRead,
    /// Change the organization's billing.
    BillingManage,
}

impl SystemPermission {
    /// Every system permission.
    pub const ALL: [SystemPermission; 8] = [
        Self::ProfileManage,
        Self::ProfileDelete,
        Self::MembershipsRead,
        Self::MembershipsManage,
        Self::DomainsRead,
        Self::DomainsManage,
        Self::BillingRead,
        Self::BillingManage,
    ];

    /// The permission's key on the wire.
    pub fn key(self) -> &'static str {
        match self {
            Self::ProfileManage => "org:sys_profile:manage",
            Self::ProfileDelete => "org:sys_profile:delete",
            Self::MembershipsRead => "org:sys_memberships:read",
            Self::MembershipsManage => "org:sys_memberships:manage",
            Self::DomainsRead => "org:sys_domains:read",
            Self::DomainsManage => "org:sys_domains:manage",
            Self::BillingRead => "org:sys_billing:read",
            Self::BillingManage => "org:sys_billing:manage",
        }
    }
}

/// What a member does to an organization, as the policy sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Change name, slug, logo or metadata.
    UpdateProfile,
    /// Delete the organization.
    Delete,
    /// List members, invitations and membership requests.
    ReadMemberships,
    /// Invite, remove, change roles, answer membership requests.
    ManageMemberships,
    /// List verified domains.
    ReadDomains,
    /// Add, verify, change and remove verified domains.
    ManageDomains,
}

impl Action {
    /// The permission the action needs.
    pub fn needs(self) -> SystemPermission {
        match self {
            Self::UpdateProfile => SystemPermission::ProfileManage,
            Self::Delete => SystemPermission::ProfileDelete,
            Self::ReadMemberships => SystemPermission::MembershipsRead,
            Self::ManageMemberships => SystemPermission::MembershipsManage,
            Self::ReadDomains => SystemPermission::DomainsRead,
            Self::ManageDomains => SystemPermission::DomainsManage,
        }
    }
}

/// The admin role every instance has.
pub const ADMIN_ROLE: &str = "org:admin";
/// The member role every instance has.
pub const MEMBER_ROLE: &str = "org:member";
/// The role set new organizations get on a fresh instance.
pub const DEFAULT_ROLE_SET: &str = "role_set:default";

/// A permission: one of the system permissions or an instance's own
/// (`org:<feature>:<action>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    /// `perm_…`
    pub id: String,
    /// `org:<feature>:<action>`.
    pub key: String,
    /// Display name.
    pub name: String,
    /// What it allows, in words.
    pub description: String,
    /// One of Clerk's system permissions, which cannot change.
    pub system: bool,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    /// Milliseconds since the epoch.
    pub updated_at: i64,
}

/// A role: its key (`org:admin`), display name and the permissions it grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// `role_…`
    pub id: String,
    /// `org:<name>`.
    pub key: String,
    /// Display name.
    pub name: String,
    /// What it is for, in words.
    pub description: Option<String>,
    /// Permission keys, system and custom, sorted.
    pub permissions: Vec<String>,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    /// Milliseconds since the epoch.
    pub updated_at: i64,
}

impl Role {
    /// Whether the role may be given to an organization's creator: it must
    /// be able to manage the members, or the organization would have nobody
    /// who can.
    pub fn creator_eligible(&self) -> bool {
        self.permissions
            .iter()
            .any(|p| p == SystemPermission::MembershipsManage.key())
    }
}

/// A role set: the roles an organization's members can have, with the one
/// its creator gets and the one new members get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleSet {
    /// `rs_…`
    pub id: String,
    /// `role_set:<name>`.
    pub key: String,
    /// Display name.
    pub name: String,
    /// What it is for, in words.
    pub description: Option<String>,
    /// New organizations get this set (exactly one set is initial).
    pub initial: bool,
    /// Role keys, in the order they were added.
    pub roles: Vec<String>,
    /// Role key new members get (invitations by domain, suggestions).
    pub default_role: String,
    /// Role key an organization's creator gets.
    pub creator_role: String,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    /// Milliseconds since the epoch.
    pub updated_at: i64,
}

/// The roles of an instance: permissions, roles and role sets, read together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roles {
    /// Every permission, system ones first.
    pub permissions: Vec<Permission>,
    /// Every role.
    pub roles: Vec<Role>,
    /// Every role set.
    pub sets: Vec<RoleSet>,
}

impl Default for Roles {
    /// Clerk's two default roles in the default role set: admins may do
    /// everything, members may see the other members. (A stored instance
    /// holds the same rows, seeded by its first migration of roles.)
    fn default() -> Self {
        let permissions = SystemPermission::ALL
            .iter()
            .map(|p| Permission {
                id: String::new(),
                key: p.key().to_owned(),
                name: p.key().to_owned(),
                description: String::new(),
                system: true,
                created_at: 0,
                updated_at: 0,
            })
            .collect();
        let role = |key: &str, name: &str, permissions: Vec<String>| Role {
            id: String::new(),
            key: key.to_owned(),
            name: name.to_owned(),
            description: None,
            permissions,
            created_at: 0,
            updated_at: 0,
        };
        let mut all: Vec<String> = SystemPermission::ALL
            .iter()
            .map(|p| p.key().to_owned())
            .collect();
        all.sort();
        Self {
            permissions,
            roles: vec![
                role(ADMIN_ROLE, "Admin", all),
                role(
                    MEMBER_ROLE,
                    "Member",
                    vec![SystemPermission::MembershipsRead.key().to_owned()],
                ),
            ],
            sets: vec![RoleSet {
                id: String::new(),
                key: DEFAULT_ROLE_SET.to_owned(),
                name: "Default role set".to_owned(),
                description: None,
                initial: true,
                roles: vec![ADMIN_ROLE.to_owned(), MEMBER_ROLE.to_owned()],
                default_role: MEMBER_ROLE.to_owned(),
                creator_role: ADMIN_ROLE.to_owned(),
                created_at: 0,
                updated_at: 0,
            }],
        }
    }
}

impl Roles {
    /// The role with this key.
    pub fn get(&self, key: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.key == key)
    }

    /// The role with this id.
    pub fn role_with_id(&self, id: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.id == id)
    }

    /// The permission with this id.
    pub fn permission_with_id(&self, id: &str) -> Option<&Permission> {
        self.permissions.iter().find(|p| p.id == id)
    }

    /// Every role.
    pub fn all(&self) -> &[Role] {
        &self.roles
    }

    /// The permissions a role grants (none for an unknown role).
    pub fn permissions(&self, key: &str) -> &[String] {
        self.get(key).map_or(&[], |r| r.permissions.as_slice())
    }

    /// The role set new organizations get.
    pub fn initial_set(&self) -> Option<&RoleSet> {
        self.sets
            .iter()
            .find(|s| s.initial)
            .or_else(|| self.sets.first())
    }

    /// The role set with this id, or the initial one when the id is unknown
    /// or absent.
    pub fn set_or_initial(&self, id: Option<&str>) -> Option<&RoleSet> {
        id.and_then(|id| self.sets.iter().find(|s| s.id == id))
            .or_else(|| self.initial_set())
    }

    /// The role set with this key or id.
    pub fn find_set(&self, key_or_id: &str) -> Option<&RoleSet> {
        self.sets
            .iter()
            .find(|s| s.key == key_or_id || s.id == key_or_id)
    }

    /// The roles an organization in `set` may give, in the set's order.
    pub fn roles_of(&self, set: &RoleSet) -> Vec<&Role> {
        set.roles.iter().filter_map(|k| self.get(k)).collect()
    }

    /// Whether a member with `role` may take `action`.
    pub fn allows(&self, role: &str, action: Action) -> bool {
        let needed = action.needs().key();
        self.permissions(role).iter().any(|p| p == needed)
    }

    /// Whether `role` may manage members: an organization always keeps at
    /// least one member who may.
    pub fn manages_members(&self, role: &str) -> bool {
        self.allows(role, Action::ManageMemberships)
    }
}

/// Whether `key` is a valid role key: `org:` then lowercase letters, digits
/// and underscores.
pub fn valid_role_key(key: &str) -> bool {
    key.strip_prefix("org:").is_some_and(plain_segment)
}

/// Whether `key` is a valid key for an instance's own permission:
/// `org:<feature>:<action>`, each segment lowercase letters, digits and
/// underscores, the feature not starting with `sys_`.
pub fn valid_permission_key(key: &str) -> bool {
    let Some((feature, action)) = key.strip_prefix("org:").and_then(|r| r.split_once(':')) else {
        return false;
    };
    plain_segment(feature) && plain_segment(action) && !feature.starts_with("sys_")
}

/// Whether `key` is a valid role set key: `role_set:` then lowercase
/// letters, digits and underscores.
pub fn valid_role_set_key(key: &str) -> bool {
    key.strip_prefix("role_set:").is_some_and(plain_segment)
}

/// A role set key made from a name (`"Enterprise plan"` →
/// `role_set:enterprise_plan`).
pub fn role_set_key_from(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_end_matches('_');
    format!("role_set:{}", if out.is_empty() { "custom" } else { out })
}

fn plain_segment(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Longest slug and name.
pub const MAX_NAME_LEN: usize = 256;

/// Whether `slug` is a valid organization slug: lowercase ASCII letters,
/// digits and hyphens, not starting or ending with a hyphen, at most
/// [`MAX_NAME_LEN`] long.
pub fn valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= MAX_NAME_LEN
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
}

/// A slug made from a name: lowercased, every run of other characters turned
/// into one hyphen (`"Acme, Inc."` → `acme-inc`); `org` when nothing is left.
pub fn slugify(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut slug = out.trim_end_matches('-').to_owned();
    slug.truncate(MAX_NAME_LEN - 8);
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "org".to_owned()
    } else {
        slug.to_owned()
    }
}

/// Whether a name is acceptable: not empty, not too long, no HTML or URL.
pub fn valid_name(name: &str) -> bool {
    let trimmed = name.trim();
    !trimmed.is_empty()
        && name.len() <= MAX_NAME_LEN
        && !name.contains(['<', '>'])
        && !name.contains("://")
}

/// A role's permissions as a session token carries them (Clerk's v2 `fea`
/// claim and the `per` and `fpm` keys of `o`): system permissions are left
/// out, as Clerk does; `None` when nothing is left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedPermissions {
    /// `o:<feature>` for each feature, comma-separated, sorted.
    pub fea: String,
    /// The permission names (`read`, `manage`), comma-separated, sorted.
    pub per: String,
    /// One decimal bit mask per feature (bit i = the i-th name of `per`).
    pub fpm: String,
}

/// Encodes custom permissions (`org:<feature>:<name>`) for a session token.
pub fn encode_permissions(permissions: &[String]) -> Option<EncodedPermissions> {
    let custom: Vec<(&str, &str)> = permissions
        .iter()
        .filter_map(|p| {
            let rest = p.strip_prefix("org:")?;
            let (feature, name) = rest.split_once(':')?;
            let plain = |s: &str| !s.is_empty() && !s.contains([',', ':']);
            (!feature.starts_with("sys_") && plain(feature) && plain(name))
                .then_some((feature, name))
        })
        .collect();
    if custom.is_empty() {
        return None;
    }
    let mut features: Vec<&str> = custom.iter().map(|(f, _)| *f).collect();
    features.sort_unstable();
    features.dedup();
    let mut names: Vec<&str> = custom.iter().map(|(_, n)| *n).collect();
    names.sort_unstable();
    names.dedup();
    let masks: Vec<String> = features
        .iter()
        .map(|feature| {
            let bits: Vec<bool> = names
                .iter()
                .map(|name| custom.contains(&(*feature, *name)))
                .collect();
            decimal_of_bits(&bits)
        })
        .collect();
    Some(EncodedPermissions {
        fea: features
            .iter()
            .map(|f| format!("o:{f}"))
            .collect::<Vec<_>>()
            .join(","),
        per: names.join(","),
        fpm: masks.join(","),
    })
}

/// The decimal digits of the number whose bits (least significant first)
/// are `bits`, of any length.
fn decimal_of_bits(bits: &[bool]) -> String {
    // Little-endian decimal digits; doubled (plus the bit) from the top bit down.
    let mut digits: Vec<u8> = vec![0];
    for &bit in bits.iter().rev() {
        let mut carry = u8::from(bit);
        for d in &mut digits {
            let v = *d * 2 + carry;
            *d = v % 10;
            carry = v / 10;
        }
        if carry > 0 {
            digits.push(carry);
        }
    }
    digits.iter().rev().map(|d| char::from(b'0' + d)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_roles_grant_as_clerk_does() {
        let roles = Roles::default();
        for action in [
            Action::UpdateProfile,
            Action::Delete,
            Action::ReadMemberships,
            Action::ManageMemberships,
            Action::ReadDomains,
            Action::ManageDomains,
        ] {
            assert!(roles.allows(ADMIN_ROLE, action), "{action:?}");
        }
        assert!(roles.allows(MEMBER_ROLE, Action::ReadMemberships));
        assert!(!roles.allows(MEMBER_ROLE, Action::ManageMemberships));
        assert!(!roles.allows(MEMBER_ROLE, Action::Delete));
        assert!(!roles.allows("org:unknown", Action::ReadMemberships));
        assert!(roles.manages_members(ADMIN_ROLE));
        assert!(!roles.manages_members(MEMBER_ROLE));
        assert!(roles.get(ADMIN_ROLE).unwrap().creator_eligible());
        assert!(!roles.get(MEMBER_ROLE).unwrap().creator_eligible());
        let set = roles.initial_set().unwrap();
        assert_eq!(set.key, DEFAULT_ROLE_SET);
        assert_eq!(roles.roles_of(set).len(), 2);
        assert_eq!(roles.set_or_initial(Some("rs_unknown")), Some(set));
    }

    #[test]
    fn keys_of_roles_permissions_and_sets() {
        assert!(valid_role_key("org:billing_manager"));
        for bad in ["billing", "org:", "org:Billing", "org:a:b", "org:a-b"] {
            assert!(!valid_role_key(bad), "{bad}");
        }
        assert!(valid_permission_key("org:invoices:read"));
        for bad in [
            "org:invoices",
            "org:sys_profile:manage",
            "invoices:read",
            "org:invoices:read:x",
            "org::read",
            "org:Invoices:read",
        ] {
            assert!(!valid_permission_key(bad), "{bad}");
        }
        assert!(valid_role_set_key("role_set:enterprise"));
        assert!(!valid_role_set_key("role_set:"));
        assert!(!valid_role_set_key("enterprise"));
        assert_eq!(
            role_set_key_from("Enterprise plan!"),
            "role_set:enterprise_plan"
        );
        assert_eq!(role_set_key_from("!!"), "role_set:custom");
    }

    #[test]
    fn slugs_from_names() {
        assert_eq!(slugify("Acme, Inc."), "acme-inc");
        assert_eq!(slugify("  --Über Team 42--"), "ber-team-42");
        assert_eq!(slugify("!!!"), "org");
        assert!(valid_slug(&slugify(&"x".repeat(1000))));
        assert!(valid_slug("acme-42"));
        for bad in ["", "Acme", "-acme", "acme-", "ac me", "acme_1"] {
            assert!(!valid_slug(bad), "{bad}");
        }
    }

    #[test]
    fn permissions_encode_as_clerk_tokens_do() {
        let perms = |ps: &[&str]| ps.iter().map(|p| (*p).to_owned()).collect::<Vec<_>>();
        // Clerk's documented example.
        let e = encode_permissions(&perms(&[
            "org:dashboard:read",
            "org:dashboard:manage",
            "org:teams:read",
        ]))
        .unwrap();
        assert_eq!(e.fea, "o:dashboard,o:teams");
        assert_eq!(e.per, "manage,read");
        assert_eq!(e.fpm, "3,2");
        // System permissions stay out.
        let e = encode_permissions(&perms(&[
            "org:sys_memberships:manage",
            "org:sys_profile:manage",
            "org:invoices:read",
        ]))
        .unwrap();
        assert_eq!(
            (e.fea.as_str(), e.per.as_str(), e.fpm.as_str()),
            ("o:invoices", "read", "1")
        );
        assert_eq!(
            encode_permissions(&perms(&["org:sys_memberships:read"])),
            None
        );
        assert_eq!(encode_permissions(&[]), None);
    }

    #[test]
    fn masks_of_any_width() {
        assert_eq!(decimal_of_bits(&[]), "0");
        assert_eq!(decimal_of_bits(&[true, false, true]), "5");
        let mut wide = vec![false; 70];
        wide[69] = true;
        assert_eq!(decimal_of_bits(&wide), "590295810358705651712"); // 2^69
    }

    #[test]
    fn names_refuse_markup_and_urls() {
        assert!(valid_name("Acme"));
        assert!(!valid_name("   "));
        assert!(!valid_name("<b>Acme</b>"));
        assert!(!valid_name("see https://evil.example"));
        assert!(!valid_name(&"x".repeat(MAX_NAME_LEN + 1)));
    }
}
