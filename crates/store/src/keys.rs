//! Signing keys (private parts arrive here already encrypted).

use async_trait::async_trait;
use gan_oidc::error::StoreError;
use gan_oidc::model::{SigningAlg, StoredKey};
use gan_oidc::ports::{KeyStore, StoreResult};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use time::OffsetDateTime;

use crate::convert::{db_err, from_json, from_ts, to_json, ts};
use crate::entity::signing_key;
use crate::Store;

fn to_key(m: signing_key::Model) -> Result<StoredKey, StoreError> {
    Ok(StoredKey {
        alg: SigningAlg::parse(&m.alg)
            .ok_or_else(|| StoreError::Corrupt(format!("key alg {}", m.alg)))?,
        kid: m.kid,
        public_jwk: from_json(&m.public_jwk)?,
        private_enc: m.private_enc,
        created_at: from_ts(m.created_at),
        active_from: from_ts(m.active_from),
        retired_at: m.retired_at.map(from_ts),
        expires_at: m.expires_at.map(from_ts),
    })
}

#[async_trait]
impl KeyStore for Store {
    async fn list_keys(&self) -> StoreResult<Vec<StoredKey>> {
        signing_key::Entity::find()
            .order_by_desc(signing_key::Column::ActiveFrom)
            .all(&self.db)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(to_key)
            .collect()
    }

    async fn insert_key(&self, k: &StoredKey) -> StoreResult<()> {
        let row = signing_key::ActiveModel {
            kid: Set(k.kid.clone()),
            alg: Set(k.alg.as_str().to_string()),
            public_jwk: Set(to_json(&k.public_jwk)?),
            private_enc: Set(k.private_enc.clone()),
            created_at: Set(ts(k.created_at)),
            active_from: Set(ts(k.active_from)),
            retired_at: Set(k.retired_at.map(ts)),
            expires_at: Set(k.expires_at.map(ts)),
        };
        signing_key::Entity::insert(row)
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn retire_keys(
        &self,
        alg: SigningAlg,
        at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        signing_key::Entity::update_many()
            .col_expr(signing_key::Column::RetiredAt, Expr::value(ts(at)))
            .col_expr(signing_key::Column::ExpiresAt, Expr::value(ts(expires_at)))
            .filter(signing_key::Column::Alg.eq(alg.as_str()))
            .filter(signing_key::Column::RetiredAt.is_null())
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn delete_expired_keys(&self, now: OffsetDateTime) -> StoreResult<()> {
        signing_key::Entity::delete_many()
            .filter(signing_key::Column::ExpiresAt.lte(ts(now)))
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
