//! Step: `response_type` and `response_mode`; and how responses go back to the client
//! (query parameters, with `iss` per RFC 9207).

use url::Url;

use crate::error::{ErrorCode, OAuthError};
use crate::params::Params;

pub(super) fn check_mode_and_type(params: &Params) -> Result<(), OAuthError> {
    if let Some(mode) = params.get("response_mode") {
        if mode != "query" {
            return Err(OAuthError::invalid_request("response_mode must be query"));
        }
    }
    match params.get("response_type") {
        None => Err(OAuthError::invalid_request("response_type is missing")),
        Some("code") => Ok(()),
        Some(_) => Err(OAuthError::new(
            ErrorCode::UnsupportedResponseType,
            "only response_type=code is supported",
        )),
    }
}

fn with_query(redirect_uri: &str, pairs: &[(&str, &str)]) -> String {
    match Url::parse(redirect_uri) {
        Ok(mut url) => {
            {
                let mut q = url.query_pairs_mut();
                for (k, v) in pairs {
                    q.append_pair(k, v);
                }
            }
            url.to_string()
        }
        // Registered URIs are validated at registration; this cannot happen for them.
        Err(_) => redirect_uri.to_string(),
    }
}

/// The redirect carrying an error to a verified redirect URI.
pub fn error_redirect(
    redirect_uri: &str,
    state: Option<&str>,
    error: &OAuthError,
    issuer: &str,
) -> String {
    let mut pairs = vec![("error", error.code.as_str())];
    if let Some(d) = &error.description {
        pairs.push(("error_description", d.as_str()));
    }
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", issuer));
    with_query(redirect_uri, &pairs)
}

/// The redirect carrying a code.
pub fn success_redirect(
    redirect_uri: &str,
    code: &str,
    state: Option<&str>,
    issuer: &str,
) -> String {
    let mut pairs = vec![("code", code)];
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", issuer));
    with_query(redirect_uri, &pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_existing_query_and_encodes() {
        let url = success_redirect(
            "https://rp.example/cb?x=1",
            "c&d",
            Some("s t"),
            "https://op.example",
        );
        assert_eq!(
            url,
            "https://rp.example/cb?x=1&code=c%26d&state=s+t&iss=https%3A%2F%2Fop.example"
        );
    }
}
