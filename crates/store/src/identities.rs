//! Identities: the accounts port, and the claims the provider releases about them.

use async_trait::async_trait;
use gan_accounts::ports::{AccountsStoreError, IdentityStore};
use gan_accounts::{Identity, IdentityStatus};
use gan_oidc::model::Client;
use gan_oidc::ports::{ClaimsSource, StoreResult};
use gan_oidc::scope::Scopes;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set, SqlErr};

use crate::convert::{db_err, from_ts, ts};
use crate::entity::identity;
use crate::Store;

pub(crate) fn to_identity(m: identity::Model) -> Identity {
    Identity {
        id: m.id,
        login_email: m.login_email,
        email_verified_at: m.email_verified_at.map(from_ts),
        password_hash: m.password_hash,
        status: IdentityStatus::parse(&m.status),
        created_at: from_ts(m.created_at),
    }
}

fn unavailable(e: sea_orm::DbErr) -> AccountsStoreError {
    tracing::error!(error = %e, "database error");
    AccountsStoreError::Unavailable(e.to_string())
}

#[async_trait]
impl IdentityStore for Store {
    async fn find_identity(&self, id: &str) -> Result<Option<Identity>, AccountsStoreError> {
        Ok(identity::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(unavailable)?
            .map(to_identity))
    }

    async fn find_identity_by_email(
        &self,
        normalized_email: &str,
    ) -> Result<Option<Identity>, AccountsStoreError> {
        Ok(identity::Entity::find()
            .filter(identity::Column::LoginEmail.eq(normalized_email))
            .one(&self.db)
            .await
            .map_err(unavailable)?
            .map(to_identity))
    }

    async fn insert_identity(&self, i: &Identity) -> Result<(), AccountsStoreError> {
        let row = identity::ActiveModel {
            id: Set(i.id.clone()),
            login_email: Set(i.login_email.clone()),
            email_verified_at: Set(i.email_verified_at.map(ts)),
            password_hash: Set(i.password_hash.clone()),
            status: Set(i.status.as_str().to_string()),
            created_at: Set(ts(i.created_at)),
            updated_at: Set(ts(i.created_at)),
        };
        match identity::Entity::insert(row).exec(&self.db).await {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                Err(AccountsStoreError::EmailTaken)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn set_password_hash(&self, id: &str, hash: &str) -> Result<(), AccountsStoreError> {
        identity::Entity::update_many()
            .col_expr(identity::Column::PasswordHash, Expr::value(hash))
            .col_expr(
                identity::Column::UpdatedAt,
                Expr::value(ts(time::OffsetDateTime::now_utc())),
            )
            .filter(identity::Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

#[async_trait]
impl ClaimsSource for Store {
    async fn eligible(&self, identity_id: &str, client: &Client) -> StoreResult<bool> {
        if client.account_kinds.is_empty() {
            return Ok(true);
        }
        use gan_accounts::ports::CustomerStore;
        let accounts = self
            .accounts_of(identity_id)
            .await
            .map_err(|e| gan_oidc::error::StoreError::Unavailable(e.to_string()))?;
        Ok(accounts
            .iter()
            .any(|a| client.account_kinds.iter().any(|k| k == a.kind.as_str())))
    }

    async fn claims(
        &self,
        identity_id: &str,
        scopes: &Scopes,
        client: &Client,
    ) -> StoreResult<Option<serde_json::Map<String, serde_json::Value>>> {
        let Some(row) = identity::Entity::find_by_id(identity_id)
            .one(&self.db)
            .await
            .map_err(db_err)?
        else {
            return Ok(None);
        };
        if row.status != IdentityStatus::Active.as_str() {
            return Ok(None);
        }
        let mut claims = serde_json::Map::new();
        claims.insert("email".into(), row.login_email.into());
        claims.insert(
            "email_verified".into(),
            row.email_verified_at.is_some().into(),
        );
        if scopes.contains(gan_oidc::scope::ACCOUNTS) {
            use gan_accounts::ports::CustomerStore;
            let accounts = self
                .accounts_of(identity_id)
                .await
                .map_err(|e| gan_oidc::error::StoreError::Unavailable(e.to_string()))?;
            // A client restricted to some account kinds only ever sees those.
            let visible: Vec<serde_json::Value> = accounts
                .iter()
                .filter(|a| client.account_kinds.is_empty() || client.account_kinds.iter().any(|k| k == a.kind.as_str()))
                .map(|a| serde_json::json!({ "client_number": a.client_number, "kind": a.kind.as_str(), "label": a.label }))
                .collect();
            let numbers: Vec<serde_json::Value> = visible
                .iter()
                .filter_map(|a| a.get("client_number").cloned())
                .collect();
            claims.insert("accounts".into(), visible.into());
            claims.insert("client_numbers".into(), numbers.into());
        }
        Ok(Some(claims))
    }
}
