//! A database set up by `serve --demo` says so: it holds a demo identity and demo customers
//! whose passwords are published, so a server started without `--demo` refuses it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(DemoMarker::Table)
                .col(
                    ColumnDef::new(DemoMarker::Id)
                        .integer()
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(DemoMarker::MarkedAt)
                        .big_integer()
                        .not_null(),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(DemoMarker::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum DemoMarker {
    Table,
    Id,
    MarkedAt,
}
