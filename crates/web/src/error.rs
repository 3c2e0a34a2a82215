//! One error type renders every error response: JSON for protocol endpoints, a page for
//! browsers. Internal details are logged, never sent.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gan_oidc::{EngineError, ErrorCode, OAuthError};

#[derive(Debug)]
pub enum WebError {
    /// A protocol error as JSON (token, introspection, revocation).
    OAuth {
        error: OAuthError,
        basic_challenge: bool,
    },
    /// A bearer-token error (userinfo, RFC 6750 §3).
    Bearer(Option<OAuthError>),
}

impl WebError {
    /// A JSON protocol error from an engine error.
    pub fn oauth(e: EngineError) -> Self {
        if !matches!(e, EngineError::OAuth(_)) {
            tracing::error!(error = %e, "request failed");
        }
        Self::OAuth {
            error: e.public(),
            basic_challenge: false,
        }
    }
}

/// `Cache-Control: no-store` and `Pragma: no-cache` for anything carrying tokens or errors about them.
pub fn no_store(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

fn quoted(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
        .collect()
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            Self::OAuth {
                error,
                basic_challenge,
            } => {
                let status =
                    StatusCode::from_u16(error.code.status()).unwrap_or(StatusCode::BAD_REQUEST);
                let mut res = (status, axum::Json(error.to_json())).into_response();
                if status == StatusCode::UNAUTHORIZED {
                    let challenge = if basic_challenge {
                        "Basic realm=\"gan-connect\""
                    } else {
                        "Bearer realm=\"gan-connect\""
                    };
                    res.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static(challenge),
                    );
                }
                no_store(res)
            }
            Self::Bearer(error) => {
                let (status, challenge) = match &error {
                    None => (
                        StatusCode::UNAUTHORIZED,
                        "Bearer realm=\"gan-connect\"".to_string(),
                    ),
                    Some(e) => {
                        let status = match e.code {
                            ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
                            ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
                            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
                            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
                            _ => StatusCode::BAD_REQUEST,
                        };
                        let desc = e
                            .description
                            .as_deref()
                            .map(|d| format!(", error_description=\"{}\"", quoted(d)))
                            .unwrap_or_default();
                        (
                            status,
                            format!(
                                "Bearer realm=\"gan-connect\", error=\"{}\"{desc}",
                                e.code.as_str()
                            ),
                        )
                    }
                };
                let body = error
                    .map(|e| e.to_json())
                    .unwrap_or_else(|| serde_json::json!({}));
                let mut res = (status, axum::Json(body)).into_response();
                if let Ok(v) = HeaderValue::from_str(&challenge) {
                    res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
                }
                no_store(res)
            }
        }
    }
}
