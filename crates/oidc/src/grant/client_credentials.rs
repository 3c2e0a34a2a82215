//! `grant_type=client_credentials` (RFC 6749 §4.4) for partner apps: confidential clients only,
//! scopes within the client's registration.

use super::{Issue, TokenResponse};
use crate::error::{EngineError, ErrorCode, OAuthError};
use crate::model::Client;
use crate::params::Params;
use crate::scope::{self, Scopes};
use crate::secret::new_handle;
use crate::Provider;

impl Provider {
    pub(super) async fn grant_client_credentials(
        &self,
        client: &Client,
        params: &Params,
    ) -> Result<TokenResponse, EngineError> {
        if client.is_public() {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "public clients cannot use client_credentials",
            )
            .into());
        }
        let mut registered = client.allowed_scopes();
        for user_scope in scope::USER_SCOPES {
            registered.remove(user_scope);
        }
        let scopes = match params.get("scope") {
            None => registered,
            Some(raw) => {
                let asked = Scopes::parse(raw).ok_or_else(|| {
                    OAuthError::new(ErrorCode::InvalidScope, "scope is malformed")
                })?;
                if !asked.is_subset(&registered) {
                    return Err(OAuthError::new(
                        ErrorCode::InvalidScope,
                        "scope is not registered for this client",
                    )
                    .into());
                }
                asked
            }
        };
        let issue = Issue {
            client,
            grant_type: crate::model::GRANT_CLIENT_CREDENTIALS,
            grant_id: new_handle("")[..22].to_string(),
            scopes,
            auth: None,
            person: None,
            sid: None,
            nonce: None,
            claims_request: None,
            with_refresh: false,
        };
        let (response, _) = self.issue(issue, true).await?;
        Ok(response)
    }
}
