//! Token revocation (RFC 7009). Revoking a refresh token revokes its family and the access
//! tokens issued with it. Unknown tokens are answered 200 with nothing done, as the RFC asks
//! (§2.2); a token issued to another client is refused (§2.1).

use gan_audit::{Actor, AuditEvent, EventType};

use crate::error::{EngineError, ErrorCode, OAuthError};
use crate::model::TokenKind;
use crate::params::Params;
use crate::secret::hash_handle;
use crate::{paths, Provider};

impl Provider {
    /// The revocation endpoint (RFC 7009 §2). The caller authenticates (`invalid_client`
    /// otherwise) and sends `token` (`invalid_request` otherwise); `token_type_hint` is ignored. A
    /// refresh token revokes its whole grant, an access token only itself; the revocation is
    /// audited. `Ok(())` too for unknown tokens. A token issued to another client is refused with
    /// `unauthorized_client` (RFC 7009 §2.1: the server "verifies whether the token was issued to
    /// the client making the revocation request"; the error is one of RFC 6749 §5.2's) and left
    /// alone.
    pub async fn revoke(
        &self,
        authorization: Option<&str>,
        params: &Params,
    ) -> Result<(), EngineError> {
        params.each_once()?;
        let caller = self
            .authenticate_client(authorization, params, paths::REVOKE)
            .await?;
        let token = params
            .get("token")
            .ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
        let now = self.now();
        let hash = hash_handle(token);
        let Some(record) = self.stores.tokens.find_token(&hash).await? else {
            return Ok(());
        };
        if record.client_id != caller.id {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "the token was issued to another client",
            )
            .into());
        }
        let kind = match record.kind {
            TokenKind::Refresh => {
                self.stores
                    .tokens
                    .revoke_grant(&record.grant_id, now)
                    .await?;
                "refresh_token"
            }
            TokenKind::Access => {
                self.stores.tokens.revoke_token(&hash, now).await?;
                "access_token"
            }
        };
        let mut event =
            AuditEvent::success(EventType::TokenRevoked, Actor::client(&caller.id), now)
                .client(&caller.id)
                .with("token_type", kind)
                .with("grant_id", record.grant_id.clone());
        if let Some(id) = &record.identity_id {
            event = event.identity(id);
        }
        self.audit.record(event).await;
        Ok(())
    }
}
