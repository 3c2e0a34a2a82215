//! The provider: configuration, ports, the key ring and the discovery document, shared by every
//! endpoint. The endpoints themselves live in their own modules as `impl Provider` blocks.

use std::sync::{Arc, RwLock};

use gan_audit::{Actor, AuditEvent, Auditor, EventType};
use time::OffsetDateTime;

use crate::clock::Clock;
use crate::error::{EngineError, StoreError};
use crate::keys::{new_key, KeyRing, KeySealer};
use crate::model::{
    Authentication, Client, Session, SigningAlg, StoredKey, TokenKind, TokenRecord,
};
use crate::ports::{ClaimsSource, SessionsOf, Stores};
use crate::secret::hash_handle;
use crate::ProviderConfig;

/// The OpenID provider.
pub struct Provider {
    /// Issuer, lifetimes and switches; read by the web layer too.
    pub config: ProviderConfig,
    pub(crate) stores: Stores,
    pub(crate) claims: Arc<dyn ClaimsSource>,
    pub(crate) clock: Arc<dyn Clock>,
    /// The audit trail the provider records to (shared with the other engines).
    pub audit: Arc<Auditor>,
    sealer: KeySealer,
    keyring: RwLock<Arc<KeyRing>>,
    discovery: Arc<str>,
}

/// What [`Provider::cut_off`] ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CutOff {
    /// Browser sessions ended.
    pub sessions_ended: u64,
    /// Access and refresh tokens revoked.
    pub tokens_revoked: u64,
}

/// The ports and helpers a provider is built from.
pub struct Ports {
    /// Every storage port of the engine.
    pub stores: Stores,
    /// The claims and eligibility of identities, from the identity domain.
    pub claims: Arc<dyn ClaimsSource>,
    /// The source of "now" for every expiry decision.
    pub clock: Arc<dyn Clock>,
    /// The audit trail to record to.
    pub audit: Arc<Auditor>,
}

impl Provider {
    /// Builds the provider: creates a first key per algorithm when none exists, loads the key ring
    /// and prebuilds the discovery document.
    pub async fn start(
        config: ProviderConfig,
        ports: Ports,
        sealer: KeySealer,
    ) -> Result<Self, EngineError> {
        let now = ports.clock.now();
        // Every algorithm needs a key that signs now: on first start, or when the only one was
        // left out of the ring (an altered row), a new one is made.
        let mut ring = KeyRing::load(ports.stores.keys.list_keys().await?, &sealer, now)?;
        let mut made = false;
        for alg in SigningAlg::ALL {
            if !ring.can_sign(alg, now) {
                ports
                    .stores
                    .keys
                    .insert_key(&new_key(&sealer, alg, now, now)?)
                    .await?;
                made = true;
            }
        }
        if made {
            ring = KeyRing::load(ports.stores.keys.list_keys().await?, &sealer, now)?;
        }
        let discovery = Arc::from(crate::discovery::document(&config).to_string());
        Ok(Self {
            config,
            stores: ports.stores,
            claims: ports.claims,
            clock: ports.clock,
            audit: ports.audit,
            sealer,
            keyring: RwLock::new(Arc::new(ring)),
            discovery,
        })
    }

    /// Builds a provider that creates no key and opens none until asked to
    /// ([`Provider::reload_keys`], with `sealer`): for commands that only read (the audit trail,
    /// relying parties, customers), over a store that may refuse writes. Until such a reload it
    /// publishes and signs nothing.
    pub fn reader(
        config: ProviderConfig,
        ports: Ports,
        sealer: KeySealer,
    ) -> Result<Self, EngineError> {
        let ring = KeyRing::load(Vec::new(), &sealer, ports.clock.now())?;
        let discovery = Arc::from(crate::discovery::document(&config).to_string());
        Ok(Self {
            config,
            stores: ports.stores,
            claims: ports.claims,
            clock: ports.clock,
            audit: ports.audit,
            sealer,
            keyring: RwLock::new(Arc::new(ring)),
            discovery,
        })
    }

    /// The current time, from the provider's [`Clock`].
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// The discovery document, built once.
    pub fn discovery(&self) -> Arc<str> {
        self.discovery.clone()
    }

    fn current_ring(&self) -> Arc<KeyRing> {
        match self.keyring.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The key ring, reloaded from storage when older than `key_reload_interval`, so rotations
    /// made by another process are seen within that delay.
    pub async fn keys(&self) -> Result<Arc<KeyRing>, EngineError> {
        let ring = self.current_ring();
        let now = self.now();
        if now - ring.loaded_at < self.config.key_reload_interval {
            return Ok(ring);
        }
        self.reload_keys().await
    }

    /// Reloads the key ring from storage now.
    pub async fn reload_keys(&self) -> Result<Arc<KeyRing>, EngineError> {
        let now = self.now();
        let ring = Arc::new(KeyRing::load(
            self.stores.keys.list_keys().await?,
            &self.sealer,
            now,
        )?);
        match self.keyring.write() {
            Ok(mut guard) => *guard = ring.clone(),
            Err(poisoned) => *poisoned.into_inner() = ring.clone(),
        }
        Ok(ring)
    }

    /// Adds a new key per algorithm, published now and signing after `key_publish_delay`; the
    /// current keys sign until then and stay published until their last ID token has expired
    /// and the sessions it may name as a logout hint have ended.
    pub async fn rotate_keys(&self) -> Result<Vec<StoredKey>, EngineError> {
        let now = self.now();
        let active_from = now + self.config.key_publish_delay;
        // A retired key stays (published, and able to verify) while anything it signed may still
        // be presented: an ID token until it expires, and — as an `id_token_hint` at logout,
        // which RP-Initiated Logout §2 accepts expired — as long as the session it names lives.
        let lifetime = self.config.id_token_ttl.max(self.config.session_ttl);
        let keep_until = active_from + lifetime + self.config.key_reload_interval;
        let mut added = Vec::new();
        self.stores.keys.delete_expired_keys(now).await?;
        for alg in SigningAlg::ALL {
            self.stores
                .keys
                .retire_keys(alg, active_from, keep_until)
                .await?;
            let key = new_key(&self.sealer, alg, now, active_from)?;
            self.stores.keys.insert_key(&key).await?;
            added.push(key);
        }
        self.reload_keys().await?;
        Ok(added)
    }

    /// Removes expired records; tokens are kept a day past expiry so that a late reuse of a
    /// refresh token is still recognised as reuse, not as an unknown token.
    pub async fn purge_expired(&self) -> Result<u64, EngineError> {
        let now = self.now();
        let before = now - time::Duration::days(1);
        let s = &self.stores;
        Ok(s.interactions.purge_interactions(now).await?
            + s.codes.purge_codes(before).await?
            + s.assertions.purge_jtis(now).await?
            + s.sessions.purge_sessions(now).await?
            + s.tokens.purge_tokens(before).await?
            + s.logouts
                .purge_logouts(now - crate::backchannel::RETENTION)
                .await?)
    }

    /// Starts a browser session for an authenticated person; returns the cookie value.
    pub async fn start_session(
        &self,
        auth: Authentication,
        user_agent: Option<String>,
        ip: Option<String>,
    ) -> Result<(String, Session), EngineError> {
        let (cookie, session) =
            crate::session::new_session(auth, self.now(), self.config.session_ttl, user_agent, ip);
        self.stores.sessions.insert_session(&session).await?;
        Ok((cookie, session))
    }

    /// Starts a browser session in place of the browser's current one, behind `old_cookie` (a
    /// new session id at every sign-in: no fixation). When the current session is the same
    /// person's — a re-authentication, `prompt=login` at one portal — what it was issued moves
    /// to the new session, so another portal's tokens do not end with it; another person's
    /// session is logged out ([`Provider::end_session_cookie`]).
    pub async fn renew_session(
        &self,
        old_cookie: Option<&str>,
        auth: Authentication,
        user_agent: Option<String>,
        ip: Option<String>,
    ) -> Result<(String, Session), EngineError> {
        let old = self.session(old_cookie).await?;
        let same_person = old
            .as_ref()
            .is_some_and(|o| o.auth.identity_id == auth.identity_id);
        let (cookie, session) = self.start_session(auth, user_agent, ip).await?;
        match (old, old_cookie) {
            (Some(old), _) if same_person => {
                self.stores
                    .tokens
                    .move_tokens(&old.sid, &session.sid)
                    .await?;
                self.stores.sessions.end_session(&old.id_hash).await?;
            }
            (_, Some(old_cookie)) => self.end_session_cookie(old_cookie).await?,
            _ => {}
        }
        Ok((cookie, session))
    }

    /// The live session behind a session cookie.
    pub async fn session(&self, cookie: Option<&str>) -> Result<Option<Session>, StoreError> {
        let Some(cookie) = cookie else {
            return Ok(None);
        };
        let now = self.now();
        let session = self
            .stores
            .sessions
            .find_session(&hash_handle(cookie))
            .await?;
        Ok(session.filter(|s| s.expires_at > now))
    }

    /// Whether the session with public id `sid` is live (not ended, not expired).
    pub async fn session_live(&self, sid: &str) -> Result<bool, StoreError> {
        self.stores.sessions.session_live(sid, self.now()).await
    }

    /// Ends the session behind a cookie (RP-initiated logout, OpenID Connect RP-Initiated Logout
    /// 1.0 §2) and revokes the tokens issued in it, but those granted `offline_access`: they are
    /// meant to outlive the session (OIDC Core §11).
    pub async fn end_session_cookie(&self, cookie: &str) -> Result<(), StoreError> {
        let hash = hash_handle(cookie);
        let Some(session) = self.stores.sessions.find_session(&hash).await? else {
            return Ok(());
        };
        self.stores.sessions.end_session(&hash).await?;
        let identity_id = &session.auth.identity_id;
        self.notify_clients(
            identity_id,
            SessionsOf::One(&session.sid),
            std::slice::from_ref(&session.sid),
        )
        .await?;
        let revoked = self
            .revoke_session_tokens(identity_id, SessionsOf::One(&session.sid), false)
            .await?;
        self.session_ended(identity_id, "logout", Some(&session.sid), 1, revoked)
            .await;
        Ok(())
    }

    /// Ends every session of an identity but `except_sid` and revokes every token issued in them,
    /// `offline_access` ones included: a person ending their other sessions (a stolen cookie, a
    /// forgotten computer) wants what those sessions obtained gone too. `reason` goes to the
    /// audit trail.
    pub async fn end_sessions_of(
        &self,
        identity_id: &str,
        except_sid: Option<&str>,
        reason: &str,
    ) -> Result<(), StoreError> {
        let cut = self.cut_off(identity_id, except_sid).await?;
        self.session_ended(
            identity_id,
            reason,
            None,
            cut.sessions_ended,
            cut.tokens_revoked,
        )
        .await;
        Ok(())
    }

    /// Ends one session of an identity, named by its `sid`, and revokes every token issued in
    /// it, `offline_access` ones included (see [`Provider::end_sessions_of`]).
    async fn end_session_sid(
        &self,
        identity_id: &str,
        sid: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        self.stores.sessions.end_session_by_sid(sid).await?;
        self.notify_clients(identity_id, SessionsOf::One(sid), &[sid.to_string()])
            .await?;
        let revoked = self
            .revoke_session_tokens(identity_id, SessionsOf::One(sid), true)
            .await?;
        self.session_ended(identity_id, reason, Some(sid), 1, revoked)
            .await;
        Ok(())
    }

    async fn revoke_session_tokens(
        &self,
        identity_id: &str,
        sessions: SessionsOf<'_>,
        offline: bool,
    ) -> Result<u64, StoreError> {
        self.stores
            .tokens
            .revoke_tokens_of(identity_id, sessions, offline, self.now())
            .await
    }

    /// What a credential change cuts off (design.md §6): every session of the identity but
    /// `keep_sid` (the one the person made the change from) ends, and every token issued under
    /// the identity's grants but those issued in `keep_sid` is revoked — `offline_access` ones
    /// too, since they may be in the hands of whoever held the old credential. Not audited here:
    /// the caller records the change with these counts.
    pub async fn cut_off(
        &self,
        identity_id: &str,
        keep_sid: Option<&str>,
    ) -> Result<CutOff, StoreError> {
        let now = self.now();
        // The sessions about to end, for the back channel (those that ended before were told).
        let live: Vec<String> = self
            .stores
            .sessions
            .sessions_of(identity_id, now)
            .await?
            .into_iter()
            .map(|s| s.sid)
            .filter(|sid| Some(sid.as_str()) != keep_sid)
            .collect();
        let sessions_ended = self
            .stores
            .sessions
            .end_sessions_of(identity_id, keep_sid, now)
            .await?;
        self.notify_clients(identity_id, SessionsOf::AllBut(keep_sid), &live)
            .await?;
        let tokens_revoked = self
            .stores
            .tokens
            .revoke_tokens_of(identity_id, SessionsOf::AllBut(keep_sid), true, now)
            .await?;
        Ok(CutOff {
            sessions_ended,
            tokens_revoked,
        })
    }

    async fn session_ended(
        &self,
        identity_id: &str,
        reason: &str,
        sid: Option<&str>,
        sessions: u64,
        tokens_revoked: u64,
    ) {
        let mut event = AuditEvent::success(
            EventType::SessionEnded,
            Actor::identity(identity_id),
            self.now(),
        )
        .identity(identity_id)
        .with("reason", reason)
        .with("sessions", sessions)
        .with("tokens_revoked", tokens_revoked);
        if let Some(sid) = sid {
            event = event.with("sid", sid);
        }
        self.audit.record(event).await;
    }

    /// Records activity on a session (its "last seen" time, shown on the account page).
    pub async fn touch_session(&self, session: &Session) -> Result<(), StoreError> {
        self.stores
            .sessions
            .touch_session(&session.id_hash, self.now())
            .await
    }

    /// Records that the person behind `session` has just proved their password again
    /// (re-authentication before a sensitive action): its `auth_time` becomes now.
    pub async fn reauthenticated(&self, session: &Session) -> Result<(), StoreError> {
        self.stores
            .sessions
            .reauthenticated(&session.id_hash, self.now())
            .await
    }

    /// Live sessions of an identity, newest first.
    pub async fn sessions_of(&self, identity_id: &str) -> Result<Vec<Session>, StoreError> {
        self.stores
            .sessions
            .sessions_of(identity_id, self.now())
            .await
    }

    /// Ends another session of the person signed in with `current`, named by its `sid`. A person
    /// may only end their own sessions: a `sid` that is not one of theirs, or is `current`
    /// itself, ends nothing and returns `false`.
    pub async fn end_own_session(
        &self,
        current: &Session,
        sid: &str,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let identity_id = &current.auth.identity_id;
        let mine = self
            .sessions_of(identity_id)
            .await?
            .iter()
            .any(|s| s.sid == sid && s.sid != current.sid);
        if mine {
            self.end_session_sid(identity_id, sid, reason).await?;
        }
        Ok(mine)
    }

    /// The record of a live access token (RFC 6750 bearer); `None` when the token is unknown,
    /// expired, revoked or a refresh token. Userinfo and the admin API both start here; what the
    /// token may do (its scopes, its client) is theirs to check.
    pub async fn access_token(&self, token: &str) -> Result<Option<TokenRecord>, StoreError> {
        let now = self.now();
        let record = self
            .stores
            .tokens
            .find_token(&hash_handle(token))
            .await?
            .filter(|t| t.kind == TokenKind::Access && t.is_live(now));
        Ok(record)
    }

    /// The client registered under `id`, enabled or not.
    pub async fn client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        self.stores.clients.find_client(id).await
    }

    /// The client registered under `id` as the database holds it now (no copy kept in memory
    /// is trusted): for the admin API's authority, which a change made by another process must
    /// withdraw at once.
    pub async fn client_now(&self, id: &str) -> Result<Option<Client>, StoreError> {
        self.stores.clients.find_client_now(id).await
    }

    /// Every registered client, ordered by id.
    pub async fn clients(&self) -> Result<Vec<Client>, StoreError> {
        self.stores.clients.list_clients().await
    }

    /// Registers a client or replaces its registration; every process sees the change within
    /// `client_cache_seconds`, this one at once.
    pub async fn save_client(&self, client: &Client) -> Result<(), StoreError> {
        self.stores.clients.save_client(client).await
    }

    /// Drops this process's copy of a client deleted around the provider (by the admin store).
    pub fn forget_client(&self, id: &str) {
        self.stores.clients.forget(id)
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{Op, PERSON};

    #[tokio::test]
    async fn a_person_ends_only_their_own_other_sessions() {
        let op = Op::start().await;
        let here = op.signed_in().await;
        let elsewhere = op.signed_in().await;
        let current = op.provider.session(Some(&here)).await.unwrap().unwrap();
        let other = op
            .provider
            .session(Some(&elsewhere))
            .await
            .unwrap()
            .unwrap();
        let mut someone_else = current.clone();
        someone_else.auth.identity_id = "gc-someone-else".into();

        // Not one's own, nor the current one: nothing ends.
        let r = op.provider.end_own_session(&someone_else, &other.sid, "t");
        assert!(!r.await.unwrap());
        let r = op.provider.end_own_session(&current, &current.sid, "t");
        assert!(!r.await.unwrap());
        assert_eq!(op.provider.sessions_of(PERSON).await.unwrap().len(), 2);

        let r = op.provider.end_own_session(&current, &other.sid, "t");
        assert!(r.await.unwrap());
        let left = op.provider.sessions_of(PERSON).await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].sid, current.sid);
        assert!(op
            .provider
            .session(Some(&elsewhere))
            .await
            .unwrap()
            .is_none());
    }

    #[tokio::test]
    async fn reauthentication_moves_auth_time_to_now() {
        let op = Op::start().await;
        let cookie = op.signed_in().await;
        let session = op.provider.session(Some(&cookie)).await.unwrap().unwrap();
        op.clock.advance(3600);
        op.provider.reauthenticated(&session).await.unwrap();
        let again = op.provider.session(Some(&cookie)).await.unwrap().unwrap();
        assert_eq!(again.auth.auth_time, op.provider.now());
    }
}
