//! Browser sessions and remembered consents.

use async_trait::async_trait;
use gan_oidc::error::StoreError;
use gan_oidc::model::{Authentication, Session};
use gan_oidc::ports::{SessionStore, StoreResult};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use time::OffsetDateTime;

use crate::convert::{db_err, from_json, from_ts, to_json, ts};
use crate::entity::browser_session;
use crate::Store;

fn to_session(m: browser_session::Model) -> Result<Session, StoreError> {
    let auth: Authentication = from_json(&m.data)?;
    Ok(Session {
        id_hash: m.id_hash,
        sid: m.sid,
        auth,
        created_at: from_ts(m.created_at),
        last_seen_at: from_ts(m.last_seen_at),
        expires_at: from_ts(m.expires_at),
        user_agent: m.user_agent,
        ip: m.ip,
    })
}

#[async_trait]
impl SessionStore for Store {
    async fn insert_session(&self, s: &Session) -> StoreResult<()> {
        let row = browser_session::ActiveModel {
            id_hash: Set(s.id_hash.clone()),
            sid: Set(s.sid.clone()),
            identity_id: Set(s.auth.identity_id.clone()),
            data: Set(to_json(&s.auth)?),
            created_at: Set(ts(s.created_at)),
            last_seen_at: Set(ts(s.last_seen_at)),
            expires_at: Set(ts(s.expires_at)),
            ended_at: Set(None),
            user_agent: Set(s.user_agent.clone()),
            ip: Set(s.ip.clone()),
        };
        browser_session::Entity::insert(row)
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn find_session(&self, id_hash: &str) -> StoreResult<Option<Session>> {
        browser_session::Entity::find_by_id(id_hash)
            .filter(browser_session::Column::EndedAt.is_null())
            .one(&self.db)
            .await
            .map_err(db_err)?
            .map(to_session)
            .transpose()
    }

    async fn touch_session(&self, id_hash: &str, now: OffsetDateTime) -> StoreResult<()> {
        browser_session::Entity::update_many()
            .col_expr(browser_session::Column::LastSeenAt, Expr::value(ts(now)))
            .filter(browser_session::Column::IdHash.eq(id_hash))
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn end_session(&self, id_hash: &str) -> StoreResult<()> {
        browser_session::Entity::update_many()
            .col_expr(
                browser_session::Column::EndedAt,
                Expr::value(ts(OffsetDateTime::now_utc())),
            )
            .filter(browser_session::Column::IdHash.eq(id_hash))
            .filter(browser_session::Column::EndedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn end_session_by_sid(&self, sid: &str) -> StoreResult<()> {
        browser_session::Entity::update_many()
            .col_expr(
                browser_session::Column::EndedAt,
                Expr::value(ts(OffsetDateTime::now_utc())),
            )
            .filter(browser_session::Column::Sid.eq(sid))
            .filter(browser_session::Column::EndedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn reauthenticated(&self, id_hash: &str, auth_time: OffsetDateTime) -> StoreResult<()> {
        let Some(mut session) = self.find_session(id_hash).await? else {
            return Ok(());
        };
        session.auth.auth_time = auth_time;
        browser_session::Entity::update_many()
            .col_expr(
                browser_session::Column::Data,
                Expr::value(to_json(&session.auth)?),
            )
            .filter(browser_session::Column::IdHash.eq(id_hash))
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn sessions_of(
        &self,
        identity_id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Session>> {
        use sea_orm::QueryOrder;
        browser_session::Entity::find()
            .filter(browser_session::Column::IdentityId.eq(identity_id))
            .filter(browser_session::Column::EndedAt.is_null())
            .filter(browser_session::Column::ExpiresAt.gt(ts(now)))
            .order_by_desc(browser_session::Column::CreatedAt)
            .all(&self.db)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(to_session)
            .collect()
    }

    async fn end_sessions_of(
        &self,
        identity_id: &str,
        except_sid: Option<&str>,
        now: OffsetDateTime,
    ) -> StoreResult<u64> {
        let mut q = browser_session::Entity::update_many()
            .col_expr(browser_session::Column::EndedAt, Expr::value(ts(now)))
            .filter(browser_session::Column::IdentityId.eq(identity_id))
            .filter(browser_session::Column::EndedAt.is_null())
            .filter(browser_session::Column::ExpiresAt.gt(ts(now)));
        if let Some(sid) = except_sid {
            q = q.filter(browser_session::Column::Sid.ne(sid));
        }
        Ok(q.exec(&self.db).await.map_err(db_err)?.rows_affected)
    }

    async fn session_live(&self, sid: &str, now: OffsetDateTime) -> StoreResult<bool> {
        Ok(browser_session::Entity::find()
            .filter(browser_session::Column::Sid.eq(sid))
            .filter(browser_session::Column::EndedAt.is_null())
            .filter(browser_session::Column::ExpiresAt.gt(ts(now)))
            .one(&self.db)
            .await
            .map_err(db_err)?
            .is_some())
    }

    async fn purge_sessions(&self, now: OffsetDateTime) -> StoreResult<u64> {
        Ok(browser_session::Entity::delete_many()
            .filter(browser_session::Column::ExpiresAt.lte(ts(now)))
            .exec(&self.db)
            .await
            .map_err(db_err)?
            .rows_affected)
    }
}
