//! Mail: messages go to a persistent queue first (so nothing is lost when the mail server is
//! down), sealed with a key derived from the key-encryption key (so a copy of the database holds
//! no working link); then a postman delivers them — as `.eml` files in an outbox folder, or over
//! SMTP — retries failures with growing delays, and drops each message's body once it is
//! delivered or given up. Several processes may share one queue: each message is claimed, with a
//! lease of its own, just before it is sent.

#![warn(missing_docs)]

mod postman;
mod seal;
mod transport;

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};

pub use postman::{Delivered, Postman, Round};
pub use seal::{MailSealer, SealError};
pub use transport::{SendError, SmtpSettings, SmtpTls, Transport};

/// A message to send. Only ever stored sealed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Message {
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

/// Where a queued message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailStatus {
    /// Waiting for its first or next attempt (or being sent, under a lease).
    Queued,
    /// Accepted by the relay or written to the outbox; the body is gone.
    Sent,
    /// Given up (refused for good, or not delivered in time); the body is gone.
    Dead,
}

impl MailStatus {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Dead => "dead",
        }
    }

    /// From the stored form (`None` for anything else, such as an older version's `pending`).
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "queued" => Some(Self::Queued),
            "sent" => Some(Self::Sent),
            "dead" => Some(Self::Dead),
            _ => None,
        }
    }
}

/// A message in the queue, as stored: in clear, only the masked recipient, the status and times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMail {
    /// Random id; also the associated data of the sealed message.
    pub id: String,
    /// The recipient masked (`j***@example.fr`), for operators reading the table.
    pub recipient: String,
    /// The [`Message`] sealed by [`MailSealer`]; `None` once sent or given up.
    pub envelope: Option<String>,
    /// Where it stands.
    pub status: MailStatus,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Not to be tried before this (back-off, or the lease of the process sending it).
    pub next_attempt_at: OffsetDateTime,
    /// When it was queued.
    pub created_at: OffsetDateTime,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

/// A message an older version queued in clear and nobody is sending: to be sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClearMail {
    /// Its id.
    pub id: String,
    /// The message as it was stored.
    pub message: Message,
    /// Its due time as read (the sealing applies only if it has not changed since).
    pub next_attempt_at: OffsetDateTime,
}

/// The queue cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The database failed.
    #[error("mail queue unavailable: {0}")]
    Unavailable(String),
    /// The message could not be sealed.
    #[error(transparent)]
    Seal(#[from] SealError),
}

/// The persistent queue (implemented by the store).
#[async_trait]
pub trait MailQueue: Send + Sync {
    /// Stores a new message.
    async fn enqueue(&self, mail: &QueuedMail) -> Result<(), QueueError>;
    /// In one atomic statement, takes the oldest message due at `now` (queued, and not under
    /// another process's lease) for the claimant `claim` until `lease_until`; `None` when none is
    /// due. Two processes never get the same message while its lease runs.
    async fn claim_next(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        claim: &str,
    ) -> Result<Option<QueuedMail>, QueueError>;
    /// Delivered: status `sent`, body dropped. `false` if `claim` no longer held the message (its
    /// lease ran out and another process took it).
    async fn sent(&self, id: &str, claim: &str, now: OffsetDateTime) -> Result<bool, QueueError>;
    /// Failed, to be retried at `next_attempt_at`. `false` if `claim` no longer held it.
    async fn failed(
        &self,
        id: &str,
        claim: &str,
        attempts: u32,
        next_attempt_at: OffsetDateTime,
        error: &str,
    ) -> Result<bool, QueueError>;
    /// Given up: status `dead`, body dropped. `false` if `claim` no longer held it.
    async fn dead(
        &self,
        id: &str,
        claim: &str,
        attempts: u32,
        error: &str,
    ) -> Result<bool, QueueError>;
    /// The newest messages, whatever their status.
    async fn recent(&self, limit: u64) -> Result<Vec<QueuedMail>, QueueError>;
    /// Deletes sent and dead messages queued before `before`; returns how many. Also empties
    /// the clear bodies that an older version left on the messages it sent.
    async fn purge(&self, before: OffsetDateTime) -> Result<u64, QueueError>;
    /// Messages an older version queued in clear, due at `now` (so no older process holds
    /// them), oldest first.
    async fn clear_rows(
        &self,
        now: OffsetDateTime,
        limit: u64,
    ) -> Result<Vec<ClearMail>, QueueError>;
    /// Replaces the clear message by its sealed `envelope` and masked `recipient` (status
    /// `queued`), unless it changed since it was read; `false` then.
    async fn seal_clear(
        &self,
        mail: &ClearMail,
        recipient: &str,
        envelope: &str,
    ) -> Result<bool, QueueError>;
}

/// `j***@example.fr`: the first character, three stars and the domain (`***` without `@`).
pub fn mask_address(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_string(),
    }
}

/// Delay before the next attempt after `attempts` failures: 10 s, 20 s, 40 s… up to an hour.
pub fn backoff(attempts: u32) -> Duration {
    Duration::seconds((10i64 << attempts.min(9)).min(3600))
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(super::backoff(1).whole_seconds(), 20);
        assert_eq!(super::backoff(3).whole_seconds(), 80);
        assert_eq!(super::backoff(30).whole_seconds(), 3600);
    }

    #[test]
    fn masked_addresses() {
        assert_eq!(super::mask_address("jean@example.fr"), "j***@example.fr");
        assert_eq!(
            super::mask_address("\"a@b\"@example.fr"),
            "\"***@example.fr"
        );
        assert_eq!(super::mask_address("nobody"), "***");
    }
}
