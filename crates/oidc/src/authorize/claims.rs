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

/// The subject a `claims` request names with `sub.value` (OIDC Core §5.5.1): the provider must
/// not answer for anyone else. Errors: a value that is not a string, or two different ones.
pub(super) fn required_sub(
    claims: Option<&serde_json::Value>,
) -> Result<Option<String>, OAuthError> {
    let mut found: Option<String> = None;
    for target in ["id_token", "userinfo"] {
        let Some(value) = claims.and_then(|c| c.get(target)?.get("sub")?.get("value")) else {
            continue;
        };
        let sub = value
            .as_str()
            .ok_or_else(|| OAuthError::invalid_request("claims sub.value must be a string"))?;
        if found.as_deref().is_some_and(|f| f != sub) {
            return Err(OAuthError::invalid_request(
                "claims name two different sub values",
            ));
        }
        found = Some(sub.to_string());
    }
    Ok(found)
}

/// Whether the `claims` request asks, in its `id_token` or its `userinfo` member, for an
/// essential `acr` (OIDC Core §5.5.1.1) that none of `supported` satisfies.
pub(super) fn unmet_essential_acr(claims: Option<&serde_json::Value>, supported: &[&str]) -> bool {
    ["id_token", "userinfo"].into_iter().any(|member| {
        claims
            .and_then(|c| c.get(member)?.get("acr"))
            .is_some_and(|acr| unmet(acr, supported))
    })
}

fn unmet(acr: &serde_json::Value, supported: &[&str]) -> bool {
    if acr.get("essential").and_then(|e| e.as_bool()) != Some(true) {
        return false;
    }
    let mut wanted: Vec<&str> = acr
        .get("values")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    if let Some(v) = acr.get("value").and_then(|v| v.as_str()) {
        wanted.push(v);
    }
    !wanted.is_empty() && !wanted.iter().any(|w| supported.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_value_and_essential_acr() {
        let c = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap();
        assert_eq!(
            required_sub(Some(&c(r#"{"id_token":{"sub":{"value":"gc-1"}}}"#))),
            Ok(Some("gc-1".into()))
        );
        assert!(required_sub(Some(&c(r#"{"id_token":{"sub":{"value":1}}}"#))).is_err());
        assert!(required_sub(Some(&c(
            r#"{"id_token":{"sub":{"value":"a"}},"userinfo":{"sub":{"value":"b"}}}"#
        )))
        .is_err());
        assert_eq!(
            required_sub(Some(&c(r#"{"id_token":{"sub":null}}"#))),
            Ok(None)
        );
        let ours = ["urn:ours"];
        assert!(unmet_essential_acr(
            Some(&c(
                r#"{"id_token":{"acr":{"essential":true,"values":["urn:mfa"]}}}"#
            )),
            &ours
        ));
        assert!(!unmet_essential_acr(
            Some(&c(
                r#"{"id_token":{"acr":{"essential":true,"value":"urn:ours"}}}"#
            )),
            &ours
        ));
        assert!(!unmet_essential_acr(
            Some(&c(r#"{"id_token":{"acr":{"values":["urn:mfa"]}}}"#)),
            &ours
        )); // The userinfo member asks the same of the authentication (OIDC Core §5.5.1.1).
        assert!(unmet_essential_acr(
            Some(&c(
                r#"{"userinfo":{"acr":{"essential":true,"value":"urn:other"}}}"#
            )),
            &ours
        ));
    }
}
