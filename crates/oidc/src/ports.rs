//! What the engine needs from storage and from the identity domain: one small trait per kind of
//! record, each implemented directly by the store (and in memory, for the engine's own tests).

use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::error::StoreError;
use crate::interaction::Interaction;
use crate::model::{AuthorizationCode, Client, Session, SigningAlg, StoredKey, TokenRecord};
use crate::person::Person;
use crate::scope::Scopes;

/// The result of a storage call; `StoreError` says the storage could not answer.
pub type StoreResult<T> = Result<T, StoreError>;

/// The outcome of trying to use a single-use record.
#[derive(Debug)]
pub enum Consumed<T> {
    /// This call used it.
    Now(T),
    /// Someone used it before: a replay.
    Already(T),
    /// No such record.
    Missing,
}

/// Registered relying parties.
#[async_trait]
pub trait ClientStore: Send + Sync {
    /// The client registered under `id`, enabled or not.
    async fn find_client(&self, id: &str) -> StoreResult<Option<Client>>;
    /// The client as the database holds it now, past any copy kept in memory: for decisions
    /// that must follow a change made by another process at once (admin authority).
    async fn find_client_now(&self, id: &str) -> StoreResult<Option<Client>> {
        self.find_client(id).await
    }
    /// Inserts or replaces a client.
    async fn save_client(&self, client: &Client) -> StoreResult<()>;
    /// Every client, ordered by id.
    async fn list_clients(&self) -> StoreResult<Vec<Client>>;
    /// Drops any copy of this client kept in memory (after a change made around this port).
    fn forget(&self, _id: &str) {}
}

/// Pending authorization requests waiting for the login pages (OIDC Core §3.1.2.3-4).
#[async_trait]
pub trait InteractionStore: Send + Sync {
    /// Stores a new interaction.
    async fn insert_interaction(&self, interaction: &Interaction) -> StoreResult<()>;
    /// The interaction whose handle hashes to `uid_hash`, expired or not.
    async fn find_interaction(&self, uid_hash: &str) -> StoreResult<Option<Interaction>>;
    /// Saves changes to an interaction (a sign-in or consent made during it), by `uid_hash`.
    async fn update_interaction(&self, interaction: &Interaction) -> StoreResult<()>;
    /// Deletes the interaction whose handle hashes to `uid_hash` (finished or abandoned).
    async fn delete_interaction(&self, uid_hash: &str) -> StoreResult<()>;
    /// Deletes interactions expired at `now`; returns how many.
    async fn purge_interactions(&self, now: OffsetDateTime) -> StoreResult<u64>;
}

/// Authorization codes (RFC 6749 §4.1.2), single use.
#[async_trait]
pub trait CodeStore: Send + Sync {
    /// Stores a new, unused code.
    async fn insert_code(&self, code: &AuthorizationCode) -> StoreResult<()>;
    /// The code whose value hashes to `code_hash`, used or not.
    async fn find_code(&self, code_hash: &str) -> StoreResult<Option<AuthorizationCode>>;
    /// Marks the code used, atomically: of concurrent callers exactly one gets `Now`.
    async fn consume_code(
        &self,
        code_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Consumed<AuthorizationCode>>;
    /// Deletes codes expired before `before` (kept a while so a late replay is recognised).
    async fn purge_codes(&self, before: OffsetDateTime) -> StoreResult<u64>;
}

/// The sessions whose tokens [`TokenStore::revoke_tokens_of`] revokes, by public session id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionsOf<'a> {
    /// The tokens issued in this session (a logout).
    One(&'a str),
    /// The tokens issued in every session but this one (a credential change made from it), or
    /// in every session.
    AllBut(Option<&'a str>),
}

impl SessionsOf<'_> {
    /// Whether a token issued in session `sid` is among these.
    pub fn holds(&self, sid: Option<&str>) -> bool {
        match *self {
            Self::One(one) => sid == Some(one),
            Self::AllBut(keep) => keep.is_none() || sid != keep,
        }
    }
}

/// Access and refresh tokens, stored as hashes.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Inserts the tokens of one response (access, refresh) at once.
    async fn insert_tokens(&self, tokens: &[TokenRecord]) -> StoreResult<()>;
    /// The token whose value hashes to `token_hash`, live or not.
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
    /// Revokes one token.
    async fn revoke_token(&self, token_hash: &str, now: OffsetDateTime) -> StoreResult<()>;
    /// Revokes the live tokens of `identity_id` issued in `sessions` (tokens from before sessions
    /// were recorded on tokens count as issued in another session); with `offline` false, tokens
    /// whose scope holds `offline_access` are kept. Returns how many were revoked.
    async fn revoke_tokens_of(
        &self,
        identity_id: &str,
        sessions: SessionsOf<'_>,
        offline: bool,
        now: OffsetDateTime,
    ) -> StoreResult<u64>;
    /// The distinct `(sid, client_id)` pairs of the tokens of `identity_id` issued in
    /// `sessions` (tokens without a session left out): the clients that took part in each
    /// session, for back-channel logout.
    async fn session_clients(
        &self,
        identity_id: &str,
        sessions: SessionsOf<'_>,
    ) -> StoreResult<Vec<(String, String)>>;
    /// Records the tokens issued in session `from` as issued in session `to` (a
    /// re-authentication replaced the session); returns how many.
    async fn move_tokens(&self, from: &str, to: &str) -> StoreResult<u64>;
    /// Deletes tokens expired before `before` (kept a while so a late reuse of a refresh token
    /// is recognised as reuse); returns how many.
    async fn purge_tokens(&self, before: OffsetDateTime) -> StoreResult<u64>;
}

/// Back-channel logout notices waiting for delivery (OpenID Connect Back-Channel Logout 1.0),
/// shared by every process: each is claimed by one process at a time, with a lease.
#[async_trait]
pub trait LogoutQueue: Send + Sync {
    /// Queues notices.
    async fn enqueue_logouts(&self, notices: &[LogoutNotice]) -> StoreResult<()>;
    /// Claims the oldest notice due at `now` for this process until `lease_until` (its
    /// `next_attempt_at` moves there, so no other process takes it meanwhile), under `claim`;
    /// `None` when none is due.
    async fn claim_logout(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        claim: &str,
    ) -> StoreResult<Option<LogoutNotice>>;
    /// Records how a claimed delivery went; ignored when the claim is no longer `claim`'s.
    async fn finish_logout(
        &self,
        id: &str,
        claim: &str,
        outcome: &LogoutOutcome,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Deletes delivered and abandoned notices created before `before`; returns how many.
    async fn purge_logouts(&self, before: OffsetDateTime) -> StoreResult<u64>;
}

/// One client to tell that a session of a person ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutNotice {
    /// Random id.
    pub id: String,
    /// The client to tell.
    pub client_id: String,
    /// The person (`sub`).
    pub identity_id: String,
    /// The session that ended (`sid`).
    pub sid: Option<String>,
    /// Deliveries tried so far.
    pub attempts: u32,
    /// When it was queued.
    pub created_at: OffsetDateTime,
}

/// How a delivery went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutOutcome {
    /// The client answered 2xx.
    Delivered,
    /// Try again at `next_attempt_at`; `error` says why not now.
    Retry {
        /// When to try again.
        next_attempt_at: OffsetDateTime,
        /// The cause, for the operators.
        error: String,
    },
    /// Given up (too old, the client gone or no longer listening); `error` says why.
    Abandoned {
        /// The cause, for the operators.
        error: String,
    },
}

/// Browser sessions at the provider.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session.
    async fn insert_session(&self, session: &Session) -> StoreResult<()>;
    /// The session whose cookie hashes to `id_hash`, expired or not.
    async fn find_session(&self, id_hash: &str) -> StoreResult<Option<Session>>;
    /// Records activity on a session (its "last seen" time).
    async fn touch_session(&self, id_hash: &str, now: OffsetDateTime) -> StoreResult<()>;
    /// Ends the session whose cookie hashes to `id_hash` (logout).
    async fn end_session(&self, id_hash: &str) -> StoreResult<()>;
    /// Ends the session with public id `sid` (a person ending another of their sessions).
    async fn end_session_by_sid(&self, sid: &str) -> StoreResult<()>;
    /// Records a fresh password check on a session (re-authentication).
    async fn reauthenticated(&self, id_hash: &str, auth_time: OffsetDateTime) -> StoreResult<()>;
    /// Live sessions of an identity, newest first.
    async fn sessions_of(
        &self,
        identity_id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Session>>;
    /// Ends every session of an identity but `except_sid`; returns how many were live.
    async fn end_sessions_of(
        &self,
        identity_id: &str,
        except_sid: Option<&str>,
        now: OffsetDateTime,
    ) -> StoreResult<u64>;
    /// Whether the session with public id `sid` is live at `now` (not ended, not expired).
    async fn session_live(&self, sid: &str, now: OffsetDateTime) -> StoreResult<bool>;
    /// Deletes sessions expired at `now`; returns how many.
    async fn purge_sessions(&self, now: OffsetDateTime) -> StoreResult<u64>;
}

/// What each person allowed each client (OIDC Core §3.1.2.4).
#[async_trait]
pub trait ConsentStore: Send + Sync {
    /// The scopes `identity_id` allowed `client_id`; `None` if never asked.
    async fn find_consent(&self, identity_id: &str, client_id: &str)
        -> StoreResult<Option<Scopes>>;
    /// Replaces the scopes a person allowed a client.
    async fn save_consent(
        &self,
        identity_id: &str,
        client_id: &str,
        scopes: &Scopes,
    ) -> StoreResult<()>;
}

/// Signing keys, private parts sealed.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Every stored key, oldest first.
    async fn list_keys(&self) -> StoreResult<Vec<StoredKey>>;
    /// Stores a new key (public JWK and sealed private part).
    async fn insert_key(&self, key: &StoredKey) -> StoreResult<()>;
    /// Stops the signing keys of `alg` from signing at `at`; they stay published until
    /// `expires_at`.
    async fn retire_keys(
        &self,
        alg: SigningAlg,
        at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Deletes retired keys whose publication ended before `now`.
    async fn delete_expired_keys(&self, now: OffsetDateTime) -> StoreResult<()>;
}

/// Client assertion ids seen (RFC 7523 §3, replay protection for `private_key_jwt`).
#[async_trait]
pub trait AssertionStore: Send + Sync {
    /// Records a client assertion's `jti`; `false` if it was seen before (a replay).
    async fn remember_jti(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Deletes assertion ids expired at `now`; returns how many.
    async fn purge_jtis(&self, now: OffsetDateTime) -> StoreResult<u64>;
}

/// The people behind user tokens, from the identity domain.
#[async_trait]
pub trait ClaimsSource: Send + Sync {
    /// The person of `identity_id` as the domain knows them now, their accounts included; `None`
    /// when the identity is gone or may no longer sign in (locked, disabled). One read.
    async fn person(&self, identity_id: &str) -> StoreResult<Option<Person>>;

    /// The token stored under `token_hash` (live or not: the caller decides) and, for a user
    /// token, its person as [`person`](Self::person) gives it (`None` inside when they may no
    /// longer sign in). The protocol reads — introspection, userinfo, refresh — take both at
    /// once: the database answers it in one statement. This default reads `tokens`, then the
    /// person.
    async fn token_and_person(
        &self,
        token_hash: &str,
        tokens: &dyn TokenStore,
    ) -> StoreResult<Option<(TokenRecord, Option<Person>)>> {
        let Some(token) = tokens.find_token(token_hash).await? else {
            return Ok(None);
        };
        let person = match &token.identity_id {
            Some(id) => self.person(id).await?,
            None => None,
        };
        Ok(Some((token, person)))
    }
}

/// Every storage port of the provider, one handle per concern.
#[derive(Clone)]
pub struct Stores {
    /// Registered clients (usually a [`CachedClients`](crate::client_cache::CachedClients)).
    pub clients: Arc<dyn ClientStore>,
    /// Pending authorization requests.
    pub interactions: Arc<dyn InteractionStore>,
    /// Authorization codes.
    pub codes: Arc<dyn CodeStore>,
    /// Access and refresh tokens.
    pub tokens: Arc<dyn TokenStore>,
    /// Browser sessions.
    pub sessions: Arc<dyn SessionStore>,
    /// Consents given.
    pub consents: Arc<dyn ConsentStore>,
    /// Signing keys.
    pub keys: Arc<dyn KeyStore>,
    /// Client assertion ids seen (`private_key_jwt` replay protection).
    pub assertions: Arc<dyn AssertionStore>,
    /// Back-channel logout notices.
    pub logouts: Arc<dyn LogoutQueue>,
}

impl Stores {
    /// Every port served by one store (the database, or memory in tests); `clients` may be a
    /// cache in front of it.
    pub fn from_one<S>(store: Arc<S>, clients: Arc<dyn ClientStore>) -> Self
    where
        S: InteractionStore
            + CodeStore
            + TokenStore
            + SessionStore
            + ConsentStore
            + KeyStore
            + AssertionStore
            + LogoutQueue
            + 'static,
    {
        Self {
            clients,
            interactions: store.clone(),
            codes: store.clone(),
            tokens: store.clone(),
            sessions: store.clone(),
            consents: store.clone(),
            keys: store.clone(),
            assertions: store.clone(),
            logouts: store,
        }
    }
}
