//! J5: forgotten identifier and password, and the password reset. The answers never say whether
//! anything exists.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use gan_accounts::forgot::{ResetError, RESET_PATH};
use gan_accounts::links::{LinkPurpose, LinkState};
use minijinja::context;

use super::upgrade::{link_problem, message, password_page, TokenQuery};
use crate::pages::Lang;
use crate::request::{form_fields, page_lang};
use crate::security::{csrf_ok, csrf_token};
use crate::AppState;

struct Form {
    title: &'static str,
    lead: &'static str,
    action: &'static str,
    field: &'static str,
    label: &'static str,
}

const IDENTIFIER: Form = Form {
    title: "forgot_identifier_title",
    lead: "forgot_identifier_lead",
    action: "/forgot/identifier",
    field: "email",
    label: "forgot_email_label",
};
const PASSWORD: Form = Form {
    title: "forgot_password_title",
    lead: "forgot_password_lead",
    action: "/forgot/password",
    field: "identifier",
    label: "forgot_identifier_label",
};

fn form_page(state: &AppState, jar: CookieJar, lang: Lang, form: &Form) -> Response {
    let (jar, csrf) = csrf_token(jar, state);
    let t = |k: &str| state.pages.text(lang, k);
    let page = state.pages.render(
        StatusCode::OK,
        "forgot.html",
        lang,
        context! { path => form.action, title => t(form.title), lead => t(form.lead), action => form.action, field => form.field, label => t(form.label), csrf_token => csrf, value => "" },
    );
    (jar, page).into_response()
}

fn sent(state: &AppState, lang: Lang) -> Response {
    let t = |k: &str| state.pages.text(lang, k);
    message(
        state,
        StatusCode::OK,
        lang,
        "forgot_sent_title",
        vec![t("forgot_sent_text"), t("mail_queued")],
    )
    .into_response()
}

pub async fn identifier_form(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
) -> Response {
    let lang = page_lang(&jar, &state.settings, &headers, None);
    form_page(&state, jar, lang, &IDENTIFIER)
}

pub async fn password_form(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
) -> Response {
    let lang = page_lang(&jar, &state.settings, &headers, None);
    form_page(&state, jar, lang, &PASSWORD)
}

async fn submit(
    state: AppState,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
    form: &Form,
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
    let value = fields
        .get(form.field)
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let now = state.provider.now();
    let issuer = state.provider.config.issuer_str();
    let result = if form.field == "email" {
        state
            .accounts
            .forgot_identifier(&value, lang.code(), now)
            .await
    } else {
        state
            .accounts
            .forgot_password(&value, lang.code(), &issuer, now)
            .await
    };
    match result {
        Ok(()) => sent(&state, lang),
        Err(e) => {
            tracing::error!(error = %e, "forgotten-credential request failed");
            state
                .pages
                .error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    lang,
                    &state.pages.text(lang, "error_unavailable"),
                )
                .into_response()
        }
    }
}

pub async fn identifier_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    submit(state, jar, headers, body, &IDENTIFIER).await
}

pub async fn password_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    submit(state, jar, headers, body, &PASSWORD).await
}

pub async fn reset_form(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
) -> Response {
    let lang = page_lang(&jar, &state.settings, &headers, None);
    let token = q.token.unwrap_or_default();
    match state
        .accounts
        .link(&token, LinkPurpose::PasswordReset, state.provider.now())
        .await
    {
        Ok(LinkState::Valid(link)) => {
            let email = link.data.email.unwrap_or_default();
            password_page(
                &state,
                jar,
                lang,
                StatusCode::OK,
                RESET_PATH,
                &token,
                &email,
                "",
                &[],
                true,
            )
        }
        Ok(other) => link_problem(&state, jar, lang, &other, &token, false),
        Err(_) => state
            .pages
            .error(
                StatusCode::SERVICE_UNAVAILABLE,
                lang,
                &state.pages.text(lang, "error_unavailable"),
            )
            .into_response(),
    }
}

pub async fn reset_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
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
    let token = fields.get("token").cloned().unwrap_or_default();
    let password = fields.get("password").cloned().unwrap_or_default();
    let confirm = fields.get("password_confirm").cloned().unwrap_or_default();
    let now = state.provider.now();
    match state
        .accounts
        .reset_password(&token, &password, &confirm, now)
        .await
    {
        Ok(_) => message(
            &state,
            StatusCode::OK,
            lang,
            "reset_done_title",
            vec![state.pages.text(lang, "reset_done_text")],
        )
        .into_response(),
        Err(ResetError::Policy(v)) => {
            let email = match state
                .accounts
                .link(&token, LinkPurpose::PasswordReset, now)
                .await
            {
                Ok(LinkState::Valid(l)) => l.data.email.unwrap_or_default(),
                _ => String::new(),
            };
            password_page(
                &state,
                jar,
                lang,
                StatusCode::BAD_REQUEST,
                RESET_PATH,
                &token,
                &email,
                "",
                &v,
                true,
            )
        }
        Err(ResetError::Link(link)) => link_problem(&state, jar, lang, &link, &token, false),
        Err(_) => state
            .pages
            .error(
                StatusCode::SERVICE_UNAVAILABLE,
                lang,
                &state.pages.text(lang, "error_unavailable"),
            )
            .into_response(),
    }
}
