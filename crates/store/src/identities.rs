//! Identities: the accounts port, and the people behind user tokens (the provider's claims
//! source), each read in one statement.

use async_trait::async_trait;
use gan_accounts::ports::{AccountsStoreError, IdentityStore};
use gan_accounts::{Identity, IdentityStatus};
use gan_oidc::model::TokenRecord;
use gan_oidc::person::{HeldAccount, Person};
use gan_oidc::ports::{ClaimsSource, StoreResult, TokenStore};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter,
    QueryResult, Set, SqlErr, Statement,
};

use crate::convert::{db_err, from_ts, ts};
use crate::entity::{identity, token};
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

/// The person's columns of [`person_sql`] and [`token_and_person_sql`]: identity columns
/// (`p_`), then one attached account per row (`a_`, null when none is attached).
const PERSON_COLUMNS: &str = "i.login_email AS p_email, i.email_verified_at AS p_verified_at, \
     i.status AS p_status, i.updated_at AS p_updated_at, a.client_number AS a_client_number, \
     a.kind AS a_kind, a.label AS a_label, a.given_name AS a_given_name, \
     a.family_name AS a_family_name, a.updated_at AS a_updated_at";

/// The joins from an identity `i` to its accounts `a`.
const ACCOUNTS_JOIN: &str = "LEFT JOIN identity_account l ON l.identity_id = i.id \
     LEFT JOIN customer_account a ON a.client_number = l.client_number";

/// One identity and its accounts, one row per account, by client number.
fn person_sql(backend: DbBackend) -> String {
    let key = crate::customers::placeholder(backend);
    format!(
        "SELECT {PERSON_COLUMNS} FROM identity i {ACCOUNTS_JOIN} WHERE i.id = {key} \
         ORDER BY a.client_number"
    )
}

/// One token, its identity and the identity's accounts, one row per account.
fn token_and_person_sql(backend: DbBackend) -> String {
    let key = crate::customers::placeholder(backend);
    format!(
        "SELECT t.*, {PERSON_COLUMNS} FROM token t LEFT JOIN identity i ON i.id = t.identity_id \
         {ACCOUNTS_JOIN} WHERE t.token_hash = {key} ORDER BY a.client_number"
    )
}

/// The person of rows read by [`person_sql`] or [`token_and_person_sql`]: `None` when there is
/// no identity, or it may not sign in.
fn person_of(rows: &[QueryResult]) -> Result<Option<Person>, sea_orm::DbErr> {
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let status: Option<String> = first.try_get("", "p_status")?;
    if status.as_deref() != Some(IdentityStatus::Active.as_str()) {
        return Ok(None);
    }
    let verified_at: Option<i64> = first.try_get("", "p_verified_at")?;
    let mut accounts = Vec::new();
    for row in rows {
        let Some(client_number) = row.try_get::<Option<String>>("", "a_client_number")? else {
            continue;
        };
        accounts.push(HeldAccount {
            client_number,
            kind: row.try_get("", "a_kind")?,
            label: row.try_get("", "a_label")?,
            given_name: row.try_get("", "a_given_name")?,
            family_name: row.try_get("", "a_family_name")?,
            updated_at: row.try_get("", "a_updated_at")?,
        });
    }
    Ok(Some(Person {
        email: first.try_get("", "p_email")?,
        email_verified: verified_at.is_some(),
        updated_at: first.try_get("", "p_updated_at")?,
        accounts,
    }))
}

#[async_trait]
impl ClaimsSource for Store {
    async fn person(&self, identity_id: &str) -> StoreResult<Option<Person>> {
        let backend = self.db.get_database_backend();
        let stmt =
            Statement::from_sql_and_values(backend, person_sql(backend), [identity_id.into()]);
        let rows = self.db.query_all(stmt).await.map_err(db_err)?;
        person_of(&rows).map_err(db_err)
    }

    /// One statement: the token joined to its identity and the identity's accounts.
    async fn token_and_person(
        &self,
        token_hash: &str,
        _tokens: &dyn TokenStore,
    ) -> StoreResult<Option<(TokenRecord, Option<Person>)>> {
        let backend = self.db.get_database_backend();
        let stmt = Statement::from_sql_and_values(
            backend,
            token_and_person_sql(backend),
            [token_hash.into()],
        );
        let rows = self.db.query_all(stmt).await.map_err(db_err)?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let token = token::Model::from_query_result(first, "").map_err(db_err)?;
        let token = crate::tokens::token_record(token)?;
        Ok(Some((token, person_of(&rows).map_err(db_err)?)))
    }
}
