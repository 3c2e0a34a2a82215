//! `/audit-events`: the audit trail.

use axum::extract::State;
use axum::Json;
use gan_admin::{AuditEventPage, MAX_LIMIT};
use gan_audit::{AuditFilter, EventType};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::IntoParams;

use super::problem::{ApiQuery, Problem};
use crate::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    pub identity_id: Option<String>,
    pub client_number: Option<String>,
    pub client_id: Option<String>,
    pub event_type: Option<EventType>,
    /// Events at or after this time (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<OffsetDateTime>,
    /// Events before this time (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<OffsetDateTime>,
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

/// Audit events, newest first.
#[utoipa::path(get, path = "/admin/api/v1/audit-events", tag = "audit", params(AuditParams), responses((status = 200, body = AuditEventPage)))]
pub async fn query(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> Result<Json<AuditEventPage>, Problem> {
    let limit = p.limit.unwrap_or(50);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Problem::invalid("limit", format!("1 to {MAX_LIMIT}")));
    }
    for (field, value) in [
        ("identity_id", &p.identity_id),
        ("client_number", &p.client_number),
        ("client_id", &p.client_id),
        ("cursor", &p.cursor),
    ] {
        if let Some(v) = value {
            gan_admin::text_param(v, field)?;
        }
    }
    let filter = AuditFilter {
        identity_id: p.identity_id,
        client_number: p.client_number,
        client_id: p.client_id,
        event_type: p.event_type,
        from: p.from,
        to: p.to,
        before: p.cursor,
        after: None,
        limit,
    };
    Ok(Json(state.admin.audit_events(&filter).await?))
}
