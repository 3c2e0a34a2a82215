//! Access and refresh tokens, stored as hashes. Rotation is a conditional update (`… WHERE
//! consumed_at IS NULL`) and the successors' insert in one transaction, so of concurrent callers
//! exactly one wins, whichever process they run in.

use async_trait::async_trait;
use gan_oidc::error::StoreError;
use gan_oidc::model::{Authentication, TokenKind, TokenRecord};
use gan_oidc::ports::{Consumed, SessionsOf, StoreResult, TokenStore};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter,
    QuerySelect, Set, Statement,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::convert::{db_err, from_json, from_ts, to_json, ts};
use crate::entity::token;
use crate::{Db, Store};

/// Tokens whose space-separated scope does not hold `offline_access` (padded, so only the
/// whole word matches; `||` concatenates on SQLite and PostgreSQL).
const OUTSIDE_OFFLINE_ACCESS: &str = "(' ' || scope || ' ') NOT LIKE '% offline_access %'";

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
        sid: Set(t.sid.clone()),
    })
}

pub(crate) fn token_record(m: token::Model) -> Result<TokenRecord, StoreError> {
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

/// Marks the refresh token `hash` consumed at `now` (Unix seconds) if it is neither consumed nor
/// revoked, and says which: the row as it is now (`Now`: this call consumed it; `Already`: it was
/// consumed or revoked before) or `Missing`. One statement when it succeeds (`UPDATE …
/// RETURNING`, SQLite ≥ 3.35 and PostgreSQL); a refusal reads the row again to say why.
pub(crate) async fn consume_refresh<C: ConnectionTrait>(
    conn: &C,
    hash: &str,
    now: i64,
) -> Result<Consumed<token::Model>, sea_orm::DbErr> {
    let backend = conn.get_database_backend();
    let (at, key) = match backend {
        DbBackend::Postgres => ("$1", "$2"),
        _ => ("?", "?"),
    };
    let consume = Statement::from_sql_and_values(
        backend,
        format!(
            "UPDATE token SET consumed_at = {at} WHERE token_hash = {key} \
             AND consumed_at IS NULL AND revoked_at IS NULL RETURNING *"
        ),
        [now.into(), hash.into()],
    );
    if let Some(row) = conn.query_one(consume).await? {
        return Ok(Consumed::Now(token::Model::from_query_result(&row, "")?));
    }
    Ok(match token::Entity::find_by_id(hash).one(conn).await? {
        Some(row) => Consumed::Already(row),
        None => Consumed::Missing,
    })
}

/// Passes of [`revoke_until_none`] at most.
const MAX_REVOKE_PASSES: usize = 8;

/// Runs `update` — which sets `revoked_at` on tokens whose `revoked_at` is null — again until a
/// pass finds none left; returns how many it revoked. On PostgreSQL a refresh rotation that
/// commits while a pass runs stores successors that pass cannot see (it waits for the rotated
/// token's row lock, then updates only the rows of its own snapshot): the next pass sees them,
/// and a rotation that starts later finds its token revoked. On SQLite, where writes take
/// turns, the second pass finds none. A family still growing after
/// [`MAX_REVOKE_PASSES`] passes is logged.
pub(crate) async fn revoke_until_none(
    db: &Db,
    update: sea_orm::UpdateMany<token::Entity>,
) -> Result<u64, sea_orm::DbErr> {
    let mut total = 0;
    for _ in 0..MAX_REVOKE_PASSES {
        let revoked = update.clone().exec(db).await?.rows_affected;
        if revoked == 0 {
            return Ok(total);
        }
        total += revoked;
    }
    tracing::warn!(
        passes = MAX_REVOKE_PASSES,
        "tokens were still being issued while their family was revoked"
    );
    Ok(total)
}

/// One rotation in its own transaction: the token consumed and its successors stored together,
/// or neither.
pub(crate) async fn rotate_alone(
    db: &Db,
    hash: &str,
    now: i64,
    successors: Vec<token::ActiveModel>,
) -> Result<Consumed<token::Model>, sea_orm::DbErr> {
    let txn = db.begin().await?;
    let consumed = consume_refresh(&txn, hash, now).await?;
    if !matches!(consumed, Consumed::Now(_)) {
        txn.rollback().await?;
        return Ok(consumed);
    }
    if !successors.is_empty() {
        token::Entity::insert_many(successors).exec(&txn).await?;
    }
    txn.commit().await?;
    Ok(consumed)
}

#[async_trait]
impl TokenStore for Store {
    async fn insert_tokens(&self, tokens: &[TokenRecord]) -> StoreResult<()> {
        if tokens.is_empty() {
            return Ok(());
        }
        let rows = tokens
            .iter()
            .map(token_row)
            .collect::<StoreResult<Vec<_>>>()?;
        self.token_groups
            .insert(&self.db, rows)
            .await
            .map_err(db_err)
    }

    async fn find_token(&self, hash: &str) -> StoreResult<Option<TokenRecord>> {
        token::Entity::find_by_id(hash)
            .one(&self.db)
            .await
            .map_err(db_err)?
            .map(token_record)
            .transpose()
    }

    async fn rotate_refresh(
        &self,
        hash: &str,
        now: OffsetDateTime,
        successors: &[TokenRecord],
    ) -> StoreResult<Consumed<TokenRecord>> {
        let rows = successors
            .iter()
            .map(token_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let consumed = self
            .token_groups
            .rotate(&self.db, hash, ts(now), rows)
            .await
            .map_err(db_err)?;
        Ok(match consumed {
            Consumed::Now(row) => Consumed::Now(token_record(row)?),
            Consumed::Already(row) => Consumed::Already(token_record(row)?),
            Consumed::Missing => Consumed::Missing,
        })
    }

    async fn revoke_grant(&self, grant_id: &str, now: OffsetDateTime) -> StoreResult<()> {
        let update = token::Entity::update_many()
            .col_expr(token::Column::RevokedAt, Expr::value(ts(now)))
            .filter(token::Column::GrantId.eq(grant_id))
            .filter(token::Column::RevokedAt.is_null());
        revoke_until_none(&self.db, update).await.map_err(db_err)?;
        Ok(())
    }

    async fn revoke_token(&self, hash: &str, now: OffsetDateTime) -> StoreResult<()> {
        token::Entity::update_many()
            .col_expr(token::Column::RevokedAt, Expr::value(ts(now)))
            .filter(token::Column::TokenHash.eq(hash))
            .filter(token::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn revoke_tokens_of(
        &self,
        identity_id: &str,
        sessions: SessionsOf<'_>,
        offline: bool,
        now: OffsetDateTime,
    ) -> StoreResult<u64> {
        let mut q = token::Entity::update_many()
            .col_expr(token::Column::RevokedAt, Expr::value(ts(now)))
            .filter(token::Column::IdentityId.eq(identity_id))
            .filter(token::Column::RevokedAt.is_null())
            .filter(token::Column::ExpiresAt.gt(ts(now)));
        q = match sessions {
            SessionsOf::One(sid) => q.filter(token::Column::Sid.eq(sid)),
            SessionsOf::AllBut(Some(keep)) => q.filter(
                Condition::any()
                    .add(token::Column::Sid.is_null())
                    .add(token::Column::Sid.ne(keep)),
            ),
            SessionsOf::AllBut(None) => q,
        };
        if !offline {
            // Scopes are space-separated: pad them so the whole word is matched.
            q = q.filter(Expr::cust(OUTSIDE_OFFLINE_ACCESS));
        }
        revoke_until_none(&self.db, q).await.map_err(db_err)
    }

    async fn session_clients(
        &self,
        identity_id: &str,
        sessions: SessionsOf<'_>,
    ) -> StoreResult<Vec<(String, String)>> {
        let mut q = token::Entity::find()
            .select_only()
            .column(token::Column::Sid)
            .column(token::Column::ClientId)
            .distinct()
            .filter(token::Column::IdentityId.eq(identity_id))
            .filter(token::Column::Sid.is_not_null());
        q = match sessions {
            SessionsOf::One(sid) => q.filter(token::Column::Sid.eq(sid)),
            SessionsOf::AllBut(Some(keep)) => q.filter(token::Column::Sid.ne(keep)),
            SessionsOf::AllBut(None) => q,
        };
        q.into_tuple::<(String, String)>()
            .all(&self.db)
            .await
            .map_err(db_err)
    }

    async fn move_tokens(&self, from: &str, to: &str) -> StoreResult<u64> {
        Ok(token::Entity::update_many()
            .col_expr(token::Column::Sid, Expr::value(to))
            .filter(token::Column::Sid.eq(from))
            .exec(&self.db)
            .await
            .map_err(db_err)?
            .rows_affected)
    }

    async fn purge_tokens(&self, before: OffsetDateTime) -> StoreResult<u64> {
        Ok(token::Entity::delete_many()
            .filter(token::Column::ExpiresAt.lte(ts(before)))
            .exec(&self.db)
            .await
            .map_err(db_err)?
            .rows_affected)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use gan_oidc::model::{TokenKind, TokenRecord};
    use gan_oidc::ports::{Consumed, TokenStore};
    use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, Statement};

    use super::{consume_refresh, token_row};
    use crate::customers::tests::{drop_database, stores};
    use crate::entity::token;
    use crate::group::tests::record;

    fn refresh(hash: &str) -> TokenRecord {
        TokenRecord {
            kind: TokenKind::Refresh,
            grant_id: "family".into(),
            ..record(hash)
        }
    }

    /// PostgreSQL: a family revoked while one of its rotations is committing loses the new
    /// refresh token too. The revocation waits for the rotated token's row lock; its first
    /// pass cannot see the successor the rotation inserted, its next one does (the reuse of a
    /// stolen token racing the thief's refresh must not leave the thief a live chain).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_family_revoked_while_a_rotation_commits_loses_its_successor() {
        for (store, created) in stores().await {
            if store.db.get_database_backend() != DbBackend::Postgres {
                drop_database(store, created).await;
                continue;
            }
            let now = time::OffsetDateTime::now_utc();
            store.insert_tokens(&[refresh("rt1")]).await.unwrap();
            let txn = store.db.begin().await.unwrap();
            let consumed = consume_refresh(&txn, "rt1", now.unix_timestamp())
                .await
                .unwrap();
            assert!(matches!(consumed, Consumed::Now(_)));
            token::Entity::insert(token_row(&refresh("rt2")).unwrap())
                .exec(&txn)
                .await
                .unwrap();
            let revoking = tokio::spawn({
                let store = store.clone();
                async move { store.revoke_grant("family", now).await }
            });
            // Until the revocation waits for the lock the rotation holds (bounded).
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let waiting = store
                    .db
                    .query_one(Statement::from_string(
                        DbBackend::Postgres,
                        "SELECT COUNT(*) AS n FROM pg_stat_activity \
                         WHERE datname = current_database() AND wait_event_type = 'Lock'",
                    ))
                    .await
                    .unwrap()
                    .unwrap()
                    .try_get::<i64>("", "n")
                    .unwrap();
                if waiting > 0 {
                    break;
                }
                assert!(Instant::now() < deadline, "the revocation never waited");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            txn.commit().await.unwrap();
            revoking.await.unwrap().unwrap();
            for hash in ["rt1", "rt2"] {
                let t = store.find_token(hash).await.unwrap().unwrap();
                assert!(t.revoked_at.is_some(), "{hash} survived the revocation");
            }
            drop_database(store, created).await;
        }
    }
}
