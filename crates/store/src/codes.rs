//! Authorization codes. Single use is enforced by a conditional update (`… WHERE consumed_at IS
//! NULL`), so of concurrent callers exactly one wins, whichever process they run in.

use async_trait::async_trait;
use gan_oidc::model::AuthorizationCode;
use gan_oidc::ports::{CodeStore, Consumed, StoreResult};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use time::OffsetDateTime;

use crate::convert::{db_err, from_json, from_ts, to_json, ts};
use crate::entity::auth_code;
use crate::Store;

#[async_trait]
impl CodeStore for Store {
    async fn insert_code(&self, c: &AuthorizationCode) -> StoreResult<()> {
        let row = auth_code::ActiveModel {
            code_hash: Set(c.code_hash.clone()),
            grant_id: Set(c.grant_id.clone()),
            client_id: Set(c.client_id.clone()),
            data: Set(to_json(c)?),
            expires_at: Set(ts(c.expires_at)),
            consumed_at: Set(None),
        };
        auth_code::Entity::insert(row)
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn find_code(&self, code_hash: &str) -> StoreResult<Option<AuthorizationCode>> {
        let Some(row) = auth_code::Entity::find_by_id(code_hash)
            .one(&self.db)
            .await
            .map_err(db_err)?
        else {
            return Ok(None);
        };
        let mut record: AuthorizationCode = from_json(&row.data)?;
        record.consumed_at = row.consumed_at.map(from_ts);
        Ok(Some(record))
    }

    async fn consume_code(
        &self,
        code_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Consumed<AuthorizationCode>> {
        let updated = auth_code::Entity::update_many()
            .col_expr(auth_code::Column::ConsumedAt, Expr::value(ts(now)))
            .filter(auth_code::Column::CodeHash.eq(code_hash))
            .filter(auth_code::Column::ConsumedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        let Some(row) = auth_code::Entity::find_by_id(code_hash)
            .one(&self.db)
            .await
            .map_err(db_err)?
        else {
            return Ok(Consumed::Missing);
        };
        let record: AuthorizationCode = from_json(&row.data)?;
        Ok(if updated.rows_affected == 1 {
            Consumed::Now(record)
        } else {
            Consumed::Already(record)
        })
    }

    async fn purge_codes(&self, before: OffsetDateTime) -> StoreResult<u64> {
        Ok(auth_code::Entity::delete_many()
            .filter(auth_code::Column::ExpiresAt.lte(ts(before)))
            .exec(&self.db)
            .await
            .map_err(db_err)?
            .rows_affected)
    }
}
