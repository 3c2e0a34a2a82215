//! The OpenID Connect core: clients, identities, interactions, codes, tokens, sessions,
//! consents, signing keys and client-assertion ids.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn text(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).text().not_null().to_owned()
}
fn text_null(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).text().null().to_owned()
}
fn key(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name)
        .string_len(128)
        .not_null()
        .primary_key()
        .to_owned()
}
fn string(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).string_len(255).not_null().to_owned()
}
fn string_null(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).string_len(255).null().to_owned()
}
fn ts(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).big_integer().not_null().to_owned()
}
fn ts_null(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).big_integer().null().to_owned()
}
fn flag(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).boolean().not_null().to_owned()
}

fn index(
    name: &str,
    table: impl IntoIden + 'static,
    cols: &[&'static str],
) -> IndexCreateStatement {
    let mut i = Index::create().name(name).table(table).to_owned();
    for c in cols {
        i.col(Alias::new(*c));
    }
    i
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Client::Table)
                .col(key(Client::Id))
                .col(string(Client::Name))
                .col(string_null(Client::SecretHash))
                .col(text(Client::RedirectUris))
                .col(text(Client::PostLogoutRedirectUris))
                .col(text(Client::Scopes))
                .col(text(Client::GrantTypes))
                .col(string(Client::AuthMethod))
                .col(text_null(Client::Jwks))
                .col(string(Client::IdTokenAlg))
                .col(text(Client::AccountKinds))
                .col(flag(Client::FirstParty))
                .col(flag(Client::RequirePkce))
                .col(flag(Client::Enabled))
                .col(ts(Client::CreatedAt))
                .col(ts(Client::UpdatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Identity::Table)
                .col(key(Identity::Id))
                .col(string(Identity::LoginEmail).unique_key().to_owned())
                .col(ts_null(Identity::EmailVerifiedAt))
                .col(string(Identity::PasswordHash))
                .col(string(Identity::Status))
                .col(ts(Identity::CreatedAt))
                .col(ts(Identity::UpdatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Interaction::Table)
                .col(key(Interaction::UidHash))
                .col(text(Interaction::Data))
                .col(ts(Interaction::ExpiresAt))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_interaction_expires",
            Interaction::Table,
            &["expires_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(AuthCode::Table)
                .col(key(AuthCode::CodeHash))
                .col(string(AuthCode::GrantId))
                .col(string(AuthCode::ClientId))
                .col(text(AuthCode::Data))
                .col(ts(AuthCode::ExpiresAt))
                .col(ts_null(AuthCode::ConsumedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_auth_code_expires",
            AuthCode::Table,
            &["expires_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Token::Table)
                .col(key(Token::TokenHash))
                .col(string(Token::Kind))
                .col(string(Token::GrantId))
                .col(string(Token::ClientId))
                .col(string_null(Token::IdentityId))
                .col(text(Token::Scope))
                .col(text(Token::Data))
                .col(ts(Token::CreatedAt))
                .col(ts(Token::ExpiresAt))
                .col(ts_null(Token::ConsumedAt))
                .col(ts_null(Token::RevokedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_token_grant", Token::Table, &["grant_id"]))
            .await?;
        m.create_index(index("ix_token_identity", Token::Table, &["identity_id"]))
            .await?;
        m.create_index(index("ix_token_expires", Token::Table, &["expires_at"]))
            .await?;

        m.create_table(
            Table::create()
                .table(BrowserSession::Table)
                .col(key(BrowserSession::IdHash))
                .col(string(BrowserSession::Sid).unique_key().to_owned())
                .col(string(BrowserSession::IdentityId))
                .col(text(BrowserSession::Data))
                .col(ts(BrowserSession::CreatedAt))
                .col(ts(BrowserSession::LastSeenAt))
                .col(ts(BrowserSession::ExpiresAt))
                .col(ts_null(BrowserSession::EndedAt))
                .col(text_null(BrowserSession::UserAgent))
                .col(string_null(BrowserSession::Ip))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_session_identity",
            BrowserSession::Table,
            &["identity_id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Consent::Table)
                .col(string(Consent::IdentityId))
                .col(string(Consent::ClientId))
                .col(text(Consent::Scopes))
                .col(ts(Consent::UpdatedAt))
                .primary_key(
                    Index::create()
                        .col(Consent::IdentityId)
                        .col(Consent::ClientId),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(SigningKey::Table)
                .col(key(SigningKey::Kid))
                .col(string(SigningKey::Alg))
                .col(text(SigningKey::PublicJwk))
                .col(text(SigningKey::PrivateEnc))
                .col(ts(SigningKey::CreatedAt))
                .col(ts(SigningKey::ActiveFrom))
                .col(ts_null(SigningKey::RetiredAt))
                .col(ts_null(SigningKey::ExpiresAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ClientAssertionJti::Table)
                .col(string(ClientAssertionJti::ClientId))
                .col(string(ClientAssertionJti::Jti))
                .col(ts(ClientAssertionJti::ExpiresAt))
                .primary_key(
                    Index::create()
                        .col(ClientAssertionJti::ClientId)
                        .col(ClientAssertionJti::Jti),
                )
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            ClientAssertionJti::Table.into_iden(),
            SigningKey::Table.into_iden(),
            Consent::Table.into_iden(),
            BrowserSession::Table.into_iden(),
            Token::Table.into_iden(),
            AuthCode::Table.into_iden(),
            Interaction::Table.into_iden(),
            Identity::Table.into_iden(),
            Client::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Client {
    Table,
    Id,
    Name,
    SecretHash,
    RedirectUris,
    PostLogoutRedirectUris,
    Scopes,
    GrantTypes,
    AuthMethod,
    Jwks,
    IdTokenAlg,
    AccountKinds,
    FirstParty,
    RequirePkce,
    Enabled,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Identity {
    Table,
    Id,
    LoginEmail,
    EmailVerifiedAt,
    PasswordHash,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Interaction {
    Table,
    UidHash,
    Data,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum AuthCode {
    Table,
    CodeHash,
    GrantId,
    ClientId,
    Data,
    ExpiresAt,
    ConsumedAt,
}

// Column names follow the table's (`token_hash`), as in every other table.
#[allow(clippy::enum_variant_names)]
#[derive(DeriveIden)]
enum Token {
    Table,
    TokenHash,
    Kind,
    GrantId,
    ClientId,
    IdentityId,
    Scope,
    Data,
    CreatedAt,
    ExpiresAt,
    ConsumedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum BrowserSession {
    Table,
    IdHash,
    Sid,
    IdentityId,
    Data,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
    EndedAt,
    UserAgent,
    Ip,
}

#[derive(DeriveIden)]
enum Consent {
    Table,
    IdentityId,
    ClientId,
    Scopes,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SigningKey {
    Table,
    Kid,
    Alg,
    PublicJwk,
    PrivateEnc,
    CreatedAt,
    ActiveFrom,
    RetiredAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum ClientAssertionJti {
    Table,
    ClientId,
    Jti,
    ExpiresAt,
}
