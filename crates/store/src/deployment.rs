//! What a database is: how far its schema is migrated, and whether `serve --demo` set it up.

use std::collections::HashSet;

use gan_migration::{Migrator, MigratorTrait, SchemaManager};
use sea_orm::sea_query::{Alias, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, Set};
use time::OffsetDateTime;

use crate::convert::ts;
use crate::entity::{client, customer_account, demo_marker, identity};
use crate::Store;

/// Where a database's schema stands against the migrations of this build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schema {
    /// No Gan Connect schema: a new database.
    Missing,
    /// Some migrations of this build are not applied (their names).
    Outdated(Vec<String>),
    /// Every migration of this build is applied.
    Current,
}

/// The migrator's table of applied migrations.
const MIGRATIONS_TABLE: &str = "seaql_migrations";

impl Store {
    /// Where the schema stands, found by reading only (the migrator's own status query creates
    /// its table first).
    pub async fn schema(&self) -> Result<Schema, DbErr> {
        if !SchemaManager::new(self.db.pool())
            .has_table(MIGRATIONS_TABLE)
            .await?
        {
            return Ok(Schema::Missing);
        }
        let query = Query::select()
            .column(Alias::new("version"))
            .from(Alias::new(MIGRATIONS_TABLE))
            .to_owned();
        let backend = self.db.get_database_backend();
        let applied: HashSet<String> = self
            .db
            .query_all(backend.build(&query))
            .await?
            .iter()
            .filter_map(|row| row.try_get::<String>("", "version").ok())
            .collect();
        let pending: Vec<String> = Migrator::migrations()
            .iter()
            .map(|m| m.name().to_string())
            .filter(|name| !applied.contains(name))
            .collect();
        Ok(if pending.is_empty() {
            Schema::Current
        } else if applied.is_empty() {
            Schema::Missing
        } else {
            Schema::Outdated(pending)
        })
    }

    /// Did `serve --demo` set this (migrated) database up?
    pub async fn is_demo(&self) -> Result<bool, DbErr> {
        Ok(demo_marker::Entity::find().count(&self.db).await? > 0)
    }

    /// Marks this (migrated) database as a demo database; idempotent.
    pub async fn mark_demo(&self, now: OffsetDateTime) -> Result<(), DbErr> {
        let row = demo_marker::ActiveModel {
            id: Set(1),
            marked_at: Set(ts(now)),
        };
        demo_marker::Entity::insert(row)
            .on_conflict(
                OnConflict::column(demo_marker::Column::Id)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await?;
        Ok(())
    }

    /// Does this (migrated) database hold a relying party, an identity or a customer account?
    pub async fn holds_data(&self) -> Result<bool, DbErr> {
        Ok(client::Entity::find().count(&self.db).await? > 0
            || identity::Entity::find().count(&self.db).await? > 0
            || customer_account::Entity::find().count(&self.db).await? > 0)
    }
}
