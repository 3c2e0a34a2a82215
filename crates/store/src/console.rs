//! The support console's sessions and the staff's second factor.

use async_trait::async_trait;
use gan_admin::console::ConsoleSession;
use gan_admin::ConsoleStore;
use gan_oidc::ports::StoreResult;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, Set};
use time::OffsetDateTime;

use crate::convert::{db_err, from_ts, ts};
use crate::entity::{console_session, staff_member};
use crate::Store;

fn to_session(m: console_session::Model) -> ConsoleSession {
    ConsoleSession {
        id_hash: m.id_hash,
        identity_id: m.identity_id,
        sid: m.sid,
        created_at: from_ts(m.created_at),
        last_seen_at: from_ts(m.last_seen_at),
        expires_at: from_ts(m.expires_at),
        second_factor_at: m.second_factor_at.map(from_ts),
    }
}

fn codes_json(codes: &[String]) -> String {
    serde_json::to_string(codes).unwrap_or_else(|_| "[]".into())
}

impl Store {
    async fn update_console_session(
        &self,
        id_hash: &str,
        column: console_session::Column,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        console_session::Entity::update_many()
            .col_expr(column, Expr::value(ts(now)))
            .filter(console_session::Column::IdHash.eq(id_hash))
            .filter(console_session::Column::EndedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}

#[async_trait]
impl ConsoleStore for Store {
    async fn insert_console_session(&self, s: &ConsoleSession) -> StoreResult<()> {
        let row = console_session::ActiveModel {
            id_hash: Set(s.id_hash.clone()),
            identity_id: Set(s.identity_id.clone()),
            sid: Set(s.sid.clone()),
            created_at: Set(ts(s.created_at)),
            last_seen_at: Set(ts(s.last_seen_at)),
            expires_at: Set(ts(s.expires_at)),
            second_factor_at: Set(s.second_factor_at.map(ts)),
            ended_at: Set(None),
        };
        console_session::Entity::insert(row)
            .exec_without_returning(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn find_console_session(&self, id_hash: &str) -> StoreResult<Option<ConsoleSession>> {
        Ok(console_session::Entity::find_by_id(id_hash)
            .filter(console_session::Column::EndedAt.is_null())
            .one(&self.db)
            .await
            .map_err(db_err)?
            .map(to_session))
    }

    async fn console_session_of_sid(
        &self,
        sid: &str,
        identity_id: &str,
    ) -> StoreResult<Option<ConsoleSession>> {
        Ok(console_session::Entity::find()
            .filter(console_session::Column::Sid.eq(sid))
            .filter(console_session::Column::IdentityId.eq(identity_id))
            .filter(console_session::Column::SecondFactorAt.is_not_null())
            .filter(console_session::Column::EndedAt.is_null())
            .order_by_desc(console_session::Column::LastSeenAt)
            .one(&self.db)
            .await
            .map_err(db_err)?
            .map(to_session))
    }

    async fn touch_console_session(&self, id_hash: &str, now: OffsetDateTime) -> StoreResult<()> {
        self.update_console_session(id_hash, console_session::Column::LastSeenAt, now)
            .await
    }

    async fn second_factor_checked(
        &self,
        id_hash: &str,
        new_id_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        console_session::Entity::update_many()
            .col_expr(console_session::Column::IdHash, Expr::value(new_id_hash))
            .col_expr(
                console_session::Column::SecondFactorAt,
                Expr::value(ts(now)),
            )
            .col_expr(console_session::Column::LastSeenAt, Expr::value(ts(now)))
            .filter(console_session::Column::IdHash.eq(id_hash))
            .filter(console_session::Column::EndedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn end_console_session(&self, id_hash: &str, now: OffsetDateTime) -> StoreResult<()> {
        self.update_console_session(id_hash, console_session::Column::EndedAt, now)
            .await
    }

    async fn set_totp_secret(&self, identity_id: &str, sealed: &str) -> StoreResult<()> {
        staff_member::Entity::update_many()
            .col_expr(staff_member::Column::TotpSecret, Expr::value(sealed))
            .filter(staff_member::Column::IdentityId.eq(identity_id))
            .filter(staff_member::Column::TotpEnabledAt.is_null())
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn enable_totp(
        &self,
        identity_id: &str,
        recovery_hashes: &[String],
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let r = staff_member::Entity::update_many()
            .col_expr(staff_member::Column::TotpEnabledAt, Expr::value(ts(now)))
            .col_expr(
                staff_member::Column::RecoveryCodes,
                Expr::value(codes_json(recovery_hashes)),
            )
            .filter(staff_member::Column::IdentityId.eq(identity_id))
            .filter(staff_member::Column::TotpEnabledAt.is_null())
            .filter(staff_member::Column::TotpSecret.is_not_null())
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(r.rows_affected == 1)
    }

    async fn accept_totp_step(&self, identity_id: &str, step: i64) -> StoreResult<bool> {
        let r = staff_member::Entity::update_many()
            .col_expr(staff_member::Column::TotpLastStep, Expr::value(step))
            .filter(staff_member::Column::IdentityId.eq(identity_id))
            .filter(
                Condition::any()
                    .add(staff_member::Column::TotpLastStep.is_null())
                    .add(staff_member::Column::TotpLastStep.lt(step)),
            )
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(r.rows_affected == 1)
    }

    async fn replace_recovery_codes(
        &self,
        identity_id: &str,
        previous: &[String],
        left: &[String],
    ) -> StoreResult<bool> {
        let r = staff_member::Entity::update_many()
            .col_expr(
                staff_member::Column::RecoveryCodes,
                Expr::value(codes_json(left)),
            )
            .filter(staff_member::Column::IdentityId.eq(identity_id))
            .filter(staff_member::Column::RecoveryCodes.eq(codes_json(previous)))
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(r.rows_affected == 1)
    }
}
