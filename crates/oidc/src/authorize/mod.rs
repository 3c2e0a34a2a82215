//! The authorization endpoint: a pipeline of small checks, each in its own file, from raw
//! parameters to a validated [`AuthorizationRequest`], then [`decide`] on a login, a consent or a
//! code.
//!
//! Until the client and its redirect URI are verified, errors are shown on a page of ours; after
//! that, they are sent back to the client (never to an unregistered URI).

pub mod claims;
mod client;
pub mod decide;
mod flow;
pub mod id_token_hint;
pub mod pkce;
mod prompt;
mod redirect_uri;
mod response;
mod scopes;

use serde::{Deserialize, Serialize};

pub use decide::Decision;
pub use flow::AuthorizeOutcome;
pub use prompt::PromptSet;
pub use response::{error_redirect, success_redirect};

use crate::error::{ErrorCode, OAuthError};
use crate::keys::KeyRing;
use crate::model::Client;
use crate::params::Params;
use crate::scope::{self, Scopes};
use crate::ProviderConfig;

/// A validated authorization request, as stored in an interaction.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    /// The requesting client, known and enabled.
    pub client_id: String,
    /// One of the client's registered redirect URIs, matched exactly.
    pub redirect_uri: String,
    /// The granted scopes (what was asked, within what the client may have, `openid` always),
    /// space-separated.
    pub scope: String,
    /// The client's opaque `state`, returned with the response unchanged.
    pub state: Option<String>,
    /// The `nonce` (OIDC Core §3.1.2.1), copied into the ID token.
    pub nonce: Option<String>,
    /// The PKCE S256 `code_challenge` (RFC 7636 §4.2): 43 base64url characters.
    pub code_challenge: Option<String>,
    /// The `prompt` values (OIDC Core §3.1.2.1).
    pub prompt: PromptSet,
    /// `max_age` in seconds (OIDC Core §3.1.2.1): an older sign-in must be redone.
    pub max_age: Option<i64>,
    /// `login_hint` (OIDC Core §3.1.2.1), to prefill the sign-in form.
    pub login_hint: Option<String>,
    /// `ui_locales` (OIDC Core §3.1.2.1), as sent: space-separated language tags.
    pub ui_locales: Option<String>,
    /// `claims_locales` (OIDC Core §5.2), as sent; kept, not acted on.
    pub claims_locales: Option<String>,
    /// `acr_values` (OIDC Core §3.1.2.1), as sent; kept, not acted on.
    pub acr_values: Option<String>,
    /// `display` (OIDC Core §3.1.2.1), as sent; kept, not acted on.
    pub display: Option<String>,
    /// The `claims` request parameter (OIDC Core §5.5), a JSON object checked for shape only.
    pub claims: Option<serde_json::Value>,
    /// The `sub` of a valid `id_token_hint`, or the `sub.value` of the `claims` request: the
    /// answer must be that person's (OIDC Core §3.1.2.1, §5.5.1).
    pub hinted_sub: Option<String>,
}

impl AuthorizationRequest {
    /// The granted scopes, parsed; empty if the stored string is malformed.
    pub fn scopes(&self) -> Scopes {
        Scopes::parse(&self.scope).unwrap_or_default()
    }

    /// What the person is asked to allow (OIDC Core §3.1.2.4, §5.5): the granted scopes, plus
    /// the scope behind each claim the `claims` parameter asks for individually that `client`
    /// may have — so a claim asked that way is shown on the consent page and covered by the
    /// consent like its scope. Claims the client may not have are not asked: never released.
    pub fn consent_scopes(&self, client: &Client) -> Scopes {
        let mut scopes = self.scopes();
        for target in ["id_token", "userinfo"] {
            for claim in claims::requested(self.claims.as_ref(), target) {
                if scope::client_may_have(client, &claim) {
                    if let Some(owner) = scope::owner_of(&claim) {
                        scopes.insert(owner);
                    }
                }
            }
        }
        scopes
    }
}

/// Why a request failed.
#[derive(Debug)]
pub enum Rejection {
    /// Client or redirect URI not verified: show our error page, never redirect.
    Page(OAuthError),
    /// Send the error to the verified redirect URI.
    Redirect {
        /// The verified redirect URI.
        redirect_uri: String,
        /// The client's `state`, returned with the error.
        state: Option<String>,
        /// What went wrong.
        error: OAuthError,
    },
}

/// Validates raw parameters for a known client. `client` is `None` when `client_id` is unknown.
pub fn validate(
    params: &Params,
    client: Option<&Client>,
    config: &ProviderConfig,
    keys: &KeyRing,
) -> Result<AuthorizationRequest, Rejection> {
    let client = client::check(params, client).map_err(Rejection::Page)?;
    let redirect_uri = redirect_uri::check(params, client).map_err(Rejection::Page)?;
    let state = params.get("state").map(str::to_string);
    let fail = |error: OAuthError| Rejection::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: state.clone(),
        error,
    };

    if let Some(name) = params.duplicated() {
        return Err(fail(OAuthError::invalid_request(format!(
            "parameter {name} was sent more than once"
        ))));
    }
    response::check_mode_and_type(params).map_err(fail)?;
    if params.get("request").is_some() {
        return Err(fail(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        )));
    }
    if params.get("request_uri").is_some() {
        return Err(fail(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        )));
    }
    let scope = scopes::check(params, client).map_err(fail)?;
    let code_challenge = pkce::check(params, client, config).map_err(fail)?;
    let prompt = prompt::parse(params).map_err(fail)?;
    let max_age = prompt::max_age(params).map_err(fail)?;
    let claims = claims::parse(params).map_err(fail)?;
    let mut hinted_sub = id_token_hint::check(params, keys, config).map_err(fail)?;
    // A subject named in the claims request binds the answer like a hint does (OIDC Core
    // §5.5.1); naming two different people is a contradiction.
    if let Some(sub) = claims::required_sub(claims.as_ref()).map_err(fail)? {
        if hinted_sub.as_deref().is_some_and(|h| h != sub) {
            return Err(fail(OAuthError::invalid_request(
                "the claims request and id_token_hint name different subjects",
            )));
        }
        hinted_sub = Some(sub);
    }
    if claims::unmet_essential_acr(claims.as_ref(), &[crate::ACR_PASSWORD]) {
        return Err(fail(OAuthError::new(
            ErrorCode::AccessDenied,
            "the essential acr cannot be satisfied",
        )));
    }

    Ok(AuthorizationRequest {
        client_id: client.id.clone(),
        redirect_uri: redirect_uri.clone(),
        scope: scope.to_string(),
        state: state.clone(),
        nonce: params.get("nonce").map(str::to_string),
        code_challenge,
        prompt,
        max_age,
        login_hint: params.get("login_hint").map(str::to_string),
        ui_locales: params.get("ui_locales").map(str::to_string),
        claims_locales: params.get("claims_locales").map(str::to_string),
        acr_values: params.get("acr_values").map(str::to_string),
        display: params.get("display").map(str::to_string),
        claims,
        hinted_sub,
    })
}

#[cfg(test)]
mod tests;
