//! What administration needs beyond the engines' ports: customer search, locks, detaching,
//! activations in progress, and bulk revocation.

use async_trait::async_trait;
use gan_accounts::customer::AccountStatus;
use gan_accounts::links::{LinkPurpose, LinkRecord};
use gan_accounts::IdentityStatus;
use gan_admin::{
    AdminStore, CustomerRow, CustomerSearch, MigrationCounts, StaffRecord, StaffRole, StuckCustomer,
};
use gan_oidc::ports::StoreResult;
use sea_orm::sea_query::{Expr, Func, Query};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use time::OffsetDateTime;

use crate::convert::{db_err, from_ts, ts};
use crate::entity::{
    client, consent, customer_account, identity, identity_account, one_time_link, staff_member,
    token,
};
use crate::Store;

/// `LIKE` pattern for a substring, with the wildcards of the input escaped.
fn contains_pattern(q: &str) -> String {
    let escaped: String = q
        .to_lowercase()
        .chars()
        .flat_map(|c| {
            if matches!(c, '%' | '_' | '\\') {
                vec!['\\', c]
            } else {
                vec![c]
            }
        })
        .collect();
    format!("%{escaped}%")
}

const UPGRADE_LINKS: [LinkPurpose; 2] = [LinkPurpose::VerifyEmail, LinkPurpose::UpgradeSession];

#[async_trait]
impl AdminStore for Store {
    async fn search_customers(&self, s: &CustomerSearch) -> StoreResult<Vec<CustomerRow>> {
        use customer_account::Column as C;
        let mut any = Condition::any();
        if s.q.contains('@') {
            let owners = Query::select()
                .column(identity_account::Column::ClientNumber)
                .from(identity_account::Entity)
                .inner_join(
                    identity::Entity,
                    Expr::col((identity::Entity, identity::Column::Id)).equals((
                        identity_account::Entity,
                        identity_account::Column::IdentityId,
                    )),
                )
                .and_where(
                    Expr::col((identity::Entity, identity::Column::LoginEmail)).eq(s.q.as_str()),
                )
                .to_owned();
            any = any
                .add(C::ContactEmail.eq(s.q.as_str()))
                .add(C::ClientNumber.in_subquery(owners));
        } else {
            let number: String =
                s.q.chars()
                    .filter(|c| *c != ' ')
                    .collect::<String>()
                    .to_uppercase();
            let label = Expr::expr(Func::lower(Expr::col((customer_account::Entity, C::Label))))
                .like(sea_orm::sea_query::LikeExpr::new(contains_pattern(&s.q)).escape('\\'));
            any = any.add(C::ClientNumber.eq(number)).add(label);
        }
        let mut q = customer_account::Entity::find().filter(any);
        if let Some(after) = &s.after {
            q = q.filter(C::ClientNumber.gt(after.as_str()));
        }
        let accounts = q
            .order_by_asc(C::ClientNumber)
            .limit(s.limit + 1)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        let numbers: Vec<String> = accounts.iter().map(|a| a.client_number.clone()).collect();
        let links = identity_account::Entity::find()
            .filter(identity_account::Column::ClientNumber.is_in(numbers))
            .all(&self.db)
            .await
            .map_err(db_err)?;
        let ids: Vec<String> = links.iter().map(|l| l.identity_id.clone()).collect();
        let identities = identity::Entity::find()
            .filter(identity::Column::Id.is_in(ids))
            .all(&self.db)
            .await
            .map_err(db_err)?;
        Ok(accounts
            .into_iter()
            .map(|m| {
                let identity_id = links
                    .iter()
                    .find(|l| l.client_number == m.client_number)
                    .map(|l| l.identity_id.clone());
                let login_email = identity_id
                    .as_ref()
                    .and_then(|id| identities.iter().find(|i| &i.id == id))
                    .map(|i| i.login_email.clone());
                CustomerRow {
                    account: crate::customers::to_customer(m),
                    identity_id,
                    login_email,
                }
            })
            .collect())
    }

    async fn set_identity_status(
        &self,
        identity_id: &str,
        status: IdentityStatus,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let r = identity::Entity::update_many()
            .col_expr(identity::Column::Status, Expr::value(status.as_str()))
            .col_expr(identity::Column::UpdatedAt, Expr::value(ts(now)))
            .filter(identity::Column::Id.eq(identity_id))
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(r.rows_affected == 1)
    }

    async fn revoke_client_tokens(&self, client_id: &str, now: OffsetDateTime) -> StoreResult<u64> {
        revoke_where(self, token::Column::ClientId.eq(client_id), now).await
    }

    async fn delete_client(&self, client_id: &str) -> StoreResult<bool> {
        let txn = self.db.begin().await.map_err(db_err)?;
        token::Entity::delete_many()
            .filter(token::Column::ClientId.eq(client_id))
            .exec(&txn)
            .await
            .map_err(db_err)?;
        consent::Entity::delete_many()
            .filter(consent::Column::ClientId.eq(client_id))
            .exec(&txn)
            .await
            .map_err(db_err)?;
        let r = client::Entity::delete_by_id(client_id)
            .exec(&txn)
            .await
            .map_err(db_err)?;
        txn.commit().await.map_err(db_err)?;
        Ok(r.rows_affected == 1)
    }

    async fn detach_account(
        &self,
        client_number: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<String>> {
        let txn = self.db.begin().await.map_err(db_err)?;
        let Some(link) = identity_account::Entity::find_by_id(client_number)
            .one(&txn)
            .await
            .map_err(db_err)?
        else {
            return Ok(None);
        };
        identity_account::Entity::delete_by_id(client_number)
            .exec(&txn)
            .await
            .map_err(db_err)?;
        customer_account::Entity::update_many()
            .col_expr(
                customer_account::Column::Status,
                Expr::value(AccountStatus::Legacy.as_str()),
            )
            .col_expr(customer_account::Column::UpdatedAt, Expr::value(ts(now)))
            .filter(customer_account::Column::ClientNumber.eq(client_number))
            .exec(&txn)
            .await
            .map_err(db_err)?;
        txn.commit().await.map_err(db_err)?;
        Ok(Some(link.identity_id))
    }

    async fn pending_activation(&self, client_number: &str) -> StoreResult<Option<LinkRecord>> {
        let row = one_time_link::Entity::find()
            .filter(one_time_link::Column::ClientNumber.eq(client_number))
            .filter(one_time_link::Column::Purpose.eq(LinkPurpose::VerifyEmail.as_str()))
            .filter(one_time_link::Column::UsedAt.is_null())
            .order_by_desc(one_time_link::Column::CreatedAt)
            .one(&self.db)
            .await
            .map_err(db_err)?;
        Ok(row.and_then(|m| {
            Some(LinkRecord {
                token_hash: m.token_hash,
                purpose: LinkPurpose::VerifyEmail,
                data: serde_json::from_str(&m.data).ok()?,
                created_at: from_ts(m.created_at),
                expires_at: from_ts(m.expires_at),
                used_at: None,
            })
        }))
    }

    async fn cancel_activation(
        &self,
        client_number: &str,
        now: OffsetDateTime,
    ) -> StoreResult<u64> {
        use gan_accounts::ports::LinkStore;
        self.cancel_account_links(client_number, &UPGRADE_LINKS, now)
            .await
            .map_err(|e| gan_oidc::error::StoreError::Unavailable(e.to_string()))
    }

    async fn migration_counts(
        &self,
        since: OffsetDateTime,
        stuck_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<MigrationCounts> {
        use sea_orm::{ConnectionTrait, Statement};
        let backend = self.db.get_database_backend();
        // Every value below is an integer computed here or a constant: written into the SQL,
        // which then reads the same on SQLite and PostgreSQL.
        let (since, stuck_before, now) = (ts(since), ts(stuck_before), ts(now));
        let verify = LinkPurpose::VerifyEmail.as_str();
        let rows = |sql: String| async move {
            self.db
                .query_all(Statement::from_string(backend, sql))
                .await
                .map_err(db_err)
        };
        let int = |row: &sea_orm::QueryResult, column: &str| -> StoreResult<i64> {
            row.try_get::<i64>("", column).map_err(db_err)
        };
        let count = |row: &sea_orm::QueryResult| -> StoreResult<u64> {
            Ok(u64::try_from(int(row, "n")?).unwrap_or(0))
        };
        let single = |rows: Vec<sea_orm::QueryResult>| -> StoreResult<u64> {
            rows.first().map_or(Ok(0), count)
        };
        let mut counts = MigrationCounts::default();
        for row in rows("SELECT status, COUNT(*) AS n FROM customer_account GROUP BY status".into())
            .await?
        {
            let status: String = row.try_get("", "status").map_err(db_err)?;
            if status == AccountStatus::Upgraded.as_str() {
                counts.upgraded = count(&row)?;
            } else if status == AccountStatus::Legacy.as_str() {
                counts.legacy = count(&row)?;
            }
        }
        counts.activation_pending = single(
            rows(format!(
                "SELECT COUNT(DISTINCT l.client_number) AS n FROM one_time_link l \
                 JOIN customer_account c ON c.client_number = l.client_number \
                 WHERE l.purpose = '{verify}' AND c.status = 'legacy' AND l.used_at IS NULL \
                 AND l.expires_at > {now}"
            ))
            .await?,
        )?;
        counts.stuck = single(
            rows(format!(
                "SELECT COUNT(*) AS n FROM ({}) stuck",
                stuck_sql(stuck_before, "")
            ))
            .await?,
        )?;
        use gan_audit::EventType;
        let (completed, chosen) = (
            EventType::UpgradeCompleted.as_str(),
            EventType::UpgradeEmailChosen.as_str(),
        );
        let opened = EventType::UpgradeLinkOpened.as_str();
        let started = EventType::UpgradeStarted.as_str();
        // One count a step; "opened" counts those who completed too (completing needs the link).
        let steps: [&[&str]; 4] = [&[started], &[chosen], &[opened, completed], &[completed]];
        for (step, types) in steps.iter().enumerate() {
            let list = types
                .iter()
                .map(|t| format!("'{t}'"))
                .collect::<Vec<_>>()
                .join(", ");
            counts.funnel[step] = single(
                rows(format!(
                    "SELECT COUNT(DISTINCT client_number) AS n FROM audit_event \
                     WHERE at >= {since} AND outcome = 'success' AND event_type IN ({list})"
                ))
                .await?,
            )?;
        }
        let mut per_day: Vec<(i64, u64, u64)> = Vec::new();
        for row in rows(format!(
            "SELECT at / 86400 AS day, event_type, COUNT(*) AS n FROM audit_event \
             WHERE at >= {since} AND ((event_type = '{completed}' AND outcome = 'success') \
             OR (event_type = '{chosen}' AND outcome = 'failure')) \
             GROUP BY at / 86400, event_type ORDER BY day"
        ))
        .await?
        {
            let day = int(&row, "day")?;
            let event: String = row.try_get("", "event_type").map_err(db_err)?;
            let n = count(&row)?;
            let at = match per_day.iter().position(|(d, _, _)| *d == day) {
                Some(i) => i,
                None => {
                    per_day.push((day, 0, 0));
                    per_day.len() - 1
                }
            };
            if event == completed {
                per_day[at].1 = n;
            } else {
                per_day[at].2 = n;
            }
        }
        counts.per_day = per_day;
        Ok(counts)
    }

    async fn insert_staff(&self, member: &StaffRecord) -> StoreResult<bool> {
        use sea_orm::ActiveValue::Set;
        let row = staff_member::ActiveModel {
            identity_id: Set(member.identity_id.clone()),
            role: Set(member.role.as_str().to_string()),
            status: Set(if member.active { "active" } else { "disabled" }.to_string()),
            totp_secret: Set(None),
            totp_enabled_at: Set(member.totp_enabled_at.map(ts)),
            recovery_codes: Set("[]".to_string()),
            created_at: Set(ts(member.created_at)),
            created_by: Set(member.created_by.clone()),
            disabled_at: Set(member.disabled_at.map(ts)),
            totp_last_step: Set(None),
        };
        let inserted = staff_member::Entity::insert(row)
            .on_conflict(
                sea_orm::sea_query::OnConflict::column(staff_member::Column::IdentityId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await
            .map_err(db_err)?;
        Ok(inserted == 1)
    }

    async fn list_staff(&self) -> StoreResult<Vec<(StaffRecord, String)>> {
        let rows = staff_member::Entity::find()
            .all(&self.db)
            .await
            .map_err(db_err)?;
        let ids: Vec<String> = rows.iter().map(|r| r.identity_id.clone()).collect();
        let identities = identity::Entity::find()
            .filter(identity::Column::Id.is_in(ids))
            .all(&self.db)
            .await
            .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let email = identities
                    .iter()
                    .find(|i| i.id == r.identity_id)?
                    .login_email
                    .clone();
                Some((staff_of(r)?, email))
            })
            .collect())
    }

    async fn find_staff(&self, identity_id: &str) -> StoreResult<Option<StaffRecord>> {
        Ok(staff_member::Entity::find_by_id(identity_id)
            .one(&self.db)
            .await
            .map_err(db_err)?
            .and_then(staff_of))
    }

    async fn disable_staff(&self, identity_id: &str, now: OffsetDateTime) -> StoreResult<bool> {
        let r = staff_member::Entity::update_many()
            .col_expr(staff_member::Column::Status, Expr::value("disabled"))
            .col_expr(staff_member::Column::DisabledAt, Expr::value(ts(now)))
            .filter(staff_member::Column::IdentityId.eq(identity_id))
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(r.rows_affected > 0)
    }

    async fn stuck_customers(
        &self,
        stuck_before: OffsetDateTime,
        after: Option<&str>,
        limit: Option<u64>,
    ) -> StoreResult<Vec<StuckCustomer>> {
        use sea_orm::{ConnectionTrait, Statement};
        let backend = self.db.get_database_backend();
        // The cursor is bound; the other values are integers and constants written here.
        let (after_sql, values) = match after {
            Some(after) => (
                format!(
                    "AND a.client_number > {}",
                    crate::customers::placeholder(backend)
                ),
                vec![sea_orm::Value::from(after.to_string())],
            ),
            None => (String::new(), Vec::new()),
        };
        let limit = limit.map_or(String::new(), |n| format!(" LIMIT {}", n + 1));
        let sql = format!(
            "SELECT c.client_number, c.kind, c.label, c.contact_email, c.given_name, \
             c.family_name, s.sent_at FROM ({}) s \
             JOIN customer_account c ON c.client_number = s.client_number \
             ORDER BY c.client_number{limit}",
            stuck_sql(ts(stuck_before), &after_sql)
        );
        let rows = self
            .db
            .query_all(Statement::from_sql_and_values(backend, sql, values))
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|row| {
                let text = |c: &str| row.try_get::<String>("", c).map_err(db_err);
                let maybe = |c: &str| row.try_get::<Option<String>>("", c).map_err(db_err);
                Ok(StuckCustomer {
                    client_number: text("client_number")?,
                    kind: text("kind")?,
                    label: text("label")?,
                    contact_email: text("contact_email")?,
                    given_name: maybe("given_name")?,
                    family_name: maybe("family_name")?,
                    activation_sent_at: from_ts(row.try_get::<i64>("", "sent_at").map_err(db_err)?),
                })
            })
            .collect()
    }
}

/// The client numbers (with `sent_at`) of the legacy accounts whose last activation (a login
/// email chosen, or a link resent) was sent before `stuck_before`, not cancelled since and not
/// completed since: from the audit trail, which keeps what the purged links no longer say.
/// `and` adds a condition on `a.client_number`.
fn stuck_sql(stuck_before: i64, and: &str) -> String {
    use gan_audit::EventType;
    let sent = format!(
        "(a.event_type IN ('{}', '{}') AND a.outcome = 'success')",
        EventType::UpgradeEmailChosen.as_str(),
        EventType::ActivationResent.as_str()
    );
    let ended = format!(
        "a.event_type IN ('{}', '{}')",
        EventType::ActivationCancelled.as_str(),
        EventType::UpgradeCompleted.as_str()
    );
    format!(
        "SELECT a.client_number, MAX(CASE WHEN {sent} THEN a.at END) AS sent_at \
         FROM audit_event a JOIN customer_account c ON c.client_number = a.client_number \
         WHERE c.status = 'legacy' AND ({sent} OR {ended}) {and} \
         GROUP BY a.client_number \
         HAVING MAX(CASE WHEN {sent} THEN a.at END) < {stuck_before} \
         AND (MAX(CASE WHEN {ended} THEN a.at END) IS NULL \
         OR MAX(CASE WHEN {ended} THEN a.at END) < MAX(CASE WHEN {sent} THEN a.at END))"
    )
}

/// A stored staff row; `None` (left out) when its role is not one this version knows.
fn staff_of(m: staff_member::Model) -> Option<StaffRecord> {
    Some(StaffRecord {
        identity_id: m.identity_id,
        role: StaffRole::parse(&m.role)?,
        active: m.status == "active",
        totp_enabled_at: m.totp_enabled_at.map(from_ts),
        totp_secret: m.totp_secret,
        recovery_codes: serde_json::from_str(&m.recovery_codes).unwrap_or_default(),
        created_at: from_ts(m.created_at),
        created_by: m.created_by,
        disabled_at: m.disabled_at.map(from_ts),
    })
}

async fn revoke_where(
    store: &Store,
    which: sea_orm::sea_query::SimpleExpr,
    now: OffsetDateTime,
) -> StoreResult<u64> {
    let update = token::Entity::update_many()
        .col_expr(token::Column::RevokedAt, Expr::value(ts(now)))
        .filter(which)
        .filter(token::Column::RevokedAt.is_null())
        .filter(token::Column::ExpiresAt.gt(ts(now)));
    crate::tokens::revoke_until_none(&store.db, update)
        .await
        .map_err(db_err)
}
