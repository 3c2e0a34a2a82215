//! The password policy shown on screen and checked on the server: letters and digits, a minimum
//! length, not containing the email's local part or the client number, not a common password.

use serde::Serialize;

const COMMON: &str = include_str!("common_passwords.txt");

/// A rule a password breaks (the UI translates each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Violation {
    /// Fewer characters than the minimum length.
    TooShort,
    /// Not both letters and digits.
    LettersAndDigits,
    /// Contains the local part of the login email (3 characters or more).
    ContainsEmail,
    /// Contains a client number of the person.
    ContainsClientNumber,
    /// On the list of common passwords.
    Common,
    /// The confirmation differs.
    Mismatch,
}

impl Violation {
    /// The translation key of the rule's message.
    pub fn key(self) -> &'static str {
        match self {
            Self::TooShort => "pw_too_short",
            Self::LettersAndDigits => "pw_letters_digits",
            Self::ContainsEmail => "pw_contains_email",
            Self::ContainsClientNumber => "pw_contains_client_number",
            Self::Common => "pw_common",
            Self::Mismatch => "pw_mismatch",
        }
    }
}

/// The password rules; the UI shows them and the engine checks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Minimum length, in characters (12 by default).
    pub min_length: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self { min_length: 12 }
    }
}

fn is_common(password: &str) -> bool {
    let lower = password.to_lowercase();
    COMMON
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .any(|c| c == lower)
}

impl PasswordPolicy {
    /// Every rule `password` breaks; empty when it is acceptable.
    pub fn check(
        &self,
        password: &str,
        confirm: &str,
        email: &str,
        client_numbers: &[&str],
    ) -> Vec<Violation> {
        let mut v = Vec::new();
        if password.chars().count() < self.min_length {
            v.push(Violation::TooShort);
        }
        if !(password.chars().any(char::is_alphabetic)
            && password.chars().any(|c| c.is_ascii_digit()))
        {
            v.push(Violation::LettersAndDigits);
        }
        let lower = password.to_lowercase();
        let local = email
            .split('@')
            .next()
            .unwrap_or_default()
            .trim()
            .to_lowercase();
        if local.chars().count() >= 3 && lower.contains(&local) {
            v.push(Violation::ContainsEmail);
        }
        if client_numbers
            .iter()
            .any(|n| !n.is_empty() && lower.contains(&n.to_lowercase()))
        {
            v.push(Violation::ContainsClientNumber);
        }
        if is_common(password) {
            v.push(Violation::Common);
        }
        if password != confirm {
            v.push(Violation::Mismatch);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        let p = PasswordPolicy::default();
        assert!(p
            .check(
                "Ch0colat-Noisette",
                "Ch0colat-Noisette",
                "jean@example.fr",
                &["12345678"]
            )
            .is_empty());
        assert_eq!(
            p.check("court1", "court1", "j@x.fr", &[]),
            vec![Violation::TooShort]
        );
        assert_eq!(
            p.check("seulementdeslettres", "seulementdeslettres", "j@x.fr", &[]),
            vec![Violation::LettersAndDigits]
        );
        assert_eq!(
            p.check(
                "jean.dupont2026!",
                "jean.dupont2026!",
                "Jean.Dupont@example.fr",
                &[]
            ),
            vec![Violation::ContainsEmail]
        );
        assert_eq!(
            p.check("abc12345678xyz", "abc12345678xyz", "j@x.fr", &["12345678"]),
            vec![Violation::ContainsClientNumber]
        );
        assert_eq!(
            p.check("azerty123456", "azerty123456", "j@x.fr", &[]),
            vec![Violation::Common]
        );
        assert_eq!(
            p.check("Ch0colat-Noisette", "autre", "j@x.fr", &[]),
            vec![Violation::Mismatch]
        );
    }
}
