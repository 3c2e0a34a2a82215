//! What the accounts domain needs from storage and from mail. Only the engine ([`crate::Accounts`])
//! calls these; the store crate implements them over the database, `crate::memory` in memory
//! (with the `memory` feature).

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};

use crate::customer::{AccountKind, CustomerAccount};
use crate::links::{LinkPurpose, LinkRecord};
use crate::Identity;

/// What a store port reports; conflicts are the ones the engine handles.
#[derive(Debug, thiserror::Error)]
pub enum AccountsStoreError {
    /// The database did not answer (logged by the store).
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The login email belongs to another identity (unique index).
    #[error("the login email is already used")]
    EmailTaken,
    /// A one-time link was used by another request meanwhile.
    #[error("the link was already used")]
    LinkUsed,
    /// The customer account is attached to an identity already.
    #[error("the customer account is already attached")]
    AccountTaken,
    /// The identity holds as many accounts of the kind as it may.
    #[error("the identity holds as many accounts of this kind as it may")]
    LimitReached,
}

/// Identities: one login email each, normalised, unique.
#[async_trait]
pub trait IdentityStore: Send + Sync {
    /// The identity with this id.
    async fn find_identity(&self, id: &str) -> Result<Option<Identity>, AccountsStoreError>;
    /// The identity with this normalised login email.
    async fn find_identity_by_email(
        &self,
        normalized_email: &str,
    ) -> Result<Option<Identity>, AccountsStoreError>;
    /// Fails with `EmailTaken` when the login email exists (enforced by a unique index).
    async fn insert_identity(&self, identity: &Identity) -> Result<(), AccountsStoreError>;
    /// Replaces the identity's password hash (a PHC string).
    async fn set_password_hash(&self, id: &str, hash: &str) -> Result<(), AccountsStoreError>;
}

/// Counts of an import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpsertCounts {
    /// Accounts that were not on record.
    pub created: u64,
    /// Accounts already on record, updated.
    pub updated: u64,
}

/// Customer accounts and their attachment to identities.
#[async_trait]
pub trait CustomerStore: Send + Sync {
    /// The account with this normalised client number.
    async fn find_customer(
        &self,
        client_number: &str,
    ) -> Result<Option<CustomerAccount>, AccountsStoreError>;
    /// The accounts with this normalised contact email (not unique: families share one), by client number.
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
    /// In one transaction: attaches a legacy account to an identity and retires its legacy
    /// password. `AccountTaken` when it is (or just became) someone's; `LimitReached` when the
    /// identity already holds `limit` accounts of `kind` — counted under a lock of the identity,
    /// so concurrent attaches cannot pass the limit together.
    async fn attach(
        &self,
        identity_id: &str,
        client_number: &str,
        kind: AccountKind,
        limit: usize,
        now: OffsetDateTime,
    ) -> Result<(), AccountsStoreError>;
    /// In one transaction: uses the link and changes the login email (unique). `LinkUsed` or
    /// `EmailTaken` when another request won; nothing changes then.
    async fn change_login_email(
        &self,
        link_hash: &str,
        identity_id: &str,
        new_email: &str,
        now: OffsetDateTime,
    ) -> Result<(), AccountsStoreError>;
    /// In one transaction: uses the link, creates the identity, attaches the account, removes
    /// its legacy hash. `LinkUsed`, `EmailTaken` or `AccountTaken` when another request won;
    /// nothing changes then.
    async fn complete_upgrade(
        &self,
        link_hash: &str,
        identity: &Identity,
        client_number: &str,
        now: OffsetDateTime,
    ) -> Result<(), AccountsStoreError>;
}

/// One-time links, stored by the hash of their token.
#[async_trait]
pub trait LinkStore: Send + Sync {
    /// Stores a new link.
    async fn insert_link(&self, link: &LinkRecord) -> Result<(), AccountsStoreError>;
    /// The link with this token hash, if it has this purpose.
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
    /// Marks used every pending link about an identity (reset, email change); returns how many.
    async fn cancel_links_of(
        &self,
        identity_id: &str,
        now: OffsetDateTime,
    ) -> Result<u64, AccountsStoreError>;
    /// Marks used every pending link of a customer account with one of `purposes`; returns how
    /// many.
    async fn cancel_account_links(
        &self,
        client_number: &str,
        purposes: &[LinkPurpose],
        now: OffsetDateTime,
    ) -> Result<u64, AccountsStoreError>;
    /// Deletes links that expired before `before`; returns how many.
    async fn purge_links(&self, before: OffsetDateTime) -> Result<u64, AccountsStoreError>;
}

/// A limit on attempts per key: at most `delays.len()` per window (attempts in flight and failed
/// ones), and after the n-th *failure* the next attempt waits `delays[n - 1]` (the last delay is
/// the lock).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The window starts at a key's first attempt; when it ends the key starts afresh.
    pub window: Duration,
    /// The wait after each attempt of a window, in order.
    pub delays: Vec<Duration>,
}

impl Rule {
    /// Attempts allowed per window.
    pub fn limit(&self) -> u32 {
        u32::try_from(self.delays.len()).unwrap_or(u32::MAX)
    }

    /// The wait after the `n`-th attempt of a window (`n` from 1).
    pub fn delay_after(&self, n: u32) -> Duration {
        let last = self.delays.last().copied().unwrap_or(Duration::ZERO);
        usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| self.delays.get(i).copied())
            .unwrap_or(last)
    }
}

/// What [`CounterStore::reserve`] answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// The attempt may go ahead: it is the `n`-th of the key's window.
    Granted(u32),
    /// No attempt before this instant.
    Refused {
        /// When the key may try again.
        until: OffsetDateTime,
    },
}

/// Counters for throttling and rate limits, shared by every process through the database.
#[async_trait]
pub trait CounterStore: Send + Sync {
    /// Reserves one attempt for `key` under `rule`, atomically (one statement): of any number of
    /// concurrent callers, at most the rule's limit per window are granted, and none while the
    /// key waits out a delay. A refused attempt changes nothing.
    ///
    /// `Refused { until }`: the end of the wait, or — the window's attempts all in flight — a
    /// second from now.
    async fn reserve(
        &self,
        key: &str,
        rule: &Rule,
        now: OffsetDateTime,
    ) -> Result<Reservation, AccountsStoreError>;
    /// Gives back one granted attempt (it turned out right, or was not made).
    async fn release(&self, key: &str) -> Result<(), AccountsStoreError>;
    /// A granted attempt failed: the key waits the rule's delay for its count of attempts (never
    /// shortening a wait already running); returns that count.
    async fn penalize(
        &self,
        key: &str,
        rule: &Rule,
        now: OffsetDateTime,
    ) -> Result<u32, AccountsStoreError>;
    /// Forgets a key.
    async fn clear_counter(&self, key: &str) -> Result<(), AccountsStoreError>;
    /// A key's attempts in its current window and the end of its wait, if it has a counter
    /// whose window or wait has not ended at `now`.
    async fn peek_counter(
        &self,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<Option<(u32, OffsetDateTime)>, AccountsStoreError>;
    /// Deletes keys whose window and wait both ended before `now`; returns how many.
    async fn purge_counters(&self, now: OffsetDateTime) -> Result<u64, AccountsStoreError>;
}

/// What a credential change cut off outside the accounts domain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccessCut {
    /// Browser sessions ended.
    pub sessions_ended: u64,
    /// Access and refresh tokens revoked.
    pub tokens_revoked: u64,
}

/// The access an identity's credentials granted outside this domain: its browser sessions and
/// the tokens issued under its grants (the OpenID provider's records).
#[async_trait]
pub trait AccessStore: Send + Sync {
    /// Ends every session of `identity_id` but `keep_sid` and revokes every token issued under
    /// its grants but those issued in `keep_sid` (`offline_access` ones included).
    async fn cut_off(
        &self,
        identity_id: &str,
        keep_sid: Option<&str>,
    ) -> Result<AccessCut, AccountsStoreError>;
}

/// A message to send, before rendering.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingMail {
    /// The recipient's address.
    pub to: String,
    /// Template name under the theme's `email/` folder (without extension).
    pub template: &'static str,
    /// The language of the message (`fr`, `en`).
    pub lang: String,
    /// The template's variables.
    pub vars: serde_json::Value,
}

/// Why a message could not be queued.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The queue did not answer.
    #[error("the message could not be queued: {0}")]
    Unavailable(String),
}

/// Renders and queues messages; delivery is retried until it succeeds.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Queues a message (rendered by the implementation).
    async fn send(&self, mail: OutgoingMail) -> Result<(), MailError>;
}
