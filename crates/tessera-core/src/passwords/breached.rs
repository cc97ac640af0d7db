//! Rejection of passwords that appear in lists of breached passwords.
//!
//! Clerk refuses a new password that is "in any list of hacked passwords". This server ships such a
//! list in the binary and never calls out at run time. `data/common-passwords.txt` comes from
//! `django/contrib/auth/common-passwords.txt.gz` in the Django 5.2.19 distribution on the Python
//! Package Index: about 20,000 of the passwords most common in public breach corpora, copyright the
//! Django Software Foundation and individual contributors, under the BSD 3-Clause licence. Only
//! entries of 8 or more characters are kept, since shorter passwords fail the length rule anyway;
//! they are lower-cased, deduplicated and sorted, one per line (8,354 entries).

use std::collections::HashSet;
use std::sync::LazyLock;

/// The shipped list, one lower-case password per line.
const LIST: &str = include_str!("../../data/common-passwords.txt");

/// The list as a set, built on first use.
static COMMON: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| LIST.lines().filter(|line| !line.is_empty()).collect());

/// Whether `password` is one of the common breached passwords, ignoring case and surrounding
/// whitespace.
pub fn is_common(password: &str) -> bool {
    COMMON.contains(password.trim().to_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_breached_passwords_are_common() {
        for password in [
            "password",
            "12345678",
            "qwertyuiop",
            "iloveyou",
            "password123",
            "1q2w3e4r5t",
        ] {
            assert!(is_common(password), "{password}");
        }
    }

    #[test]
    fn the_check_ignores_case_and_surrounding_whitespace() {
        assert!(is_common("PassWord"));
        assert!(is_common("QWERTYUIOP"));
        assert!(is_common(" password\n"));
    }

    #[test]
    fn uncommon_passwords_are_not_common() {
        for password in [
            "",
            "correct horse battery staple",
            "Tr0ub4dor&3-xyzzy",
            "pässwörd-ünïcode-✓",
        ] {
            assert!(!is_common(password), "{password}");
        }
    }

    #[test]
    fn the_list_is_lower_case_sorted_unique_and_at_least_eight_characters() {
        let lines: Vec<&str> = LIST.lines().collect();
        assert!(lines.len() > 8_000, "only {} entries", lines.len());
        assert!(
            lines.windows(2).all(|pair| pair[0] < pair[1]),
            "not sorted and unique"
        );
        for line in &lines {
            assert!(line.chars().count() >= 8, "{line:?} is short");
            assert_eq!(line.to_lowercase(), *line, "{line:?} is not lower-case");
        }
        assert_eq!(COMMON.len(), lines.len());
    }
}
