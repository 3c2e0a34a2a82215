//! The customer's name as the legacy base holds it (optional import columns `given_name`,
//! `family_name`), released by scope `profile` (OIDC Core §5.1).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one column at a time.
        for column in [CustomerAccount::GivenName, CustomerAccount::FamilyName] {
            m.alter_table(
                Table::alter()
                    .table(CustomerAccount::Table)
                    .add_column(ColumnDef::new(column).string_len(255).null())
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in [CustomerAccount::GivenName, CustomerAccount::FamilyName] {
            m.alter_table(
                Table::alter()
                    .table(CustomerAccount::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum CustomerAccount {
    Table,
    GivenName,
    FamilyName,
}
