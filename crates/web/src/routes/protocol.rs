//! Protocol endpoints: discovery, JWKS, authorization, token, userinfo, introspection, revocation.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use gan_oidc::authorize::AuthorizeOutcome;
use gan_oidc::params::Params;
use gan_oidc::{EngineError, ErrorCode, OAuthError};

use crate::error::{no_store, WebError};
use crate::pages::Lang;
use crate::request::{form_params, header_str, ProtocolBody};
use crate::{cookies, AppState};

/// Turns the engine's answer into a browser response.
pub(super) fn outcome(
    state: &AppState,
    jar: CookieJar,
    headers: &HeaderMap,
    result: AuthorizeOutcome,
) -> Response {
    match result {
        AuthorizeOutcome::Redirect(url) => Redirect::to(&url).into_response(),
        AuthorizeOutcome::Interact { uid, location } => {
            let jar = jar.add(cookies::build(&state.settings, cookies::INTERACTION, uid));
            (jar, Redirect::to(&location)).into_response()
        }
        AuthorizeOutcome::Page(error) => error_page(state, headers, None, &error).into_response(),
    }
}

/// Our own error page for an authorization error that cannot go back to the client.
pub(super) fn error_page(
    state: &AppState,
    headers: &HeaderMap,
    ui_locales: Option<&str>,
    error: &OAuthError,
) -> crate::pages::Page {
    let lang = Lang::negotiate(ui_locales, header_str(headers, header::ACCEPT_LANGUAGE));
    let status = match error.code {
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    let detail = match error.code {
        // The person can do nothing but wait: say so, in their language.
        ErrorCode::TemporarilyUnavailable | ErrorCode::ServerError => {
            state.pages.text(lang, "error_unavailable")
        }
        _ => error
            .description
            .clone()
            .unwrap_or_else(|| error.code.as_str().to_string()),
    };
    state.pages.error(status, lang, &detail)
}

async fn authorize(
    state: AppState,
    jar: CookieJar,
    headers: HeaderMap,
    params: Result<Params, OAuthError>,
) -> Response {
    let params = match params {
        Ok(p) => p,
        Err(e) => return error_page(&state, &headers, None, &e).into_response(),
    };
    let session = cookies::get(&jar, &state.settings, cookies::SESSION);
    let result = state.provider.authorize(&params, session.as_deref()).await;
    outcome(&state, jar, &headers, result)
}

pub async fn authorize_get(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::from_urlencoded(query.as_deref().unwrap_or_default())
        .map_err(OAuthError::invalid_request);
    authorize(state, jar, headers, params).await
}

pub async fn authorize_post(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    // OIDC Core §3.1.2.1: a POST carries its parameters in the form body. Parameters in the URL
    // as well would be two requests in one (which wins is what an attacker would choose).
    let params = if query.as_deref().is_some_and(|q| !q.is_empty()) {
        Err(OAuthError::invalid_request(
            "a POST to the authorization endpoint carries its parameters in the body, not the URL",
        ))
    } else {
        form_params(&headers, &body)
    };
    authorize(state, jar, headers, params).await
}

pub async fn resume(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    Path(uid): Path<String>,
) -> Response {
    if cookies::get(&jar, &state.settings, cookies::INTERACTION).as_deref() != Some(uid.as_str()) {
        let e = OAuthError::invalid_request(
            "this sign-in request belongs to another browser; start again from the application",
        );
        return error_page(&state, &headers, None, &e).into_response();
    }
    let session = cookies::get(&jar, &state.settings, cookies::SESSION);
    let result = state.provider.resume(&uid, session.as_deref()).await;
    let jar = cookies::remove(jar, &state.settings, cookies::INTERACTION);
    outcome(&state, jar, &headers, result)
}

fn oauth_failure(e: EngineError) -> Response {
    WebError::oauth(e).into_response()
}

pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    ProtocolBody(body): ProtocolBody,
) -> Response {
    let params = match form_params(&headers, &body) {
        Ok(p) => p,
        Err(e) => return oauth_failure(e.into()),
    };
    let authorization = header_str(&headers, header::AUTHORIZATION);
    let origin = header_str(&headers, header::ORIGIN);
    match crate::cors::token_origin_refused(&state, origin, authorization, &params).await {
        Ok(None) => {}
        Ok(Some(refused)) => return oauth_failure(refused.into()),
        Err(e) => return oauth_failure(e.into()),
    }
    match state.provider.token(authorization, &params).await {
        Ok(response) => {
            metrics::counter!("tokens_issued_total", "grant_type" => params.get("grant_type").unwrap_or_default().to_string()).increment(1);
            no_store(axum::Json(response).into_response())
        }
        Err(e) => oauth_failure(e),
    }
}

pub async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    ProtocolBody(body): ProtocolBody,
) -> Response {
    let params = match form_params(&headers, &body) {
        Ok(p) => p,
        Err(e) => return oauth_failure(e.into()),
    };
    match state
        .provider
        .introspect(header_str(&headers, header::AUTHORIZATION), &params)
        .await
    {
        Ok(body) => no_store(axum::Json(body).into_response()),
        Err(e) => oauth_failure(e),
    }
}

pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    ProtocolBody(body): ProtocolBody,
) -> Response {
    let params = match form_params(&headers, &body) {
        Ok(p) => p,
        Err(e) => return oauth_failure(e.into()),
    };
    match state
        .provider
        .revoke(header_str(&headers, header::AUTHORIZATION), &params)
        .await
    {
        Ok(()) => no_store(StatusCode::OK.into_response()),
        Err(e) => oauth_failure(e),
    }
}

fn bearer(headers: &HeaderMap) -> Result<Option<String>, OAuthError> {
    match header_str(headers, header::AUTHORIZATION) {
        None => Ok(None),
        Some(h) => match h.split_once(' ') {
            Some((scheme, token))
                if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
            {
                Ok(Some(token.trim().to_string()))
            }
            _ => Err(OAuthError::invalid_request(
                "the Authorization header must be a Bearer token",
            )),
        },
    }
}

async fn userinfo(state: AppState, token: Result<Option<String>, OAuthError>) -> Response {
    let token = match token {
        Ok(Some(t)) => t,
        Ok(None) => return WebError::Bearer(None).into_response(),
        Err(e) => return WebError::Bearer(Some(e)).into_response(),
    };
    match state.provider.userinfo(&token).await {
        Ok(claims) => no_store(axum::Json(claims).into_response()),
        Err(e) => WebError::Bearer(Some(e.public())).into_response(),
    }
}

pub async fn userinfo_get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    userinfo(state, bearer(&headers)).await
}

pub async fn userinfo_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    ProtocolBody(body): ProtocolBody,
) -> Response {
    let from_header = bearer(&headers);
    let from_body = if body.is_empty() {
        Ok(None)
    } else {
        // A parameter sent twice is refused here too (RFC 6749 §3.2, RFC 6750 §2.2).
        form_params(&headers, &body).and_then(|p| {
            p.each_once()?;
            Ok(p.get("access_token").map(str::to_string))
        })
    };
    let token = match (from_header, from_body) {
        (Err(e), _) | (_, Err(e)) => Err(e),
        (Ok(Some(_)), Ok(Some(_))) => Err(OAuthError::invalid_request(
            "send the access token once, in the header or the body",
        )),
        (Ok(h), Ok(b)) => Ok(h.or(b)),
    };
    userinfo(state, token).await
}
