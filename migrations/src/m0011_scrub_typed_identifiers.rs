//! What older versions kept of identifiers typed by anyone, scrubbed on upgrade: the client
//! number of failed sign-ins, locks and attaches that names no customer account (a password
//! typed in the identifier field, say) leaves the audit trail, and throttle counters keyed by a
//! plain hash of what was typed are dropped (counters now use a keyed hash; the old ones would
//! only count on for their window).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.exec_stmt(
            Query::update()
                .table(AuditEvent::Table)
                .value(AuditEvent::ClientNumber, Option::<String>::None)
                .and_where(Expr::col(AuditEvent::EventType).is_in([
                    "signin.failed",
                    "signin.locked",
                    "account.attached",
                ]))
                .and_where(Expr::col(AuditEvent::ClientNumber).is_not_null())
                .and_where(
                    Expr::col(AuditEvent::ClientNumber).not_in_subquery(
                        Query::select()
                            .column(CustomerAccount::ClientNumber)
                            .from(CustomerAccount::Table)
                            .to_owned(),
                    ),
                )
                .to_owned(),
        )
        .await?;
        m.exec_stmt(Query::delete().from_table(Throttle::Table).to_owned())
            .await
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        // What was scrubbed is gone on purpose.
        Ok(())
    }
}

#[derive(DeriveIden)]
enum AuditEvent {
    Table,
    EventType,
    ClientNumber,
}

#[derive(DeriveIden)]
enum CustomerAccount {
    Table,
    ClientNumber,
}

#[derive(DeriveIden)]
enum Throttle {
    Table,
}
