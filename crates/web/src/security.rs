//! Security headers on every response, and CSRF tokens (double submit: a `SameSite=Strict`
//! cookie and a hidden field that must match).

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;
use gan_oidc::secret::{constant_time_eq, new_handle};

use crate::{cookies, AppState};

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'";

pub async fn headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    insert_headers(res.headers_mut(), state.settings.hsts);
    res
}

/// The security headers of every response (`hsts`: `Strict-Transport-Security` too).
pub fn insert_headers(h: &mut HeaderMap, hsts: bool) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    if hsts {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
}

/// The CSRF token for a form: the existing cookie's, or a new one set on `jar`.
pub fn csrf_token(jar: CookieJar, state: &AppState) -> (CookieJar, String) {
    if let Some(token) = cookies::get(&jar, &state.settings, cookies::CSRF) {
        return (jar, token);
    }
    let token = new_handle("");
    let jar = jar.add(cookies::build(
        &state.settings,
        cookies::CSRF,
        token.clone(),
    ));
    (jar, token)
}

/// Does the submitted token match the cookie?
pub fn csrf_ok(jar: &CookieJar, state: &AppState, submitted: Option<&str>) -> bool {
    match (cookies::get(jar, &state.settings, cookies::CSRF), submitted) {
        (Some(cookie), Some(field)) => constant_time_eq(cookie.as_bytes(), field.as_bytes()),
        _ => false,
    }
}
