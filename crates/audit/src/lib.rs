//! The audit trail: every security-relevant event, with who did it, from where, and whether it
//! worked. Events are append-only and never carry passwords, tokens or links.
//!
//! Engines call [`Auditor::record`]; the IP and correlation id of the request being served come
//! from a task-local [`Context`] the web layer sets, so engine signatures stay about their
//! domain. A background task writes events in batches; [`Auditor::flush`] waits for them.

#![warn(missing_docs)]

mod context;
mod event;
mod writer;

pub use context::{current, scope, Context};
pub use event::{Actor, ActorKind, AuditEvent, EventType, Outcome};
pub use writer::{AuditFilter, AuditPage, AuditStore, AuditStoreError, Auditor, MemoryAuditStore};
