//! Step: PKCE. S256 only; required for public clients and, by default, for all.

use crate::error::OAuthError;
use crate::model::Client;
use crate::params::Params;
use crate::ProviderConfig;

pub(super) fn check(
    params: &Params,
    client: &Client,
    config: &ProviderConfig,
) -> Result<Option<String>, OAuthError> {
    let challenge = params.get("code_challenge");
    let method = params.get("code_challenge_method");
    let required = client.is_public() || client.require_pkce || config.require_pkce;
    match (challenge, method) {
        (None, Some(_)) => Err(OAuthError::invalid_request(
            "code_challenge_method without code_challenge",
        )),
        (None, None) if required => Err(OAuthError::invalid_request(
            "code_challenge is required (PKCE with S256)",
        )),
        (None, None) => Ok(None),
        (Some(_), None) | (Some(_), Some("plain")) => Err(OAuthError::invalid_request(
            "code_challenge_method must be S256; plain is not allowed",
        )),
        (Some(_), Some(m)) if m != "S256" => Err(OAuthError::invalid_request(
            "code_challenge_method must be S256",
        )),
        (Some(c), Some(_)) => {
            if c.len() == 43 && crate::pkce::well_formed(c) {
                Ok(Some(c.to_string()))
            } else {
                Err(OAuthError::invalid_request("code_challenge is malformed"))
            }
        }
    }
}
