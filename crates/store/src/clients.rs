//! Relying parties.

use async_trait::async_trait;
use gan_oidc::error::StoreError;
use gan_oidc::model::{AccessTokenFormat, AuthMethod, Client, SigningAlg};
use gan_oidc::ports::{ClientStore, StoreResult};
use sea_orm::sea_query::OnConflict;
use sea_orm::{EntityTrait, QueryOrder, Set};

use crate::convert::{db_err, from_json, from_ts, to_json, ts};
use crate::entity::client;
use crate::Store;

fn to_record(m: client::Model) -> Result<Client, StoreError> {
    Ok(Client {
        id: m.id,
        name: m.name,
        secret_hash: m.secret_hash,
        previous_secret_hash: m.previous_secret_hash,
        previous_secret_expires_at: m.previous_secret_expires_at.map(from_ts),
        redirect_uris: from_json(&m.redirect_uris)?,
        post_logout_redirect_uris: from_json(&m.post_logout_redirect_uris)?,
        scopes: from_json(&m.scopes)?,
        grant_types: from_json(&m.grant_types)?,
        auth_method: AuthMethod::parse(&m.auth_method)
            .ok_or_else(|| StoreError::Corrupt(format!("auth method {}", m.auth_method)))?,
        jwks: m.jwks.as_deref().map(from_json).transpose()?,
        id_token_alg: SigningAlg::parse(&m.id_token_alg)
            .ok_or_else(|| StoreError::Corrupt(format!("alg {}", m.id_token_alg)))?,
        account_kinds: from_json(&m.account_kinds)?,
        web_origins: from_json(&m.web_origins)?,
        access_token_format: AccessTokenFormat::parse(&m.access_token_format).ok_or_else(|| {
            StoreError::Corrupt(format!("access token format {}", m.access_token_format))
        })?,
        backchannel_logout_uri: m.backchannel_logout_uri,
        backchannel_logout_session_required: m.backchannel_logout_session_required,
        first_party: m.first_party,
        require_pkce: m.require_pkce,
        enabled: m.enabled,
        created_at: from_ts(m.created_at),
    })
}

#[async_trait]
impl ClientStore for Store {
    async fn find_client(&self, id: &str) -> StoreResult<Option<Client>> {
        client::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(db_err)?
            .map(to_record)
            .transpose()
    }

    async fn save_client(&self, c: &Client) -> StoreResult<()> {
        let row = client::ActiveModel {
            id: Set(c.id.clone()),
            name: Set(c.name.clone()),
            secret_hash: Set(c.secret_hash.clone()),
            previous_secret_hash: Set(c.previous_secret_hash.clone()),
            previous_secret_expires_at: Set(c.previous_secret_expires_at.map(ts)),
            redirect_uris: Set(to_json(&c.redirect_uris)?),
            post_logout_redirect_uris: Set(to_json(&c.post_logout_redirect_uris)?),
            scopes: Set(to_json(&c.scopes)?),
            grant_types: Set(to_json(&c.grant_types)?),
            auth_method: Set(c.auth_method.as_str().to_string()),
            jwks: Set(c.jwks.as_ref().map(to_json).transpose()?),
            id_token_alg: Set(c.id_token_alg.as_str().to_string()),
            account_kinds: Set(to_json(&c.account_kinds)?),
            web_origins: Set(to_json(&c.web_origins)?),
            access_token_format: Set(c.access_token_format.as_str().to_string()),
            backchannel_logout_uri: Set(c.backchannel_logout_uri.clone()),
            backchannel_logout_session_required: Set(c.backchannel_logout_session_required),
            first_party: Set(c.first_party),
            require_pkce: Set(c.require_pkce),
            enabled: Set(c.enabled),
            created_at: Set(ts(c.created_at)),
            updated_at: Set(ts(time::OffsetDateTime::now_utc())),
        };
        let mut conflict = OnConflict::column(client::Column::Id);
        conflict.update_columns([
            client::Column::Name,
            client::Column::SecretHash,
            client::Column::PreviousSecretHash,
            client::Column::PreviousSecretExpiresAt,
            client::Column::RedirectUris,
            client::Column::PostLogoutRedirectUris,
            client::Column::Scopes,
            client::Column::GrantTypes,
            client::Column::AuthMethod,
            client::Column::Jwks,
            client::Column::IdTokenAlg,
            client::Column::AccountKinds,
            client::Column::WebOrigins,
            client::Column::AccessTokenFormat,
            client::Column::BackchannelLogoutUri,
            client::Column::BackchannelLogoutSessionRequired,
            client::Column::FirstParty,
            client::Column::RequirePkce,
            client::Column::Enabled,
            client::Column::UpdatedAt,
        ]);
        client::Entity::insert(row)
            .on_conflict(conflict)
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        client::Entity::find()
            .order_by_asc(client::Column::Id)
            .all(&self.db)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(to_record)
            .collect()
    }
}
