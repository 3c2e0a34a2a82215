//! The provider: configuration, ports, the key ring and the discovery document, shared by every
//! endpoint. The endpoints themselves live in their own modules as `impl Provider` blocks.

use std::sync::{Arc, RwLock};

use gan_audit::{Actor, AuditEvent, Auditor, EventType};
use time::OffsetDateTime;

use crate::clock::Clock;
use crate::error::{EngineError, StoreError};
use crate::keys::{new_key, KeyRing, KeySealer};
use crate::model::{Authentication, Session, SigningAlg, StoredKey};
use crate::ports::{ClaimsSource, ClientStore, GrantStore};
use crate::secret::hash_handle;
use crate::ProviderConfig;

/// The OpenID provider.
pub struct Provider {
    pub config: ProviderConfig,
    pub clients: Arc<dyn ClientStore>,
    pub grants: Arc<dyn GrantStore>,
    pub claims: Arc<dyn ClaimsSource>,
    pub clock: Arc<dyn Clock>,
    pub audit: Arc<Auditor>,
    sealer: KeySealer,
    keyring: RwLock<Arc<KeyRing>>,
    discovery: Arc<str>,
}

/// The ports and helpers a provider is built from.
pub struct Ports {
    pub clients: Arc<dyn ClientStore>,
    pub grants: Arc<dyn GrantStore>,
    pub claims: Arc<dyn ClaimsSource>,
    pub clock: Arc<dyn Clock>,
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
        let stored = ports.grants.list_keys().await?;
        for alg in SigningAlg::ALL {
            let usable = stored
                .iter()
                .any(|k| k.alg == alg && k.retired_at.is_none());
            if !usable {
                ports
                    .grants
                    .insert_key(&new_key(&sealer, alg, now, now)?)
                    .await?;
            }
        }
        let ring = KeyRing::load(ports.grants.list_keys().await?, &sealer, now)?;
        let discovery = Arc::from(crate::discovery::document(&config).to_string());
        Ok(Self {
            config,
            clients: ports.clients,
            grants: ports.grants,
            claims: ports.claims,
            clock: ports.clock,
            audit: ports.audit,
            sealer,
            keyring: RwLock::new(Arc::new(ring)),
            discovery,
        })
    }

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
            self.grants.list_keys().await?,
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
    /// current keys sign until then and stay published until their last ID token has expired.
    pub async fn rotate_keys(&self) -> Result<Vec<StoredKey>, EngineError> {
        let now = self.now();
        let active_from = now + self.config.key_publish_delay;
        let keep_until = active_from + self.config.id_token_ttl + self.config.key_reload_interval;
        let mut added = Vec::new();
        self.grants.delete_expired_keys(now).await?;
        for alg in SigningAlg::ALL {
            self.grants
                .retire_keys(alg, active_from, keep_until)
                .await?;
            let key = new_key(&self.sealer, alg, now, active_from)?;
            self.grants.insert_key(&key).await?;
            added.push(key);
        }
        self.reload_keys().await?;
        Ok(added)
    }

    /// Removes expired records; tokens are kept a day past expiry so that a late reuse of a
    /// refresh token is still recognised as reuse, not as an unknown token.
    pub async fn purge_expired(&self) -> Result<u64, EngineError> {
        let now = self.now();
        Ok(self
            .grants
            .purge_expired(now, now - time::Duration::days(1))
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
        self.grants.insert_session(&session).await?;
        Ok((cookie, session))
    }

    /// The live session behind a session cookie.
    pub async fn session(&self, cookie: Option<&str>) -> Result<Option<Session>, StoreError> {
        let Some(cookie) = cookie else {
            return Ok(None);
        };
        let now = self.now();
        let session = self.grants.find_session(&hash_handle(cookie)).await?;
        Ok(session.filter(|s| s.expires_at > now))
    }

    /// Ends the session behind a cookie (logout).
    pub async fn end_session_cookie(&self, cookie: &str) -> Result<(), StoreError> {
        let hash = hash_handle(cookie);
        let Some(session) = self.grants.find_session(&hash).await? else {
            return Ok(());
        };
        self.grants.end_session(&hash).await?;
        self.session_ended(&session.auth.identity_id, "logout", Some(&session.sid))
            .await;
        Ok(())
    }

    /// Ends every session of an identity but `except_sid`; `reason` goes to the audit trail.
    pub async fn end_sessions_of(
        &self,
        identity_id: &str,
        except_sid: Option<&str>,
        reason: &str,
    ) -> Result<(), StoreError> {
        self.grants.end_sessions_of(identity_id, except_sid).await?;
        self.session_ended(identity_id, reason, None).await;
        Ok(())
    }

    /// Ends one session of an identity, named by its `sid`.
    pub async fn end_session_sid(
        &self,
        identity_id: &str,
        sid: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        self.grants.end_session_by_sid(sid).await?;
        self.session_ended(identity_id, reason, Some(sid)).await;
        Ok(())
    }

    async fn session_ended(&self, identity_id: &str, reason: &str, sid: Option<&str>) {
        let mut event = AuditEvent::success(
            EventType::SessionEnded,
            Actor::identity(identity_id),
            self.now(),
        )
        .identity(identity_id)
        .with("reason", reason);
        if let Some(sid) = sid {
            event = event.with("sid", sid);
        }
        self.audit.record(event).await;
    }
}
