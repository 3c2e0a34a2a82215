//! Staff of the support console: help-desk agents (`support`) and administrators (`admin`), each
//! an identity of Gan Connect with a role, a status, and (once enrolled) a TOTP second factor
//! and the hashes of their recovery codes.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(StaffMember::Table)
                .col(
                    ColumnDef::new(StaffMember::IdentityId)
                        .string_len(128)
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(StaffMember::Role).string_len(16).not_null())
                .col(
                    ColumnDef::new(StaffMember::Status)
                        .string_len(16)
                        .not_null(),
                )
                .col(ColumnDef::new(StaffMember::TotpSecret).text().null())
                .col(
                    ColumnDef::new(StaffMember::TotpEnabledAt)
                        .big_integer()
                        .null(),
                )
                .col(
                    ColumnDef::new(StaffMember::RecoveryCodes)
                        .text()
                        .not_null()
                        .default("[]"),
                )
                .col(
                    ColumnDef::new(StaffMember::CreatedAt)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(StaffMember::CreatedBy)
                        .string_len(255)
                        .not_null(),
                )
                .col(ColumnDef::new(StaffMember::DisabledAt).big_integer().null())
                .foreign_key(
                    ForeignKey::create()
                        .from(StaffMember::Table, StaffMember::IdentityId)
                        .to(Identity::Table, Identity::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(StaffMember::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum StaffMember {
    Table,
    IdentityId,
    Role,
    Status,
    TotpSecret,
    TotpEnabledAt,
    RecoveryCodes,
    CreatedAt,
    CreatedBy,
    DisabledAt,
}

#[derive(DeriveIden)]
enum Identity {
    Table,
    Id,
}
