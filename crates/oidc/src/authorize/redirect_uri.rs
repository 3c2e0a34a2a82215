//! Step: the redirect URI is present and exactly one of the client's registered URIs.

use crate::error::OAuthError;
use crate::model::Client;
use crate::params::Params;

pub(super) fn check(params: &Params, client: &Client) -> Result<String, OAuthError> {
    let uri = params
        .get("redirect_uri")
        .ok_or_else(|| OAuthError::invalid_request("redirect_uri is missing"))?;
    if client.redirect_uris.iter().any(|r| r == uri) {
        Ok(uri.to_string())
    } else {
        Err(OAuthError::invalid_request(
            "redirect_uri is not registered for this client",
        ))
    }
}
