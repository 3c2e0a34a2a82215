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
use crate::scope::Scopes;
use crate::ProviderConfig;

/// A validated authorization request, as stored in an interaction.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: PromptSet,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
    pub claims_locales: Option<String>,
    pub acr_values: Option<String>,
    pub display: Option<String>,
    pub claims: Option<serde_json::Value>,
    /// The `sub` of a valid `id_token_hint`.
    pub hinted_sub: Option<String>,
}

impl AuthorizationRequest {
    pub fn scopes(&self) -> Scopes {
        Scopes::parse(&self.scope).unwrap_or_default()
    }
}

/// Why a request failed.
#[derive(Debug)]
pub enum Rejection {
    /// Client or redirect URI not verified: show our error page, never redirect.
    Page(OAuthError),
    /// Send the error to the verified redirect URI.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
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
    let hinted_sub = id_token_hint::check(params, keys, config).map_err(fail)?;

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
