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
use crate::entity::{customer_account, identity};
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

/// The customer accounts of an identity that `client` may see (a client restricted to some
/// account kinds only ever sees those), by client number.
async fn visible_accounts(
    store: &Store,
    identity_id: &str,
    client: &Client,
) -> StoreResult<Vec<customer_account::Model>> {
    Ok(crate::customers::account_rows_of(store, identity_id)
        .await
        .map_err(db_err)?
        .into_iter()
        .filter(|a| client.account_kinds.is_empty() || client.account_kinds.contains(&a.kind))
        .collect())
}

/// Scope `profile` (OIDC Core §5.1, §5.4): `given_name`, `family_name` and `name` (the two
/// joined by a space) of the holder of the first account the client may see that has a name —
/// personal accounts before professional ones, then by client number — and `updated_at` (Unix
/// seconds: the later of the identity's and that account's last change). Nothing is invented:
/// without a name on record, only `updated_at`. No `locale`: nothing records one.
fn profile_claims(
    claims: &mut serde_json::Map<String, serde_json::Value>,
    identity: &identity::Model,
    visible: &[customer_account::Model],
) {
    let named = |a: &&customer_account::Model| a.given_name.is_some() || a.family_name.is_some();
    let holder = visible
        .iter()
        .filter(|a| a.kind == "personal")
        .find(named)
        .or_else(|| visible.iter().find(named));
    let mut updated_at = identity.updated_at;
    if let Some(a) = holder {
        updated_at = updated_at.max(a.updated_at);
        let parts: Vec<&str> = [&a.given_name, &a.family_name]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        if let Some(given) = &a.given_name {
            claims.insert("given_name".into(), given.clone().into());
        }
        if let Some(family) = &a.family_name {
            claims.insert("family_name".into(), family.clone().into());
        }
        claims.insert("name".into(), parts.join(" ").into());
    }
    claims.insert("updated_at".into(), updated_at.into());
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
        claims.insert("email".into(), row.login_email.clone().into());
        claims.insert(
            "email_verified".into(),
            row.email_verified_at.is_some().into(),
        );
        let wants_accounts = scopes.contains(gan_oidc::scope::ACCOUNTS);
        let wants_profile = scopes.contains(gan_oidc::scope::PROFILE);
        if wants_accounts || wants_profile {
            let visible = visible_accounts(self, identity_id, client).await?;
            if wants_accounts {
                let accounts: Vec<serde_json::Value> = visible
                    .iter()
                    .map(|a| serde_json::json!({ "client_number": a.client_number, "kind": a.kind, "label": a.label }))
                    .collect();
                let numbers: Vec<serde_json::Value> = visible
                    .iter()
                    .map(|a| a.client_number.clone().into())
                    .collect();
                claims.insert("accounts".into(), accounts.into());
                claims.insert("client_numbers".into(), numbers.into());
            }
            if wants_profile {
                profile_claims(&mut claims, &row, &visible);
            }
        }
        Ok(Some(claims))
    }
}
