//! Back-channel logout notices: queued, claimed one at a time with a lease, finished.

use async_trait::async_trait;
use gan_oidc::ports::{LogoutNotice, LogoutOutcome, LogoutQueue, StoreResult};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter, Set,
    Statement, Value,
};
use time::OffsetDateTime;

use crate::convert::{db_err, from_ts, ts};
use crate::entity::logout_notice;
use crate::Store;

const QUEUED: &str = "queued";
const DELIVERED: &str = "delivered";
const ABANDONED: &str = "abandoned";

fn to_notice(m: logout_notice::Model) -> LogoutNotice {
    LogoutNotice {
        id: m.id,
        client_id: m.client_id,
        identity_id: m.identity_id,
        sid: m.sid,
        attempts: u32::try_from(m.attempts).unwrap_or(0),
        created_at: from_ts(m.created_at),
    }
}

/// Claims the oldest due notice in one statement (as the mail queue does: `FOR UPDATE SKIP
/// LOCKED` on PostgreSQL, and the outer `WHERE` checks again that it is still due; SQLite runs
/// one writer at a time). Only the claim is bound; the times are ours.
fn claim_sql(backend: DbBackend, now: i64, lease_until: i64) -> String {
    let (claim, lock) = match backend {
        DbBackend::Postgres => ("$1", " FOR UPDATE SKIP LOCKED"),
        _ => ("?", ""),
    };
    format!(
        "UPDATE logout_notice SET next_attempt_at = {lease_until}, claim = {claim} \
         WHERE id = (SELECT id FROM logout_notice \
                     WHERE status = '{QUEUED}' AND next_attempt_at <= {now} \
                     ORDER BY created_at, id LIMIT 1{lock}) \
         AND status = '{QUEUED}' AND next_attempt_at <= {now} \
         RETURNING *"
    )
}

fn null() -> SimpleExpr {
    Expr::value(Value::String(None))
}

#[async_trait]
impl LogoutQueue for Store {
    async fn enqueue_logouts(&self, notices: &[LogoutNotice]) -> StoreResult<()> {
        let rows = notices.iter().map(|n| logout_notice::ActiveModel {
            id: Set(n.id.clone()),
            client_id: Set(n.client_id.clone()),
            identity_id: Set(n.identity_id.clone()),
            sid: Set(n.sid.clone()),
            status: Set(QUEUED.into()),
            attempts: Set(i32::try_from(n.attempts).unwrap_or(i32::MAX)),
            next_attempt_at: Set(ts(n.created_at)),
            claim: Set(None),
            last_error: Set(None),
            created_at: Set(ts(n.created_at)),
        });
        logout_notice::Entity::insert_many(rows)
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn claim_logout(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        claim: &str,
    ) -> StoreResult<Option<LogoutNotice>> {
        let backend = self.db.get_database_backend();
        let stmt = Statement::from_sql_and_values(
            backend,
            claim_sql(backend, ts(now), ts(lease_until)),
            [claim.into()],
        );
        let Some(row) = self.db.query_one(stmt).await.map_err(db_err)? else {
            return Ok(None);
        };
        let model = logout_notice::Model::from_query_result(&row, "").map_err(db_err)?;
        Ok(Some(to_notice(model)))
    }

    async fn finish_logout(
        &self,
        id: &str,
        claim: &str,
        outcome: &LogoutOutcome,
        _now: OffsetDateTime,
    ) -> StoreResult<()> {
        let mut q = logout_notice::Entity::update_many()
            .col_expr(
                logout_notice::Column::Attempts,
                Expr::col(logout_notice::Column::Attempts).add(1),
            )
            .col_expr(logout_notice::Column::Claim, null())
            .filter(logout_notice::Column::Id.eq(id))
            .filter(logout_notice::Column::Claim.eq(claim));
        let error = |e: &str| Expr::value(e.chars().take(500).collect::<String>());
        q = match outcome {
            LogoutOutcome::Delivered => {
                q.col_expr(logout_notice::Column::Status, Expr::value(DELIVERED))
            }
            LogoutOutcome::Retry {
                next_attempt_at,
                error: e,
            } => q
                .col_expr(
                    logout_notice::Column::NextAttemptAt,
                    Expr::value(ts(*next_attempt_at)),
                )
                .col_expr(logout_notice::Column::LastError, error(e)),
            LogoutOutcome::Abandoned { error: e } => q
                .col_expr(logout_notice::Column::Status, Expr::value(ABANDONED))
                .col_expr(logout_notice::Column::LastError, error(e)),
        };
        q.exec(&self.db).await.map_err(db_err)?;
        Ok(())
    }

    async fn purge_logouts(&self, before: OffsetDateTime) -> StoreResult<u64> {
        Ok(logout_notice::Entity::delete_many()
            .filter(logout_notice::Column::Status.is_in([DELIVERED, ABANDONED]))
            .filter(logout_notice::Column::CreatedAt.lt(ts(before)))
            .exec(&self.db)
            .await
            .map_err(db_err)?
            .rows_affected)
    }
}
