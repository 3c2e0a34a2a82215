//! The postman: queues sealed messages, delivers what is due, one claimed message at a time.
//!
//! Exactly once, as far as SMTP allows. Each message is claimed in one atomic statement with a
//! lease computed at the moment it is claimed (not at the start of a batch: a batch behind a slow
//! relay used to outlive the leases of its last messages, which another process then sent
//! again), and the send is cut off at half the lease, so a process never still sends a message
//! whose lease another process could take. What remains is SMTP's own limit: when the
//! connection drops after the relay received the message but before its answer (or the process
//! dies then), the message counts as not sent and is sent again — at least once, not exactly
//! once. The hosts' clocks must agree to well within half a lease (NTP).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use time::{Duration, OffsetDateTime};
use tokio::sync::Notify;

use crate::{
    backoff, mask_address, ClearMail, MailQueue, MailSealer, MailStatus, Message, QueueError,
    QueuedMail, SendError, Transport,
};

/// Messages claimed per call of [`Postman::deliver_due`].
const BATCH: usize = 50;

/// What one round of delivery did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// Delivered.
    pub sent: usize,
    /// Failed, to be retried later.
    pub failed: usize,
    /// Given up.
    pub dead: usize,
}

/// A message this process delivered, kept in memory for the demo mailbox only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The queue id.
    pub id: String,
    /// The message.
    pub message: Message,
    /// When it was delivered.
    pub at: OffsetDateTime,
}

/// Queues and delivers messages.
pub struct Postman {
    queue: Arc<dyn MailQueue>,
    transport: Transport,
    sealer: MailSealer,
    lease: std::time::Duration,
    give_up_after: Duration,
    kick: Notify,
    /// Demo mode: how many delivered messages to keep in this process's memory, and those
    /// messages, newest first.
    delivered: Mutex<(usize, VecDeque<Delivered>)>,
}

impl std::fmt::Debug for Postman {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postman")
            .field("transport", &self.transport)
            .field("lease", &self.lease)
            .finish()
    }
}

impl Postman {
    /// A postman over `queue`, delivering through `transport`, sealing with `sealer`; a lease
    /// of two minutes per claimed message, messages given up after a day.
    pub fn new(queue: Arc<dyn MailQueue>, transport: Transport, sealer: MailSealer) -> Self {
        Self {
            queue,
            transport,
            sealer,
            lease: std::time::Duration::from_secs(120),
            give_up_after: Duration::hours(24),
            kick: Notify::new(),
            delivered: Mutex::new((0, VecDeque::new())),
        }
    }

    /// How long a claimed message is this process's; a send is cut off at half of it.
    pub fn with_lease(mut self, lease: std::time::Duration) -> Self {
        self.lease = lease;
        self
    }

    /// A message not delivered this long after it was queued is given up (its links have
    /// expired by then).
    pub fn give_up_after(mut self, age: Duration) -> Self {
        self.give_up_after = age;
        self
    }

    /// From now on, keeps the last `n` messages this process delivers in its memory, for
    /// [`delivered`] (demo mode: nothing of them stays in the database).
    ///
    /// [`delivered`]: Self::delivered
    pub fn keep_delivered(&self, n: usize) {
        if let Ok(mut kept) = self.delivered.lock() {
            kept.0 = n;
            kept.1.truncate(n);
        }
    }

    /// Seals and stores a message; delivery happens in the background, soon.
    pub async fn post(&self, message: Message, now: OffsetDateTime) -> Result<(), QueueError> {
        let id = gan_secret::random_hex(12);
        let mail = QueuedMail {
            recipient: mask_address(&message.to),
            envelope: Some(self.sealer.seal(&id, &message)?),
            id,
            status: MailStatus::Queued,
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
            last_error: None,
        };
        self.queue.enqueue(&mail).await?;
        self.kick.notify_one();
        Ok(())
    }

    /// The newest rows of the queue, whatever their status (bodies sealed or dropped).
    pub async fn recent(&self, limit: u64) -> Result<Vec<QueuedMail>, QueueError> {
        self.queue.recent(limit).await
    }

    /// Opens the sealed body of a row still queued.
    pub fn open(&self, mail: &QueuedMail) -> Result<Message, crate::SealError> {
        let envelope = mail.envelope.as_deref().ok_or(crate::SealError::Open)?;
        self.sealer.open(&mail.id, envelope)
    }

    /// The messages this process delivered, newest first, when [`keep_delivered`] was set
    /// (empty otherwise).
    ///
    /// [`keep_delivered`]: Self::keep_delivered
    pub fn delivered(&self) -> Vec<Delivered> {
        self.delivered
            .lock()
            .map(|kept| kept.1.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Deletes sent and dead rows queued before `before` (see [`MailQueue::purge`]).
    pub async fn purge(&self, before: OffsetDateTime) -> Result<u64, QueueError> {
        self.queue.purge(before).await
    }

    /// Delivers what is due at `now`: up to 50 messages, each claimed when its turn comes,
    /// with its lease counted from then (`now` plus the time this round has taken so far).
    pub async fn deliver_due(&self, now: OffsetDateTime) -> Result<Round, QueueError> {
        self.seal_clear_rows(now).await?;
        let started = Instant::now();
        let clock = || now + started.elapsed();
        let mut round = Round::default();
        for _ in 0..BATCH {
            let at = clock();
            let claim = gan_secret::random_hex(12);
            let Some(mail) = self.queue.claim_next(at, at + self.lease, &claim).await? else {
                break;
            };
            let result = self.send(&mail).await;
            let done = clock();
            match result {
                Ok(message) => {
                    if !self.queue.sent(&mail.id, &claim, done).await? {
                        tracing::warn!(id = %mail.id, "mail sent after its lease ran out: another process may send it too");
                    }
                    self.remember(mail.id.clone(), message, done);
                    round.sent += 1;
                }
                Err(e) => {
                    let attempts = mail.attempts + 1;
                    let age = done - mail.created_at;
                    let held = if e.permanent || age >= self.give_up_after {
                        tracing::error!(id = %mail.id, to = %mail.recipient, attempts, permanent = e.permanent, error = %e.cause, "mail given up; its body is dropped");
                        round.dead += 1;
                        self.queue
                            .dead(&mail.id, &claim, attempts, &e.cause)
                            .await?
                    } else {
                        tracing::warn!(id = %mail.id, to = %mail.recipient, attempts, error = %e.cause, "mail delivery failed; will retry");
                        round.failed += 1;
                        self.queue
                            .failed(
                                &mail.id,
                                &claim,
                                attempts,
                                done + backoff(attempts),
                                &e.cause,
                            )
                            .await?
                    };
                    if !held {
                        tracing::warn!(id = %mail.id, "mail attempt outlived its lease; another process has it now");
                    }
                }
            }
        }
        Ok(round)
    }

    /// Opens a claimed message and sends it, within half its lease.
    async fn send(&self, mail: &QueuedMail) -> Result<Message, SendError> {
        let Some(envelope) = mail.envelope.as_deref() else {
            return Err(SendError::permanent("nothing to send: the body is gone"));
        };
        // Transient: another process, with the right keys.encryption_key, may open it.
        let message = self
            .sealer
            .open(&mail.id, envelope)
            .map_err(|e| SendError::transient(e.to_string()))?;
        let limit = self.lease / 2;
        match tokio::time::timeout(limit, self.transport.send(&mail.id, &message)).await {
            Ok(Ok(())) => Ok(message),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(SendError::transient(format!(
                "no answer from the mail server within {} ms (it may have received the message: it will be sent again)",
                limit.as_millis()
            ))),
        }
    }

    /// Seals the messages an older version queued in clear (one running beside this one, or
    /// before the upgrade), so none stays readable in the database.
    async fn seal_clear_rows(&self, now: OffsetDateTime) -> Result<(), QueueError> {
        let rows: Vec<ClearMail> = self.queue.clear_rows(now, BATCH as u64).await?;
        let mut sealed = 0;
        for row in rows {
            let envelope = self.sealer.seal(&row.id, &row.message)?;
            if self
                .queue
                .seal_clear(&row, &mask_address(&row.message.to), &envelope)
                .await?
            {
                sealed += 1;
            }
        }
        if sealed > 0 {
            tracing::info!(
                sealed,
                "sealed messages that an older version queued in clear"
            );
        }
        Ok(())
    }

    fn remember(&self, id: String, message: Message, at: OffsetDateTime) {
        if let Ok(mut kept) = self.delivered.lock() {
            if kept.0 > 0 {
                kept.1.push_front(Delivered { id, message, at });
                let n = kept.0;
                kept.1.truncate(n);
            }
        }
    }

    /// Delivers forever: when kicked, and every `every` in any case (retries, other processes'
    /// messages). Says first, loudly, when the relay gets credentials or messages in clear.
    pub async fn run(self: Arc<Self>, every: std::time::Duration) {
        if let Some(risk) = self.transport.in_clear() {
            tracing::warn!("INSECURE MAIL RELAY: {risk}");
        }
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
