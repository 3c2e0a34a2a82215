//! What the accounts domain needs from storage.

use async_trait::async_trait;

use crate::Identity;

#[derive(Debug, thiserror::Error)]
pub enum AccountsStoreError {
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("the login email is already used")]
    EmailTaken,
}

#[async_trait]
pub trait IdentityStore: Send + Sync {
    async fn find_identity(&self, id: &str) -> Result<Option<Identity>, AccountsStoreError>;
    async fn find_identity_by_email(&self, normalized_email: &str) -> Result<Option<Identity>, AccountsStoreError>;
    /// Fails with `EmailTaken` when the login email exists (enforced by a unique index).
    async fn insert_identity(&self, identity: &Identity) -> Result<(), AccountsStoreError>;
    async fn set_password_hash(&self, id: &str, hash: &str) -> Result<(), AccountsStoreError>;
}
