//! Interactions, authorization codes, tokens and client-assertion ids. Single use is enforced by
//! conditional updates (`… WHERE consumed_at IS NULL`), so of concurrent callers exactly one wins,
//! whichever process they run in.

use async_trait::async_trait;
use gan_oidc::error::StoreError;
use gan_oidc::interaction::Interaction;
use gan_oidc::model::{Authentication, AuthorizationCode, TokenKind, TokenRecord};
use gan_oidc::ports::{Consumed, StoreResult};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::convert::{db_err, from_json, from_ts, to_json, ts};
use crate::entity::{auth_code, client_assertion_jti, interaction, token};
use crate::Store;

/// The parts of a token row kept as JSON.
#[derive(Serialize, Deserialize)]
struct TokenData {
    auth: Option<Authentication>,
    sid: Option<String>,
    claims: Option<serde_json::Value>,
}

fn token_row(t: &TokenRecord) -> Result<token::ActiveModel, StoreError> {
    let data = TokenData {
        auth: t.auth.clone(),
        sid: t.sid.clone(),
        claims: t.claims.clone(),
    };
    Ok(token::ActiveModel {
        token_hash: Set(t.token_hash.clone()),
        kind: Set(t.kind.as_str().to_string()),
        grant_id: Set(t.grant_id.clone()),
        client_id: Set(t.client_id.clone()),
        identity_id: Set(t.identity_id.clone()),
        scope: Set(t.scope.clone()),
        data: Set(to_json(&data)?),
        created_at: Set(ts(t.created_at)),
        expires_at: Set(ts(t.expires_at)),
        consumed_at: Set(t.consumed_at.map(ts)),
        revoked_at: Set(t.revoked_at.map(ts)),
    })
}

fn token_record(m: token::Model) -> Result<TokenRecord, StoreError> {
    let data: TokenData = from_json(&m.data)?;
    Ok(TokenRecord {
        token_hash: m.token_hash,
        kind: if m.kind == "refresh" {
            TokenKind::Refresh
        } else {
            TokenKind::Access
        },
        grant_id: m.grant_id,
        client_id: m.client_id,
        identity_id: m.identity_id,
        scope: m.scope,
        auth: data.auth,
        sid: data.sid,
        claims: data.claims,
        created_at: from_ts(m.created_at),
        expires_at: from_ts(m.expires_at),
        consumed_at: m.consumed_at.map(from_ts),
        revoked_at: m.revoked_at.map(from_ts),
    })
}

impl Store {
    pub(crate) async fn put_interaction(&self, i: &Interaction, update: bool) -> StoreResult<()> {
        let row = interaction::ActiveModel {
            uid_hash: Set(i.uid_hash.clone()),
            data: Set(to_json(i)?),
            expires_at: Set(ts(i.expires_at)),
        };
        if update {
            interaction::Entity::update(row)
                .exec(&self.db)
                .await
                .map_err(db_err)?;
        } else {
            interaction::Entity::insert(row)
                .exec(&self.db)
                .await
                .map_err(db_err)?;
        }
        Ok(())
    }

    pub(crate) async fn get_interaction(&self, uid_hash: &str) -> StoreResult<Option<Interaction>> {
        interaction::Entity::find_by_id(uid_hash)
            .one(&self.db)
            .await
            .map_err(db_err)?
            .map(|m| from_json(&m.data))
            .transpose()
    }

    pub(crate) async fn drop_interaction(&self, uid_hash: &str) -> StoreResult<()> {
        interaction::Entity::delete_by_id(uid_hash)
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    pub(crate) async fn put_code(&self, c: &AuthorizationCode) -> StoreResult<()> {
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

    pub(crate) async fn get_code(&self, code_hash: &str) -> StoreResult<Option<AuthorizationCode>> {
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

    pub(crate) async fn use_code(
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

    pub(crate) async fn put_token(&self, t: &TokenRecord) -> StoreResult<()> {
        token::Entity::insert(token_row(t)?)
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    pub(crate) async fn get_token(&self, hash: &str) -> StoreResult<Option<TokenRecord>> {
        token::Entity::find_by_id(hash)
            .one(&self.db)
            .await
            .map_err(db_err)?
            .map(token_record)
            .transpose()
    }

    pub(crate) async fn rotate(
        &self,
        hash: &str,
        now: OffsetDateTime,
        successors: &[TokenRecord],
    ) -> StoreResult<Consumed<TokenRecord>> {
        let txn = self.db.begin().await.map_err(db_err)?;
        let updated = token::Entity::update_many()
            .col_expr(token::Column::ConsumedAt, Expr::value(ts(now)))
            .filter(token::Column::TokenHash.eq(hash))
            .filter(token::Column::ConsumedAt.is_null())
            .filter(token::Column::RevokedAt.is_null())
            .exec(&txn)
            .await
            .map_err(db_err)?;
        let Some(row) = token::Entity::find_by_id(hash)
            .one(&txn)
            .await
            .map_err(db_err)?
        else {
            return Ok(Consumed::Missing);
        };
        if updated.rows_affected != 1 {
            txn.rollback().await.map_err(db_err)?;
            return Ok(Consumed::Already(token_record(row)?));
        }
        if !successors.is_empty() {
            let rows = successors
                .iter()
                .map(token_row)
                .collect::<Result<Vec<_>, _>>()?;
            token::Entity::insert_many(rows)
                .exec(&txn)
                .await
                .map_err(db_err)?;
        }
        txn.commit().await.map_err(db_err)?;
        Ok(Consumed::Now(token_record(row)?))
    }

    pub(crate) async fn revoke_all(&self, grant_id: &str, now: OffsetDateTime) -> StoreResult<()> {
        token::Entity::update_many()
            .col_expr(token::Column::RevokedAt, Expr::value(ts(now)))
            .filter(token::Column::GrantId.eq(grant_id))
            .filter(token::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    pub(crate) async fn revoke_one(&self, hash: &str, now: OffsetDateTime) -> StoreResult<()> {
        token::Entity::update_many()
            .col_expr(token::Column::RevokedAt, Expr::value(ts(now)))
            .filter(token::Column::TokenHash.eq(hash))
            .filter(token::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    pub(crate) async fn purge(
        &self,
        now: OffsetDateTime,
        tokens_before: OffsetDateTime,
    ) -> StoreResult<u64> {
        use crate::entity::browser_session;
        let t = ts(now);
        let mut removed = 0;
        removed += interaction::Entity::delete_many()
            .filter(interaction::Column::ExpiresAt.lte(t))
            .exec(&self.db)
            .await
            .map_err(db_err)?
            .rows_affected;
        // Codes are kept a while after expiry so that a late replay is still recognised.
        removed += auth_code::Entity::delete_many()
            .filter(auth_code::Column::ExpiresAt.lte(ts(tokens_before)))
            .exec(&self.db)
            .await
            .map_err(db_err)?
            .rows_affected;
        removed += client_assertion_jti::Entity::delete_many()
            .filter(client_assertion_jti::Column::ExpiresAt.lte(t))
            .exec(&self.db)
            .await
            .map_err(db_err)?
            .rows_affected;
        removed += browser_session::Entity::delete_many()
            .filter(browser_session::Column::ExpiresAt.lte(t))
            .exec(&self.db)
            .await
            .map_err(db_err)?
            .rows_affected;
        removed += token::Entity::delete_many()
            .filter(token::Column::ExpiresAt.lte(ts(tokens_before)))
            .exec(&self.db)
            .await
            .map_err(db_err)?
            .rows_affected;
        Ok(removed)
    }

    pub(crate) async fn jti_once(
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
}

#[async_trait]
impl gan_oidc::ports::GrantStore for Store {
    async fn insert_interaction(&self, i: &Interaction) -> StoreResult<()> {
        self.put_interaction(i, false).await
    }
    async fn find_interaction(&self, uid_hash: &str) -> StoreResult<Option<Interaction>> {
        self.get_interaction(uid_hash).await
    }
    async fn update_interaction(&self, i: &Interaction) -> StoreResult<()> {
        self.put_interaction(i, true).await
    }
    async fn delete_interaction(&self, uid_hash: &str) -> StoreResult<()> {
        self.drop_interaction(uid_hash).await
    }
    async fn insert_code(&self, code: &AuthorizationCode) -> StoreResult<()> {
        self.put_code(code).await
    }
    async fn find_code(&self, code_hash: &str) -> StoreResult<Option<AuthorizationCode>> {
        self.get_code(code_hash).await
    }
    async fn consume_code(
        &self,
        code_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Consumed<AuthorizationCode>> {
        self.use_code(code_hash, now).await
    }
    async fn insert_token(&self, t: &TokenRecord) -> StoreResult<()> {
        self.put_token(t).await
    }
    async fn insert_tokens(&self, tokens: &[TokenRecord]) -> StoreResult<()> {
        if tokens.is_empty() {
            return Ok(());
        }
        let rows = tokens
            .iter()
            .map(token_row)
            .collect::<StoreResult<Vec<_>>>()?;
        token::Entity::insert_many(rows)
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }
    async fn find_token(&self, hash: &str) -> StoreResult<Option<TokenRecord>> {
        self.get_token(hash).await
    }
    async fn rotate_refresh(
        &self,
        hash: &str,
        now: OffsetDateTime,
        successors: &[TokenRecord],
    ) -> StoreResult<Consumed<TokenRecord>> {
        self.rotate(hash, now, successors).await
    }
    async fn revoke_grant(&self, grant_id: &str, now: OffsetDateTime) -> StoreResult<()> {
        self.revoke_all(grant_id, now).await
    }
    async fn revoke_token(&self, hash: &str, now: OffsetDateTime) -> StoreResult<()> {
        self.revoke_one(hash, now).await
    }
    async fn insert_session(&self, s: &gan_oidc::model::Session) -> StoreResult<()> {
        self.put_session(s).await
    }
    async fn find_session(&self, id_hash: &str) -> StoreResult<Option<gan_oidc::model::Session>> {
        self.get_session(id_hash).await
    }
    async fn touch_session(&self, id_hash: &str, now: OffsetDateTime) -> StoreResult<()> {
        self.seen_session(id_hash, now).await
    }
    async fn end_session(&self, id_hash: &str) -> StoreResult<()> {
        self.close_session(crate::entity::browser_session::Column::IdHash, id_hash)
            .await
    }
    async fn end_session_by_sid(&self, sid: &str) -> StoreResult<()> {
        self.close_session(crate::entity::browser_session::Column::Sid, sid)
            .await
    }
    async fn reauthenticated(&self, id_hash: &str, auth_time: OffsetDateTime) -> StoreResult<()> {
        self.set_auth_time(id_hash, auth_time).await
    }
    async fn sessions_of(
        &self,
        identity_id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<gan_oidc::model::Session>> {
        self.live_sessions(identity_id, now).await
    }
    async fn end_sessions_of(
        &self,
        identity_id: &str,
        except_sid: Option<&str>,
    ) -> StoreResult<()> {
        self.close_sessions_of(identity_id, except_sid).await
    }
    async fn find_consent(
        &self,
        identity_id: &str,
        client_id: &str,
    ) -> StoreResult<Option<gan_oidc::scope::Scopes>> {
        self.get_consent(identity_id, client_id).await
    }
    async fn save_consent(
        &self,
        identity_id: &str,
        client_id: &str,
        scopes: &gan_oidc::scope::Scopes,
    ) -> StoreResult<()> {
        self.put_consent(identity_id, client_id, scopes).await
    }
    async fn list_keys(&self) -> StoreResult<Vec<gan_oidc::model::StoredKey>> {
        self.all_keys().await
    }
    async fn insert_key(&self, key: &gan_oidc::model::StoredKey) -> StoreResult<()> {
        self.put_key(key).await
    }
    async fn retire_keys(
        &self,
        alg: gan_oidc::model::SigningAlg,
        at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        self.retire(alg, at, expires_at).await
    }
    async fn delete_expired_keys(&self, now: OffsetDateTime) -> StoreResult<()> {
        self.purge_keys(now).await
    }
    async fn purge_expired(
        &self,
        now: OffsetDateTime,
        tokens_before: OffsetDateTime,
    ) -> StoreResult<u64> {
        self.purge(now, tokens_before).await
    }
    async fn remember_jti(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.jti_once(client_id, jti, expires_at).await
    }
}
