//! "Gérer mon compte": the attached accounts and "Rattacher un compte" (J3), for a signed-in
//! session.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use gan_accounts::attach::AttachOutcome;
use gan_accounts::customer::AccountKind;
use gan_accounts::Identity;
use minijinja::context;

use crate::pages::Lang;
use crate::request::{form_fields, page_lang, ClientMeta};
use crate::security::{csrf_ok, csrf_token};
use crate::{cookies, AppState};

async fn signed_in(state: &AppState, jar: &CookieJar) -> Result<Option<Identity>, ()> {
    let cookie = cookies::get(jar, &state.settings, cookies::SESSION);
    let Some(session) = state.provider.session(cookie.as_deref()).await.map_err(|_| ())? else { return Ok(None) };
    state.accounts.store.find_identity(&session.auth.identity_id).await.map_err(|_| ())
}

#[allow(clippy::too_many_arguments)]
async fn page(state: &AppState, jar: CookieJar, lang: Lang, status: StatusCode, identity: &Identity, notice: Option<String>, error: Option<String>, client_number: &str) -> Response {
    let accounts = match state.accounts.ports.customers.accounts_of(&identity.id).await {
        Ok(a) => a,
        Err(_) => return state.pages.error(StatusCode::SERVICE_UNAVAILABLE, lang, &state.pages.text(lang, "error_unavailable")).into_response(),
    };
    let rows: Vec<serde_json::Value> = accounts.iter().map(|a| serde_json::json!({ "client_number": a.client_number, "label": a.label, "kind": a.kind.as_str() })).collect();
    let (jar, csrf) = csrf_token(jar, state);
    let html = state.pages.render(
        status,
        "account.html",
        lang,
        context! { path => "/account", email => identity.login_email, accounts => rows, notice => notice, error => error, client_number => client_number, csrf_token => csrf },
    );
    (jar, html).into_response()
}

fn signed_out(state: &AppState, lang: Lang) -> Response {
    state.pages.error(StatusCode::UNAUTHORIZED, lang, &state.pages.text(lang, "account_signed_out")).into_response()
}

pub async fn show(State(state): State<AppState>, jar: CookieJar, headers: HeaderMap) -> Response {
    let lang = page_lang(&jar, &state.settings, &headers, None);
    match signed_in(&state, &jar).await {
        Ok(Some(identity)) => page(&state, jar, lang, StatusCode::OK, &identity, None, None, "").await,
        Ok(None) => signed_out(&state, lang),
        Err(()) => state.pages.error(StatusCode::SERVICE_UNAVAILABLE, lang, &state.pages.text(lang, "error_unavailable")).into_response(),
    }
}

pub async fn attach(State(state): State<AppState>, jar: CookieJar, headers: HeaderMap, meta: ClientMeta, body: Bytes) -> Response {
    let fields = form_fields(&headers, &body);
    let lang = page_lang(&jar, &state.settings, &headers, None);
    if !csrf_ok(&jar, &state, fields.get("csrf_token").map(String::as_str)) {
        return state.pages.error(StatusCode::FORBIDDEN, lang, &state.pages.text(lang, "error_csrf")).into_response();
    }
    let identity = match signed_in(&state, &jar).await {
        Ok(Some(i)) => i,
        Ok(None) => return signed_out(&state, lang),
        Err(()) => return state.pages.error(StatusCode::SERVICE_UNAVAILABLE, lang, &state.pages.text(lang, "error_unavailable")).into_response(),
    };
    let number = fields.get("client_number").map(|s| s.trim().to_string()).unwrap_or_default();
    let password = fields.get("password").cloned().unwrap_or_default();
    let t = |k: &str| state.pages.text(lang, k);
    let outcome = state.accounts.attach_account(&identity.id, &number, &password, meta.ip.as_deref(), state.provider.now()).await;
    let mut retry_after = None;
    let (status, notice, error) = match outcome {
        Ok(AttachOutcome::Attached(a)) => (StatusCode::OK, Some(t("attach_done").replace("{n}", &a.client_number)), None),
        Ok(AttachOutcome::WrongCredentials) => (StatusCode::UNAUTHORIZED, None, Some(t("attach_wrong"))),
        Ok(AttachOutcome::Taken) => (StatusCode::CONFLICT, None, Some(t("attach_taken"))),
        Ok(AttachOutcome::AlreadyMine) => (StatusCode::OK, Some(t("attach_mine")), None),
        Ok(AttachOutcome::LimitReached(AccountKind::Personal)) => (StatusCode::CONFLICT, None, Some(t("attach_limit_personal"))),
        Ok(AttachOutcome::LimitReached(AccountKind::Professional)) => (StatusCode::CONFLICT, None, Some(t("attach_limit_professional"))),
        Ok(AttachOutcome::Throttled { retry_after_seconds }) => {
            retry_after = Some(retry_after_seconds);
            (StatusCode::TOO_MANY_REQUESTS, None, Some(t("login_throttled").replace("{s}", &retry_after_seconds.to_string())))
        }
        Err(_) => return state.pages.error(StatusCode::SERVICE_UNAVAILABLE, lang, &t("error_unavailable")).into_response(),
    };
    let keep = if error.is_some() { number.as_str() } else { "" };
    let mut res = page(&state, jar, lang, status, &identity, notice, error, keep).await;
    if let Some(v) = retry_after.and_then(|s| axum::http::HeaderValue::from_str(&s.to_string()).ok()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}
