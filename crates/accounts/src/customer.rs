//! Customer accounts: one per client number, imported with a legacy password hash.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The kind of a customer account; an identity holds a limited number of each (J3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// A private person's account.
    Personal,
    /// A business account (one per establishment).
    Professional,
}

impl AccountKind {
    /// The stored and displayed name (`personal`, `professional`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Personal => "personal",
            Self::Professional => "professional",
        }
    }

    /// The kind named `s`; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "personal" => Some(Self::Personal),
            "professional" => Some(Self::Professional),
            _ => None,
        }
    }
}

/// `legacy` until the customer chose a login email and password; then `upgraded`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// Not upgraded: signs in with the client number and its legacy password.
    Legacy,
    /// Attached to an identity; the legacy password is gone.
    Upgraded,
}

impl AccountStatus {
    /// The stored name (`legacy`, `upgraded`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Legacy => "legacy",
            Self::Upgraded => "upgraded",
        }
    }

    /// The status named `s`; anything but `upgraded` reads as `legacy`.
    pub fn parse(s: &str) -> Self {
        if s == "upgraded" {
            Self::Upgraded
        } else {
            Self::Legacy
        }
    }
}

/// A customer account, as imported and as the journeys change it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerAccount {
    /// Normalised (see [`normalize_client_number`]); unique.
    pub client_number: String,
    /// Personal or professional.
    pub kind: AccountKind,
    /// The name shown to the customer (1 to 255 characters).
    pub label: String,
    /// Not unique: families share one.
    pub contact_email: String,
    /// Removed at upgrade.
    pub legacy_hash: Option<String>,
    /// Legacy until attached to an identity.
    pub status: AccountStatus,
    /// When it was first imported.
    pub created_at: OffsetDateTime,
    /// The holder's given name, when the legacy base has it (released by scope `profile`).
    pub given_name: Option<String>,
    /// The holder's family name, when the legacy base has it.
    pub family_name: Option<String>,
}

/// Client numbers: digits and letters, 4 to 32 characters, compared upper-case.
pub fn normalize_client_number(raw: &str) -> Option<String> {
    let n: String = raw
        .trim()
        .chars()
        .filter(|c| *c != ' ')
        .collect::<String>()
        .to_uppercase();
    ((4..=32).contains(&n.len()) && n.chars().all(|c| c.is_ascii_alphanumeric())).then_some(n)
}

/// The most characters a typed client number may have, spaces included: the width of the
/// columns a client number reaches (customer accounts, links, the audit trail).
pub const CLIENT_NUMBER_INPUT_MAX: usize = 64;

/// Whether a typed client number is short enough to be looked up, counted and recorded even when
/// it is not a valid one: at most [`CLIENT_NUMBER_INPUT_MAX`] characters once trimmed and
/// upper-cased (as the journeys keep an invalid one). Longer text is never a client number;
/// callers refuse it before it reaches the storage.
pub fn client_number_fits(raw: &str) -> bool {
    raw.trim().to_uppercase().chars().count() <= CLIENT_NUMBER_INPUT_MAX
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_numbers() {
        assert_eq!(
            normalize_client_number(" 12 34 567 ").as_deref(),
            Some("1234567")
        );
        assert_eq!(normalize_client_number("ab1234").as_deref(), Some("AB1234"));
        assert_eq!(normalize_client_number("12"), None);
        assert_eq!(normalize_client_number("12-34"), None);
    }

    #[test]
    fn typed_client_numbers_fit_the_columns() {
        assert!(client_number_fits(&format!("  {}  ", "1".repeat(64))));
        assert!(!client_number_fits(&"1".repeat(65)));
        // Upper-casing may lengthen a text: what is kept is measured.
        assert!(client_number_fits(&"ß".repeat(32)));
        assert!(!client_number_fits(&"ß".repeat(33)));
    }
}
