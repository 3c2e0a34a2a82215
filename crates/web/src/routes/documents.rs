//! Discovery and JWKS: public documents, the same bytes for everyone, served from memory.
//!
//! They are the most requested routes (every relying party, every cache expiry) and need none of
//! the request stack: no body, no cookie, no log line, no audit context. So they are routed beside
//! it, with the security headers of every response added in place and one counter increment,
//! and the bytes are rendered once (discovery for the process, JWKS for each key ring) and
//! shared, never copied. What they do not carry, unlike the other routes: `X-Request-Id`, and the
//! latency histogram.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use gan_oidc::paths;

use crate::error::WebError;
use crate::AppState;

/// The routes of the public documents, with no layer of their own.
pub fn router(state: &AppState) -> Router<AppState> {
    let discovery = Bytes::from(state.provider.discovery().to_string());
    let metadata = discovery.clone();
    Router::new()
        .route(
            paths::DISCOVERY,
            get(move |State(state): State<AppState>, method: Method| {
                let body = discovery.clone();
                async move { document(&state, paths::DISCOVERY, &method, body, MAX_AGE) }
            }),
        )
        .route(
            paths::AS_METADATA,
            get(move |State(state): State<AppState>, method: Method| {
                let body = metadata.clone();
                async move { document(&state, paths::AS_METADATA, &method, body, MAX_AGE) }
            }),
        )
        .route(paths::JWKS, get(jwks))
}

/// Discovery changes only with the configuration, that is with a restart.
const MAX_AGE: &str = "public, max-age=3600";
/// Short caching: a rotated key must reach relying parties within the publish delay.
const JWKS_MAX_AGE: &str = "public, max-age=300";

/// An `Arc<str>` as the owner of a body's bytes (no copy).
struct Shared(std::sync::Arc<str>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

async fn jwks(State(state): State<AppState>, method: Method) -> Response {
    match state.provider.keys().await {
        Ok(ring) => {
            let body = Bytes::from_owner(Shared(ring.jwks()));
            document(&state, paths::JWKS, &method, body, JWKS_MAX_AGE)
        }
        Err(e) => {
            let res = WebError::oauth(e).into_response();
            finish(&state, paths::JWKS, &method, res)
        }
    }
}

fn document(
    state: &AppState,
    route: &'static str,
    method: &Method,
    body: Bytes,
    max_age: &'static str,
) -> Response {
    let mut res = Response::new(Body::from(body));
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(max_age));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    finish(state, route, method, res)
}

/// What the request stack would have added: the security headers, the request count.
fn finish(state: &AppState, route: &'static str, method: &Method, mut res: Response) -> Response {
    crate::security::insert_headers(res.headers_mut(), state.settings.hsts);
    crate::metrics::count(route, method, res.status());
    res
}
