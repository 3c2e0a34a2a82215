//! Customer accounts, their attachment to identities, one-time links and counters.

use async_trait::async_trait;
use gan_accounts::customer::{AccountKind, AccountStatus, CustomerAccount};
use gan_accounts::links::{LinkData, LinkPurpose, LinkRecord};
use gan_accounts::ports::{
    AccountsStoreError, CounterStore, CustomerStore, LinkStore, UpsertCounts,
};
use gan_accounts::Identity;
use gan_oidc::secret::hash_handle;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, SqlErr};
use time::OffsetDateTime;

use crate::convert::{from_ts, ts};
use crate::entity::{customer_account, identity, identity_account, one_time_link, throttle};
use crate::identities::to_identity;
use crate::Store;

fn unavailable(e: sea_orm::DbErr) -> AccountsStoreError {
    tracing::error!(error = %e, "database error");
    AccountsStoreError::Unavailable(e.to_string())
}

pub(crate) fn to_customer(m: customer_account::Model) -> CustomerAccount {
    CustomerAccount {
        client_number: m.client_number,
        kind: AccountKind::parse(&m.kind).unwrap_or(AccountKind::Personal),
        label: m.label,
        contact_email: m.contact_email,
        legacy_hash: m.legacy_hash,
        status: AccountStatus::parse(&m.status),
        created_at: from_ts(m.created_at),
    }
}

fn purpose_of(s: &str) -> Option<LinkPurpose> {
    [
        LinkPurpose::UpgradeSession,
        LinkPurpose::VerifyEmail,
        LinkPurpose::UpgradeStart,
        LinkPurpose::PasswordReset,
        LinkPurpose::EmailChange,
    ]
    .into_iter()
    .find(|p| p.as_str() == s)
}

/// Marks a link used if it was not: `true` for the one caller that did it.
async fn use_link_in(
    db: &impl sea_orm::ConnectionTrait,
    token_hash: &str,
    now: OffsetDateTime,
) -> Result<bool, AccountsStoreError> {
    let r = one_time_link::Entity::update_many()
        .col_expr(one_time_link::Column::UsedAt, Expr::value(ts(now)))
        .filter(one_time_link::Column::TokenHash.eq(token_hash))
        .filter(one_time_link::Column::UsedAt.is_null())
        .exec(db)
        .await
        .map_err(unavailable)?;
    Ok(r.rows_affected == 1)
}

/// Attaches a legacy account inside a transaction and retires its legacy password.
async fn attach_in(
    txn: &crate::Txn,
    identity_id: &str,
    client_number: &str,
    now: OffsetDateTime,
) -> Result<(), AccountsStoreError> {
    let attached = identity_account::ActiveModel {
        client_number: Set(client_number.to_string()),
        identity_id: Set(identity_id.to_string()),
        attached_at: Set(ts(now)),
    };
    match identity_account::Entity::insert(attached).exec(txn).await {
        Ok(_) => {}
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(AccountsStoreError::AccountTaken)
        }
        Err(e) => return Err(unavailable(e)),
    }
    let retired = customer_account::Entity::update_many()
        .col_expr(
            customer_account::Column::LegacyHash,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            customer_account::Column::Status,
            Expr::value(AccountStatus::Upgraded.as_str()),
        )
        .col_expr(customer_account::Column::UpdatedAt, Expr::value(ts(now)))
        .filter(customer_account::Column::ClientNumber.eq(client_number))
        .filter(customer_account::Column::Status.eq(AccountStatus::Legacy.as_str()))
        .exec(txn)
        .await
        .map_err(unavailable)?;
    if retired.rows_affected != 1 {
        return Err(AccountsStoreError::AccountTaken);
    }
    Ok(())
}

#[async_trait]
impl CustomerStore for Store {
    async fn attach(
        &self,
        identity_id: &str,
        client_number: &str,
        now: OffsetDateTime,
    ) -> Result<(), AccountsStoreError> {
        let txn = self.db.begin().await.map_err(unavailable)?;
        attach_in(&txn, identity_id, client_number, now).await?;
        txn.commit().await.map_err(unavailable)?;
        Ok(())
    }

    async fn find_customer(
        &self,
        client_number: &str,
    ) -> Result<Option<CustomerAccount>, AccountsStoreError> {
        Ok(customer_account::Entity::find_by_id(client_number)
            .one(&self.db)
            .await
            .map_err(unavailable)?
            .map(to_customer))
    }

    async fn customers_by_contact_email(
        &self,
        email: &str,
    ) -> Result<Vec<CustomerAccount>, AccountsStoreError> {
        Ok(customer_account::Entity::find()
            .filter(customer_account::Column::ContactEmail.eq(email))
            .order_by_asc(customer_account::Column::ClientNumber)
            .all(&self.db)
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(to_customer)
            .collect())
    }

    async fn owner_of(&self, client_number: &str) -> Result<Option<Identity>, AccountsStoreError> {
        let Some(link) = identity_account::Entity::find_by_id(client_number)
            .one(&self.db)
            .await
            .map_err(unavailable)?
        else {
            return Ok(None);
        };
        Ok(identity::Entity::find_by_id(link.identity_id)
            .one(&self.db)
            .await
            .map_err(unavailable)?
            .map(to_identity))
    }

    async fn accounts_of(
        &self,
        identity_id: &str,
    ) -> Result<Vec<CustomerAccount>, AccountsStoreError> {
        let numbers: Vec<String> = identity_account::Entity::find()
            .filter(identity_account::Column::IdentityId.eq(identity_id))
            .all(&self.db)
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(|l| l.client_number)
            .collect();
        if numbers.is_empty() {
            return Ok(vec![]);
        }
        Ok(customer_account::Entity::find()
            .filter(customer_account::Column::ClientNumber.is_in(numbers))
            .order_by_asc(customer_account::Column::ClientNumber)
            .all(&self.db)
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(to_customer)
            .collect())
    }

    async fn upsert_customers(
        &self,
        batch: &[CustomerAccount],
        now: OffsetDateTime,
    ) -> Result<UpsertCounts, AccountsStoreError> {
        if batch.is_empty() {
            return Ok(UpsertCounts::default());
        }
        let txn = self.db.begin().await.map_err(unavailable)?;
        let numbers: Vec<String> = batch.iter().map(|c| c.client_number.clone()).collect();
        let existing: std::collections::HashMap<String, String> = customer_account::Entity::find()
            .filter(customer_account::Column::ClientNumber.is_in(numbers))
            .all(&txn)
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(|m| (m.client_number, m.status))
            .collect();
        let mut counts = UpsertCounts::default();
        let mut fresh = Vec::new();
        for c in batch {
            match existing.get(&c.client_number) {
                None => {
                    counts.created += 1;
                    fresh.push(customer_account::ActiveModel {
                        client_number: Set(c.client_number.clone()),
                        kind: Set(c.kind.as_str().into()),
                        label: Set(c.label.clone()),
                        contact_email: Set(c.contact_email.clone()),
                        legacy_hash: Set(c.legacy_hash.clone()),
                        status: Set(AccountStatus::Legacy.as_str().into()),
                        created_at: Set(ts(now)),
                        updated_at: Set(ts(now)),
                    });
                }
                Some(status) => {
                    counts.updated += 1;
                    let mut update = customer_account::Entity::update_many()
                        .col_expr(customer_account::Column::Kind, Expr::value(c.kind.as_str()))
                        .col_expr(
                            customer_account::Column::Label,
                            Expr::value(c.label.clone()),
                        )
                        .col_expr(
                            customer_account::Column::ContactEmail,
                            Expr::value(c.contact_email.clone()),
                        )
                        .col_expr(customer_account::Column::UpdatedAt, Expr::value(ts(now)))
                        .filter(customer_account::Column::ClientNumber.eq(c.client_number.clone()));
                    // An upgraded account never gets a legacy password back.
                    if status != AccountStatus::Upgraded.as_str() {
                        update = update.col_expr(
                            customer_account::Column::LegacyHash,
                            Expr::value(c.legacy_hash.clone()),
                        );
                    }
                    update.exec(&txn).await.map_err(unavailable)?;
                }
            }
        }
        // Bounded by SQLite's variable limit (8 columns per row).
        for chunk in fresh.chunks(1000) {
            customer_account::Entity::insert_many(chunk.to_vec())
                .exec(&txn)
                .await
                .map_err(unavailable)?;
        }
        txn.commit().await.map_err(unavailable)?;
        Ok(counts)
    }

    async fn change_login_email(
        &self,
        link_hash: &str,
        identity_id: &str,
        new_email: &str,
        now: OffsetDateTime,
    ) -> Result<(), AccountsStoreError> {
        let txn = self.db.begin().await.map_err(unavailable)?;
        if !use_link_in(&txn, link_hash, now).await? {
            return Err(AccountsStoreError::LinkUsed);
        }
        let changed = identity::Entity::update_many()
            .col_expr(identity::Column::LoginEmail, Expr::value(new_email))
            .col_expr(identity::Column::EmailVerifiedAt, Expr::value(ts(now)))
            .col_expr(identity::Column::UpdatedAt, Expr::value(ts(now)))
            .filter(identity::Column::Id.eq(identity_id))
            .exec(&txn)
            .await;
        match changed {
            Ok(_) => {}
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                return Err(AccountsStoreError::EmailTaken)
            }
            Err(e) => return Err(unavailable(e)),
        }
        txn.commit().await.map_err(unavailable)?;
        Ok(())
    }

    async fn complete_upgrade(
        &self,
        link_hash: &str,
        identity: &Identity,
        client_number: &str,
        now: OffsetDateTime,
    ) -> Result<(), AccountsStoreError> {
        let txn = self.db.begin().await.map_err(unavailable)?;
        if !use_link_in(&txn, link_hash, now).await? {
            return Err(AccountsStoreError::LinkUsed);
        }
        let row = identity::ActiveModel {
            id: Set(identity.id.clone()),
            login_email: Set(identity.login_email.clone()),
            email_verified_at: Set(identity.email_verified_at.map(ts)),
            password_hash: Set(identity.password_hash.clone()),
            status: Set(identity.status.as_str().to_string()),
            created_at: Set(ts(now)),
            updated_at: Set(ts(now)),
        };
        match identity::Entity::insert(row).exec(&txn).await {
            Ok(_) => {}
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                return Err(AccountsStoreError::EmailTaken)
            }
            Err(e) => return Err(unavailable(e)),
        }
        attach_in(&txn, &identity.id, client_number, now).await?;
        txn.commit().await.map_err(unavailable)?;
        Ok(())
    }
}

#[async_trait]
impl LinkStore for Store {
    async fn insert_link(&self, link: &LinkRecord) -> Result<(), AccountsStoreError> {
        let row = one_time_link::ActiveModel {
            token_hash: Set(link.token_hash.clone()),
            purpose: Set(link.purpose.as_str().to_string()),
            data: Set(serde_json::to_string(&link.data)
                .map_err(|e| AccountsStoreError::Unavailable(e.to_string()))?),
            created_at: Set(ts(link.created_at)),
            expires_at: Set(ts(link.expires_at)),
            used_at: Set(None),
            client_number: Set(link.data.client_number.clone()),
        };
        one_time_link::Entity::insert(row)
            .exec(&self.db)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn find_link(
        &self,
        token_hash: &str,
        purpose: LinkPurpose,
    ) -> Result<Option<LinkRecord>, AccountsStoreError> {
        let Some(m) = one_time_link::Entity::find_by_id(token_hash)
            .one(&self.db)
            .await
            .map_err(unavailable)?
        else {
            return Ok(None);
        };
        if purpose_of(&m.purpose) != Some(purpose) {
            return Ok(None);
        }
        let data: LinkData = serde_json::from_str(&m.data).unwrap_or_default();
        Ok(Some(LinkRecord {
            token_hash: m.token_hash,
            purpose,
            data,
            created_at: from_ts(m.created_at),
            expires_at: from_ts(m.expires_at),
            used_at: m.used_at.map(from_ts),
        }))
    }

    async fn use_link(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<bool, AccountsStoreError> {
        use_link_in(&self.db, token_hash, now).await
    }
}

/// Characters the `throttle.key` column holds.
const COUNTER_KEY_MAX: usize = 255;

/// The stored key of a counter: the key itself, or — when it is longer than the column (a
/// prefix and a 254-octet address do not fit in 255) — its SHA-256, the same in every process.
fn counter_key(key: &str) -> String {
    if key.chars().count() <= COUNTER_KEY_MAX {
        key.to_string()
    } else {
        format!("sha256:{}", hash_handle(key))
    }
}

#[async_trait]
impl CounterStore for Store {
    async fn counter(
        &self,
        key: &str,
    ) -> Result<Option<(u32, OffsetDateTime)>, AccountsStoreError> {
        Ok(throttle::Entity::find_by_id(counter_key(key))
            .one(&self.db)
            .await
            .map_err(unavailable)?
            .map(|m| {
                (
                    u32::try_from(m.failures).unwrap_or(0),
                    from_ts(m.blocked_until),
                )
            }))
    }

    async fn set_counter(
        &self,
        key: &str,
        count: u32,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<(), AccountsStoreError> {
        let row = throttle::ActiveModel {
            key: Set(counter_key(key)),
            failures: Set(i32::try_from(count).unwrap_or(i32::MAX)),
            blocked_until: Set(ts(until)),
            updated_at: Set(ts(now)),
        };
        throttle::Entity::insert(row)
            .on_conflict(
                OnConflict::column(throttle::Column::Key)
                    .update_columns([
                        throttle::Column::Failures,
                        throttle::Column::BlockedUntil,
                        throttle::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec(&self.db)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn clear_counter(&self, key: &str) -> Result<(), AccountsStoreError> {
        throttle::Entity::delete_by_id(counter_key(key))
            .exec(&self.db)
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
