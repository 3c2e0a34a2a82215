//! What credential changes and throttling need: the session a token was issued in (to revoke
//! the tokens of one session, or of every session but one), the identity a one-time link is
//! about (to cancel every pending link of an identity), and the end of a throttle counter's
//! window (failures count for a window, not forever).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Token::Table)
                .add_column(ColumnDef::new(Token::Sid).string_len(255).null())
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(OneTimeLink::Table)
                .add_column(
                    ColumnDef::new(OneTimeLink::IdentityId)
                        .string_len(128)
                        .null(),
                )
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Throttle::Table)
                .add_column(
                    ColumnDef::new(Throttle::WindowEnds)
                        .big_integer()
                        .not_null()
                        .default(0),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_token_sid")
                .table(Token::Table)
                .col(Token::Sid)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_link_identity")
                .table(OneTimeLink::Table)
                .col(OneTimeLink::IdentityId)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [
            ("ix_link_identity", OneTimeLink::Table.into_iden()),
            ("ix_token_sid", Token::Table.into_iden()),
        ] {
            m.drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        m.alter_table(
            Table::alter()
                .table(Throttle::Table)
                .drop_column(Throttle::WindowEnds)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(OneTimeLink::Table)
                .drop_column(OneTimeLink::IdentityId)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Token::Table)
                .drop_column(Token::Sid)
                .to_owned(),
        )
        .await
    }
}

#[derive(DeriveIden)]
enum Token {
    Table,
    Sid,
}

#[derive(DeriveIden)]
enum OneTimeLink {
    Table,
    IdentityId,
}

#[derive(DeriveIden)]
enum Throttle {
    Table,
    WindowEnds,
}
