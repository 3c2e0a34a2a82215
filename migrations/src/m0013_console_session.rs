//! Sessions of the support console: a staff member signed in through the console's own client,
//! with when their second factor was checked. The cookie's value is never stored, only its
//! hash; the browser session (`sid`) the sign-in came from must stay live for the console
//! session to be, so a credential change or a disabled member ends it at once.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ConsoleSession::Table)
                .col(
                    ColumnDef::new(ConsoleSession::IdHash)
                        .string_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(ConsoleSession::IdentityId)
                        .string_len(128)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ConsoleSession::Sid)
                        .string_len(64)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ConsoleSession::CreatedAt)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ConsoleSession::LastSeenAt)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ConsoleSession::ExpiresAt)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ConsoleSession::SecondFactorAt)
                        .big_integer()
                        .null(),
                )
                .col(ColumnDef::new(ConsoleSession::EndedAt).big_integer().null())
                .foreign_key(
                    ForeignKey::create()
                        .from(ConsoleSession::Table, ConsoleSession::IdentityId)
                        .to(Identity::Table, Identity::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_console_session_sid")
                .table(ConsoleSession::Table)
                .col(ConsoleSession::Sid)
                .to_owned(),
        )
        .await?;
        // The last TOTP time step accepted: a code works once.
        m.alter_table(
            Table::alter()
                .table(StaffMember::Table)
                .add_column(
                    ColumnDef::new(StaffMember::TotpLastStep)
                        .big_integer()
                        .null(),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(StaffMember::Table)
                .drop_column(StaffMember::TotpLastStep)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(ConsoleSession::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ConsoleSession {
    Table,
    IdHash,
    IdentityId,
    Sid,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
    SecondFactorAt,
    EndedAt,
}

#[derive(DeriveIden)]
enum StaffMember {
    Table,
    TotpLastStep,
}

#[derive(DeriveIden)]
enum Identity {
    Table,
    Id,
}
