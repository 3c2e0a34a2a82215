//! The persistent mail queue: sealed messages, claimed one at a time.

use async_trait::async_trait;
use gan_mail::{ClearMail, MailQueue, MailStatus, Message, QueueError, QueuedMail};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, Set, Statement, Value,
};
use time::OffsetDateTime;

use crate::convert::{from_ts, ts};
use crate::entity::mail_queue;
use crate::Store;

/// How an older version marked a message still to send (in clear: see migration m0005).
const CLEAR_PENDING: &str = "pending";

fn to_mail(m: mail_queue::Model) -> QueuedMail {
    QueuedMail {
        id: m.id,
        recipient: m.recipient,
        envelope: m.envelope,
        // An older version's `pending` row is sealed at the next round.
        status: MailStatus::parse(&m.status).unwrap_or(MailStatus::Queued),
        attempts: u32::try_from(m.attempts).unwrap_or(0),
        next_attempt_at: from_ts(m.next_attempt_at),
        created_at: from_ts(m.created_at),
        last_error: m.last_error,
    }
}

fn err(e: sea_orm::DbErr) -> QueueError {
    QueueError::Unavailable(e.to_string())
}

fn null() -> SimpleExpr {
    Expr::value(Value::String(None))
}

fn attempts(n: u32) -> SimpleExpr {
    Expr::value(i32::try_from(n).unwrap_or(i32::MAX))
}

fn error_text(error: &str) -> SimpleExpr {
    Expr::value(error.chars().take(500).collect::<String>())
}

/// Claims the oldest due message in one statement. The times are ours (the clock), only the
/// claim token is bound. On PostgreSQL, `FOR UPDATE SKIP LOCKED` lets concurrent claimers take
/// different messages instead of queueing on one row; the outer `WHERE` checks again that the
/// message is still due, so a row claimed meanwhile is never taken twice. SQLite runs one writer
/// at a time, so the statement is atomic there as it is.
fn claim_sql(backend: DbBackend, now: i64, lease_until: i64) -> String {
    let (claim, lock) = match backend {
        DbBackend::Postgres => ("$1", " FOR UPDATE SKIP LOCKED"),
        _ => ("?", ""),
    };
    let queued = MailStatus::Queued.as_str();
    format!(
        "UPDATE mail_queue SET next_attempt_at = {lease_until}, claim = {claim} \
         WHERE id = (SELECT id FROM mail_queue \
                     WHERE status = '{queued}' AND next_attempt_at <= {now} \
                     ORDER BY created_at, id LIMIT 1{lock}) \
         AND status = '{queued}' AND next_attempt_at <= {now} \
         RETURNING *"
    )
}

#[async_trait]
impl MailQueue for Store {
    async fn enqueue(&self, m: &QueuedMail) -> Result<(), QueueError> {
        let row = mail_queue::ActiveModel {
            id: Set(m.id.clone()),
            recipient: Set(m.recipient.clone()),
            subject: Set(String::new()),
            body_text: Set(String::new()),
            body_html: Set(String::new()),
            status: Set(m.status.as_str().into()),
            attempts: Set(i32::try_from(m.attempts).unwrap_or(i32::MAX)),
            next_attempt_at: Set(ts(m.next_attempt_at)),
            last_error: Set(m.last_error.clone()),
            created_at: Set(ts(m.created_at)),
            sent_at: Set(None),
            envelope: Set(m.envelope.clone()),
            claim: Set(None),
        };
        mail_queue::Entity::insert(row)
            .exec(&self.db)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn claim_next(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        claim: &str,
    ) -> Result<Option<QueuedMail>, QueueError> {
        let backend = self.db.get_database_backend();
        let stmt = Statement::from_sql_and_values(
            backend,
            claim_sql(backend, ts(now), ts(lease_until)),
            [claim.into()],
        );
        let Some(row) = self.db.query_one(stmt).await.map_err(err)? else {
            return Ok(None);
        };
        let model = mail_queue::Model::from_query_result(&row, "").map_err(err)?;
        Ok(Some(to_mail(model)))
    }

    async fn sent(&self, id: &str, claim: &str, now: OffsetDateTime) -> Result<bool, QueueError> {
        let r = mail_queue::Entity::update_many()
            .col_expr(
                mail_queue::Column::Status,
                Expr::value(MailStatus::Sent.as_str()),
            )
            .col_expr(mail_queue::Column::SentAt, Expr::value(ts(now)))
            .col_expr(mail_queue::Column::Envelope, null())
            .col_expr(mail_queue::Column::Claim, null())
            .filter(mail_queue::Column::Id.eq(id))
            .filter(mail_queue::Column::Claim.eq(claim))
            .exec(&self.db)
            .await
            .map_err(err)?;
        Ok(r.rows_affected == 1)
    }

    async fn failed(
        &self,
        id: &str,
        claim: &str,
        n: u32,
        next: OffsetDateTime,
        error: &str,
    ) -> Result<bool, QueueError> {
        let r = mail_queue::Entity::update_many()
            .col_expr(mail_queue::Column::Attempts, attempts(n))
            .col_expr(mail_queue::Column::NextAttemptAt, Expr::value(ts(next)))
            .col_expr(mail_queue::Column::LastError, error_text(error))
            .col_expr(mail_queue::Column::Claim, null())
            .filter(mail_queue::Column::Id.eq(id))
            .filter(mail_queue::Column::Claim.eq(claim))
            .exec(&self.db)
            .await
            .map_err(err)?;
        Ok(r.rows_affected == 1)
    }

    async fn dead(&self, id: &str, claim: &str, n: u32, error: &str) -> Result<bool, QueueError> {
        let r = mail_queue::Entity::update_many()
            .col_expr(
                mail_queue::Column::Status,
                Expr::value(MailStatus::Dead.as_str()),
            )
            .col_expr(mail_queue::Column::Attempts, attempts(n))
            .col_expr(mail_queue::Column::LastError, error_text(error))
            .col_expr(mail_queue::Column::Envelope, null())
            .col_expr(mail_queue::Column::Claim, null())
            .filter(mail_queue::Column::Id.eq(id))
            .filter(mail_queue::Column::Claim.eq(claim))
            .exec(&self.db)
            .await
            .map_err(err)?;
        Ok(r.rows_affected == 1)
    }

    async fn recent(&self, limit: u64) -> Result<Vec<QueuedMail>, QueueError> {
        Ok(mail_queue::Entity::find()
            .order_by_desc(mail_queue::Column::CreatedAt)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(err)?
            .into_iter()
            .map(to_mail)
            .collect())
    }

    async fn purge(&self, before: OffsetDateTime) -> Result<u64, QueueError> {
        // An older version running beside this one marks what it sends `sent`, body in clear.
        mail_queue::Entity::update_many()
            .col_expr(mail_queue::Column::Subject, Expr::value(""))
            .col_expr(mail_queue::Column::BodyText, Expr::value(""))
            .col_expr(mail_queue::Column::BodyHtml, Expr::value(""))
            .filter(mail_queue::Column::Status.eq(MailStatus::Sent.as_str()))
            .filter(mail_queue::Column::BodyText.ne(""))
            .exec(&self.db)
            .await
            .map_err(err)?;
        Ok(mail_queue::Entity::delete_many()
            .filter(
                mail_queue::Column::Status
                    .is_in([MailStatus::Sent.as_str(), MailStatus::Dead.as_str()]),
            )
            .filter(mail_queue::Column::CreatedAt.lt(ts(before)))
            .exec(&self.db)
            .await
            .map_err(err)?
            .rows_affected)
    }

    async fn clear_rows(
        &self,
        now: OffsetDateTime,
        limit: u64,
    ) -> Result<Vec<ClearMail>, QueueError> {
        Ok(mail_queue::Entity::find()
            .filter(mail_queue::Column::Status.eq(CLEAR_PENDING))
            .filter(mail_queue::Column::NextAttemptAt.lte(ts(now)))
            .order_by_asc(mail_queue::Column::CreatedAt)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(err)?
            .into_iter()
            .map(|m| ClearMail {
                id: m.id,
                message: Message {
                    to: m.recipient,
                    subject: m.subject,
                    text: m.body_text,
                    html: m.body_html,
                },
                next_attempt_at: from_ts(m.next_attempt_at),
            })
            .collect())
    }

    async fn seal_clear(
        &self,
        mail: &ClearMail,
        recipient: &str,
        envelope: &str,
    ) -> Result<bool, QueueError> {
        let r = mail_queue::Entity::update_many()
            .col_expr(
                mail_queue::Column::Status,
                Expr::value(MailStatus::Queued.as_str()),
            )
            .col_expr(mail_queue::Column::Recipient, Expr::value(recipient))
            .col_expr(mail_queue::Column::Envelope, Expr::value(envelope))
            .col_expr(mail_queue::Column::Subject, Expr::value(""))
            .col_expr(mail_queue::Column::BodyText, Expr::value(""))
            .col_expr(mail_queue::Column::BodyHtml, Expr::value(""))
            .filter(mail_queue::Column::Id.eq(mail.id.clone()))
            .filter(mail_queue::Column::Status.eq(CLEAR_PENDING))
            .filter(mail_queue::Column::NextAttemptAt.eq(ts(mail.next_attempt_at)))
            .exec(&self.db)
            .await
            .map_err(err)?;
        Ok(r.rows_affected == 1)
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::DbBackend;

    #[test]
    fn one_statement_claims_one_due_message() {
        let pg = super::claim_sql(DbBackend::Postgres, 100, 220);
        assert!(pg.contains("FOR UPDATE SKIP LOCKED") && pg.contains("claim = $1"));
        let sqlite = super::claim_sql(DbBackend::Sqlite, 100, 220);
        assert!(!sqlite.contains("FOR UPDATE") && sqlite.contains("claim = ?"));
        for sql in [pg, sqlite] {
            assert!(sql.contains("next_attempt_at = 220"));
            assert_eq!(sql.matches("next_attempt_at <= 100").count(), 2, "{sql}");
            assert!(sql.ends_with("RETURNING *"));
        }
    }
}
