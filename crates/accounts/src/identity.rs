//! An identity: the `sub` of every token, one login email, one password.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityStatus {
    Active,
    Locked,
}

impl IdentityStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Locked => "locked",
        }
    }

    pub fn parse(s: &str) -> Self {
        if s == "active" {
            Self::Active
        } else {
            Self::Locked
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Identity {
    /// Opaque and stable: never the email, never a client number.
    pub id: String,
    /// Normalised (see [`crate::email::normalize`]).
    pub login_email: String,
    pub email_verified_at: Option<OffsetDateTime>,
    /// argon2id PHC string.
    pub password_hash: String,
    pub status: IdentityStatus,
    pub created_at: OffsetDateTime,
}
