//! RFC 9457 problem details, and the JSON body and query extractors whose every rejection is
//! one, naming the field at fault.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gan_admin::AdminError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub const CONTENT_TYPE: &str = "application/problem+json";

/// A problem (RFC 9457). `field` names the request member at fault, for validation errors.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Only on 401/403: the `WWW-Authenticate` challenge to send.
    #[serde(skip)]
    pub challenge: Option<String>,
}

impl Problem {
    pub fn new(status: StatusCode) -> Self {
        Self {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail: None,
            field: None,
            challenge: None,
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        let field = field.into();
        Self {
            field: Some(field),
            ..Self::new(StatusCode::BAD_REQUEST)
        }
        .detail(reason)
    }

    pub fn unauthorized(token_presented: bool) -> Self {
        let challenge = if token_presented {
            r#"Bearer realm="gan-connect-admin", error="invalid_token""#
        } else {
            r#"Bearer realm="gan-connect-admin""#
        };
        Self {
            challenge: Some(challenge.into()),
            ..Self::new(StatusCode::UNAUTHORIZED)
        }
    }

    pub fn forbidden(scope: &str) -> Self {
        Self {
            challenge: Some(format!(
                r#"Bearer realm="gan-connect-admin", error="insufficient_scope", scope="{scope}""#
            )),
            ..Self::new(StatusCode::FORBIDDEN)
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut res = (status, body).into_response();
        let h = res.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(v) = self
            .challenge
            .as_deref()
            .and_then(|c| HeaderValue::from_str(c).ok())
        {
            h.insert(header::WWW_AUTHENTICATE, v);
        }
        res
    }
}

impl From<AdminError> for Problem {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::NotFound(what) => {
                Problem::new(StatusCode::NOT_FOUND).detail(format!("{what} not found"))
            }
            AdminError::Invalid { field, reason } => Problem::invalid(field, reason),
            AdminError::Conflict(m) => Problem::new(StatusCode::CONFLICT).detail(m),
            AdminError::Forbidden(m) => Problem::new(StatusCode::FORBIDDEN).detail(m),
            AdminError::Unavailable(m) => {
                tracing::error!(error = %m, "admin request failed");
                Problem::new(StatusCode::SERVICE_UNAVAILABLE)
                    .detail("the service is temporarily unavailable; try again")
            }
        }
    }
}

/// The field a serde error is about: its path, or the name in "missing field `x`" /
/// "unknown field `x`".
fn field_of(path: &str, message: &str) -> String {
    if !path.is_empty() && path != "." {
        return path.to_string();
    }
    message
        .split('`')
        .nth(1)
        .map(str::to_string)
        .unwrap_or_else(|| "body".into())
}

fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| {
            v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
        })
}

/// A JSON request body.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE)
                .detail("the body must be application/json"));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            let status = e.status();
            Problem::new(status).detail(if status == StatusCode::PAYLOAD_TOO_LARGE {
                "the body is too large"
            } else {
                "the body could not be read"
            })
        })?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        match serde_path_to_error::deserialize::<_, T>(&mut de) {
            Ok(v) if de.end().is_ok() => Ok(Self(v)),
            Ok(_) => Err(Problem::invalid("body", "the body is not valid JSON")),
            Err(e) => {
                let path = e.path().to_string();
                let inner = e.into_inner();
                if inner.is_syntax() || inner.is_eof() {
                    Err(Problem::invalid("body", "the body is not valid JSON"))
                } else {
                    let message = inner.to_string();
                    let message = message
                        .split(" at line ")
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    Err(Problem::invalid(field_of(&path, &message), message))
                }
            }
        }
    }
}

/// Query parameters.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize::<_, T>(de)
            .map(Self)
            .map_err(|e| {
                let path = e.path().to_string();
                let message = e.into_inner().to_string();
                Problem::invalid(field_of(&path, &message), message)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_from_serde_errors() {
        assert_eq!(field_of(".", "missing field `client_name`"), "client_name");
        assert_eq!(
            field_of("redirect_uris[0]", "invalid type"),
            "redirect_uris[0]"
        );
        assert_eq!(field_of(".", "expected a map"), "body");
    }
}
