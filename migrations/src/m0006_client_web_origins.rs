//! Browser origins a client allows beyond those of its redirect URIs, for CORS at the token,
//! userinfo and revocation endpoints (a JSON array; empty by default).

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
                    ColumnDef::new(Client::WebOrigins)
                        .text()
                        .not_null()
                        .default("[]"),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Client::Table)
                .drop_column(Client::WebOrigins)
                .to_owned(),
        )
        .await
    }
}

#[derive(DeriveIden)]
enum Client {
    Table,
    WebOrigins,
}
