//! Storing and reading events: a port for the database and a batching writer in front of it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use crate::event::{AuditEvent, EventType};

/// Why the audit storage failed.
#[derive(Debug, thiserror::Error)]
pub enum AuditStoreError {
    /// The storage could not answer (any database error).
    #[error("audit storage unavailable: {0}")]
    Unavailable(String),
}

/// Which events to read. Without `after`, newest first (page on with `before` = the last id);
/// with `after`, oldest first from just after that id (to follow the trail).
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only events about this identity.
    pub identity_id: Option<String>,
    /// Only events about this customer account (client number, as stored).
    pub client_number: Option<String>,
    /// Only events about this relying party.
    pub client_id: Option<String>,
    /// Only events of this type.
    pub event_type: Option<EventType>,
    /// Only events at or after this time.
    pub from: Option<OffsetDateTime>,
    /// Only events before this time (exclusive).
    pub to: Option<OffsetDateTime>,
    /// Only events whose id is lower (older) than this one: the cursor of the next page.
    pub before: Option<String>,
    /// Only events whose id is greater (newer) than this one; switches to oldest first.
    pub after: Option<String>,
    /// At most this many events (0 counts as 1).
    pub limit: u64,
}

impl AuditFilter {
    /// Does `event` match, cursors aside?
    pub fn matches(&self, e: &AuditEvent) -> bool {
        let eq = |want: &Option<String>, have: &Option<String>| want.is_none() || want == have;
        eq(&self.identity_id, &e.identity_id)
            && eq(&self.client_number, &e.client_number)
            && eq(&self.client_id, &e.client_id)
            && self.event_type.is_none_or(|t| t == e.event_type)
            && self.from.is_none_or(|f| e.at >= f)
            && self.to.is_none_or(|t| e.at < t)
            && self.before.as_ref().is_none_or(|b| e.id < *b)
            && self.after.as_ref().is_none_or(|a| e.id > *a)
    }
}

/// A page of events and the cursor of the next one.
#[derive(Debug, Clone, Default)]
pub struct AuditPage {
    /// The events, in the order the filter asks for.
    pub events: Vec<AuditEvent>,
    /// Pass as `before` (or `after` when following) to get the next page.
    pub next: Option<String>,
}

/// Where audit events are stored (the database, or [`MemoryAuditStore`]).
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends events, all or none.
    async fn insert_events(&self, events: &[AuditEvent]) -> Result<(), AuditStoreError>;
    /// Events matching `filter`, at most `filter.limit`, ordered and paged as [`AuditFilter`] says.
    async fn query_events(&self, filter: &AuditFilter) -> Result<AuditPage, AuditStoreError>;
    /// Deletes events older than `before`; returns how many.
    async fn purge_events(&self, before: OffsetDateTime) -> Result<u64, AuditStoreError>;
}

enum Message {
    Event(Box<AuditEvent>),
    Flush(oneshot::Sender<()>),
}

/// Records events through a background writer that stores them in batches, so that the
/// endpoints never wait on the audit table; `flush` waits until everything recorded is stored.
pub struct Auditor {
    tx: mpsc::Sender<Message>,
    store: Arc<dyn AuditStore>,
}

const QUEUE: usize = 8192;
const BATCH: usize = 256;

impl Auditor {
    /// Starts the writer on the current tokio runtime.
    pub fn start(store: Arc<dyn AuditStore>) -> Arc<Self> {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(write_loop(store.clone(), rx));
        Arc::new(Self { tx, store })
    }

    /// Records an event, tagged with the current request's IP, correlation id and, when the
    /// caller set one, actor.
    pub async fn record(&self, mut event: AuditEvent) {
        let context = crate::context::current();
        event.ip = event.ip.or(context.ip);
        event.correlation_id = event.correlation_id.or(context.correlation_id);
        if let Some(actor) = context.actor {
            event.actor = actor;
        }
        // Counted by type and outcome at `/metrics` (the upgrade funnel, refusals, sign-ins).
        metrics::counter!(
            "audit_events_total",
            "type" => event.event_type.as_str(),
            "outcome" => event.outcome.as_str()
        )
        .increment(1);
        if self.tx.send(Message::Event(Box::new(event))).await.is_err() {
            tracing::error!("the audit writer has stopped; an event was lost");
        }
    }

    /// Waits (at most 5 s) until every event recorded before this call is stored; `false` when
    /// they were not stored in that time (the writer keeps retrying) or the writer has stopped.
    pub async fn flush(&self) -> bool {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Flush(done)).await.is_err() {
            return false;
        }
        matches!(
            tokio::time::timeout(Duration::from_secs(5), wait).await,
            Ok(Ok(()))
        )
    }

    /// Events matching `filter`, after a flush.
    pub async fn query(&self, filter: &AuditFilter) -> Result<AuditPage, AuditStoreError> {
        self.flush().await;
        self.store.query_events(filter).await
    }

    /// Deletes events older than `before` (the server passes now − `admin.audit_retention_days`);
    /// returns how many.
    pub async fn purge(&self, before: OffsetDateTime) -> Result<u64, AuditStoreError> {
        self.store.purge_events(before).await
    }
}

async fn write_loop(store: Arc<dyn AuditStore>, mut rx: mpsc::Receiver<Message>) {
    let mut batch: Vec<AuditEvent> = Vec::with_capacity(BATCH);
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Event(e) => batch.push(*e),
                Message::Flush(done) => waiting.push(done),
            }
            if batch.len() < BATCH {
                next = rx.try_recv().ok();
            }
        }
        store_batch(store.as_ref(), &batch).await;
        batch.clear();
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}

/// Stores a batch, retrying with back-off while the database is away (the queue in front of
/// the writer then fills and slows the recorders down rather than losing events).
async fn store_batch(store: &dyn AuditStore, batch: &[AuditEvent]) {
    if batch.is_empty() {
        return;
    }
    let mut delay = Duration::from_millis(100);
    loop {
        match store.insert_events(batch).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, events = batch.len(), "cannot store audit events; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Events kept in memory, for tests and tools.
#[derive(Default)]
pub struct MemoryAuditStore {
    events: Mutex<Vec<AuditEvent>>,
}

impl MemoryAuditStore {
    /// Every stored event, in insertion order.
    pub fn all(&self) -> Vec<AuditEvent> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl AuditStore for MemoryAuditStore {
    async fn insert_events(&self, events: &[AuditEvent]) -> Result<(), AuditStoreError> {
        let mut all = self
            .events
            .lock()
            .map_err(|_| AuditStoreError::Unavailable("poisoned".into()))?;
        all.extend_from_slice(events);
        Ok(())
    }

    async fn query_events(&self, filter: &AuditFilter) -> Result<AuditPage, AuditStoreError> {
        let mut events: Vec<AuditEvent> = self
            .all()
            .into_iter()
            .filter(|e| filter.matches(e))
            .collect();
        events.sort_by(|a, b| a.id.cmp(&b.id));
        if filter.after.is_none() {
            events.reverse();
        }
        let limit = filter.limit.max(1) as usize;
        let more = events.len() > limit;
        events.truncate(limit);
        let next = if more {
            events.last().map(|e| e.id.clone())
        } else {
            None
        };
        Ok(AuditPage { events, next })
    }

    async fn purge_events(&self, before: OffsetDateTime) -> Result<u64, AuditStoreError> {
        let mut all = self
            .events
            .lock()
            .map_err(|_| AuditStoreError::Unavailable("poisoned".into()))?;
        let n = all.len();
        all.retain(|e| e.at >= before);
        Ok((n - all.len()) as u64)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::event::{Actor, EventType};
    use crate::Context;

    #[tokio::test]
    async fn events_carry_the_request_context_and_page_newest_first() {
        let store = Arc::new(MemoryAuditStore::default());
        let auditor = Auditor::start(store.clone());
        let now = OffsetDateTime::now_utc();
        let context = Context {
            ip: Some("192.0.2.7".into()),
            correlation_id: Some("req-1".into()),
            actor: None,
            reason: None,
        };
        crate::scope(context, async {
            for i in 0..5 {
                auditor
                    .record(
                        crate::AuditEvent::success(
                            EventType::TokenIssued,
                            Actor::client("rp"),
                            now,
                        )
                        .with("n", i),
                    )
                    .await;
            }
        })
        .await;
        let page = auditor
            .query(&AuditFilter {
                limit: 3,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(page.events.len(), 3);
        assert_eq!(page.events[0].detail["n"], 4);
        assert_eq!(page.events[0].ip.as_deref(), Some("192.0.2.7"));
        assert_eq!(page.events[0].correlation_id.as_deref(), Some("req-1"));
        let rest = auditor
            .query(&AuditFilter {
                limit: 3,
                before: page.next,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(rest.events.len(), 2);
        assert_eq!(rest.next, None);
        assert_eq!(rest.events[1].detail["n"], 0);
    }
}
