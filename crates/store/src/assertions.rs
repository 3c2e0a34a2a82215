//! Client assertion ids (`jti`) seen, so a `private_key_jwt` assertion is used once.

use async_trait::async_trait;
use gan_oidc::ports::{AssertionStore, StoreResult};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use time::OffsetDateTime;

use crate::convert::{db_err, ts};
use crate::entity::client_assertion_jti;
use crate::Store;

#[async_trait]
impl AssertionStore for Store {
    async fn remember_jti(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: OffsetDateTime,
    ) -> StoreResult<bool> {
        let row = client_assertion_jti::ActiveModel {
            client_id: Set(client_id.to_string()),
            jti: Set(jti.to_string()),
            expires_at: Set(ts(expires_at)),
        };
        let result = client_assertion_jti::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([
                    client_assertion_jti::Column::ClientId,
                    client_assertion_jti::Column::Jti,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await
            .map_err(db_err)?;
        Ok(result == 1)
    }

    async fn purge_jtis(&self, now: OffsetDateTime) -> StoreResult<u64> {
        Ok(client_assertion_jti::Entity::delete_many()
            .filter(client_assertion_jti::Column::ExpiresAt.lte(ts(now)))
            .exec(&self.db)
            .await
            .map_err(db_err)?
            .rows_affected)
    }
}
