//! Protocol errors (what a client sees) kept apart from internal failures.

use std::fmt;

/// The `error` codes of RFC 6749, 6750, 7009, 7662 and OpenID Connect Core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// A parameter is missing, repeated or malformed (RFC 6749 §4.1.2.1, §5.2).
    InvalidRequest,
    /// Client authentication failed (RFC 6749 §5.2); 401.
    InvalidClient,
    /// The code or refresh token is unknown, expired, used, or another client's (RFC 6749 §5.2).
    InvalidGrant,
    /// The client may not use this grant or response (RFC 6749 §5.2), or is disabled.
    UnauthorizedClient,
    /// The token endpoint does not serve this `grant_type` (RFC 6749 §5.2).
    UnsupportedGrantType,
    /// The scope is missing, malformed or beyond what was granted or registered (RFC 6749 §5.2).
    InvalidScope,
    /// The person (or the provider) refused the request (RFC 6749 §4.1.2.1).
    AccessDenied,
    /// A `response_type` other than `code` (RFC 6749 §4.1.2.1).
    UnsupportedResponseType,
    /// An internal failure, without detail (RFC 6749 §4.1.2.1); 500.
    ServerError,
    /// Storage is unreachable for now (RFC 6749 §4.1.2.1); 503.
    TemporarilyUnavailable,
    /// `prompt=none` but the person must sign in (OIDC Core §3.1.2.6).
    LoginRequired,
    /// `prompt=none` but the person must consent (OIDC Core §3.1.2.6).
    ConsentRequired,
    /// `prompt=none` but the UI is needed for another reason (OIDC Core §3.1.2.6).
    InteractionRequired,
    /// `prompt=select_account`, which we do not offer (OIDC Core §3.1.2.6).
    AccountSelectionRequired,
    /// A `request` object was sent (OIDC Core §3.1.2.6); not supported.
    RequestNotSupported,
    /// A `request_uri` was sent (OIDC Core §3.1.2.6); not supported.
    RequestUriNotSupported,
    /// A `registration` parameter was sent (OIDC Core §3.1.2.6); not supported.
    RegistrationNotSupported,
    /// The bearer token is unknown, expired or revoked (RFC 6750 §3.1); 401.
    InvalidToken,
    /// The token lacks a scope the resource needs (RFC 6750 §3.1); 403.
    InsufficientScope,
    /// The server cannot revoke this type of token (RFC 7009 §2.2.1).
    UnsupportedTokenType,
}

impl ErrorCode {
    /// The `error` value on the wire (`invalid_request`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InteractionRequired => "interaction_required",
            Self::AccountSelectionRequired => "account_selection_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::RegistrationNotSupported => "registration_not_supported",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::UnsupportedTokenType => "unsupported_token_type",
        }
    }

    /// The HTTP status for a JSON error response (token, introspection, revocation, userinfo).
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidClient | Self::InvalidToken => 401,
            Self::InsufficientScope => 403,
            Self::ServerError => 500,
            Self::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

/// `text` within RFC 6749 §5.2's `error_description` set (`%x20-21 / %x23-5B / %x5D-7E`), at
/// most 200 characters.
fn description_chars(text: &str) -> String {
    text.chars()
        .take(200)
        .map(|c| match c {
            ' ' | '!' | '#'..='[' | ']'..='~' => c,
            _ => '?',
        })
        .collect()
}

/// An error the client is allowed to see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// The `error` code.
    pub code: ErrorCode,
    /// The `error_description`: a human-readable sentence for the client's developers, in English.
    pub description: Option<String>,
}

impl OAuthError {
    /// An error with a description, kept to the characters RFC 6749 §5.2 allows in
    /// `error_description` (printable ASCII but `"` and `\`; anything else, such as text a
    /// request carried, becomes `?`) and to 200 of them.
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: Some(description_chars(&description.into())),
        }
    }

    /// An error with only a code (`server_error`, `temporarily_unavailable`, …).
    pub fn bare(code: ErrorCode) -> Self {
        Self {
            code,
            description: None,
        }
    }

    /// `invalid_request` with a description.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    /// `invalid_grant` with a description.
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    /// `invalid_client` with the fixed description "client authentication failed".
    pub fn invalid_client() -> Self {
        Self::new(ErrorCode::InvalidClient, "client authentication failed")
    }

    /// The JSON body of RFC 6749 §5.2.
    pub fn to_json(&self) -> serde_json::Value {
        let mut body = serde_json::json!({ "error": self.code.as_str() });
        if let Some(d) = &self.description {
            body["error_description"] = serde_json::Value::String(d.clone());
        }
        body
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.description {
            Some(d) => write!(f, "{}: {d}", self.code.as_str()),
            None => f.write_str(self.code.as_str()),
        }
    }
}

/// A storage failure, as the ports report it. Never shown to clients.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The storage could not answer (the store maps every database error here); clients see
    /// `temporarily_unavailable`.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The storage answered with data that makes no sense (an unknown enum value, unparsable
    /// JSON); clients see `server_error`.
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

/// Everything an engine call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// An error the client sees as is.
    #[error("{0}")]
    OAuth(OAuthError),
    /// A storage failure (see [`StoreError`]).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Signing keys could not be generated, decrypted, loaded or used; becomes `server_error`.
    #[error("signing keys: {0}")]
    Keys(String),
}

impl From<OAuthError> for EngineError {
    fn from(e: OAuthError) -> Self {
        Self::OAuth(e)
    }
}

impl EngineError {
    /// The error a client may see: internal failures become `server_error` or
    /// `temporarily_unavailable` with no detail.
    pub fn public(&self) -> OAuthError {
        match self {
            Self::OAuth(e) => e.clone(),
            Self::Store(StoreError::Unavailable(_)) => {
                OAuthError::bare(ErrorCode::TemporarilyUnavailable)
            }
            _ => OAuthError::bare(ErrorCode::ServerError),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_keep_to_the_allowed_characters() {
        let e = OAuthError::invalid_request("parameter \"é\\\n<x> was sent");
        assert_eq!(e.description.as_deref(), Some("parameter ????<x> was sent"));
        let long = OAuthError::invalid_request("x".repeat(500));
        assert_eq!(long.description.map(|d| d.len()), Some(200));
    }
}
