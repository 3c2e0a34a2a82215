//! One error type renders every error response: JSON for protocol endpoints, a page for
//! browsers. Internal details are logged, never sent.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gan_oidc::{EngineError, ErrorCode, OAuthError};

#[derive(Debug)]
pub enum WebError {
    /// A protocol error as JSON (token, introspection, revocation: the endpoints where clients
    /// authenticate).
    OAuth(OAuthError),
    /// A bearer-token error (userinfo, RFC 6750 §3).
    Bearer(Option<OAuthError>),
}

impl WebError {
    /// A JSON protocol error from an engine error.
    pub fn oauth(e: EngineError) -> Self {
        if !matches!(e, EngineError::OAuth(_)) {
            tracing::error!(error = %e, "request failed");
        }
        Self::OAuth(e.public())
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
            Self::OAuth(error) => {
                let status =
                    StatusCode::from_u16(error.code.status()).unwrap_or(StatusCode::BAD_REQUEST);
                let mut res = (status, axum::Json(error.to_json())).into_response();
                // RFC 6749 §5.2: a 401 names the HTTP authentication scheme the endpoint takes
                // (the scheme the client used, when it used one): Basic is the only one here —
                // client_secret_post and private_key_jwt are not HTTP schemes, and a Bearer
                // challenge would tell the client to send a token it does not have.
                if status == StatusCode::UNAUTHORIZED {
                    res.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Basic realm=\"gan-connect\", charset=\"UTF-8\""),
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
