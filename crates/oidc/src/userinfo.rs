//! The userinfo endpoint (OpenID Connect Core §5.3) with bearer tokens (RFC 6750).

use crate::error::{EngineError, ErrorCode, OAuthError};
use crate::scope::{self, Scopes};
use crate::Provider;

impl Provider {
    /// Claims for the holder of `access_token`.
    pub async fn userinfo(&self, access_token: &str) -> Result<serde_json::Value, EngineError> {
        let invalid = || {
            OAuthError::new(
                ErrorCode::InvalidToken,
                "the access token is invalid, expired or revoked",
            )
        };
        let token = self.access_token(access_token).await?.ok_or_else(invalid)?;
        let scopes = Scopes::parse(&token.scope).unwrap_or_default();
        let identity_id = token.identity_id.clone().ok_or_else(invalid)?;
        if !scopes.contains(scope::OPENID) {
            return Err(OAuthError::new(
                ErrorCode::InsufficientScope,
                "the token lacks the openid scope",
            )
            .into());
        }
        let client = self
            .client(&token.client_id)
            .await?
            .filter(|c| c.enabled)
            .ok_or_else(invalid)?;
        let mut claims = self
            .released_claims(
                &identity_id,
                &scopes,
                token.claims.as_ref(),
                "userinfo",
                &client,
            )
            .await?
            .ok_or_else(invalid)?;
        claims.insert("sub".into(), identity_id.into());
        Ok(serde_json::Value::Object(claims))
    }
}
