//! `grant_type=refresh_token` (RFC 6749 §6): rotation on every use; presenting an already
//! rotated token revokes the whole family.

use gan_audit::{Actor, AuditEvent, EventType};

use super::{Issue, TokenResponse};
use crate::error::{EngineError, ErrorCode, OAuthError};
use crate::model::{Client, TokenKind, TokenRecord};
use crate::params::Params;
use crate::ports::Consumed;
use crate::scope::{self, Scopes};
use crate::secret::hash_handle;
use crate::Provider;

impl Provider {
    pub(super) async fn grant_refresh_token(
        &self,
        client: &Client,
        params: &Params,
    ) -> Result<TokenResponse, EngineError> {
        let presented = params
            .get("refresh_token")
            .ok_or_else(|| OAuthError::invalid_request("refresh_token is missing"))?;
        let now = self.now();
        let hash = hash_handle(presented);
        // The token and its person in one read.
        let Some((current, person)) = self
            .claims
            .token_and_person(&hash, self.stores.tokens.as_ref())
            .await?
            .filter(|(t, _)| t.kind == TokenKind::Refresh)
        else {
            return Err(OAuthError::invalid_grant("unknown refresh token").into());
        };
        if current.client_id != client.id {
            return Err(OAuthError::invalid_grant(
                "the refresh token was issued to another client",
            )
            .into());
        }
        if current.consumed_at.is_some() {
            return self.reuse_detected(&current, now).await;
        }
        if current.revoked_at.is_some() || current.expires_at <= now {
            return Err(OAuthError::invalid_grant("the refresh token is no longer valid").into());
        }
        // What the grant still gives: what was granted, within what the client is registered
        // for today (a scope removed from its registration is gone from its grants too).
        let granted = Scopes::parse(&current.scope)
            .unwrap_or_default()
            .intersect(&client.allowed_scopes());
        // A refresh token lives by `offline_access`: once the client's registration drops it,
        // the refresh tokens it holds are worth nothing.
        if !granted.contains(scope::OFFLINE_ACCESS) {
            return Err(OAuthError::invalid_grant(
                "offline access is no longer granted to this client",
            )
            .into());
        }
        // A narrower `scope` applies to this response only: the new refresh token keeps the
        // grant, so a later refresh without `scope` gets all of it again (RFC 6749 §6).
        let scopes = match params.get("scope") {
            None => granted.clone(),
            Some(raw) => {
                let asked = Scopes::parse(raw).ok_or_else(|| {
                    OAuthError::new(ErrorCode::InvalidScope, "scope is malformed")
                })?;
                if !asked.is_subset(&granted) {
                    return Err(OAuthError::new(
                        ErrorCode::InvalidScope,
                        "scope exceeds the original grant",
                    )
                    .into());
                }
                asked
            }
        };
        let auth = current
            .auth
            .clone()
            .ok_or_else(|| OAuthError::invalid_grant("not a user grant"))?;
        // The person must still be able to sign in and to use this client.
        let person = person
            .filter(|p| p.may_use(client))
            .ok_or_else(|| OAuthError::invalid_grant("the account can no longer sign in"))?;
        let issue = Issue {
            client,
            grant_type: crate::model::GRANT_REFRESH_TOKEN,
            grant_id: current.grant_id.clone(),
            scopes,
            auth: Some(auth),
            person: Some(person),
            sid: current.sid.clone(),
            nonce: None,
            claims_request: current.claims.clone(),
            with_refresh: true,
        };
        let (response, mut records) = self.issue(issue, false).await?;
        for r in records.iter_mut().filter(|r| r.kind == TokenKind::Refresh) {
            r.scope = granted.to_string();
        }
        match self
            .stores
            .tokens
            .rotate_refresh(&hash, now, &records)
            .await?
        {
            Consumed::Now(_) => Ok(response),
            Consumed::Already(t) => self.reuse_detected(&t, now).await,
            Consumed::Missing => Err(OAuthError::invalid_grant("unknown refresh token").into()),
        }
    }

    async fn reuse_detected(
        &self,
        token: &TokenRecord,
        now: time::OffsetDateTime,
    ) -> Result<TokenResponse, EngineError> {
        tracing::warn!(
            grant_id = token.grant_id,
            "refresh token reused: revoking the family"
        );
        self.stores
            .tokens
            .revoke_grant(&token.grant_id, now)
            .await?;
        let mut event = AuditEvent::failure(
            EventType::RefreshReuse,
            Actor::client(&token.client_id),
            now,
        )
        .client(&token.client_id)
        .with("grant_id", token.grant_id.clone());
        if let Some(id) = &token.identity_id {
            event = event.identity(id);
        }
        self.audit.record(event).await;
        Err(OAuthError::invalid_grant("the refresh token was already used").into())
    }
}
