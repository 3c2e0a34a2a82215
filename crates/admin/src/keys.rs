//! Signing keys: list and rotate.

use gan_audit::EventType;
use gan_oidc::model::StoredKey;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::{Admin, AdminResult};

/// A signing key (public facts only).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KeyView {
    /// Key id (`kid`), as in JWKS and in token headers.
    pub kid: String,
    /// `RS256`, `ES256` or `EdDSA`.
    pub alg: String,
    /// When the key was generated and published.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Signs from this time (published before, so that relying parties have it in time).
    #[serde(with = "time::serde::rfc3339")]
    pub active_from: OffsetDateTime,
    /// No longer signs from this time.
    #[serde(with = "time::serde::rfc3339::option")]
    pub retired_at: Option<OffsetDateTime>,
    /// Leaves the JWKS at this time.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

impl From<&StoredKey> for KeyView {
    fn from(k: &StoredKey) -> Self {
        Self {
            kid: k.kid.clone(),
            alg: k.alg.as_str().to_string(),
            created_at: k.created_at,
            active_from: k.active_from,
            retired_at: k.retired_at,
            expires_at: k.expires_at,
        }
    }
}

impl Admin {
    /// The signing keys in JWKS (pending, signing and retired), latest activation first,
    /// reloaded from storage so that keys rotated by another process show up.
    pub async fn keys(&self) -> AdminResult<Vec<KeyView>> {
        let ring = self.provider.reload_keys().await?;
        Ok(ring.stored().map(KeyView::from).collect())
    }

    /// A new key per algorithm (see `Provider::rotate_keys`); returns every key.
    pub async fn rotate_keys(&self) -> AdminResult<Vec<KeyView>> {
        let added = self.provider.rotate_keys().await?;
        let kids: Vec<String> = added.iter().map(|k| k.kid.clone()).collect();
        self.record(self.event(EventType::KeysRotated).with("added", kids))
            .await;
        self.keys().await
    }
}
