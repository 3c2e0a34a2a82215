//! Single-use links: only the hash of the token in the URL is stored.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkPurpose {
    /// Upgrade step 2 in progress (held by a cookie): the legacy credentials were right.
    UpgradeSession,
    /// Upgrade step 3: the link sent to the chosen login email.
    VerifyEmail,
    /// From "mot de passe oublié" for a client number not yet upgraded: leads to step 2.
    UpgradeStart,
    PasswordReset,
    /// "Modifier mon email de connexion": the link sent to the new address.
    EmailChange,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UpgradeSession => "upgrade_session",
            Self::VerifyEmail => "verify_email",
            Self::UpgradeStart => "upgrade_start",
            Self::PasswordReset => "password_reset",
            Self::EmailChange => "email_change",
        }
    }
}

/// What a link is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkData {
    pub client_number: Option<String>,
    pub email: Option<String>,
    pub identity_id: Option<String>,
    /// Hash of the pending authorization request's handle, to resume it in the same browser.
    pub interaction_hash: Option<String>,
    pub lang: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRecord {
    pub token_hash: String,
    pub purpose: LinkPurpose,
    pub data: LinkData,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
}

/// What a presented link turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    Valid(LinkRecord),
    Used,
    Expired(LinkRecord),
    Unknown,
}

impl LinkRecord {
    pub fn state(self, now: OffsetDateTime) -> LinkState {
        if self.used_at.is_some() {
            LinkState::Used
        } else if self.expires_at <= now {
            LinkState::Expired(self)
        } else {
            LinkState::Valid(self)
        }
    }
}
