//! What the engine needs from storage and from the identity domain.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::error::StoreError;
use crate::interaction::Interaction;
use crate::model::{AuthorizationCode, Client, Session, StoredKey, TokenRecord};
use crate::scope::Scopes;

pub type StoreResult<T> = Result<T, StoreError>;

/// The outcome of trying to use a single-use record.
#[derive(Debug)]
pub enum Consumed<T> {
    /// This call used it.
    Now(T),
    /// Someone used it before: a replay.
    Already(T),
    Missing,
}

/// Registered relying parties.
#[async_trait]
pub trait ClientStore: Send + Sync {
    async fn find_client(&self, id: &str) -> StoreResult<Option<Client>>;
    async fn save_client(&self, client: &Client) -> StoreResult<()>;
    async fn list_clients(&self) -> StoreResult<Vec<Client>>;
    /// Drops any copy of this client kept in memory (after a change made around this port).
    fn forget(&self, _id: &str) {}
}

/// Pending authorization requests, codes, tokens, sessions, consents and keys.
#[async_trait]
pub trait GrantStore: Send + Sync {
    async fn insert_interaction(&self, interaction: &Interaction) -> StoreResult<()>;
    async fn find_interaction(&self, uid_hash: &str) -> StoreResult<Option<Interaction>>;
    async fn update_interaction(&self, interaction: &Interaction) -> StoreResult<()>;
    async fn delete_interaction(&self, uid_hash: &str) -> StoreResult<()>;

    async fn insert_code(&self, code: &AuthorizationCode) -> StoreResult<()>;
    async fn find_code(&self, code_hash: &str) -> StoreResult<Option<AuthorizationCode>>;
    /// Marks the code used, atomically: of concurrent callers exactly one gets `Now`.
    async fn consume_code(
        &self,
        code_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Consumed<AuthorizationCode>>;

    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<()>;
    /// Inserts the tokens of one response (access, refresh) at once.
    async fn insert_tokens(&self, tokens: &[TokenRecord]) -> StoreResult<()> {
        for t in tokens {
            self.insert_token(t).await?;
        }
        Ok(())
    }
    async fn find_token(&self, token_hash: &str) -> StoreResult<Option<TokenRecord>>;
    /// Marks a refresh token exchanged, atomically, and stores its successors in the same
    /// transaction; of concurrent callers exactly one gets `Now`.
    async fn rotate_refresh(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
        successors: &[TokenRecord],
    ) -> StoreResult<Consumed<TokenRecord>>;
    /// Revokes every token of a grant (a code's tokens, a refresh family).
    async fn revoke_grant(&self, grant_id: &str, now: OffsetDateTime) -> StoreResult<()>;
    async fn revoke_token(&self, token_hash: &str, now: OffsetDateTime) -> StoreResult<()>;

    async fn insert_session(&self, session: &Session) -> StoreResult<()>;
    async fn find_session(&self, id_hash: &str) -> StoreResult<Option<Session>>;
    async fn touch_session(&self, id_hash: &str, now: OffsetDateTime) -> StoreResult<()>;
    async fn end_session(&self, id_hash: &str) -> StoreResult<()>;
    async fn end_session_by_sid(&self, sid: &str) -> StoreResult<()>;
    /// Records a fresh password check on a session (re-authentication).
    async fn reauthenticated(&self, id_hash: &str, auth_time: OffsetDateTime) -> StoreResult<()>;
    /// Live sessions of an identity, newest first.
    async fn sessions_of(
        &self,
        identity_id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Session>>;
    /// Ends every session of an identity but `except_sid`.
    async fn end_sessions_of(&self, identity_id: &str, except_sid: Option<&str>)
        -> StoreResult<()>;

    async fn find_consent(&self, identity_id: &str, client_id: &str)
        -> StoreResult<Option<Scopes>>;
    async fn save_consent(
        &self,
        identity_id: &str,
        client_id: &str,
        scopes: &Scopes,
    ) -> StoreResult<()>;

    async fn list_keys(&self) -> StoreResult<Vec<StoredKey>>;
    async fn insert_key(&self, key: &StoredKey) -> StoreResult<()>;
    async fn retire_keys(
        &self,
        alg: crate::model::SigningAlg,
        at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()>;
    async fn delete_expired_keys(&self, now: OffsetDateTime) -> StoreResult<()>;

    /// Deletes what can no longer be used: expired interactions, codes, sessions and assertion
    /// ids, and tokens expired before `tokens_before`. Returns the number of rows removed.
    async fn purge_expired(
        &self,
        now: OffsetDateTime,
        tokens_before: OffsetDateTime,
    ) -> StoreResult<u64>;

    /// Records a client assertion's `jti`; `false` if it was seen before (a replay).
    async fn remember_jti(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: OffsetDateTime,
    ) -> StoreResult<bool>;
}

/// The claims about an identity, from the identity domain.
#[async_trait]
pub trait ClaimsSource: Send + Sync {
    /// Claims of the identity that the given scopes release; `None` when the identity is gone or
    /// locked. `client` lets the domain filter per relying party.
    async fn claims(
        &self,
        identity_id: &str,
        scopes: &Scopes,
        client: &Client,
    ) -> StoreResult<Option<serde_json::Map<String, serde_json::Value>>>;

    /// May this identity use this client at all? (A client restricted to some account kinds
    /// is refused to a person holding none of them.)
    async fn eligible(&self, identity_id: &str, client: &Client) -> StoreResult<bool>;
}
