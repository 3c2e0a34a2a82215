//! Customer accounts (imported with legacy credentials), their attachment to identities,
//! one-time links, the mail queue, and sign-in throttling.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(CustomerAccount::Table)
                .col(
                    ColumnDef::new(CustomerAccount::ClientNumber)
                        .string_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(CustomerAccount::Kind)
                        .string_len(16)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(CustomerAccount::Label)
                        .string_len(255)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(CustomerAccount::ContactEmail)
                        .string_len(255)
                        .not_null(),
                )
                .col(ColumnDef::new(CustomerAccount::LegacyHash).text().null())
                .col(
                    ColumnDef::new(CustomerAccount::Status)
                        .string_len(16)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(CustomerAccount::CreatedAt)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(CustomerAccount::UpdatedAt)
                        .big_integer()
                        .not_null(),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_customer_contact_email")
                .table(CustomerAccount::Table)
                .col(CustomerAccount::ContactEmail)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(IdentityAccount::Table)
                .col(
                    ColumnDef::new(IdentityAccount::ClientNumber)
                        .string_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(IdentityAccount::IdentityId)
                        .string_len(128)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(IdentityAccount::AttachedAt)
                        .big_integer()
                        .not_null(),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_identity_account_identity")
                .table(IdentityAccount::Table)
                .col(IdentityAccount::IdentityId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(OneTimeLink::Table)
                .col(
                    ColumnDef::new(OneTimeLink::TokenHash)
                        .string_len(128)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(OneTimeLink::Purpose)
                        .string_len(32)
                        .not_null(),
                )
                .col(ColumnDef::new(OneTimeLink::Data).text().not_null())
                .col(
                    ColumnDef::new(OneTimeLink::CreatedAt)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(OneTimeLink::ExpiresAt)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(OneTimeLink::UsedAt).big_integer().null())
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(MailQueue::Table)
                .col(
                    ColumnDef::new(MailQueue::Id)
                        .string_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(MailQueue::Recipient)
                        .string_len(255)
                        .not_null(),
                )
                .col(ColumnDef::new(MailQueue::Subject).text().not_null())
                .col(ColumnDef::new(MailQueue::BodyText).text().not_null())
                .col(ColumnDef::new(MailQueue::BodyHtml).text().not_null())
                .col(ColumnDef::new(MailQueue::Status).string_len(16).not_null())
                .col(ColumnDef::new(MailQueue::Attempts).integer().not_null())
                .col(
                    ColumnDef::new(MailQueue::NextAttemptAt)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(MailQueue::LastError).text().null())
                .col(
                    ColumnDef::new(MailQueue::CreatedAt)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(MailQueue::SentAt).big_integer().null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_mail_queue_due")
                .table(MailQueue::Table)
                .col(MailQueue::Status)
                .col(MailQueue::NextAttemptAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Throttle::Table)
                .col(
                    ColumnDef::new(Throttle::Key)
                        .string_len(255)
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(Throttle::Failures).integer().not_null())
                .col(
                    ColumnDef::new(Throttle::BlockedUntil)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(Throttle::UpdatedAt).big_integer().not_null())
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            Throttle::Table.into_iden(),
            MailQueue::Table.into_iden(),
            OneTimeLink::Table.into_iden(),
            IdentityAccount::Table.into_iden(),
            CustomerAccount::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum CustomerAccount {
    Table,
    ClientNumber,
    Kind,
    Label,
    ContactEmail,
    LegacyHash,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum IdentityAccount {
    Table,
    ClientNumber,
    IdentityId,
    AttachedAt,
}

#[derive(DeriveIden)]
enum OneTimeLink {
    Table,
    TokenHash,
    Purpose,
    Data,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum MailQueue {
    Table,
    Id,
    Recipient,
    Subject,
    BodyText,
    BodyHtml,
    Status,
    Attempts,
    NextAttemptAt,
    LastError,
    CreatedAt,
    SentAt,
}

#[derive(DeriveIden)]
enum Throttle {
    Table,
    Key,
    Failures,
    BlockedUntil,
    UpdatedAt,
}
