//! RP-Initiated Logout 1.0.

use crate::error::{EngineError, OAuthError};
use crate::model::Session;
use crate::params::Params;
use crate::Provider;

/// A checked logout request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutRequest {
    /// Where to send the browser afterwards (registered for the client), with `state`.
    pub redirect: Option<String>,
    /// The `sid` of a valid `id_token_hint`.
    pub hinted_sid: Option<String>,
    /// The `sub` of a valid `id_token_hint`.
    pub hinted_sub: Option<String>,
    /// The registered name of the client named by `client_id` or the hint's `aud`, for the page.
    pub client_name: Option<String>,
}

impl LogoutRequest {
    /// The hint names this very session: log out without asking.
    pub fn matches(&self, session: &Session) -> bool {
        self.hinted_sub.as_deref() == Some(session.auth.identity_id.as_str())
            && self
                .hinted_sid
                .as_deref()
                .is_none_or(|sid| sid == session.sid)
    }
}

impl Provider {
    /// Validates `id_token_hint`, `client_id`, `post_logout_redirect_uri` and `state`. Errors are
    /// shown on our page, never redirected.
    pub async fn check_logout(&self, params: &Params) -> Result<LogoutRequest, EngineError> {
        params.each_once()?;
        let keys = self.keys().await?;
        let hint = match params.get("id_token_hint") {
            Some(t) => Some(keys.verify(t).ok_or_else(|| {
                OAuthError::invalid_request("id_token_hint is not an ID token issued here")
            })?),
            None => None,
        };
        let s = |k: &str| {
            hint.as_ref()
                .and_then(|h| h.get(k))
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        if hint.is_some() && s("iss").as_deref() != Some(self.config.issuer_str().as_str()) {
            return Err(OAuthError::invalid_request(
                "id_token_hint was issued by another provider",
            )
            .into());
        }
        let hinted_client = s("aud");
        let client_id = match (params.get("client_id"), hinted_client.as_deref()) {
            (Some(a), Some(b)) if a != b => {
                return Err(
                    OAuthError::invalid_request("client_id does not match id_token_hint").into(),
                )
            }
            (Some(a), _) => Some(a.to_string()),
            (None, b) => b.map(str::to_string),
        };
        // A disabled client gets nothing, its post-logout redirects included.
        let client = match &client_id {
            Some(id) => self
                .stores
                .clients
                .find_client(id)
                .await?
                .filter(|c| c.enabled),
            None => None,
        };
        let redirect = match params.get("post_logout_redirect_uri") {
            None => None,
            Some(uri) => {
                let registered = client
                    .as_ref()
                    .is_some_and(|c| c.post_logout_redirect_uris.iter().any(|r| r == uri));
                if !registered {
                    return Err(OAuthError::invalid_request(
                        "post_logout_redirect_uri is not registered for this client",
                    )
                    .into());
                }
                let mut url = url::Url::parse(uri).map_err(|_| {
                    OAuthError::invalid_request("post_logout_redirect_uri is malformed")
                })?;
                if let Some(state) = params.get("state") {
                    url.query_pairs_mut().append_pair("state", state);
                }
                Some(url.to_string())
            }
        };
        Ok(LogoutRequest {
            redirect,
            hinted_sid: s("sid"),
            hinted_sub: s("sub"),
            client_name: client.map(|c| c.name),
        })
    }
}
