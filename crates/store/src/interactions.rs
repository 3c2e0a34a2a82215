//! Pending authorization requests, kept until the login pages hand them back.

use async_trait::async_trait;
use gan_oidc::interaction::Interaction;
use gan_oidc::ports::{InteractionStore, StoreResult};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use time::OffsetDateTime;

use crate::convert::{db_err, from_json, to_json, ts};
use crate::entity::interaction;
use crate::Store;

fn row(i: &Interaction) -> StoreResult<interaction::ActiveModel> {
    Ok(interaction::ActiveModel {
        uid_hash: Set(i.uid_hash.clone()),
        data: Set(to_json(i)?),
        expires_at: Set(ts(i.expires_at)),
    })
}

#[async_trait]
impl InteractionStore for Store {
    async fn insert_interaction(&self, i: &Interaction) -> StoreResult<()> {
        interaction::Entity::insert(row(i)?)
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn update_interaction(&self, i: &Interaction) -> StoreResult<()> {
        interaction::Entity::update(row(i)?)
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn find_interaction(&self, uid_hash: &str) -> StoreResult<Option<Interaction>> {
        interaction::Entity::find_by_id(uid_hash)
            .one(&self.db)
            .await
            .map_err(db_err)?
            .map(|m| from_json(&m.data))
            .transpose()
    }

    async fn delete_interaction(&self, uid_hash: &str) -> StoreResult<()> {
        interaction::Entity::delete_by_id(uid_hash)
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn purge_interactions(&self, now: OffsetDateTime) -> StoreResult<u64> {
        Ok(interaction::Entity::delete_many()
            .filter(interaction::Column::ExpiresAt.lte(ts(now)))
            .exec(&self.db)
            .await
            .map_err(db_err)?
            .rows_affected)
    }
}
