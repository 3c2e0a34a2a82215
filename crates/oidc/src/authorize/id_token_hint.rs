//! Step: `id_token_hint` must be an ID token we signed for this issuer (it may have expired).

use crate::error::OAuthError;
use crate::keys::KeyRing;
use crate::params::Params;
use crate::ProviderConfig;

pub(super) fn check(
    params: &Params,
    keys: &KeyRing,
    config: &ProviderConfig,
) -> Result<Option<String>, OAuthError> {
    let Some(hint) = params.get("id_token_hint") else {
        return Ok(None);
    };
    verified_sub(hint, keys, config)
        .map(Some)
        .ok_or_else(|| OAuthError::invalid_request("id_token_hint is not an ID token issued here"))
}

/// The `sub` of an ID token signed by one of our keys for our issuer.
pub fn verified_sub(token: &str, keys: &KeyRing, config: &ProviderConfig) -> Option<String> {
    let claims = keys.verify(token)?;
    if claims.get("iss").and_then(|v| v.as_str()) != Some(config.issuer_str().as_str()) {
        return None;
    }
    claims
        .get("sub")
        .and_then(|v| v.as_str())
        .map(str::to_string)
}
