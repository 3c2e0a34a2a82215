//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0): where a client is told that a
//! session ended, and the notices waiting for delivery (no token stored: each attempt signs a
//! fresh one).

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
                    ColumnDef::new(Client::BackchannelLogoutUri)
                        .string_len(2048)
                        .null(),
                )
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Client::Table)
                .add_column(
                    ColumnDef::new(Client::BackchannelLogoutSessionRequired)
                        .boolean()
                        .not_null()
                        .default(false),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(LogoutNotice::Table)
                .col(
                    ColumnDef::new(LogoutNotice::Id)
                        .string_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(LogoutNotice::ClientId)
                        .string_len(255)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(LogoutNotice::IdentityId)
                        .string_len(128)
                        .not_null(),
                )
                .col(ColumnDef::new(LogoutNotice::Sid).string_len(255).null())
                .col(
                    ColumnDef::new(LogoutNotice::Status)
                        .string_len(16)
                        .not_null(),
                )
                .col(ColumnDef::new(LogoutNotice::Attempts).integer().not_null())
                .col(
                    ColumnDef::new(LogoutNotice::NextAttemptAt)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(LogoutNotice::Claim).string_len(64).null())
                .col(ColumnDef::new(LogoutNotice::LastError).text().null())
                .col(
                    ColumnDef::new(LogoutNotice::CreatedAt)
                        .big_integer()
                        .not_null(),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_logout_notice_due")
                .table(LogoutNotice::Table)
                .col(LogoutNotice::Status)
                .col(LogoutNotice::NextAttemptAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(LogoutNotice::Table).to_owned())
            .await?;
        for column in [
            Client::BackchannelLogoutUri,
            Client::BackchannelLogoutSessionRequired,
        ] {
            m.alter_table(
                Table::alter()
                    .table(Client::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Client {
    Table,
    BackchannelLogoutUri,
    BackchannelLogoutSessionRequired,
}

#[derive(DeriveIden)]
enum LogoutNotice {
    Table,
    Id,
    ClientId,
    IdentityId,
    Sid,
    Status,
    Attempts,
    NextAttemptAt,
    Claim,
    LastError,
    CreatedAt,
}
