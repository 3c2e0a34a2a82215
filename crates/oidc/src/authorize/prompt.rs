//! Step: `prompt` and `max_age`.

use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, OAuthError};
use crate::params::Params;

/// The `prompt` values of a request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptSet {
    /// `none`: no page may be shown; fail instead of asking (OIDC Core §3.1.2.1).
    pub none: bool,
    /// `login`: ask for a sign-in even with a live session.
    pub login: bool,
    /// `consent`: ask for consent even when it was given before.
    pub consent: bool,
}

pub(super) fn parse(params: &Params) -> Result<PromptSet, OAuthError> {
    let mut set = PromptSet::default();
    let Some(raw) = params.get("prompt") else {
        return Ok(set);
    };
    for value in raw.split(' ').filter(|v| !v.is_empty()) {
        match value {
            "none" => set.none = true,
            "login" => set.login = true,
            "consent" => set.consent = true,
            "select_account" => {
                return Err(OAuthError::new(
                    ErrorCode::AccountSelectionRequired,
                    "prompt=select_account is not supported: one identity signs in at a time",
                ))
            }
            other => {
                return Err(OAuthError::invalid_request(format!(
                    "unsupported prompt value {other}"
                )))
            }
        }
    }
    if set.none && (set.login || set.consent) {
        return Err(OAuthError::invalid_request(
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok(set)
}

pub(super) fn max_age(params: &Params) -> Result<Option<i64>, OAuthError> {
    match params.get("max_age") {
        None => Ok(None),
        // Any non-negative integer is valid (OIDC Core §3.1.2.1), however large: past what a
        // clock can tell apart it means "no limit", so it is capped.
        Some(raw)
            if !raw.is_empty() && raw.len() <= 64 && raw.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Ok(Some(raw.parse::<i64>().unwrap_or(i64::MAX)))
        }
        Some(_) => Err(OAuthError::invalid_request(
            "max_age must be a non-negative integer",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(q: &str) -> Params {
        Params::from_urlencoded(q).unwrap_or_default()
    }

    #[test]
    fn prompt_values() {
        assert_eq!(
            parse(&p("prompt=login%20consent")).map(|s| (s.login, s.consent)),
            Ok((true, true))
        );
        assert!(parse(&p("prompt=none%20login")).is_err());
        assert_eq!(
            parse(&p("prompt=select_account")).map_err(|e| e.code),
            Err(ErrorCode::AccountSelectionRequired)
        );
        assert!(parse(&p("prompt=bogus")).is_err());
        assert_eq!(max_age(&p("max_age=0")), Ok(Some(0)));
        assert!(max_age(&p("max_age=-1")).is_err());
        assert_eq!(
            max_age(&p("max_age=")),
            Ok(None),
            "an empty value is an omitted one"
        );
        assert!(max_age(&p("max_age=%2B5")).is_err());
        assert_eq!(max_age(&p("max_age=4294967296")), Ok(Some(4_294_967_296)));
        assert_eq!(
            max_age(&p("max_age=99999999999999999999999")),
            Ok(Some(i64::MAX))
        );
    }
}
