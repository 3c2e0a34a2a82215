//! `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6): single-use codes; a replay
//! revokes every token issued from the code.
//!
//! The tokens are stored before the code is marked used, so a replay that races the first
//! exchange still finds — and revokes — everything the code produced.

use gan_audit::{Actor, AuditEvent, EventType};

use super::{Issue, TokenResponse};
use crate::error::{EngineError, OAuthError};
use crate::model::{Client, GRANT_REFRESH_TOKEN};
use crate::params::Params;
use crate::ports::Consumed;
use crate::scope::{self, Scopes};
use crate::secret::hash_handle;
use crate::{pkce, Provider};

impl Provider {
    pub(super) async fn grant_authorization_code(
        &self,
        client: &Client,
        params: &Params,
    ) -> Result<TokenResponse, EngineError> {
        let code = params
            .get("code")
            .ok_or_else(|| OAuthError::invalid_request("code is missing"))?;
        let now = self.now();
        let code_hash = hash_handle(code);
        let Some(record) = self.stores.codes.find_code(&code_hash).await? else {
            return Err(OAuthError::invalid_grant("unknown code").into());
        };
        if record.consumed_at.is_some() {
            return self.code_replayed(&record, now).await;
        }
        if record.client_id != client.id {
            return Err(OAuthError::invalid_grant("the code was issued to another client").into());
        }
        if record.expires_at <= now {
            return Err(OAuthError::invalid_grant("the code has expired").into());
        }
        if params.get("redirect_uri") != Some(record.redirect_uri.as_str()) {
            return Err(OAuthError::invalid_grant(
                "redirect_uri does not match the authorization request",
            )
            .into());
        }
        match (&record.code_challenge, params.get("code_verifier")) {
            (Some(challenge), Some(verifier)) if pkce::verify_s256(verifier, challenge) => {}
            (Some(_), Some(_)) => {
                return Err(OAuthError::invalid_grant("code_verifier does not match").into())
            }
            (Some(_), None) => {
                return Err(OAuthError::invalid_grant("code_verifier is missing").into())
            }
            (None, Some(_)) => {
                return Err(
                    OAuthError::invalid_grant("no code_challenge was sent for this code").into(),
                )
            }
            (None, None) => {}
        }
        let scopes = Scopes::parse(&record.scope).unwrap_or_default();
        let with_refresh =
            scopes.contains(scope::OFFLINE_ACCESS) && client.allows_grant(GRANT_REFRESH_TOKEN);
        let person = self.grant_person(&record.auth.identity_id, client).await?;
        let issue = Issue {
            client,
            grant_type: crate::model::GRANT_AUTHORIZATION_CODE,
            grant_id: record.grant_id.clone(),
            scopes,
            auth: Some(record.auth.clone()),
            person: Some(person),
            sid: Some(record.sid.clone()),
            nonce: record.nonce.clone(),
            claims_request: record.claims.clone(),
            with_refresh,
        };
        let (response, _) = self.issue(issue, true).await?;
        match self.stores.codes.consume_code(&code_hash, now).await? {
            // Checked once the tokens are stored: a session ended meanwhile (a logout, a
            // credential change) either revoked them already or is seen ended here.
            Consumed::Now(_) if !self.stores.sessions.session_live(&record.sid, now).await? => {
                self.stores
                    .tokens
                    .revoke_grant(&record.grant_id, now)
                    .await?;
                Err(OAuthError::invalid_grant("the session of this code has ended").into())
            }
            Consumed::Now(_) => Ok(response),
            Consumed::Already(r) => self.code_replayed(&r, now).await,
            Consumed::Missing => {
                self.stores
                    .tokens
                    .revoke_grant(&record.grant_id, now)
                    .await?;
                Err(OAuthError::invalid_grant("unknown code").into())
            }
        }
    }

    async fn code_replayed(
        &self,
        code: &crate::model::AuthorizationCode,
        now: time::OffsetDateTime,
    ) -> Result<TokenResponse, EngineError> {
        tracing::warn!(
            client_id = code.client_id,
            grant_id = code.grant_id,
            "authorization code replayed: revoking its tokens"
        );
        self.stores.tokens.revoke_grant(&code.grant_id, now).await?;
        let event = AuditEvent::failure(EventType::CodeReplay, Actor::client(&code.client_id), now)
            .client(&code.client_id)
            .identity(&code.auth.identity_id)
            .with("grant_id", code.grant_id.clone());
        self.audit.record(event).await;
        Err(OAuthError::invalid_grant("the code was already used").into())
    }
}
