//! An identity: the `sub` of every token, one login email, one password.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Whether an identity may sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityStatus {
    /// May sign in.
    Active,
    /// Locked by an administrator: the right password gets `Locked`.
    Locked,
}

impl IdentityStatus {
    /// The stored name (`active`, `locked`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Locked => "locked",
        }
    }

    /// The status named `s`; anything but `active` reads as `locked` (fail closed).
    pub fn parse(s: &str) -> Self {
        if s == "active" {
            Self::Active
        } else {
            Self::Locked
        }
    }
}

/// A person: the subject of tokens, with one login email and one password.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Identity {
    /// Opaque and stable: never the email, never a client number.
    pub id: String,
    /// An addr-spec in its normalised form (see [`crate::email::parse`]).
    pub login_email: String,
    /// When the login email was last verified by a link.
    pub email_verified_at: Option<OffsetDateTime>,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Active or locked.
    pub status: IdentityStatus,
    /// When the identity was created.
    pub created_at: OffsetDateTime,
}
