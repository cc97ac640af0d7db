//! Validation and normalisation of the identifiers users sign in with.

use crate::settings::{PasswordSettings, UsernameSettings};

/// Why an identifier or password was refused; each maps to one Clerk error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// Not a plausible email address.
    EmailFormat,
    /// Not an E.164 phone number.
    PhoneFormat,
    /// Username shorter or longer than the settings allow.
    UsernameLength,
    /// Username with characters other than letters, digits, `_`, `-` and `.`.
    UsernameCharacter,
    /// Username made of digits only.
    UsernameAllDigits,
    /// Password shorter than the minimum.
    PasswordTooShort,
    /// Password longer than the maximum in bytes.
    PasswordTooLong,
    /// Password misses a required character class.
    PasswordNotStrongEnough,
}

/// Lowercases and trims an email address and checks its shape.
///
/// The check is deliberately loose (one `@`, a dotted domain, no spaces): the
/// real test of an address is the verification code sent to it.
pub fn normalize_email(raw: &str) -> Result<String, Invalid> {
    let email = raw.trim().to_lowercase();
    let (local, domain) = email.split_once('@').ok_or(Invalid::EmailFormat)?;
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.contains('@')
        && !local.chars().any(char::is_whitespace);
    if domain_ok && local_ok && email.len() <= 254 {
        Ok(email)
    } else {
        Err(Invalid::EmailFormat)
    }
}

/// Normalises a phone number to E.164 (`+` and 8 to 15 digits), removing spaces,
/// dashes, dots and parentheses.
pub fn normalize_phone(raw: &str) -> Result<String, Invalid> {
    let trimmed = raw.trim();
    let rest = trimmed.strip_prefix('+').ok_or(Invalid::PhoneFormat)?;
    let mut digits = String::with_capacity(rest.len() + 1);
    digits.push('+');
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return Err(Invalid::PhoneFormat),
        }
    }
    let count = digits.len() - 1;
    if (8..=15).contains(&count) && !digits.starts_with("+0") {
        Ok(digits)
    } else {
        Err(Invalid::PhoneFormat)
    }
}

/// Lowercases a username and checks it against the settings.
pub fn normalize_username(raw: &str, rules: &UsernameSettings) -> Result<String, Invalid> {
    let username = raw.trim().to_lowercase();
    let len = username.chars().count();
    if len < rules.min_length || len > rules.max_length {
        return Err(Invalid::UsernameLength);
    }
    if !username
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(Invalid::UsernameCharacter);
    }
    if username.chars().all(|c| c.is_ascii_digit()) {
        return Err(Invalid::UsernameAllDigits);
    }
    Ok(username)
}

/// Checks a new password against the instance's password rules.
///
/// The breached-password check is separate (it needs the shipped list).
pub fn check_password(password: &str, rules: &PasswordSettings) -> Result<(), Invalid> {
    if password.chars().count() < rules.min_length.max(8) {
        return Err(Invalid::PasswordTooShort);
    }
    if password.len() > rules.max_length.clamp(8, 72) {
        return Err(Invalid::PasswordTooLong);
    }
    let missing = (rules.require_numbers && !password.chars().any(|c| c.is_ascii_digit()))
        || (rules.require_uppercase && !password.chars().any(char::is_uppercase))
        || (rules.require_lowercase && !password.chars().any(char::is_lowercase))
        || (rules.require_special_char
            && !password
                .chars()
                .any(|c| rules.allowed_special_characters.contains(c)));
    if missing {
        Err(Invalid::PasswordNotStrongEnough)
    } else {
        Ok(())
    }
}

/// Clerk's test email addresses: any address whose local part contains `+clerk_test`.
pub fn is_test_email(email: &str) -> bool {
    email
        .split_once('@')
        .is_some_and(|(local, _)| local.contains("+clerk_test"))
}

/// Clerk's test phone numbers: North American fictional numbers `+1 (XXX) 555-0100` to `0199`.
pub fn is_test_phone(phone: &str) -> bool {
    let digits = phone.strip_prefix("+1").unwrap_or("");
    digits.len() == 10 && digits[3..6] == *"555" && digits[6..8] == *"01"
}

/// Masks an email address for display (`a***@example.com`).
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

/// Masks a phone number for display, keeping its last four characters.
pub fn mask_phone(phone: &str) -> String {
    let count = phone.chars().count();
    let keep = count.saturating_sub(4);
    let tail: String = phone.chars().skip(keep).collect();
    format!("{}{tail}", "*".repeat(keep))
}

/// The ISO 3166-1 alpha-2 country codes (the 249 assigned ones).
const COUNTRY_CODES: &str = "\
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN \
BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ \
DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL \
GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM \
JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME \
MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP \
NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD \
SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO \
TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// Whether `code` is an assigned ISO 3166-1 alpha-2 country code (`DE`, upper case).
pub fn is_country_code(code: &str) -> bool {
    code.len() == 2 && COUNTRY_CODES.split(' ').any(|c| c == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(
            normalize_email(" Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@x.com",
            "ada@localhost",
            "a b@x.com",
            "a@x..com",
            "a@@x.com",
        ] {
            assert_eq!(normalize_email(bad), Err(Invalid::EmailFormat), "{bad}");
        }
    }

    #[test]
    fn phones_are_e164() {
        assert_eq!(
            normalize_phone("+1 (202) 555-0123").unwrap(),
            "+12025550123"
        );
        for bad in [
            "12025550123",
            "+1",
            "+1202555012a",
            "+0123456789",
            "+1234567890123456",
        ] {
            assert_eq!(normalize_phone(bad), Err(Invalid::PhoneFormat), "{bad}");
        }
    }

    #[test]
    fn usernames_follow_rules() {
        let rules = UsernameSettings::default();
        assert_eq!(normalize_username("Ada_L", &rules).unwrap(), "ada_l");
        assert_eq!(
            normalize_username("abc", &rules),
            Err(Invalid::UsernameLength)
        );
        assert_eq!(
            normalize_username("ab cd", &rules),
            Err(Invalid::UsernameCharacter)
        );
        assert_eq!(
            normalize_username("12345", &rules),
            Err(Invalid::UsernameAllDigits)
        );
    }

    #[test]
    fn passwords_follow_rules() {
        let mut rules = PasswordSettings::default();
        assert_eq!(
            check_password("short", &rules),
            Err(Invalid::PasswordTooShort)
        );
        assert_eq!(
            check_password(&"x".repeat(73), &rules),
            Err(Invalid::PasswordTooLong)
        );
        assert!(check_password("long enough", &rules).is_ok());
        rules.require_numbers = true;
        assert_eq!(
            check_password("no digits here", &rules),
            Err(Invalid::PasswordNotStrongEnough)
        );
        assert!(check_password("digits 123 here", &rules).is_ok());
    }

    #[test]
    fn test_identifiers() {
        assert!(is_test_email("ada+clerk_test@example.com"));
        assert!(!is_test_email("ada@example.com"));
        assert!(is_test_phone("+12015550100"));
        assert!(is_test_phone("+12015550199"));
        assert!(!is_test_phone("+12015550200"));
    }

    #[test]
    fn masks_keep_what_identifies_the_target() {
        assert_eq!(mask_email("alice@example.com"), "a***@example.com");
        assert_eq!(mask_email("nope"), "***");
        assert_eq!(mask_phone("+15555550100"), "********0100");
        assert_eq!(mask_phone("12"), "12");
    }

    #[test]
    fn country_codes_are_the_assigned_ones() {
        assert!(is_country_code("DE") && is_country_code("US") && is_country_code("ZW"));
        assert!(!is_country_code("AA") && !is_country_code("de") && !is_country_code("DEU"));
        assert_eq!(COUNTRY_CODES.split(' ').count(), 249);
    }
}
