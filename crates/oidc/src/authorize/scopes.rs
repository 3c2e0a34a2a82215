//! Step: `scope` contains `openid`; scopes the client may not have are dropped (RFC 6749 §3.3
//! lets the provider grant less than asked).

use crate::error::{ErrorCode, OAuthError};
use crate::model::{Client, GRANT_REFRESH_TOKEN};
use crate::params::Params;
use crate::scope::{self, Scopes};

pub(super) fn check(params: &Params, client: &Client) -> Result<Scopes, OAuthError> {
    let raw = params.get("scope").ok_or_else(|| {
        OAuthError::new(
            ErrorCode::InvalidScope,
            "scope is missing: openid is required",
        )
    })?;
    let requested = Scopes::parse(raw)
        .ok_or_else(|| OAuthError::new(ErrorCode::InvalidScope, "scope is malformed"))?;
    if !requested.contains(scope::OPENID) {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "the openid scope is required",
        ));
    }
    let mut allowed =
        Scopes::from_iter(scope::USER_SCOPES.iter().copied()).intersect(&client.allowed_scopes());
    if !client.allows_grant(GRANT_REFRESH_TOKEN) {
        allowed.remove(scope::OFFLINE_ACCESS);
    }
    // openid is the request itself, not a permission: it is always granted.
    let mut granted = requested.intersect(&allowed);
    granted.insert(scope::OPENID);
    Ok(granted)
}
