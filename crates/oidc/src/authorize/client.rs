//! Step: the client exists and is enabled.

use crate::error::{ErrorCode, OAuthError};
use crate::model::Client;
use crate::params::Params;

pub(super) fn check<'a>(
    params: &Params,
    client: Option<&'a Client>,
) -> Result<&'a Client, OAuthError> {
    if params.get("client_id").is_none() {
        return Err(OAuthError::invalid_request("client_id is missing"));
    }
    match client {
        Some(c) if c.enabled => Ok(c),
        Some(_) => Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client is disabled",
        )),
        None => Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "unknown client_id",
        )),
    }
}
