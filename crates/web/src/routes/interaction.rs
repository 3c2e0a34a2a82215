//! The UI side of the interaction boundary: the sign-in and consent pages. They authenticate the
//! person with the accounts domain and hand the result back to the engine.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{CookieJar, SameSite};
use gan_accounts::interaction::SignInOutcome;
use gan_oidc::interaction::{InteractionView, Prompt};
use gan_oidc::model::Authentication;
use minijinja::context;

use crate::pages::{Lang, Page};
use crate::request::{form_fields, ClientMeta};
use crate::security::{csrf_ok, csrf_token};
use crate::{cookies, AppState};

fn lang_of(
    state: &AppState,
    jar: &CookieJar,
    view: Option<&InteractionView>,
    headers: &HeaderMap,
) -> Lang {
    crate::request::page_lang(
        jar,
        &state.settings,
        headers,
        view.and_then(|v| v.ui_locales.as_deref()),
    )
}

/// A translated message of the theme, by key.
fn message(state: &AppState, lang: Lang, key: &str) -> Page {
    let status = match key {
        "error_csrf" => StatusCode::FORBIDDEN,
        "error_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    state
        .pages
        .error(status, lang, &state.pages.text(lang, key))
}

/// The interaction named in the URL, if it is live and bound to this browser.
async fn bound_view(
    state: &AppState,
    jar: &CookieJar,
    uid: &str,
) -> Result<Option<InteractionView>, Page> {
    if cookies::get(jar, &state.settings, cookies::INTERACTION).as_deref() != Some(uid) {
        return Ok(None);
    }
    state.provider.interaction_view(uid).await.map_err(|e| {
        tracing::error!(error = %e, "interaction lookup failed");
        message(state, Lang::Fr, "error_unavailable")
    })
}

fn login_page(
    state: &AppState,
    jar: CookieJar,
    view: &InteractionView,
    lang: Lang,
    status: StatusCode,
    error: Option<&str>,
    identifier: &str,
) -> Response {
    login_page_full(state, jar, view, lang, status, error, None, identifier)
}

fn login_page_info(
    state: &AppState,
    jar: CookieJar,
    view: &InteractionView,
    lang: Lang,
    info: &str,
) -> Response {
    login_page_full(state, jar, view, lang, StatusCode::OK, None, Some(info), "")
}

#[allow(clippy::too_many_arguments)]
fn login_page_full(
    state: &AppState,
    jar: CookieJar,
    view: &InteractionView,
    lang: Lang,
    status: StatusCode,
    error: Option<&str>,
    info: Option<&str>,
    identifier: &str,
) -> Response {
    let (jar, csrf) = csrf_token(jar, state);
    let page = state.pages.render(
        status,
        "login.html",
        lang,
        context! {
            action => format!("/interaction/{}/login", view.uid),
            client_name => view.client_name,
            csrf_token => csrf,
            error => error,
            info => info,
            identifier => identifier,
            path => format!("/interaction/{}", view.uid),
        },
    );
    (jar, page).into_response()
}

pub async fn show(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    Path(uid): Path<String>,
) -> Response {
    let view = match bound_view(&state, &jar, &uid).await {
        Ok(Some(v)) => v,
        Ok(None) => {
            return message(
                &state,
                lang_of(&state, &jar, None, &headers),
                "error_interaction",
            )
            .into_response()
        }
        Err(page) => return page.into_response(),
    };
    let lang = lang_of(&state, &jar, Some(&view), &headers);
    match view.prompt {
        Prompt::Login => {
            let hint = view.login_hint.clone().unwrap_or_default();
            login_page(&state, jar, &view, lang, StatusCode::OK, None, &hint)
        }
        Prompt::Consent => {
            let (jar, csrf) = csrf_token(jar, &state);
            let scopes: Vec<&String> = view
                .scopes
                .iter()
                .filter(|s| s.as_str() != "openid")
                .collect();
            let page = state.pages.render(
                StatusCode::OK,
                "consent.html",
                lang,
                context! { action => format!("/interaction/{uid}/consent"), client_name => view.client_name, scopes => scopes, csrf_token => csrf, signed_in => true },
            );
            (jar, page).into_response()
        }
    }
}

/// A form posted to an interaction: bound to this browser, live, with a valid CSRF token.
async fn posted_form(
    state: &AppState,
    jar: &CookieJar,
    headers: &HeaderMap,
    uid: &str,
    body: &[u8],
) -> Result<(HashMap<String, String>, InteractionView, Lang), Page> {
    let fields = form_fields(headers, body);
    let view = match bound_view(state, jar, uid).await? {
        Some(v) => v,
        None => {
            return Err(message(
                state,
                lang_of(state, jar, None, headers),
                "error_interaction",
            ))
        }
    };
    let lang = lang_of(state, jar, Some(&view), headers);
    if !csrf_ok(jar, state, fields.get("csrf_token").map(String::as_str)) {
        return Err(message(state, lang, "error_csrf"));
    }
    Ok((fields, view, lang))
}

pub async fn login(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    meta: ClientMeta,
    Path(uid): Path<String>,
    body: Bytes,
) -> Response {
    let (fields, view, lang) = match posted_form(&state, &jar, &headers, &uid, &body).await {
        Ok(parts) => parts,
        Err(page) => return page.into_response(),
    };
    let identifier = fields
        .get("identifier")
        .map(|s| s.trim())
        .unwrap_or_default()
        .to_string();
    let password = fields.get("password").cloned().unwrap_or_default();
    let t = |key: &str| state.pages.text(lang, key);
    if identifier.is_empty() || password.is_empty() {
        return login_page(
            &state,
            jar,
            &view,
            lang,
            StatusCode::BAD_REQUEST,
            Some(&t("login_missing")),
            &identifier,
        );
    }
    let outcome = state
        .accounts
        .sign_in_any(
            &identifier,
            &password,
            meta.ip.as_deref(),
            state.provider.now(),
        )
        .await;
    let identity = match outcome {
        Ok(SignInOutcome::Identity(i)) => i,
        Ok(SignInOutcome::UpgradeStarted { handle }) => {
            metrics::counter!("sign_in_total", "outcome" => "upgrade_started").increment(1);
            let jar = jar.add(cookies::build(
                &state.settings,
                cookies::UPGRADE,
                handle,
                SameSite::Lax,
            ));
            return (jar, Redirect::to("/upgrade/email")).into_response();
        }
        Ok(SignInOutcome::UseEmail { masked }) => {
            let info = t("login_use_email").replace("{masked}", &masked);
            return login_page_info(&state, jar, &view, lang, &info);
        }
        Ok(SignInOutcome::Wrong) => {
            metrics::counter!("sign_in_total", "outcome" => "failure").increment(1);
            return login_page(
                &state,
                jar,
                &view,
                lang,
                StatusCode::UNAUTHORIZED,
                Some(&t("login_failed")),
                &identifier,
            );
        }
        Ok(SignInOutcome::Throttled {
            retry_after_seconds,
        }) => {
            metrics::counter!("sign_in_total", "outcome" => "throttled").increment(1);
            let msg = t("login_throttled").replace("{s}", &retry_after_seconds.to_string());
            let mut res = login_page(
                &state,
                jar,
                &view,
                lang,
                StatusCode::TOO_MANY_REQUESTS,
                Some(&msg),
                &identifier,
            );
            if let Ok(v) = axum::http::HeaderValue::from_str(&retry_after_seconds.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return res;
        }
        Ok(SignInOutcome::Locked) => {
            return login_page(
                &state,
                jar,
                &view,
                lang,
                StatusCode::UNAUTHORIZED,
                Some(&t("login_locked")),
                &identifier,
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "sign-in failed");
            return message(&state, lang, "error_unavailable").into_response();
        }
    };
    metrics::counter!("sign_in_total", "outcome" => "success").increment(1);
    let auth = Authentication {
        identity_id: identity.id,
        auth_time: state.provider.now(),
        amr: vec!["pwd".into()],
        acr: gan_oidc::ACR_PASSWORD.into(),
    };
    let result = async {
        if let Some(old) = cookies::get(&jar, &state.settings, cookies::SESSION) {
            state.provider.end_session_cookie(&old).await?;
        }
        let (cookie, session) = state
            .provider
            .start_session(auth, meta.user_agent, meta.ip)
            .await?;
        let next = state.provider.login_finished(&uid, &session).await?;
        Ok::<_, gan_oidc::EngineError>((cookie, next))
    }
    .await;
    match result {
        Ok((cookie, Some(next))) => {
            // A new session id at every sign-in (no fixation).
            let jar = jar.add(cookies::build(
                &state.settings,
                cookies::SESSION,
                cookie,
                SameSite::Lax,
            ));
            (jar, Redirect::to(&next)).into_response()
        }
        Ok((_, None)) => message(&state, lang, "error_interaction").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "sign-in could not be completed");
            message(&state, lang, "error_unavailable").into_response()
        }
    }
}

pub async fn consent(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    Path(uid): Path<String>,
    body: Bytes,
) -> Response {
    let (fields, _view, lang) = match posted_form(&state, &jar, &headers, &uid, &body).await {
        Ok(parts) => parts,
        Err(page) => return page.into_response(),
    };
    let allow = match fields.get("decision").map(String::as_str) {
        Some("allow") => true,
        Some("deny") => false,
        _ => return message(&state, lang, "error_interaction").into_response(),
    };
    let session = match state
        .provider
        .session(cookies::get(&jar, &state.settings, cookies::SESSION).as_deref())
        .await
    {
        Ok(Some(s)) => s,
        Ok(None) => return message(&state, lang, "error_interaction").into_response(),
        Err(_) => return message(&state, lang, "error_unavailable").into_response(),
    };
    match state.provider.consent_finished(&uid, &session, allow).await {
        Ok(Some(next)) => Redirect::to(&next).into_response(),
        Ok(None) => message(&state, lang, "error_interaction").into_response(),
        Err(_) => message(&state, lang, "error_unavailable").into_response(),
    }
}
