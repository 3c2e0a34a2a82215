//! Health, readiness, metrics, the style sheet and 404.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::pages::Lang;
use crate::request::header_str;
use crate::AppState;

pub async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, axum::Json(serde_json::json!({ "status": "ok" })))
}

pub async fn readyz(State(state): State<AppState>) -> Response {
    if state.readiness.ready().await {
        (StatusCode::OK, axum::Json(serde_json::json!({ "status": "ready" }))).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, axum::Json(serde_json::json!({ "status": "not ready", "database": "unreachable" }))).into_response()
    }
}

pub async fn metrics() -> Response {
    match crate::metrics::handle() {
        Some(h) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], h.render()).into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "metrics unavailable").into_response(),
    }
}

pub async fn style(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        state.pages.style().to_string(),
    )
        .into_response()
}

pub async fn not_found(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let lang = Lang::negotiate(None, header_str(&headers, header::ACCEPT_LANGUAGE));
    let detail = match lang {
        Lang::Fr => "Cette page n'existe pas.",
        Lang::En => "This page does not exist.",
    };
    state.pages.error(StatusCode::NOT_FOUND, lang, detail).into_response()
}
