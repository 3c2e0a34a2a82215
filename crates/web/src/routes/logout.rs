//! RP-initiated logout: with a valid `id_token_hint` naming the current session, the session
//! ends at once; otherwise the person confirms on a page (with a CSRF token).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use gan_oidc::logout::LogoutRequest;
use gan_oidc::params::Params;
use gan_oidc::OAuthError;
use minijinja::context;

use super::protocol::error_page;
use crate::pages::Lang;
use crate::request::{form_fields, form_params, header_str};
use crate::security::{csrf_ok, csrf_token};
use crate::{cookies, AppState};

const CARRIED: [&str; 5] = [
    "id_token_hint",
    "post_logout_redirect_uri",
    "state",
    "client_id",
    "ui_locales",
];

fn lang(params: &Params, headers: &HeaderMap) -> Lang {
    Lang::negotiate(
        params.get("ui_locales"),
        header_str(headers, header::ACCEPT_LANGUAGE),
    )
}

async fn finish(
    state: &AppState,
    jar: CookieJar,
    headers: &HeaderMap,
    params: &Params,
    request: &LogoutRequest,
) -> Response {
    if let Some(cookie) = cookies::get(&jar, &state.settings, cookies::SESSION) {
        if let Err(e) = state.provider.end_session_cookie(&cookie).await {
            tracing::error!(request_id = %crate::page::request_id(), error = %e, "logout: ending the session failed");
            return error_page(
                state,
                headers,
                params.get("ui_locales"),
                &OAuthError::bare(gan_oidc::ErrorCode::TemporarilyUnavailable),
            )
            .into_response();
        }
    }
    let jar = cookies::remove(jar, &state.settings, cookies::SESSION);
    match &request.redirect {
        Some(url) => (jar, Redirect::to(url)).into_response(),
        None => (
            jar,
            state.pages.render(
                StatusCode::OK,
                "logged_out.html",
                lang(params, headers),
                context! {},
            ),
        )
            .into_response(),
    }
}

async fn end_session(
    state: AppState,
    jar: CookieJar,
    headers: HeaderMap,
    params: Result<Params, OAuthError>,
) -> Response {
    let params = match params {
        Ok(p) => p,
        Err(e) => return error_page(&state, &headers, None, &e).into_response(),
    };
    let request = match state.provider.check_logout(&params).await {
        Ok(r) => r,
        Err(e) => {
            return error_page(&state, &headers, params.get("ui_locales"), &e.public())
                .into_response()
        }
    };
    let cookie = cookies::get(&jar, &state.settings, cookies::SESSION);
    let session = match state.provider.session(cookie.as_deref()).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(request_id = %crate::page::request_id(), error = %e, "logout: the session could not be read");
            return error_page(
                &state,
                &headers,
                None,
                &OAuthError::bare(gan_oidc::ErrorCode::TemporarilyUnavailable),
            )
            .into_response();
        }
    };
    match session {
        Some(s) if !request.matches(&s) => {
            let (jar, csrf) = csrf_token(jar, &state);
            let carry: Vec<(&str, &str)> = CARRIED
                .iter()
                .filter_map(|k| params.get(k).map(|v| (*k, v)))
                .collect();
            let page = state.pages.render(
                StatusCode::OK,
                "logout_confirm.html",
                lang(&params, &headers),
                context! { csrf_token => csrf, carry => carry },
            );
            (jar, page).into_response()
        }
        _ => finish(&state, jar, &headers, &params, &request).await,
    }
}

pub async fn end_session_get(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let params = Params::from_urlencoded(q.as_deref().unwrap_or_default())
        .map_err(OAuthError::invalid_request);
    end_session(state, jar, headers, params).await
}

pub async fn end_session_post(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = form_params(&headers, &body);
    end_session(state, jar, headers, params).await
}

pub async fn confirm(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = form_fields(&headers, &body);
    let params = Params::new(
        fields
            .iter()
            .filter(|(k, _)| CARRIED.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    );
    if !csrf_ok(&jar, &state, fields.get("csrf_token").map(String::as_str)) {
        tracing::warn!(request_id = %crate::page::request_id(), "page refused: CSRF token missing or wrong");
        let lang = lang(&params, &headers);
        return state
            .pages
            .error(
                StatusCode::FORBIDDEN,
                lang,
                &state.pages.text(lang, "error_csrf"),
            )
            .into_response();
    }
    match state.provider.check_logout(&params).await {
        Ok(request) => finish(&state, jar, &headers, &params, &request).await,
        Err(e) => {
            error_page(&state, &headers, params.get("ui_locales"), &e.public()).into_response()
        }
    }
}
