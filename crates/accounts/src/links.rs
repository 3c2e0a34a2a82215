//! Single-use links: only the hash of the token in the URL is stored.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::service::{Accounts, Unavailable};

/// What a link is for; a token presented for another purpose is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkPurpose {
    /// Upgrade step 2 in progress (held by a cookie): the legacy credentials were right.
    UpgradeSession,
    /// Upgrade step 3: the link sent to the chosen login email.
    VerifyEmail,
    /// From "mot de passe oublié" for a client number not yet upgraded: leads to step 2.
    UpgradeStart,
    /// From "mot de passe oublié" for an email login: leads to a new password.
    PasswordReset,
    /// "Modifier mon email de connexion": the link sent to the new address.
    EmailChange,
}

impl LinkPurpose {
    /// The links of an upgrade in progress (by client number).
    pub const UPGRADE: [LinkPurpose; 3] =
        [Self::UpgradeSession, Self::VerifyEmail, Self::UpgradeStart];

    /// The stored name of the purpose.
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
    /// The customer account concerned (upgrade links).
    pub client_number: Option<String>,
    /// The (normalised) login email being verified, or the address a reset was sent to.
    pub email: Option<String>,
    /// The identity concerned (reset and email-change links).
    pub identity_id: Option<String>,
    /// Hash of the pending authorization request's handle, to resume it in the same browser.
    pub interaction_hash: Option<String>,
    /// The language of the pages and messages that follow (`fr`, `en`).
    pub lang: Option<String>,
}

/// A stored link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRecord {
    /// [`gan_secret::hash_handle`] of the token in the URL.
    pub token_hash: String,
    /// What the link is for.
    pub purpose: LinkPurpose,
    /// What the link is about.
    pub data: LinkData,
    /// When it was issued.
    pub created_at: OffsetDateTime,
    /// The link works strictly before this instant.
    pub expires_at: OffsetDateTime,
    /// Set once, by the one request that used it.
    pub used_at: Option<OffsetDateTime>,
}

/// What a presented link turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    /// Not used, not expired.
    Valid(LinkRecord),
    /// Used already (a link works once).
    Used,
    /// Past its lifetime and never used (its data can be sent again in a fresh link).
    Expired(LinkRecord),
    /// No such token for this purpose.
    Unknown,
}

impl LinkRecord {
    /// The state of this link at `now` (a used link is `Used` even when expired).
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

impl Accounts {
    /// Stores a new link and returns its token (only its hash is stored).
    pub(crate) async fn issue_link(
        &self,
        purpose: LinkPurpose,
        data: LinkData,
        ttl: time::Duration,
        now: OffsetDateTime,
    ) -> Result<String, Unavailable> {
        let token = gan_secret::new_handle("");
        let record = LinkRecord {
            token_hash: gan_secret::hash_handle(&token),
            purpose,
            data,
            created_at: now,
            expires_at: now + ttl,
            used_at: None,
        };
        self.ports.links.insert_link(&record).await?;
        Ok(token)
    }

    /// What the link `token` is for `purpose` at `now`. Nothing is used up.
    ///
    /// Errors: `Unavailable`.
    pub async fn link(
        &self,
        token: &str,
        purpose: LinkPurpose,
        now: OffsetDateTime,
    ) -> Result<LinkState, Unavailable> {
        Ok(
            match self
                .ports
                .links
                .find_link(&gan_secret::hash_handle(token), purpose)
                .await?
            {
                Some(r) => r.state(now),
                None => LinkState::Unknown,
            },
        )
    }
}
