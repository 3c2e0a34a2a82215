//! What the accounts domain needs from storage and from mail.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::customer::CustomerAccount;
use crate::links::{LinkPurpose, LinkRecord};
use crate::Identity;

#[derive(Debug, thiserror::Error)]
pub enum AccountsStoreError {
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("the login email is already used")]
    EmailTaken,
    #[error("the link was already used")]
    LinkUsed,
    #[error("the customer account is already attached")]
    AccountTaken,
}

#[async_trait]
pub trait IdentityStore: Send + Sync {
    async fn find_identity(&self, id: &str) -> Result<Option<Identity>, AccountsStoreError>;
    async fn find_identity_by_email(
        &self,
        normalized_email: &str,
    ) -> Result<Option<Identity>, AccountsStoreError>;
    /// Fails with `EmailTaken` when the login email exists (enforced by a unique index).
    async fn insert_identity(&self, identity: &Identity) -> Result<(), AccountsStoreError>;
    async fn set_password_hash(&self, id: &str, hash: &str) -> Result<(), AccountsStoreError>;
}

/// Counts of an import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpsertCounts {
    pub created: u64,
    pub updated: u64,
}

#[async_trait]
pub trait CustomerStore: Send + Sync {
    async fn find_customer(
        &self,
        client_number: &str,
    ) -> Result<Option<CustomerAccount>, AccountsStoreError>;
    async fn customers_by_contact_email(
        &self,
        normalized_email: &str,
    ) -> Result<Vec<CustomerAccount>, AccountsStoreError>;
    /// The identity an account is attached to.
    async fn owner_of(&self, client_number: &str) -> Result<Option<Identity>, AccountsStoreError>;
    /// The accounts attached to an identity.
    async fn accounts_of(
        &self,
        identity_id: &str,
    ) -> Result<Vec<CustomerAccount>, AccountsStoreError>;
    /// Inserts or updates a batch in one transaction (an upgraded account keeps its status and
    /// gets no legacy hash back).
    async fn upsert_customers(
        &self,
        batch: &[CustomerAccount],
        now: OffsetDateTime,
    ) -> Result<UpsertCounts, AccountsStoreError>;
    /// In one transaction: uses the link, creates the identity, attaches the account, removes
    /// its legacy hash. `LinkUsed`, `EmailTaken` or `AccountTaken` when another request won.
    /// In one transaction: attaches a legacy account to an identity and retires its legacy
    /// password. `AccountTaken` when it is (or just became) someone's.
    async fn attach(
        &self,
        identity_id: &str,
        client_number: &str,
        now: OffsetDateTime,
    ) -> Result<(), AccountsStoreError>;
    /// In one transaction: uses the link and changes the login email (unique).
    async fn change_login_email(
        &self,
        link_hash: &str,
        identity_id: &str,
        new_email: &str,
        now: OffsetDateTime,
    ) -> Result<(), AccountsStoreError>;
    async fn complete_upgrade(
        &self,
        link_hash: &str,
        identity: &Identity,
        client_number: &str,
        now: OffsetDateTime,
    ) -> Result<(), AccountsStoreError>;
}

#[async_trait]
pub trait LinkStore: Send + Sync {
    async fn insert_link(&self, link: &LinkRecord) -> Result<(), AccountsStoreError>;
    async fn find_link(
        &self,
        token_hash: &str,
        purpose: LinkPurpose,
    ) -> Result<Option<LinkRecord>, AccountsStoreError>;
    /// Marks a link used; `false` when it already was (of concurrent callers, one gets `true`).
    async fn use_link(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<bool, AccountsStoreError>;
}

/// Counters for throttling and rate limits, shared by every process through the database.
#[async_trait]
pub trait CounterStore: Send + Sync {
    /// (failures, blocked_until) for a key.
    async fn counter(&self, key: &str)
        -> Result<Option<(u32, OffsetDateTime)>, AccountsStoreError>;
    async fn set_counter(
        &self,
        key: &str,
        count: u32,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<(), AccountsStoreError>;
    async fn clear_counter(&self, key: &str) -> Result<(), AccountsStoreError>;
}

/// A message to send, before rendering.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingMail {
    pub to: String,
    /// Template name under the theme's `email/` folder (without extension).
    pub template: &'static str,
    pub lang: String,
    pub vars: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the message could not be queued: {0}")]
    Unavailable(String),
}

/// Renders and queues messages; delivery is retried until it succeeds.
#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, mail: OutgoingMail) -> Result<(), MailError>;
}
