//! The provider's storage ports in memory, for the engine's own tests and for tools that need a
//! provider without a database (fuzz targets, benchmarks). Each port keeps the same contract as
//! the store: single use is decided under one lock, so of concurrent callers exactly one wins.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::error::StoreError;
use crate::interaction::Interaction;
use crate::model::{AuthorizationCode, Client, Session, SigningAlg, StoredKey, TokenRecord};
use crate::person::Person;
use crate::ports::{
    AssertionStore, ClaimsSource, ClientStore, CodeStore, ConsentStore, Consumed, InteractionStore,
    KeyStore, LogoutNotice, LogoutOutcome, LogoutQueue, SessionStore, SessionsOf, StoreResult,
    Stores, TokenStore,
};
use crate::scope::Scopes;

#[derive(Default)]
struct Records {
    clients: BTreeMap<String, Client>,
    interactions: HashMap<String, Interaction>,
    codes: HashMap<String, AuthorizationCode>,
    tokens: HashMap<String, TokenRecord>,
    /// Live sessions by cookie hash (an ended session is removed).
    sessions: HashMap<String, Session>,
    consents: HashMap<(String, String), Scopes>,
    keys: Vec<StoredKey>,
    jtis: HashMap<(String, String), OffsetDateTime>,
    /// Back-channel logout notices: the notice, when it is next due, its claim, and whether it
    /// is finished (delivered or given up).
    logouts: Vec<(LogoutNotice, OffsetDateTime, Option<String>, bool)>,
}

/// Every storage port of the provider, in memory. `fail(true)` makes every call answer
/// `StoreError::Unavailable`, as a database that is down would.
#[derive(Default)]
pub struct MemoryStore {
    records: Mutex<Records>,
    down: std::sync::atomic::AtomicBool,
}

impl MemoryStore {
    /// An empty store, shared.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Every port of a provider served by this store.
    pub fn stores(self: &Arc<Self>) -> Stores {
        Stores::from_one(self.clone(), self.clone())
    }

    /// Makes every later call fail (`true`) or succeed again (`false`).
    pub fn fail(&self, down: bool) {
        self.down.store(down, std::sync::atomic::Ordering::SeqCst);
    }

    /// Every token stored, in no particular order (for assertions).
    pub fn tokens(&self) -> Vec<TokenRecord> {
        self.lock()
            .map(|r| r.tokens.values().cloned().collect())
            .unwrap_or_default()
    }

    fn lock(&self) -> StoreResult<MutexGuard<'_, Records>> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Unavailable("the memory store is down".into()));
        }
        self.records
            .lock()
            .map_err(|_| StoreError::Unavailable("poisoned".into()))
    }
}

#[async_trait]
impl ClientStore for MemoryStore {
    async fn find_client(&self, id: &str) -> StoreResult<Option<Client>> {
        Ok(self.lock()?.clients.get(id).cloned())
    }
    async fn save_client(&self, client: &Client) -> StoreResult<()> {
        self.lock()?
            .clients
            .insert(client.id.clone(), client.clone());
        Ok(())
    }
    async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        Ok(self.lock()?.clients.values().cloned().collect())
    }
}

#[async_trait]
impl InteractionStore for MemoryStore {
    async fn insert_interaction(&self, i: &Interaction) -> StoreResult<()> {
        self.lock()?
            .interactions
            .insert(i.uid_hash.clone(), i.clone());
        Ok(())
    }
    async fn find_interaction(&self, uid_hash: &str) -> StoreResult<Option<Interaction>> {
        Ok(self.lock()?.interactions.get(uid_hash).cloned())
    }
    async fn update_interaction(&self, i: &Interaction) -> StoreResult<()> {
        self.insert_interaction(i).await
    }
    async fn delete_interaction(&self, uid_hash: &str) -> StoreResult<()> {
        self.lock()?.interactions.remove(uid_hash);
        Ok(())
    }
    async fn purge_interactions(&self, now: OffsetDateTime) -> StoreResult<u64> {
        let mut r = self.lock()?;
        let before = r.interactions.len();
        r.interactions.retain(|_, i| i.expires_at > now);
        Ok((before - r.interactions.len()) as u64)
    }
}

#[async_trait]
impl CodeStore for MemoryStore {
    async fn insert_code(&self, code: &AuthorizationCode) -> StoreResult<()> {
        let mut code = code.clone();
        code.consumed_at = None;
        self.lock()?.codes.insert(code.code_hash.clone(), code);
        Ok(())
    }
    async fn find_code(&self, code_hash: &str) -> StoreResult<Option<AuthorizationCode>> {
        Ok(self.lock()?.codes.get(code_hash).cloned())
    }
    async fn consume_code(
        &self,
        code_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Consumed<AuthorizationCode>> {
        let mut r = self.lock()?;
        let Some(code) = r.codes.get_mut(code_hash) else {
            return Ok(Consumed::Missing);
        };
        if code.consumed_at.is_some() {
            return Ok(Consumed::Already(code.clone()));
        }
        code.consumed_at = Some(now);
        Ok(Consumed::Now(code.clone()))
    }
    async fn purge_codes(&self, before: OffsetDateTime) -> StoreResult<u64> {
        let mut r = self.lock()?;
        let n = r.codes.len();
        r.codes.retain(|_, c| c.expires_at > before);
        Ok((n - r.codes.len()) as u64)
    }
}

#[async_trait]
impl TokenStore for MemoryStore {
    async fn insert_tokens(&self, tokens: &[TokenRecord]) -> StoreResult<()> {
        let mut r = self.lock()?;
        for t in tokens {
            r.tokens.insert(t.token_hash.clone(), t.clone());
        }
        Ok(())
    }
    async fn find_token(&self, token_hash: &str) -> StoreResult<Option<TokenRecord>> {
        Ok(self.lock()?.tokens.get(token_hash).cloned())
    }
    async fn rotate_refresh(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
        successors: &[TokenRecord],
    ) -> StoreResult<Consumed<TokenRecord>> {
        let mut r = self.lock()?;
        let Some(token) = r.tokens.get_mut(token_hash) else {
            return Ok(Consumed::Missing);
        };
        if token.consumed_at.is_some() || token.revoked_at.is_some() {
            return Ok(Consumed::Already(token.clone()));
        }
        let before = token.clone();
        token.consumed_at = Some(now);
        for t in successors {
            r.tokens.insert(t.token_hash.clone(), t.clone());
        }
        Ok(Consumed::Now(before))
    }
    async fn revoke_grant(&self, grant_id: &str, now: OffsetDateTime) -> StoreResult<()> {
        for t in self.lock()?.tokens.values_mut() {
            if t.grant_id == grant_id && t.revoked_at.is_none() {
                t.revoked_at = Some(now);
            }
        }
        Ok(())
    }
    async fn revoke_token(&self, token_hash: &str, now: OffsetDateTime) -> StoreResult<()> {
        if let Some(t) = self.lock()?.tokens.get_mut(token_hash) {
            t.revoked_at.get_or_insert(now);
        }
        Ok(())
    }
    async fn revoke_tokens_of(
        &self,
        identity_id: &str,
        sessions: SessionsOf<'_>,
        offline: bool,
        now: OffsetDateTime,
    ) -> StoreResult<u64> {
        let mut n = 0;
        for t in self.lock()?.tokens.values_mut() {
            let offline_token = t
                .scope
                .split(' ')
                .any(|s| s == crate::scope::OFFLINE_ACCESS);
            if t.identity_id.as_deref() == Some(identity_id)
                && sessions.holds(t.sid.as_deref())
                && (offline || !offline_token)
                && t.revoked_at.is_none()
                && t.expires_at > now
            {
                t.revoked_at = Some(now);
                n += 1;
            }
        }
        Ok(n)
    }
    async fn session_clients(
        &self,
        identity_id: &str,
        sessions: SessionsOf<'_>,
    ) -> StoreResult<Vec<(String, String)>> {
        let r = self.lock()?;
        let pairs: std::collections::BTreeSet<(String, String)> = r
            .tokens
            .values()
            .filter(|t| t.identity_id.as_deref() == Some(identity_id))
            .filter(|t| t.sid.is_some() && sessions.holds(t.sid.as_deref()))
            .filter_map(|t| Some((t.sid.clone()?, t.client_id.clone())))
            .collect();
        Ok(pairs.into_iter().collect())
    }
    async fn move_tokens(&self, from: &str, to: &str) -> StoreResult<u64> {
        let mut n = 0;
        for t in self.lock()?.tokens.values_mut() {
            if t.sid.as_deref() == Some(from) {
                t.sid = Some(to.to_string());
                n += 1;
            }
        }
        Ok(n)
    }
    async fn purge_tokens(&self, before: OffsetDateTime) -> StoreResult<u64> {
        let mut r = self.lock()?;
        let n = r.tokens.len();
        r.tokens.retain(|_, t| t.expires_at > before);
        Ok((n - r.tokens.len()) as u64)
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn insert_session(&self, session: &Session) -> StoreResult<()> {
        self.lock()?
            .sessions
            .insert(session.id_hash.clone(), session.clone());
        Ok(())
    }
    async fn find_session(&self, id_hash: &str) -> StoreResult<Option<Session>> {
        Ok(self.lock()?.sessions.get(id_hash).cloned())
    }
    async fn touch_session(&self, id_hash: &str, now: OffsetDateTime) -> StoreResult<()> {
        if let Some(s) = self.lock()?.sessions.get_mut(id_hash) {
            s.last_seen_at = now;
        }
        Ok(())
    }
    async fn end_session(&self, id_hash: &str) -> StoreResult<()> {
        self.lock()?.sessions.remove(id_hash);
        Ok(())
    }
    async fn end_session_by_sid(&self, sid: &str) -> StoreResult<()> {
        self.lock()?.sessions.retain(|_, s| s.sid != sid);
        Ok(())
    }
    async fn reauthenticated(&self, id_hash: &str, auth_time: OffsetDateTime) -> StoreResult<()> {
        if let Some(s) = self.lock()?.sessions.get_mut(id_hash) {
            s.auth.auth_time = auth_time;
        }
        Ok(())
    }
    async fn sessions_of(
        &self,
        identity_id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Session>> {
        let mut found: Vec<Session> = self
            .lock()?
            .sessions
            .values()
            .filter(|s| s.auth.identity_id == identity_id && s.expires_at > now)
            .cloned()
            .collect();
        found.sort_by_key(|s| std::cmp::Reverse(s.created_at));
        Ok(found)
    }
    async fn end_sessions_of(
        &self,
        identity_id: &str,
        except_sid: Option<&str>,
        now: OffsetDateTime,
    ) -> StoreResult<u64> {
        let mut r = self.lock()?;
        let before = r.sessions.len();
        r.sessions.retain(|_, s| {
            s.auth.identity_id != identity_id
                || Some(s.sid.as_str()) == except_sid
                || s.expires_at <= now
        });
        Ok((before - r.sessions.len()) as u64)
    }
    async fn session_live(&self, sid: &str, now: OffsetDateTime) -> StoreResult<bool> {
        Ok(self
            .lock()?
            .sessions
            .values()
            .any(|s| s.sid == sid && s.expires_at > now))
    }
    async fn purge_sessions(&self, now: OffsetDateTime) -> StoreResult<u64> {
        let mut r = self.lock()?;
        let n = r.sessions.len();
        r.sessions.retain(|_, s| s.expires_at > now);
        Ok((n - r.sessions.len()) as u64)
    }
}

#[async_trait]
impl ConsentStore for MemoryStore {
    async fn find_consent(
        &self,
        identity_id: &str,
        client_id: &str,
    ) -> StoreResult<Option<Scopes>> {
        let key = (identity_id.to_string(), client_id.to_string());
        Ok(self.lock()?.consents.get(&key).cloned())
    }
    async fn save_consent(
        &self,
        identity_id: &str,
        client_id: &str,
        scopes: &Scopes,
    ) -> StoreResult<()> {
        let key = (identity_id.to_string(), client_id.to_string());
        let mut r = self.lock()?;
        let merged = match r.consents.get(&key) {
            Some(old) => Scopes::from_iter(old.iter().chain(scopes.iter())),
            None => scopes.clone(),
        };
        r.consents.insert(key, merged);
        Ok(())
    }
}

#[async_trait]
impl KeyStore for MemoryStore {
    async fn list_keys(&self) -> StoreResult<Vec<StoredKey>> {
        let mut keys = self.lock()?.keys.clone();
        keys.sort_by_key(|k| std::cmp::Reverse(k.active_from));
        Ok(keys)
    }
    async fn insert_key(&self, key: &StoredKey) -> StoreResult<()> {
        self.lock()?.keys.push(key.clone());
        Ok(())
    }
    async fn retire_keys(
        &self,
        alg: SigningAlg,
        at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        for k in self.lock()?.keys.iter_mut() {
            if k.alg == alg && k.retired_at.is_none() {
                k.retired_at = Some(at);
                k.expires_at = Some(expires_at);
            }
        }
        Ok(())
    }
    async fn delete_expired_keys(&self, now: OffsetDateTime) -> StoreResult<()> {
        self.lock()?
            .keys
            .retain(|k| k.expires_at.is_none_or(|e| e > now));
        Ok(())
    }
}

#[async_trait]
impl AssertionStore for MemoryStore {
    async fn remember_jti(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: OffsetDateTime,
    ) -> StoreResult<bool> {
        let key = (client_id.to_string(), jti.to_string());
        let mut r = self.lock()?;
        if r.jtis.contains_key(&key) {
            return Ok(false);
        }
        r.jtis.insert(key, expires_at);
        Ok(true)
    }
    async fn purge_jtis(&self, now: OffsetDateTime) -> StoreResult<u64> {
        let mut r = self.lock()?;
        let n = r.jtis.len();
        r.jtis.retain(|_, e| *e > now);
        Ok((n - r.jtis.len()) as u64)
    }
}

#[async_trait]
impl LogoutQueue for MemoryStore {
    async fn enqueue_logouts(&self, notices: &[LogoutNotice]) -> StoreResult<()> {
        let mut r = self.lock()?;
        for n in notices {
            r.logouts.push((n.clone(), n.created_at, None, false));
        }
        Ok(())
    }
    async fn claim_logout(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        claim: &str,
    ) -> StoreResult<Option<LogoutNotice>> {
        let mut r = self.lock()?;
        let due = r
            .logouts
            .iter_mut()
            .filter(|(_, at, _, done)| !*done && *at <= now)
            .min_by_key(|(n, _, _, _)| n.created_at);
        Ok(due.map(|entry| {
            entry.1 = lease_until;
            entry.2 = Some(claim.to_string());
            entry.0.clone()
        }))
    }
    async fn finish_logout(
        &self,
        id: &str,
        claim: &str,
        outcome: &LogoutOutcome,
        _now: OffsetDateTime,
    ) -> StoreResult<()> {
        let mut r = self.lock()?;
        if let Some(entry) = r
            .logouts
            .iter_mut()
            .find(|(n, _, c, _)| n.id == id && c.as_deref() == Some(claim))
        {
            entry.0.attempts += 1;
            entry.2 = None;
            match outcome {
                LogoutOutcome::Retry {
                    next_attempt_at, ..
                } => entry.1 = *next_attempt_at,
                LogoutOutcome::Delivered | LogoutOutcome::Abandoned { .. } => entry.3 = true,
            }
        }
        Ok(())
    }
    async fn purge_logouts(&self, before: OffsetDateTime) -> StoreResult<u64> {
        let mut r = self.lock()?;
        let n = r.logouts.len();
        r.logouts
            .retain(|(notice, _, _, done)| !*done || notice.created_at >= before);
        Ok((n - r.logouts.len()) as u64)
    }
}

/// The people behind user tokens, kept in memory by identity id.
#[derive(Default)]
pub struct MemoryClaims {
    identities: Mutex<HashMap<String, Person>>,
}

impl MemoryClaims {
    /// An empty source, shared.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Adds (or replaces) the person of `identity_id`.
    pub fn add(&self, identity_id: &str, person: Person) {
        if let Ok(mut all) = self.identities.lock() {
            all.insert(identity_id.to_string(), person);
        }
    }

    /// Removes an identity (as if it were deleted or locked).
    pub fn remove(&self, identity_id: &str) {
        if let Ok(mut all) = self.identities.lock() {
            all.remove(identity_id);
        }
    }
}

#[async_trait]
impl ClaimsSource for MemoryClaims {
    async fn person(&self, identity_id: &str) -> StoreResult<Option<Person>> {
        let all = self
            .identities
            .lock()
            .map_err(|_| StoreError::Unavailable("poisoned".into()))?;
        Ok(all.get(identity_id).cloned())
    }
}
