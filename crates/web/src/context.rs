//! The request context of audit events: the caller's IP (see [`crate::client_addr`]) and a
//! correlation id, taken from `X-Request-Id` when the caller (or a proxy) sent a sane one, else
//! made here, and sent back.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

fn sane(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Middleware: runs the request inside its audit context and a `request` span carrying
/// `request_id` and `client_ip`, and echoes the correlation id in `X-Request-Id`.
pub async fn tag(
    State(settings): State<Arc<crate::WebSettings>>,
    req: Request,
    next: Next,
) -> Response {
    let ip =
        crate::client_addr::client_ip(req.extensions(), req.headers(), &settings.trusted_proxies)
            .map(|ip| ip.to_string());
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| sane(v))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    // Every log line written while serving the request (handlers, engines, stores) carries its
    // id through this span, so a failure logged anywhere can be found from the response's header.
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        client_ip = ip.as_deref().unwrap_or("-")
    );
    let context = gan_audit::Context {
        ip,
        correlation_id: Some(id.clone()),
        actor: None,
        reason: None,
    };
    let mut res = gan_audit::scope(context, next.run(req).instrument(span)).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    res
}
