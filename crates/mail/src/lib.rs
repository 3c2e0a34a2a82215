//! Mail: messages go to a persistent queue first (so nothing is lost when the mail server is
//! down), then a postman delivers them — as `.eml` files in an outbox folder, or over SMTP — and
//! retries failures with growing delays. Several processes may share one queue: a message is
//! claimed before it is sent.

mod transport;

use std::sync::Arc;

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};
use tokio::sync::Notify;

pub use transport::{SmtpSettings, SmtpTls, Transport};

/// A message in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMail {
    pub id: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub attempts: u32,
    pub next_attempt_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("mail queue unavailable: {0}")]
    Unavailable(String),
}

/// The persistent queue (implemented by the store).
#[async_trait]
pub trait MailQueue: Send + Sync {
    async fn enqueue(&self, mail: &QueuedMail) -> Result<(), QueueError>;
    /// Pending messages due at `now`, oldest first.
    async fn due(&self, now: OffsetDateTime, limit: u64) -> Result<Vec<QueuedMail>, QueueError>;
    /// Takes a message for sending until `lease_until`; `false` if another process took it.
    async fn claim(
        &self,
        mail: &QueuedMail,
        lease_until: OffsetDateTime,
    ) -> Result<bool, QueueError>;
    async fn sent(&self, id: &str, now: OffsetDateTime) -> Result<(), QueueError>;
    async fn failed(
        &self,
        id: &str,
        attempts: u32,
        next_attempt_at: OffsetDateTime,
        error: &str,
    ) -> Result<(), QueueError>;
    /// The newest messages, sent or not (for the demo mailbox).
    async fn recent(&self, limit: u64) -> Result<Vec<QueuedMail>, QueueError>;
}

/// A message to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Delay before the next attempt after `attempts` failures: 10 s, 20 s, 40 s… up to an hour.
pub fn backoff(attempts: u32) -> Duration {
    Duration::seconds((10i64 << attempts.min(9)).min(3600))
}

/// Queues and delivers messages.
pub struct Postman {
    queue: Arc<dyn MailQueue>,
    transport: Transport,
    kick: Notify,
}

impl std::fmt::Debug for Postman {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postman")
            .field("transport", &self.transport)
            .finish()
    }
}

impl Postman {
    pub fn new(queue: Arc<dyn MailQueue>, transport: Transport) -> Self {
        Self {
            queue,
            transport,
            kick: Notify::new(),
        }
    }

    /// Stores a message; delivery happens in the background, soon.
    pub async fn post(&self, message: Message, now: OffsetDateTime) -> Result<(), QueueError> {
        let mail = QueuedMail {
            id: gan_secret::random_hex(12),
            to: message.to,
            subject: message.subject,
            text: message.text,
            html: message.html,
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
        };
        self.queue.enqueue(&mail).await?;
        self.kick.notify_one();
        Ok(())
    }

    /// The newest messages, sent or not.
    pub async fn recent(&self, limit: u64) -> Result<Vec<QueuedMail>, QueueError> {
        self.queue.recent(limit).await
    }

    /// Delivers what is due; returns (sent, failed).
    pub async fn deliver_due(&self, now: OffsetDateTime) -> Result<(usize, usize), QueueError> {
        let (mut sent, mut failed) = (0, 0);
        for mail in self.queue.due(now, 50).await? {
            if !self.queue.claim(&mail, now + Duration::minutes(2)).await? {
                continue;
            }
            match self.transport.send(&mail).await {
                Ok(()) => {
                    self.queue.sent(&mail.id, now).await?;
                    sent += 1;
                }
                Err(e) => {
                    let attempts = mail.attempts + 1;
                    tracing::warn!(id = %mail.id, attempts, error = %e, "mail delivery failed; will retry");
                    self.queue
                        .failed(&mail.id, attempts, now + backoff(attempts), &e)
                        .await?;
                    failed += 1;
                }
            }
        }
        Ok((sent, failed))
    }

    /// Delivers forever: when kicked, and every `every` in any case (retries, other processes'
    /// messages).
    pub async fn run(self: Arc<Self>, every: std::time::Duration) {
        loop {
            if let Err(e) = self.deliver_due(OffsetDateTime::now_utc()).await {
                tracing::warn!(error = %e, "mail queue unavailable");
            }
            tokio::select! {
                _ = self.kick.notified() => {}
                _ = tokio::time::sleep(every) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(super::backoff(1).whole_seconds(), 20);
        assert_eq!(super::backoff(3).whole_seconds(), 80);
        assert_eq!(super::backoff(30).whole_seconds(), 3600);
    }
}
