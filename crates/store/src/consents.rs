//! What each person allowed each client.

use async_trait::async_trait;
use gan_oidc::ports::{ConsentStore, StoreResult};
use gan_oidc::scope::Scopes;
use sea_orm::sea_query::OnConflict;
use sea_orm::{EntityTrait, Set};
use time::OffsetDateTime;

use crate::convert::{db_err, ts};
use crate::entity::consent;
use crate::Store;

#[async_trait]
impl ConsentStore for Store {
    async fn find_consent(
        &self,
        identity_id: &str,
        client_id: &str,
    ) -> StoreResult<Option<Scopes>> {
        Ok(
            consent::Entity::find_by_id((identity_id.to_string(), client_id.to_string()))
                .one(&self.db)
                .await
                .map_err(db_err)?
                .and_then(|m| Scopes::parse(&m.scopes)),
        )
    }

    async fn save_consent(
        &self,
        identity_id: &str,
        client_id: &str,
        scopes: &Scopes,
    ) -> StoreResult<()> {
        let merged = match self.find_consent(identity_id, client_id).await? {
            Some(old) => Scopes::from_iter(old.iter().chain(scopes.iter())),
            None => scopes.clone(),
        };
        let row = consent::ActiveModel {
            identity_id: Set(identity_id.to_string()),
            client_id: Set(client_id.to_string()),
            scopes: Set(merged.to_string()),
            updated_at: Set(ts(OffsetDateTime::now_utc())),
        };
        consent::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([consent::Column::IdentityId, consent::Column::ClientId])
                    .update_columns([consent::Column::Scopes, consent::Column::UpdatedAt])
                    .to_owned(),
            )
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
