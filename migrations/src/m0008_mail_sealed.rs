//! Queued mail sealed at rest (issue 15 §1): the message of each row moves to `envelope`,
//! sealed with a key derived from the key-encryption key, and is dropped once delivered or
//! given up; `claim` names the process holding a message's lease, so only it records the
//! outcome. The old clear columns stay (empty) for rows written from now on.
//!
//! Rows an older version wrote in clear: those already sent lose their body here. Those still
//! waiting (status `pending`) cannot be sealed here — migrations do not hold the key — so the
//! first postman of the new version seals them before it delivers anything (`queued`); an older
//! process still running sees only `pending` rows, so it never sends an emptied one.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(MailQueue::Table)
                .add_column(ColumnDef::new(MailQueue::Envelope).text().null())
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(MailQueue::Table)
                .add_column(ColumnDef::new(MailQueue::Claim).string_len(32).null())
                .to_owned(),
        )
        .await?;
        m.exec_stmt(
            Query::update()
                .table(MailQueue::Table)
                .values([
                    (MailQueue::Subject, "".into()),
                    (MailQueue::BodyText, "".into()),
                    (MailQueue::BodyHtml, "".into()),
                ])
                .and_where(Expr::col(MailQueue::Status).ne("pending"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in [MailQueue::Claim, MailQueue::Envelope] {
            m.alter_table(
                Table::alter()
                    .table(MailQueue::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum MailQueue {
    Table,
    Subject,
    BodyText,
    BodyHtml,
    Status,
    Envelope,
    Claim,
}
