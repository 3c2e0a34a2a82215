//! The form of a client's access tokens: `opaque` (the default) or `jwt` (RFC 9068).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Client::Table)
                .add_column(
                    ColumnDef::new(Client::AccessTokenFormat)
                        .string_len(16)
                        .not_null()
                        .default("opaque"),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Client::Table)
                .drop_column(Client::AccessTokenFormat)
                .to_owned(),
        )
        .await
    }
}

#[derive(DeriveIden)]
enum Client {
    Table,
    AccessTokenFormat,
}
