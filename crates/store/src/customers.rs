//! Customer accounts, their attachment to identities, one-time links and counters.

use async_trait::async_trait;
use gan_accounts::customer::{AccountKind, AccountStatus, CustomerAccount};
use gan_accounts::links::{LinkData, LinkPurpose, LinkRecord};
use gan_accounts::ports::{
    AccountsStoreError, CounterStore, CustomerStore, LinkStore, Reservation, Rule, UpsertCounts,
};
use gan_accounts::Identity;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, SqlErr, Statement,
};
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
        given_name: m.given_name,
        family_name: m.family_name,
    }
}

/// The customer-account rows attached to an identity, by client number.
pub(crate) async fn account_rows_of(
    store: &Store,
    identity_id: &str,
) -> Result<Vec<customer_account::Model>, sea_orm::DbErr> {
    let numbers: Vec<String> = identity_account::Entity::find()
        .filter(identity_account::Column::IdentityId.eq(identity_id))
        .all(&store.db)
        .await?
        .into_iter()
        .map(|l| l.client_number)
        .collect();
    if numbers.is_empty() {
        return Ok(vec![]);
    }
    customer_account::Entity::find()
        .filter(customer_account::Column::ClientNumber.is_in(numbers))
        .order_by_asc(customer_account::Column::ClientNumber)
        .all(&store.db)
        .await
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

/// Marks used the pending links `which` picks; returns how many.
async fn cancel_links_where(
    store: &Store,
    which: impl sea_orm::sea_query::IntoCondition,
    now: OffsetDateTime,
) -> Result<u64, AccountsStoreError> {
    Ok(one_time_link::Entity::update_many()
        .col_expr(one_time_link::Column::UsedAt, Expr::value(ts(now)))
        .filter(which)
        .filter(one_time_link::Column::UsedAt.is_null())
        .exec(&store.db)
        .await
        .map_err(unavailable)?
        .rows_affected)
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
        kind: AccountKind,
        limit: usize,
        now: OffsetDateTime,
    ) -> Result<(), AccountsStoreError> {
        let txn = self.db.begin().await.map_err(unavailable)?;
        // Concurrent attaches to one identity take turns here (a row lock on PostgreSQL; on
        // SQLite writers take turns already), so the count below holds until the commit.
        identity::Entity::find_by_id(identity_id)
            .lock_exclusive()
            .one(&txn)
            .await
            .map_err(unavailable)?;
        let attached = Query::select()
            .column(identity_account::Column::ClientNumber)
            .from(identity_account::Entity)
            .and_where(identity_account::Column::IdentityId.eq(identity_id))
            .to_owned();
        let held = customer_account::Entity::find()
            .filter(customer_account::Column::ClientNumber.in_subquery(attached))
            .filter(customer_account::Column::Kind.eq(kind.as_str()))
            .count(&txn)
            .await
            .map_err(unavailable)?;
        if usize::try_from(held).unwrap_or(usize::MAX) >= limit {
            return Err(AccountsStoreError::LimitReached);
        }
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
        Ok(account_rows_of(self, identity_id)
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
                        given_name: Set(c.given_name.clone()),
                        family_name: Set(c.family_name.clone()),
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
                    // A name the file does not give keeps the one on record.
                    if let Some(name) = &c.given_name {
                        update =
                            update.col_expr(customer_account::Column::GivenName, Expr::value(name));
                    }
                    if let Some(name) = &c.family_name {
                        update = update
                            .col_expr(customer_account::Column::FamilyName, Expr::value(name));
                    }
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
        // Bounded by SQLite's variable limit (10 columns per row).
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
            identity_id: Set(link.data.identity_id.clone()),
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

    async fn cancel_links_of(
        &self,
        identity_id: &str,
        now: OffsetDateTime,
    ) -> Result<u64, AccountsStoreError> {
        cancel_links_where(self, one_time_link::Column::IdentityId.eq(identity_id), now).await
    }

    async fn cancel_account_links(
        &self,
        client_number: &str,
        purposes: &[LinkPurpose],
        now: OffsetDateTime,
    ) -> Result<u64, AccountsStoreError> {
        let which = Condition::all()
            .add(one_time_link::Column::ClientNumber.eq(client_number))
            .add(one_time_link::Column::Purpose.is_in(purposes.iter().map(|p| p.as_str())));
        cancel_links_where(self, which, now).await
    }

    async fn purge_links(&self, before: OffsetDateTime) -> Result<u64, AccountsStoreError> {
        Ok(one_time_link::Entity::delete_many()
            .filter(one_time_link::Column::ExpiresAt.lte(ts(before)))
            .exec(&self.db)
            .await
            .map_err(unavailable)?
            .rows_affected)
    }
}

/// One attempt reserved in one statement: an upsert that counts the attempt only when the key
/// is not waiting and has room left in its window (the window, and its wait, restart once it
/// has ended). Every number in it is ours (the rule, the clock); only the key is bound.
/// PostgreSQL and SQLite (3.35+) both run `INSERT … ON CONFLICT … DO UPDATE … WHERE …
/// RETURNING`, and both evaluate `SET` from the row as it was.
fn reserve_sql(backend: DbBackend, rule: &Rule, now: i64) -> String {
    let window = now + rule.window.whole_seconds().max(0);
    let limit = rule.limit();
    let key = placeholder(backend);
    format!(
        "INSERT INTO throttle (key, failures, blocked_until, updated_at, window_ends) \
         VALUES ({key}, 1, {now}, {now}, {window}) \
         ON CONFLICT (key) DO UPDATE SET \
         failures = CASE WHEN throttle.window_ends <= {now} THEN 1 ELSE throttle.failures + 1 END, \
         blocked_until = CASE WHEN throttle.window_ends <= {now} THEN {now} ELSE throttle.blocked_until END, \
         window_ends = CASE WHEN throttle.window_ends <= {now} THEN {window} ELSE throttle.window_ends END, \
         updated_at = {now} \
         WHERE throttle.blocked_until <= {now} \
         AND (throttle.window_ends <= {now} OR throttle.failures < {limit}) \
         RETURNING failures"
    )
}

/// A failed attempt: the wait its count earns, from the next whole second (times are whole
/// seconds: a 1 s delay is never a few milliseconds), never shortening a running one.
fn penalize_sql(backend: DbBackend, rule: &Rule, at: OffsetDateTime) -> String {
    let now = ts(at);
    let shift = i64::from(at.nanosecond() > 0);
    let secs = |d: time::Duration| match d.whole_seconds() {
        s if s > 0 => now + s + shift,
        _ => now,
    };
    let mut until = String::from("CASE throttle.failures");
    for n in 1..=rule.limit() {
        until.push_str(&format!(" WHEN {n} THEN {}", secs(rule.delay_after(n))));
    }
    until.push_str(&format!(
        " ELSE {} END",
        secs(rule.delay_after(rule.limit()))
    ));
    let key = placeholder(backend);
    format!(
        "UPDATE throttle SET \
         blocked_until = CASE WHEN throttle.blocked_until > {until} THEN throttle.blocked_until ELSE {until} END, \
         updated_at = {now} \
         WHERE throttle.key = {key} \
         RETURNING failures"
    )
}

/// The first bound parameter in `backend`'s SQL.
pub(crate) fn placeholder(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "$1",
        _ => "?",
    }
}

#[async_trait]
impl CounterStore for Store {
    async fn reserve(
        &self,
        key: &str,
        rule: &Rule,
        now: OffsetDateTime,
    ) -> Result<Reservation, AccountsStoreError> {
        let backend = self.db.get_database_backend();
        let sql = reserve_sql(backend, rule, ts(now));
        let stmt = Statement::from_sql_and_values(backend, sql, [key.into()]);
        if let Some(row) = self.db.query_one(stmt).await.map_err(unavailable)? {
            let n: i32 = row.try_get("", "failures").map_err(unavailable)?;
            return Ok(Reservation::Granted(u32::try_from(n).unwrap_or(0)));
        }
        let row = throttle::Entity::find_by_id(key)
            .one(&self.db)
            .await
            .map_err(unavailable)?;
        let until = match row {
            Some(m) if m.blocked_until > ts(now) => from_ts(m.blocked_until),
            // The window's attempts are all taken, some still in flight: very soon.
            _ => now + time::Duration::seconds(1),
        };
        Ok(Reservation::Refused { until })
    }

    async fn penalize(
        &self,
        key: &str,
        rule: &Rule,
        now: OffsetDateTime,
    ) -> Result<u32, AccountsStoreError> {
        let backend = self.db.get_database_backend();
        let stmt =
            Statement::from_sql_and_values(backend, penalize_sql(backend, rule, now), [key.into()]);
        match self.db.query_one(stmt).await.map_err(unavailable)? {
            Some(row) => {
                let n: i32 = row.try_get("", "failures").map_err(unavailable)?;
                Ok(u32::try_from(n).unwrap_or(0))
            }
            None => Ok(0),
        }
    }

    async fn release(&self, key: &str) -> Result<(), AccountsStoreError> {
        throttle::Entity::update_many()
            .col_expr(
                throttle::Column::Failures,
                Expr::col(throttle::Column::Failures).sub(1),
            )
            .filter(throttle::Column::Key.eq(key))
            .filter(throttle::Column::Failures.gt(0))
            .exec(&self.db)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn clear_counter(&self, key: &str) -> Result<(), AccountsStoreError> {
        throttle::Entity::delete_by_id(key)
            .exec(&self.db)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn peek_counter(
        &self,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<Option<(u32, OffsetDateTime)>, AccountsStoreError> {
        Ok(throttle::Entity::find_by_id(key)
            .one(&self.db)
            .await
            .map_err(unavailable)?
            .filter(|m| m.window_ends > ts(now) || m.blocked_until > ts(now))
            .map(|m| {
                (
                    u32::try_from(m.failures).unwrap_or(0),
                    from_ts(m.blocked_until),
                )
            }))
    }

    async fn purge_counters(&self, now: OffsetDateTime) -> Result<u64, AccountsStoreError> {
        Ok(throttle::Entity::delete_many()
            .filter(throttle::Column::WindowEnds.lte(ts(now)))
            .filter(throttle::Column::BlockedUntil.lte(ts(now)))
            .exec(&self.db)
            .await
            .map_err(unavailable)?
            .rows_affected)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::StoreOptions;

    /// A fresh SQLite file and, when `DATABASE_URL` names a PostgreSQL server, a fresh database
    /// on it (created from that one, dropped by [`drop_database`]): never the shared database
    /// itself, whose migrations other checkouts may have moved.
    pub(crate) async fn stores() -> Vec<(Store, Option<(String, String)>)> {
        use sea_orm::ConnectionTrait;
        let mut urls = vec![(
            format!(
                "sqlite://{}/counters-{}.db?mode=rwc",
                std::env::temp_dir().display(),
                unique()
            ),
            None,
        )];
        if let Ok(admin_url) = std::env::var("DATABASE_URL") {
            if admin_url.starts_with("postgres") {
                let name = format!("gc_store_{}", unique());
                let admin = sea_orm::Database::connect(admin_url.as_str())
                    .await
                    .unwrap();
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .unwrap();
                let (base, _) = admin_url.rsplit_once('/').unwrap();
                urls.push((format!("{base}/{name}"), Some((admin_url.clone(), name))));
            }
        }
        let mut stores = Vec::new();
        for (url, created) in urls {
            let options = StoreOptions {
                url,
                max_connections: 8,
                connect_timeout: std::time::Duration::from_secs(5),
            };
            let store = Store::connect(&options).await.unwrap();
            store.migrate().await.unwrap();
            stores.push((store, created));
        }
        stores
    }

    /// Drops a database [`stores`] created, its connections closed first.
    pub(crate) async fn drop_database(store: Store, created: Option<(String, String)>) {
        use sea_orm::ConnectionTrait;
        drop(store);
        if let Some((admin_url, name)) = created {
            let admin = sea_orm::Database::connect(admin_url.as_str())
                .await
                .unwrap();
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await
                .unwrap();
        }
    }

    fn unique() -> u128 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    }

    fn rule() -> Rule {
        Rule {
            window: time::Duration::minutes(15),
            delays: vec![
                time::Duration::ZERO,
                time::Duration::ZERO,
                time::Duration::seconds(5),
                time::Duration::minutes(15),
            ],
        }
    }

    #[tokio::test]
    async fn a_burst_gets_no_more_attempts_than_the_rule_allows() {
        for (store, created) in stores().await {
            let now = OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap();
            let key = format!("burst:{}", unique());
            let rule = rule();
            let mut burst = tokio::task::JoinSet::new();
            for _ in 0..40 {
                let (store, key, rule) = (store.clone(), key.clone(), rule.clone());
                burst.spawn(async move { store.reserve(&key, &rule, now).await });
            }
            let answers: Vec<_> = burst.join_all().await;
            let granted = answers
                .iter()
                .filter(|a| matches!(a, Ok(Reservation::Granted(_))))
                .count();
            assert_eq!(
                granted, 4,
                "the window's limit, however many at once: {answers:?}"
            );

            // Failures earn waits; right attempts in flight do not.
            let key = format!("seq:{}", unique());
            for n in 1..=3 {
                assert_eq!(
                    store.reserve(&key, &rule, now).await.unwrap(),
                    Reservation::Granted(n)
                );
                assert_eq!(store.penalize(&key, &rule, now).await.unwrap(), n);
            }
            let held = store.reserve(&key, &rule, now).await.unwrap();
            assert_eq!(
                held,
                Reservation::Refused {
                    until: now + time::Duration::seconds(5)
                },
                "the third failure's wait"
            );
            let later = now + time::Duration::seconds(5);
            assert_eq!(
                store.reserve(&key, &rule, later).await.unwrap(),
                Reservation::Granted(4)
            );
            store.penalize(&key, &rule, later).await.unwrap();
            let locked = store
                .reserve(&key, &rule, later + time::Duration::minutes(1))
                .await
                .unwrap();
            assert_eq!(
                locked,
                Reservation::Refused {
                    until: later + time::Duration::minutes(15)
                }
            );
            // A new window starts afresh; release gives an attempt back; purge forgets it.
            let next = now + time::Duration::minutes(40);
            assert_eq!(
                store.reserve(&key, &rule, next).await.unwrap(),
                Reservation::Granted(1)
            );
            store.release(&key).await.unwrap();
            for n in 1..=2 {
                assert_eq!(
                    store.reserve(&key, &rule, next).await.unwrap(),
                    Reservation::Granted(n)
                );
            }
            let purged = store
                .purge_counters(next + time::Duration::hours(1))
                .await
                .unwrap();
            assert!(purged >= 1);
            drop_database(store, created).await;
        }
    }

    /// Migration m0011: audit rows an older version wrote with a typed client number that names
    /// no account lose it; known numbers stay; old throttle counters go.
    #[tokio::test]
    async fn the_upgrade_scrubs_what_older_versions_kept_of_typed_identifiers() {
        use gan_migration::{Migrator, MigratorTrait};
        use sea_orm::ConnectionTrait;
        let url = format!(
            "sqlite://{}/scrub-{}.db?mode=rwc",
            std::env::temp_dir().display(),
            unique()
        );
        let store = Store::connect(&crate::StoreOptions {
            url,
            max_connections: 2,
            connect_timeout: std::time::Duration::from_secs(5),
        })
        .await
        .unwrap();
        // Every migration before the scrub (m0011), as an older version left the database.
        let before = Migrator::migrations()
            .iter()
            .position(|m| m.name() == "m0011_scrub_typed_identifiers")
            .unwrap() as u32;
        Migrator::up(store.db.pool(), Some(before)).await.unwrap();
        let db = store.db.pool();
        for sql in [
            "INSERT INTO customer_account (client_number, kind, label, contact_email, status, created_at, updated_at) VALUES ('10000001', 'personal', 'J', 'j@example.fr', 'legacy', 0, 0)",
            "INSERT INTO audit_event (id, at, event_type, outcome, actor_kind, client_number, detail) VALUES ('a', 0, 'signin.failed', 'failure', 'anonymous', 'TR0UB4DOR2024', '{}')",
            "INSERT INTO audit_event (id, at, event_type, outcome, actor_kind, client_number, detail) VALUES ('b', 0, 'signin.failed', 'failure', 'anonymous', '10000001', '{}')",
            "INSERT INTO audit_event (id, at, event_type, outcome, actor_kind, client_number, detail) VALUES ('c', 0, 'upgrade.completed', 'success', 'anonymous', 'GONE0001', '{}')",
            "INSERT INTO throttle (key, failures, blocked_until, updated_at, window_ends) VALUES ('signin:plain', 3, 0, 0, 0)",
        ] {
            db.execute_unprepared(sql).await.unwrap();
        }
        Migrator::up(db, None).await.unwrap();
        let numbers: Vec<(String, Option<String>)> = db
            .query_all(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT id, client_number FROM audit_event ORDER BY id",
            ))
            .await
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r.try_get("", "id").unwrap(),
                    r.try_get("", "client_number").unwrap(),
                )
            })
            .collect();
        assert_eq!(
            numbers,
            vec![
                ("a".to_string(), None),
                ("b".to_string(), Some("10000001".to_string())),
                ("c".to_string(), Some("GONE0001".to_string())),
            ]
        );
        let left = db
            .query_one(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT COUNT(*) AS n FROM throttle",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(left.try_get::<i64>("", "n").unwrap(), 0);
    }
}
