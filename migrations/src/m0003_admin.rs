//! The admin surface: the audit trail, client secret rotation with a grace period, and the
//! client number of pending links (to find an activation in progress).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(AuditEvent::Table)
                .col(
                    ColumnDef::new(AuditEvent::Id)
                        .string_len(36)
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(AuditEvent::At).big_integer().not_null())
                .col(
                    ColumnDef::new(AuditEvent::EventType)
                        .string_len(40)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(AuditEvent::Outcome)
                        .string_len(16)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(AuditEvent::ActorKind)
                        .string_len(16)
                        .not_null(),
                )
                .col(ColumnDef::new(AuditEvent::ActorId).string_len(255).null())
                .col(
                    ColumnDef::new(AuditEvent::IdentityId)
                        .string_len(128)
                        .null(),
                )
                .col(
                    ColumnDef::new(AuditEvent::ClientNumber)
                        .string_len(64)
                        .null(),
                )
                .col(ColumnDef::new(AuditEvent::ClientId).string_len(255).null())
                .col(ColumnDef::new(AuditEvent::Ip).string_len(64).null())
                .col(
                    ColumnDef::new(AuditEvent::CorrelationId)
                        .string_len(128)
                        .null(),
                )
                .col(ColumnDef::new(AuditEvent::Detail).text().not_null())
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("ix_audit_identity", AuditEvent::IdentityId),
            ("ix_audit_client_number", AuditEvent::ClientNumber),
            ("ix_audit_client", AuditEvent::ClientId),
            ("ix_audit_type", AuditEvent::EventType),
            ("ix_audit_at", AuditEvent::At),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(AuditEvent::Table)
                    .col(col)
                    .col(AuditEvent::Id)
                    .to_owned(),
            )
            .await?;
        }

        m.alter_table(
            Table::alter()
                .table(Client::Table)
                .add_column(
                    ColumnDef::new(Client::PreviousSecretHash)
                        .string_len(128)
                        .null(),
                )
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Client::Table)
                .add_column(
                    ColumnDef::new(Client::PreviousSecretExpiresAt)
                        .big_integer()
                        .null(),
                )
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(OneTimeLink::Table)
                .add_column(
                    ColumnDef::new(OneTimeLink::ClientNumber)
                        .string_len(64)
                        .null(),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_link_client_number")
                .table(OneTimeLink::Table)
                .col(OneTimeLink::ClientNumber)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_token_client")
                .table(Token::Table)
                .col(Token::ClientId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_customer_label")
                .table(CustomerAccount::Table)
                .col(CustomerAccount::Label)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ix_customer_label")
                .table(CustomerAccount::Table)
                .to_owned(),
        )
        .await?;
        m.drop_index(
            Index::drop()
                .name("ix_token_client")
                .table(Token::Table)
                .to_owned(),
        )
        .await?;
        m.drop_index(
            Index::drop()
                .name("ix_link_client_number")
                .table(OneTimeLink::Table)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(OneTimeLink::Table)
                .drop_column(OneTimeLink::ClientNumber)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Client::Table)
                .drop_column(Client::PreviousSecretExpiresAt)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Client::Table)
                .drop_column(Client::PreviousSecretHash)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(AuditEvent::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum AuditEvent {
    Table,
    Id,
    At,
    EventType,
    Outcome,
    ActorKind,
    ActorId,
    IdentityId,
    ClientNumber,
    ClientId,
    Ip,
    CorrelationId,
    Detail,
}

#[derive(DeriveIden)]
enum Client {
    Table,
    PreviousSecretHash,
    PreviousSecretExpiresAt,
}

#[derive(DeriveIden)]
enum OneTimeLink {
    Table,
    ClientNumber,
}

#[derive(DeriveIden)]
enum CustomerAccount {
    Table,
    Label,
}

#[derive(DeriveIden)]
enum Token {
    Table,
    ClientId,
}
