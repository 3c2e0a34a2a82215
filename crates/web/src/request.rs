//! Request helpers: form bodies, parameters, client metadata.

use axum::extract::{FromRef, FromRequest, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use gan_oidc::params::Params;
use gan_oidc::OAuthError;

/// Is the body declared as `application/x-www-form-urlencoded`?
pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Protocol parameters from a form body, with the content type checked.
pub fn form_params(headers: &HeaderMap, body: &[u8]) -> Result<Params, OAuthError> {
    if !is_form(headers) {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| OAuthError::invalid_request("the body is not UTF-8"))?;
    Params::from_urlencoded(text).map_err(OAuthError::invalid_request)
}

/// A header as text.
pub fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A form's fields, by name (first value wins); empty on a malformed or non-form body.
pub fn form_fields(headers: &HeaderMap, body: &[u8]) -> std::collections::HashMap<String, String> {
    if !is_form(headers) {
        return Default::default();
    }
    let mut map = std::collections::HashMap::new();
    if let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body) {
        for (k, v) in pairs {
            map.entry(k).or_insert(v);
        }
    }
    map
}

/// Who is calling: IP (from the socket, or through trusted proxies: see
/// [`crate::client_addr`]) and user agent.
#[derive(Debug, Clone, Default)]
pub struct ClientMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for ClientMeta
where
    crate::AppState: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = crate::AppState::from_ref(state);
        let ip = crate::client_addr::client_ip(
            &parts.extensions,
            &parts.headers,
            &state.settings.trusted_proxies,
        )
        .map(|ip| ip.to_string());
        let user_agent =
            header_str(&parts.headers, header::USER_AGENT).map(|s| s.chars().take(256).collect());
        Ok(Self { ip, user_agent })
    }
}

/// The page language: the person's choice (switch cookie), then the relying party's
/// `ui_locales`, then `Accept-Language`; French by default.
pub fn page_lang(
    jar: &axum_extra::extract::cookie::CookieJar,
    settings: &crate::WebSettings,
    headers: &HeaderMap,
    ui_locales: Option<&str>,
) -> crate::pages::Lang {
    crate::cookies::get(jar, settings, crate::cookies::LANG)
        .and_then(|c| crate::pages::Lang::parse(&c))
        .unwrap_or_else(|| {
            crate::pages::Lang::negotiate(ui_locales, header_str(headers, header::ACCEPT_LANGUAGE))
        })
}

/// The body of a protocol request (token, introspection, revocation, userinfo). A body that
/// cannot be read — over the size limit, or broken off — is answered as a JSON OAuth error
/// (`invalid_request`, RFC 6749 §5.2) with the status axum gives it (413 or 400), not as text.
pub struct ProtocolBody(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for ProtocolBody {
    type Rejection = axum::response::Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        use axum::response::IntoResponse;
        let rejection = match axum::body::Bytes::from_request(req, state).await {
            Ok(bytes) => return Ok(Self(bytes)),
            Err(rejection) => rejection,
        };
        let status = rejection.status();
        let description = if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            "the request body is too large"
        } else {
            "the request body could not be read"
        };
        tracing::info!(status = status.as_u16(), cause = %rejection.body_text(), "protocol request refused: unreadable body");
        let body = OAuthError::invalid_request(description).to_json();
        Err(crate::error::no_store(
            (status, axum::Json(body)).into_response(),
        ))
    }
}
