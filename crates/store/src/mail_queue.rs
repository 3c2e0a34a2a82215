//! The persistent mail queue.

use async_trait::async_trait;
use gan_mail::{MailQueue, QueueError, QueuedMail};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use time::OffsetDateTime;

use crate::convert::{from_ts, ts};
use crate::entity::mail_queue;
use crate::Store;

fn to_mail(m: mail_queue::Model) -> QueuedMail {
    QueuedMail {
        id: m.id,
        to: m.recipient,
        subject: m.subject,
        text: m.body_text,
        html: m.body_html,
        attempts: u32::try_from(m.attempts).unwrap_or(0),
        next_attempt_at: from_ts(m.next_attempt_at),
        created_at: from_ts(m.created_at),
    }
}

fn err(e: sea_orm::DbErr) -> QueueError {
    QueueError::Unavailable(e.to_string())
}

#[async_trait]
impl MailQueue for Store {
    async fn enqueue(&self, m: &QueuedMail) -> Result<(), QueueError> {
        let row = mail_queue::ActiveModel {
            id: Set(m.id.clone()),
            recipient: Set(m.to.clone()),
            subject: Set(m.subject.clone()),
            body_text: Set(m.text.clone()),
            body_html: Set(m.html.clone()),
            status: Set("pending".into()),
            attempts: Set(0),
            next_attempt_at: Set(ts(m.next_attempt_at)),
            last_error: Set(None),
            created_at: Set(ts(m.created_at)),
            sent_at: Set(None),
        };
        mail_queue::Entity::insert(row)
            .exec(&self.db)
            .await
            .map_err(err)?;
        Ok(())
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

    async fn due(&self, now: OffsetDateTime, limit: u64) -> Result<Vec<QueuedMail>, QueueError> {
        Ok(mail_queue::Entity::find()
            .filter(mail_queue::Column::Status.eq("pending"))
            .filter(mail_queue::Column::NextAttemptAt.lte(ts(now)))
            .order_by_asc(mail_queue::Column::CreatedAt)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(err)?
            .into_iter()
            .map(to_mail)
            .collect())
    }

    async fn claim(&self, m: &QueuedMail, lease_until: OffsetDateTime) -> Result<bool, QueueError> {
        let r = mail_queue::Entity::update_many()
            .col_expr(
                mail_queue::Column::NextAttemptAt,
                Expr::value(ts(lease_until)),
            )
            .filter(mail_queue::Column::Id.eq(m.id.clone()))
            .filter(mail_queue::Column::Status.eq("pending"))
            .filter(mail_queue::Column::NextAttemptAt.eq(ts(m.next_attempt_at)))
            .exec(&self.db)
            .await
            .map_err(err)?;
        Ok(r.rows_affected == 1)
    }

    async fn sent(&self, id: &str, now: OffsetDateTime) -> Result<(), QueueError> {
        mail_queue::Entity::update_many()
            .col_expr(mail_queue::Column::Status, Expr::value("sent"))
            .col_expr(mail_queue::Column::SentAt, Expr::value(ts(now)))
            .filter(mail_queue::Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn failed(
        &self,
        id: &str,
        attempts: u32,
        next: OffsetDateTime,
        error: &str,
    ) -> Result<(), QueueError> {
        mail_queue::Entity::update_many()
            .col_expr(
                mail_queue::Column::Attempts,
                Expr::value(i32::try_from(attempts).unwrap_or(i32::MAX)),
            )
            .col_expr(mail_queue::Column::NextAttemptAt, Expr::value(ts(next)))
            .col_expr(
                mail_queue::Column::LastError,
                Expr::value(error.chars().take(500).collect::<String>()),
            )
            .filter(mail_queue::Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map_err(err)?;
        Ok(())
    }
}
