//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0): when a session ends — an
//! RP-initiated logout, a session ended from "Gérer mon compte", an admin lock, a credential
//! change — every client that took part in it (was issued tokens in it) and registered a
//! `backchannel_logout_uri` is sent a signed logout token, server to server. Notices wait in a
//! persistent queue shared by every process ([`LogoutQueue`]): a client that is down gets it
//! later, with growing delays, and each notice is delivered by one process at a time (a lease).
//! The logout token is made at each attempt, so it is always fresh (§2.4: short-lived).

use async_trait::async_trait;
use gan_audit::{Actor, AuditEvent, EventType};
use time::{Duration, OffsetDateTime};

use crate::error::{EngineError, StoreError};
use crate::model::Client;
use crate::ports::{LogoutNotice, LogoutOutcome, SessionsOf};
use crate::Provider;

/// The event a logout token carries (§2.4).
pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// How long a logout token is valid: two minutes (§2.4 asks for a short lifetime).
pub const TOKEN_TTL: Duration = Duration::minutes(2);
/// How long a process holds a claimed notice. A [`LogoutSender`] must give up well before it
/// (the server's gives up after 10 seconds), so that no other process sends it meanwhile.
pub const LEASE: Duration = Duration::minutes(1);
/// A notice not delivered within a day is given up: the client's own session has long ended.
pub const GIVE_UP_AFTER: Duration = Duration::hours(24);
/// Notices delivered or given up are deleted after a week.
pub const RETENTION: Duration = Duration::days(7);
/// At most this many notices per delivery round (the next round goes on).
const ROUND: usize = 100;

/// Posts a logout token to a client (§2.5: `application/x-www-form-urlencoded`,
/// `logout_token=…`). `Ok` when the client answered 2xx; `Err` with the cause otherwise. It must
/// answer within a fraction of [`LEASE`] (time out, follow no redirect).
#[async_trait]
pub trait LogoutSender: Send + Sync {
    /// Sends `logout_token` to `uri`.
    async fn post(&self, uri: &str, logout_token: &str) -> Result<(), String>;
}

/// The wait before attempt `attempts + 1`: 5 s, doubling, at most an hour.
fn backoff(attempts: u32) -> Duration {
    let seconds = 5i64.saturating_mul(1i64 << attempts.saturating_sub(1).min(10));
    Duration::seconds(seconds.min(3600))
}

impl Provider {
    /// Queues a notice for every client that took part in the `sessions` of `identity_id` and
    /// listens on the back channel (enabled, with a `backchannel_logout_uri`), for the sessions
    /// that were live (`live`, their `sid`s, read before they were ended: a session that ended
    /// earlier was told then). Reads which clients were issued tokens in them.
    pub(crate) async fn notify_clients(
        &self,
        identity_id: &str,
        sessions: SessionsOf<'_>,
        live: &[String],
    ) -> Result<(), StoreError> {
        let pairs = self
            .stores
            .tokens
            .session_clients(identity_id, sessions)
            .await?
            .into_iter()
            .filter(|(sid, _)| live.contains(sid));
        let now = self.now();
        let mut notices = Vec::new();
        for (sid, client_id) in pairs {
            let listens = self
                .client(&client_id)
                .await?
                .is_some_and(|c| c.enabled && c.backchannel_logout_uri.is_some());
            if listens {
                notices.push(LogoutNotice {
                    id: gan_secret::random_hex(16),
                    client_id,
                    identity_id: identity_id.to_string(),
                    sid: Some(sid),
                    attempts: 0,
                    created_at: now,
                });
            }
        }
        if !notices.is_empty() {
            self.stores.logouts.enqueue_logouts(&notices).await?;
        }
        Ok(())
    }

    /// The logout token for `notice` (§2.4): a JWT with `typ: logout+jwt`, signed with the
    /// client's ID-token algorithm, holding `iss`, `aud` (the client), `iat`, `exp` (+2 min),
    /// `jti`, `events` with the back-channel logout event, `sub`, and `sid` when known — never a
    /// `nonce`.
    pub async fn logout_token(
        &self,
        client: &Client,
        notice: &LogoutNotice,
    ) -> Result<String, EngineError> {
        let now = self.now();
        let mut payload = serde_json::json!({
            "iss": self.config.issuer_str(),
            "aud": client.id,
            "iat": now.unix_timestamp(),
            "exp": (now + TOKEN_TTL).unix_timestamp(),
            "jti": gan_secret::random_hex(16),
            "events": { EVENT: {} },
            "sub": notice.identity_id,
        });
        if let Some(sid) = &notice.sid {
            payload["sid"] = sid.clone().into();
        }
        self.keys()
            .await?
            .sign_typed(client.id_token_alg, "logout+jwt", &payload, now)
    }

    /// Delivers the notices due now, one claim at a time, until none is due (at most 100 per
    /// call); returns how many were delivered. A client that fails is tried again later (5 s,
    /// doubling, at most an hour apart) until a day has passed; each delivery and each notice
    /// given up is in the audit trail (`logout.notified`).
    ///
    /// Errors: storage only (a failed delivery is the notice's business, not the caller's).
    pub async fn deliver_logouts(&self, sender: &dyn LogoutSender) -> Result<u64, StoreError> {
        let claim = gan_secret::random_hex(12);
        let mut delivered = 0;
        for _ in 0..ROUND {
            let now = self.now();
            let Some(notice) = self
                .stores
                .logouts
                .claim_logout(now, now + LEASE, &claim)
                .await?
            else {
                break;
            };
            let outcome = self.deliver_one(sender, &notice, now).await;
            self.stores
                .logouts
                .finish_logout(&notice.id, &claim, &outcome, self.now())
                .await?;
            let attempts = notice.attempts + 1;
            let event = |e: AuditEvent| {
                let e = e
                    .identity(&notice.identity_id)
                    .client(&notice.client_id)
                    .with("attempts", attempts);
                match &notice.sid {
                    Some(sid) => e.with("sid", sid.clone()),
                    None => e,
                }
            };
            let actor = || Actor::client(&notice.client_id);
            match &outcome {
                LogoutOutcome::Delivered => {
                    delivered += 1;
                    self.audit
                        .record(event(AuditEvent::success(
                            EventType::LogoutNotified,
                            actor(),
                            now,
                        )))
                        .await;
                }
                LogoutOutcome::Retry { error, .. } => {
                    tracing::warn!(client = %notice.client_id, attempts, %error, "back-channel logout failed; will retry");
                }
                LogoutOutcome::Abandoned { error } => {
                    tracing::error!(client = %notice.client_id, attempts, %error, "back-channel logout given up");
                    self.audit
                        .record(
                            event(AuditEvent::failure(EventType::LogoutNotified, actor(), now))
                                .with("error", error.clone()),
                        )
                        .await;
                }
            }
        }
        Ok(delivered)
    }

    async fn deliver_one(
        &self,
        sender: &dyn LogoutSender,
        notice: &LogoutNotice,
        now: OffsetDateTime,
    ) -> LogoutOutcome {
        let abandon = |error: &str| LogoutOutcome::Abandoned {
            error: error.to_string(),
        };
        let client = match self.client(&notice.client_id).await {
            Ok(Some(c)) if c.enabled => c,
            Ok(_) => return abandon("the client is disabled or gone"),
            Err(e) => {
                return LogoutOutcome::Retry {
                    next_attempt_at: now + backoff(notice.attempts + 1),
                    error: e.to_string(),
                }
            }
        };
        let Some(uri) = client.backchannel_logout_uri.clone() else {
            return abandon("the client no longer has a backchannel_logout_uri");
        };
        if now - notice.created_at > GIVE_UP_AFTER {
            return abandon("not delivered within a day");
        }
        let sent = match self.logout_token(&client, notice).await {
            Ok(token) => sender.post(&uri, &token).await,
            Err(e) => Err(e.to_string()),
        };
        match sent {
            Ok(()) => LogoutOutcome::Delivered,
            Err(error) => LogoutOutcome::Retry {
                next_attempt_at: now + backoff(notice.attempts + 1),
                error,
            },
        }
    }

    /// Deletes notices delivered or given up more than [`RETENTION`] ago; returns how many.
    pub async fn purge_logouts(&self) -> Result<u64, StoreError> {
        self.stores
            .logouts
            .purge_logouts(self.now() - RETENTION)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_an_hour() {
        assert_eq!(backoff(1), Duration::seconds(5));
        assert_eq!(backoff(2), Duration::seconds(10));
        assert_eq!(backoff(5), Duration::seconds(80));
        assert_eq!(backoff(30), Duration::hours(1));
    }
}
