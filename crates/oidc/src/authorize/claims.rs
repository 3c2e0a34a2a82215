//! Step: the `claims` parameter (OpenID Connect Core §5.5), a JSON object whose `userinfo` and
//! `id_token` members name individual claims.

use crate::error::OAuthError;
use crate::params::Params;

pub(super) fn parse(params: &Params) -> Result<Option<serde_json::Value>, OAuthError> {
    let Some(raw) = params.get("claims") else {
        return Ok(None);
    };
    let value: serde_json::Value = serde_json::from_str(raw)
        .map_err(|_| OAuthError::invalid_request("claims is not valid JSON"))?;
    let obj = value
        .as_object()
        .ok_or_else(|| OAuthError::invalid_request("claims must be a JSON object"))?;
    for member in ["userinfo", "id_token"] {
        if let Some(m) = obj.get(member) {
            if !m.is_object() {
                return Err(OAuthError::invalid_request(format!(
                    "claims.{member} must be an object"
                )));
            }
        }
    }
    Ok(Some(value))
}

/// The claim names requested individually for `target` (`userinfo` or `id_token`).
pub fn requested(claims: Option<&serde_json::Value>, target: &str) -> Vec<String> {
    claims
        .and_then(|c| c.get(target))
        .and_then(|t| t.as_object())
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}
