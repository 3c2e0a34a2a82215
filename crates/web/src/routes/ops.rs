//! Health, readiness, metrics, the style sheet and 404.

use axum::extract::{Query, State};
use axum::response::Redirect;
use axum_extra::extract::cookie::CookieJar;

use crate::cookies;
use crate::request::page_lang;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::pages::Lang;
use crate::AppState;

pub async fn healthz() -> impl IntoResponse {
    (
        StatusCode::OK,
        axum::Json(serde_json::json!({ "status": "ok" })),
    )
}

pub async fn readyz(State(state): State<AppState>) -> Response {
    if state.readiness.ready().await {
        (
            StatusCode::OK,
            axum::Json(serde_json::json!({ "status": "ready" })),
        )
            .into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({ "status": "not ready", "database": "unreachable" })),
        )
            .into_response()
    }
}

pub async fn metrics() -> Response {
    match crate::metrics::handle() {
        Some(h) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            h.render(),
        )
            .into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "metrics unavailable").into_response(),
    }
}

pub async fn style(State(state): State<AppState>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        state.pages.style().to_string(),
    )
        .into_response()
}

pub async fn script(State(state): State<AppState>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        state.pages.script().to_string(),
    )
        .into_response()
}

pub async fn help(State(state): State<AppState>, jar: CookieJar, headers: HeaderMap) -> Response {
    let lang = page_lang(&jar, &state.settings, &headers, None);
    state
        .pages
        .render(
            StatusCode::OK,
            "help.html",
            lang,
            minijinja::context! { path => "/help" },
        )
        .into_response()
}

/// Demo mode: the messages this process delivered, newest first, with their links clickable.
/// Is `host` (a `Host` header: name and optional port) a loopback name or address?
fn loopback_host(host: Option<&str>) -> bool {
    let Some(host) = host else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

pub async fn mailbox(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
) -> Response {
    let lang = page_lang(&jar, &state.settings, &headers, None);
    let Some(postman) = &state.mailbox else {
        return not_found(State(state), jar, headers).await;
    };
    // Only pages of this machine: a `Host` that is not loopback is a page elsewhere that
    // rebound its name to 127.0.0.1 to read the links (DNS rebinding).
    if !loopback_host(crate::request::header_str(
        &headers,
        axum::http::header::HOST,
    )) {
        return not_found(State(state), jar, headers).await;
    }
    // Kept in the postman's memory, never read back from the queue: bodies are not at rest.
    let mails = postman.delivered();
    let rows: Vec<serde_json::Value> = mails
        .iter()
        .map(|d| {
            let m = &d.message;
            let links: Vec<&str> = m.text.split_whitespace().filter(|w| w.starts_with("http://") || w.starts_with("https://")).collect();
            serde_json::json!({ "to": m.to, "subject": m.subject, "text": m.text, "links": links,
                "at": d.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default() })
        })
        .collect();
    state
        .pages
        .render(
            StatusCode::OK,
            "mailbox.html",
            lang,
            minijinja::context! { path => "/demo/mailbox", mails => rows },
        )
        .into_response()
}

#[derive(serde::Deserialize)]
pub struct SwitchLang {
    to: Option<String>,
    back: Option<String>,
}

/// The language switch: remembers the choice and goes back (to a local path only).
pub async fn switch_lang(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(q): Query<SwitchLang>,
) -> Response {
    let lang = q.to.as_deref().and_then(Lang::parse).unwrap_or(Lang::Fr);
    let back = q
        .back
        .filter(|b| is_local_path(b))
        .unwrap_or_else(|| "/help".into());
    let jar = jar.add(cookies::build(
        &state.settings,
        cookies::LANG,
        lang.code().to_string(),
    ));
    (jar, Redirect::to(&back)).into_response()
}

/// A path on this site, and nothing a browser could read as another origin: visible ASCII
/// only (browsers drop tabs and newlines, so `/\t/evil` would become `//evil`), no backslash,
/// not protocol-relative.
fn is_local_path(b: &str) -> bool {
    b.starts_with('/')
        && !b.starts_with("//")
        && b.chars().all(|c| c.is_ascii_graphic() && c != '\\')
}

pub async fn not_found(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
) -> Response {
    let lang = page_lang(&jar, &state.settings, &headers, None);
    let detail = match lang {
        Lang::Fr => "Cette page n'existe pas.",
        Lang::En => "This page does not exist.",
    };
    state
        .pages
        .error(StatusCode::NOT_FOUND, lang, detail)
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::is_local_path;

    #[test]
    fn only_local_paths_are_followed() {
        assert!(is_local_path("/help"));
        assert!(is_local_path("/interaction/abc?x=1"));
        for evil in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "https://evil.example",
            "/ /evil",
            "/\u{3000}/evil",
            "",
        ] {
            assert!(!is_local_path(evil), "{evil:?}");
        }
    }
}
