//! "Gérer mon compte": the attached accounts and "Rattacher un compte" (J3), for a signed-in
//! session.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use gan_accounts::account::{AttachOutcome, ConfirmEmailError, EmailChange, PasswordChange};
use gan_accounts::customer::AccountKind;
use gan_accounts::Identity;
use gan_oidc::model::Session;
use minijinja::context;

use crate::pages::Lang;
use crate::request::{form_fields, page_lang, ClientMeta};
use crate::security::{csrf_ok, csrf_token};
use crate::{cookies, AppState};

/// The signed-in identity and its session.
async fn signed_in(state: &AppState, jar: &CookieJar) -> Result<Option<(Identity, Session)>, ()> {
    let cookie = cookies::get(jar, &state.settings, cookies::SESSION);
    let Some(session) = state
        .provider
        .session(cookie.as_deref())
        .await
        .map_err(|_| ())?
    else {
        return Ok(None);
    };
    state
        .provider
        .grants
        .touch_session(&session.id_hash, state.provider.now())
        .await
        .map_err(|_| ())?;
    let identity = state
        .accounts
        .identity(&session.auth.identity_id)
        .await
        .map_err(|_| ())?;
    Ok(identity.map(|i| (i, session)))
}

/// What the page shows next to the forms.
#[derive(Default)]
struct Feedback {
    notice: Option<String>,
    error: Option<String>,
    client_number: String,
    new_email: String,
}

fn fmt_time(t: time::OffsetDateTime) -> String {
    t.format(&time::macros::format_description!(
        "[day]/[month]/[year] [hour]:[minute] UTC"
    ))
    .unwrap_or_default()
}

/// A short device name from a user agent.
fn device(ua: Option<&str>) -> String {
    let ua = ua.unwrap_or_default();
    let browser = ["Edg", "Firefox", "Chrome", "Safari"]
        .into_iter()
        .find(|b| ua.contains(b))
        .map(|b| if b == "Edg" { "Edge" } else { b });
    let os = ["Windows", "Android", "iPhone", "Mac OS", "Linux"]
        .into_iter()
        .find(|o| ua.contains(o));
    match (browser, os) {
        (Some(b), Some(o)) => format!("{b} · {o}"),
        (Some(b), None) => b.to_string(),
        _ if ua.is_empty() => "?".to_string(),
        _ => ua.chars().take(40).collect(),
    }
}

async fn page(
    state: &AppState,
    jar: CookieJar,
    lang: Lang,
    status: StatusCode,
    identity: &Identity,
    session: &Session,
    fb: Feedback,
) -> Response {
    let now = state.provider.now();
    let loaded = tokio::join!(
        state.accounts.accounts_of(&identity.id),
        state.provider.grants.sessions_of(&identity.id, now)
    );
    let (Ok(accounts), Ok(sessions)) = loaded else {
        return state
            .pages
            .error(
                StatusCode::SERVICE_UNAVAILABLE,
                lang,
                &state.pages.text(lang, "error_unavailable"),
            )
            .into_response();
    };
    let rows: Vec<serde_json::Value> = accounts.iter().map(|a| serde_json::json!({ "client_number": a.client_number, "label": a.label, "kind": a.kind.as_str() })).collect();
    let sessions: Vec<serde_json::Value> = sessions
        .iter()
        .map(|s| serde_json::json!({ "sid": s.sid, "device": device(s.user_agent.as_deref()), "ip": s.ip.clone().unwrap_or_default(),
            "started": fmt_time(s.created_at), "seen": fmt_time(s.last_seen_at), "current": s.sid == session.sid }))
        .collect();
    let (jar, csrf) = csrf_token(jar, state);
    let html = state.pages.render(
        status,
        "account.html",
        lang,
        context! { path => "/account", signed_in => true, email => identity.login_email, accounts => rows, sessions => sessions, notice => fb.notice, error => fb.error,
            client_number => fb.client_number, new_email => fb.new_email, csrf_token => csrf },
    );
    (jar, html).into_response()
}

fn signed_out(state: &AppState, lang: Lang) -> Response {
    state
        .pages
        .error(
            StatusCode::UNAUTHORIZED,
            lang,
            &state.pages.text(lang, "account_signed_out"),
        )
        .into_response()
}

pub async fn show(State(state): State<AppState>, jar: CookieJar, headers: HeaderMap) -> Response {
    let lang = page_lang(&jar, &state.settings, &headers, None);
    match signed_in(&state, &jar).await {
        Ok(Some((identity, session))) => {
            page(
                &state,
                jar,
                lang,
                StatusCode::OK,
                &identity,
                &session,
                Feedback::default(),
            )
            .await
        }
        Ok(None) => signed_out(&state, lang),
        Err(()) => state
            .pages
            .error(
                StatusCode::SERVICE_UNAVAILABLE,
                lang,
                &state.pages.text(lang, "error_unavailable"),
            )
            .into_response(),
    }
}

pub async fn attach(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    meta: ClientMeta,
    body: Bytes,
) -> Response {
    let fields = form_fields(&headers, &body);
    let lang = page_lang(&jar, &state.settings, &headers, None);
    if !csrf_ok(&jar, &state, fields.get("csrf_token").map(String::as_str)) {
        return state
            .pages
            .error(
                StatusCode::FORBIDDEN,
                lang,
                &state.pages.text(lang, "error_csrf"),
            )
            .into_response();
    }
    let (identity, session) = match signed_in(&state, &jar).await {
        Ok(Some(found)) => found,
        Ok(None) => return signed_out(&state, lang),
        Err(()) => {
            return state
                .pages
                .error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    lang,
                    &state.pages.text(lang, "error_unavailable"),
                )
                .into_response()
        }
    };
    if needs_reauth(&state, &session) {
        return reauth_page(&state, jar, lang, None);
    }
    let number = fields
        .get("client_number")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let password = fields.get("password").cloned().unwrap_or_default();
    let t = |k: &str| state.pages.text(lang, k);
    let outcome = state
        .accounts
        .attach_account(
            &identity.id,
            &number,
            &password,
            meta.ip.as_deref(),
            state.provider.now(),
        )
        .await;
    let mut retry_after = None;
    let (status, notice, error) = match outcome {
        Ok(AttachOutcome::Attached(a)) => (
            StatusCode::OK,
            Some(t("attach_done").replace("{n}", &a.client_number)),
            None,
        ),
        Ok(AttachOutcome::WrongCredentials) => {
            (StatusCode::UNAUTHORIZED, None, Some(t("attach_wrong")))
        }
        Ok(AttachOutcome::Taken) => (StatusCode::CONFLICT, None, Some(t("attach_taken"))),
        Ok(AttachOutcome::AlreadyMine) => (StatusCode::OK, Some(t("attach_mine")), None),
        Ok(AttachOutcome::LimitReached(AccountKind::Personal)) => {
            (StatusCode::CONFLICT, None, Some(t("attach_limit_personal")))
        }
        Ok(AttachOutcome::LimitReached(AccountKind::Professional)) => (
            StatusCode::CONFLICT,
            None,
            Some(t("attach_limit_professional")),
        ),
        Ok(AttachOutcome::Throttled {
            retry_after_seconds,
        }) => {
            retry_after = Some(retry_after_seconds);
            (
                StatusCode::TOO_MANY_REQUESTS,
                None,
                Some(t("login_throttled").replace("{s}", &retry_after_seconds.to_string())),
            )
        }
        Err(_) => {
            return state
                .pages
                .error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    lang,
                    &t("error_unavailable"),
                )
                .into_response()
        }
    };
    let client_number = if error.is_some() {
        number
    } else {
        String::new()
    };
    let mut res = page(
        &state,
        jar,
        lang,
        status,
        &identity,
        &session,
        Feedback {
            notice,
            error,
            client_number,
            ..Default::default()
        },
    )
    .await;
    if let Some(v) =
        retry_after.and_then(|s| axum::http::HeaderValue::from_str(&s.to_string()).ok())
    {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// The common start of every account form: CSRF, then a signed-in session.
async fn posted(
    state: &AppState,
    jar: &CookieJar,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<
    (
        std::collections::HashMap<String, String>,
        Lang,
        Identity,
        Session,
    ),
    Response,
> {
    let fields = form_fields(headers, body);
    let lang = page_lang(jar, &state.settings, headers, None);
    if !csrf_ok(jar, state, fields.get("csrf_token").map(String::as_str)) {
        return Err(state
            .pages
            .error(
                StatusCode::FORBIDDEN,
                lang,
                &state.pages.text(lang, "error_csrf"),
            )
            .into_response());
    }
    match signed_in(state, jar).await {
        Ok(Some((identity, session))) => Ok((fields, lang, identity, session)),
        Ok(None) => Err(signed_out(state, lang)),
        Err(()) => Err(state
            .pages
            .error(
                StatusCode::SERVICE_UNAVAILABLE,
                lang,
                &state.pages.text(lang, "error_unavailable"),
            )
            .into_response()),
    }
}

/// Sensitive actions: a sign-in older than the window asks for the password again.
fn needs_reauth(state: &AppState, session: &Session) -> bool {
    state.provider.now() - session.auth.auth_time > state.accounts.settings.reauth_after
}

fn reauth_page(state: &AppState, jar: CookieJar, lang: Lang, error: Option<String>) -> Response {
    let (jar, csrf) = csrf_token(jar, state);
    let html = state.pages.render(
        StatusCode::UNAUTHORIZED,
        "reauth.html",
        lang,
        context! { path => "/account", signed_in => true, csrf_token => csrf, error => error },
    );
    (jar, html).into_response()
}

pub async fn reauth(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (fields, lang, identity, session) = match posted(&state, &jar, &headers, &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if !state
        .accounts
        .password_matches(&identity, &field(&fields, "password"))
        .await
    {
        return reauth_page(
            &state,
            jar,
            lang,
            Some(state.pages.text(lang, "wrong_current_password")),
        );
    }
    if state
        .provider
        .grants
        .reauthenticated(&session.id_hash, state.provider.now())
        .await
        .is_err()
    {
        return state
            .pages
            .error(
                StatusCode::SERVICE_UNAVAILABLE,
                lang,
                &state.pages.text(lang, "error_unavailable"),
            )
            .into_response();
    }
    (jar, axum::response::Redirect::to("/account")).into_response()
}

fn field(fields: &std::collections::HashMap<String, String>, name: &str) -> String {
    fields.get(name).cloned().unwrap_or_default()
}

pub async fn change_password(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (fields, lang, identity, session) = match posted(&state, &jar, &headers, &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let t = |k: &str| state.pages.text(lang, k);
    let result = state
        .accounts
        .change_password(
            &identity,
            &field(&fields, "current_password"),
            &field(&fields, "password"),
            &field(&fields, "password_confirm"),
            state.provider.now(),
        )
        .await;
    let (status, fb) = match result {
        Ok(PasswordChange::Changed) => {
            if state
                .provider
                .end_sessions_of(&identity.id, Some(&session.sid), "password_changed")
                .await
                .is_err()
            {
                return state
                    .pages
                    .error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        lang,
                        &t("error_unavailable"),
                    )
                    .into_response();
            }
            (
                StatusCode::OK,
                Feedback {
                    notice: Some(t("change_password_done")),
                    ..Default::default()
                },
            )
        }
        Ok(PasswordChange::WrongPassword) => (
            StatusCode::UNAUTHORIZED,
            Feedback {
                error: Some(t("wrong_current_password")),
                ..Default::default()
            },
        ),
        Ok(PasswordChange::Policy(v)) => {
            let list: Vec<String> = v.iter().map(|x| t(x.key())).collect();
            (
                StatusCode::BAD_REQUEST,
                Feedback {
                    error: Some(format!("{} {}", t("password_errors"), list.join(", "))),
                    ..Default::default()
                },
            )
        }
        Err(_) => {
            return state
                .pages
                .error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    lang,
                    &t("error_unavailable"),
                )
                .into_response()
        }
    };
    page(&state, jar, lang, status, &identity, &session, fb).await
}

pub async fn change_email(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (fields, lang, identity, session) = match posted(&state, &jar, &headers, &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let t = |k: &str| state.pages.text(lang, k);
    let new_email = field(&fields, "email").trim().to_string();
    let issuer = state.provider.config.issuer_str();
    let result = state
        .accounts
        .request_email_change(
            &identity,
            &new_email,
            &field(&fields, "current_password"),
            lang.code(),
            &issuer,
            state.provider.now(),
        )
        .await;
    let (status, fb) = match result {
        Ok(EmailChange::Sent { masked }) => (
            StatusCode::OK,
            Feedback {
                notice: Some(format!(
                    "{} {}",
                    t("change_email_sent").replace("{masked}", &masked),
                    t("sent_delay")
                )),
                ..Default::default()
            },
        ),
        Ok(EmailChange::WrongPassword) => (
            StatusCode::UNAUTHORIZED,
            Feedback {
                error: Some(t("wrong_current_password")),
                new_email,
                ..Default::default()
            },
        ),
        Ok(EmailChange::Invalid) => (
            StatusCode::BAD_REQUEST,
            Feedback {
                error: Some(t("email_invalid")),
                new_email,
                ..Default::default()
            },
        ),
        Ok(EmailChange::Taken) => (
            StatusCode::CONFLICT,
            Feedback {
                error: Some(t("email_taken")),
                new_email,
                ..Default::default()
            },
        ),
        Err(_) => {
            return state
                .pages
                .error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    lang,
                    &t("error_unavailable"),
                )
                .into_response()
        }
    };
    page(&state, jar, lang, status, &identity, &session, fb).await
}

pub async fn confirm_email(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<super::upgrade::TokenQuery>,
) -> Response {
    let lang = page_lang(&jar, &state.settings, &headers, None);
    let token = q.token.unwrap_or_default();
    let t = |k: &str| state.pages.text(lang, k);
    match state
        .accounts
        .confirm_email_change(&token, state.provider.now())
        .await
    {
        Ok((before, new_email)) => {
            // Sessions elsewhere end; this browser's session (if it is this identity's) stays.
            let current = signed_in(&state, &jar)
                .await
                .ok()
                .flatten()
                .filter(|(i, _)| i.id == before.id)
                .map(|(_, s)| s.sid);
            if state
                .provider
                .end_sessions_of(&before.id, current.as_deref(), "login_email_changed")
                .await
                .is_err()
            {
                return state
                    .pages
                    .error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        lang,
                        &t("error_unavailable"),
                    )
                    .into_response();
            }
            super::upgrade::message(
                &state,
                StatusCode::OK,
                lang,
                "change_email_title",
                vec![t("change_email_done").replace("{email}", &new_email)],
            )
            .into_response()
        }
        Err(ConfirmEmailError::Link(link)) => {
            super::upgrade::link_problem(&state, jar, lang, &link, &token, false)
        }
        Err(ConfirmEmailError::EmailTaken) => state
            .pages
            .error(StatusCode::CONFLICT, lang, &t("email_taken"))
            .into_response(),
        Err(_) => state
            .pages
            .error(
                StatusCode::SERVICE_UNAVAILABLE,
                lang,
                &t("error_unavailable"),
            )
            .into_response(),
    }
}

pub async fn end_session(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (fields, lang, identity, session) = match posted(&state, &jar, &headers, &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if needs_reauth(&state, &session) {
        return reauth_page(&state, jar, lang, None);
    }
    let sid = field(&fields, "sid");
    let now = state.provider.now();
    // Only one's own sessions: the sid must be among them.
    let mine = state
        .provider
        .grants
        .sessions_of(&identity.id, now)
        .await
        .map(|all| all.iter().any(|s| s.sid == sid && s.sid != session.sid));
    match mine {
        Ok(true) => {
            if state
                .provider
                .end_session_sid(&identity.id, &sid, "ended_by_user")
                .await
                .is_err()
            {
                return state
                    .pages
                    .error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        lang,
                        &state.pages.text(lang, "error_unavailable"),
                    )
                    .into_response();
            }
        }
        Ok(false) => {}
        Err(_) => {
            return state
                .pages
                .error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    lang,
                    &state.pages.text(lang, "error_unavailable"),
                )
                .into_response()
        }
    }
    page(
        &state,
        jar,
        lang,
        StatusCode::OK,
        &identity,
        &session,
        Feedback {
            notice: Some(state.pages.text(lang, "sessions_ended")),
            ..Default::default()
        },
    )
    .await
}

pub async fn end_other_sessions(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (_, lang, identity, session) = match posted(&state, &jar, &headers, &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if needs_reauth(&state, &session) {
        return reauth_page(&state, jar, lang, None);
    }
    if state
        .provider
        .end_sessions_of(&identity.id, Some(&session.sid), "ended_by_user")
        .await
        .is_err()
    {
        return state
            .pages
            .error(
                StatusCode::SERVICE_UNAVAILABLE,
                lang,
                &state.pages.text(lang, "error_unavailable"),
            )
            .into_response();
    }
    page(
        &state,
        jar,
        lang,
        StatusCode::OK,
        &identity,
        &session,
        Feedback {
            notice: Some(state.pages.text(lang, "sessions_ended")),
            ..Default::default()
        },
    )
    .await
}
