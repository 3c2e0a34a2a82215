//! The audit trail table: append-only inserts, filtered pages, purge by age.

use async_trait::async_trait;
use gan_audit::{
    Actor, ActorKind, AuditEvent, AuditFilter, AuditPage, AuditStore, AuditStoreError, EventType,
    Outcome,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use time::OffsetDateTime;

use crate::convert::{from_ts, ts};
use crate::entity::audit_event;
use crate::Store;

fn unavailable(e: sea_orm::DbErr) -> AuditStoreError {
    tracing::error!(error = %e, "database error");
    AuditStoreError::Unavailable(e.to_string())
}

fn to_row(e: &AuditEvent) -> audit_event::ActiveModel {
    audit_event::ActiveModel {
        id: Set(e.id.clone()),
        at: Set(ts(e.at)),
        event_type: Set(e.event_type.as_str().to_string()),
        outcome: Set(e.outcome.as_str().to_string()),
        actor_kind: Set(e.actor.kind.as_str().to_string()),
        actor_id: Set(e.actor.id.clone()),
        identity_id: Set(e.identity_id.clone()),
        client_number: Set(e.client_number.clone()),
        client_id: Set(e.client_id.clone()),
        ip: Set(e.ip.clone()),
        correlation_id: Set(e.correlation_id.clone()),
        detail: Set(e.detail.to_string()),
    }
}

fn to_event(m: audit_event::Model) -> Option<AuditEvent> {
    Some(AuditEvent {
        id: m.id,
        at: from_ts(m.at),
        event_type: EventType::parse(&m.event_type)?,
        outcome: Outcome::parse(&m.outcome)?,
        actor: Actor {
            kind: ActorKind::parse(&m.actor_kind)?,
            id: m.actor_id,
        },
        identity_id: m.identity_id,
        client_number: m.client_number,
        client_id: m.client_id,
        ip: m.ip,
        correlation_id: m.correlation_id,
        detail: serde_json::from_str(&m.detail).unwrap_or(serde_json::Value::Null),
    })
}

#[async_trait]
impl AuditStore for Store {
    async fn insert_events(&self, events: &[AuditEvent]) -> Result<(), AuditStoreError> {
        if events.is_empty() {
            return Ok(());
        }
        audit_event::Entity::insert_many(events.iter().map(to_row))
            .exec(&self.db)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn query_events(&self, f: &AuditFilter) -> Result<AuditPage, AuditStoreError> {
        use audit_event::Column as C;
        let mut q = audit_event::Entity::find();
        if let Some(v) = &f.identity_id {
            q = q.filter(C::IdentityId.eq(v.as_str()));
        }
        if let Some(v) = &f.client_number {
            q = q.filter(C::ClientNumber.eq(v.as_str()));
        }
        if let Some(v) = &f.client_id {
            q = q.filter(C::ClientId.eq(v.as_str()));
        }
        if let Some(v) = f.event_type {
            q = q.filter(C::EventType.eq(v.as_str()));
        }
        if let Some(v) = f.from {
            q = q.filter(C::At.gte(ts(v)));
        }
        if let Some(v) = f.to {
            q = q.filter(C::At.lt(ts(v)));
        }
        if let Some(v) = &f.before {
            q = q.filter(C::Id.lt(v.as_str()));
        }
        q = match &f.after {
            Some(v) => q.filter(C::Id.gt(v.as_str())).order_by_asc(C::Id),
            None => q.order_by_desc(C::Id),
        };
        let limit = f.limit.max(1);
        let rows = q
            .limit(limit + 1)
            .all(&self.db)
            .await
            .map_err(unavailable)?;
        let more = rows.len() as u64 > limit;
        let events: Vec<AuditEvent> = rows
            .into_iter()
            .take(limit as usize)
            .filter_map(to_event)
            .collect();
        let next = if more {
            events.last().map(|e| e.id.clone())
        } else {
            None
        };
        Ok(AuditPage { events, next })
    }

    async fn purge_events(&self, before: OffsetDateTime) -> Result<u64, AuditStoreError> {
        let done = audit_event::Entity::delete_many()
            .filter(audit_event::Column::At.lt(ts(before)))
            .exec(&self.db)
            .await
            .map_err(unavailable)?;
        Ok(done.rows_affected)
    }
}
