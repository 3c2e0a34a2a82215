//! The userinfo endpoint (OpenID Connect Core §5.3) with bearer tokens (RFC 6750).

use crate::error::{EngineError, ErrorCode, OAuthError};
use crate::model::TokenKind;
use crate::scope::{self, Scopes};
use crate::secret::hash_handle;
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
        // The token and its person in one read.
        let (token, person) = self
            .claims
            .token_and_person(&hash_handle(access_token), self.stores.tokens.as_ref())
            .await?
            .filter(|(t, _)| t.kind == TokenKind::Access && t.is_live(self.now()))
            .ok_or_else(invalid)?;
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
        // A person who may no longer sign in, or use this client, gets nothing more.
        let person = person.filter(|p| p.may_use(&client)).ok_or_else(invalid)?;
        let mut claims =
            self.released_claims(&person, &scopes, token.claims.as_ref(), "userinfo", &client);
        claims.insert("sub".into(), identity_id.into());
        Ok(serde_json::Value::Object(claims))
    }
}
