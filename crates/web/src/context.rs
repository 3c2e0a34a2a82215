//! The request context of audit events: the caller's IP and a correlation id, taken from
//! `X-Request-Id` when the caller (or a proxy) sent a sane one, else made here, and sent back.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request};
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

pub async fn tag(req: Request, next: Next) -> Response {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| sane(v))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let context = gan_audit::Context {
        ip,
        correlation_id: Some(id.clone()),
        actor: None,
    };
    // Every log line written while serving the request (handlers, engines, stores) carries its
    // id through this span, so a failure logged anywhere can be found from the response's header.
    let span = tracing::info_span!("request", request_id = %id);
    let mut res = gan_audit::scope(context, next.run(req).instrument(span)).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    res
}
