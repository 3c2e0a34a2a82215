//! J1 steps 2 and 3 and J2: choose the login email, open the link, choose the password.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{CookieJar, SameSite};
use gan_accounts::links::{LinkPurpose, LinkState};
use gan_accounts::policy::Violation;
use gan_accounts::upgrade::{ChooseEmail, CompleteError, VERIFY_PATH};
use gan_oidc::model::Authentication;
use gan_oidc::secret::hash_handle;
use minijinja::context;

use crate::pages::{Lang, Page};
use crate::request::{form_fields, page_lang, ClientMeta};
use crate::security::{csrf_ok, csrf_token};
use crate::{cookies, AppState};

#[derive(serde::Deserialize)]
pub(super) struct TokenQuery {
    pub(super) token: Option<String>,
}

pub(super) fn message(
    state: &AppState,
    status: StatusCode,
    lang: Lang,
    title_key: &str,
    paragraphs: Vec<String>,
) -> Page {
    let title = state.pages.text(lang, title_key);
    state.pages.render(
        status,
        "message.html",
        lang,
        context! { title => title, paragraphs => paragraphs },
    )
}

fn unavailable(state: &AppState, lang: Lang) -> Response {
    state
        .pages
        .error(
            StatusCode::SERVICE_UNAVAILABLE,
            lang,
            &state.pages.text(lang, "error_unavailable"),
        )
        .into_response()
}

fn forbidden(state: &AppState, lang: Lang) -> Response {
    state
        .pages
        .error(
            StatusCode::FORBIDDEN,
            lang,
            &state.pages.text(lang, "error_csrf"),
        )
        .into_response()
}

/// The page for a link that cannot be used (4xx, never 200 or 5xx).
pub(super) fn link_problem(
    state: &AppState,
    jar: CookieJar,
    lang: Lang,
    link: &LinkState,
    token: &str,
    resend: bool,
) -> Response {
    let t = |k: &str| state.pages.text(lang, k);
    match link {
        LinkState::Used => message(
            state,
            StatusCode::GONE,
            lang,
            "link_used_title",
            vec![t("link_used_text")],
        )
        .into_response(),
        LinkState::Expired(_) => {
            let (jar, csrf) = csrf_token(jar, state);
            let page = state.pages.render(
                StatusCode::GONE,
                "message.html",
                lang,
                context! { title => t("link_expired_title"), paragraphs => vec![t("link_expired_text")], resend_token => resend.then_some(token), csrf_token => csrf, link_href => (!resend).then_some("/forgot/password"), link_text => t("forgot_password_title") },
            );
            (jar, page).into_response()
        }
        _ => message(
            state,
            StatusCode::NOT_FOUND,
            lang,
            "link_invalid_title",
            vec![t("link_invalid_text")],
        )
        .into_response(),
    }
}

fn email_page(
    state: &AppState,
    jar: CookieJar,
    lang: Lang,
    status: StatusCode,
    client_number: &str,
    email: &str,
    error: Option<String>,
    taken: bool,
) -> Response {
    let (jar, csrf) = csrf_token(jar, state);
    let page = state.pages.render(
        status,
        "upgrade_email.html",
        lang,
        context! { path => "/upgrade/email", client_number => client_number, email => email, error => error, taken => taken, csrf_token => csrf },
    );
    (jar, page).into_response()
}

pub async fn email_form(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
) -> Response {
    let lang = page_lang(&jar, &state.settings, &headers, None);
    let handle = cookies::get(&jar, &state.settings, cookies::UPGRADE).unwrap_or_default();
    match state
        .accounts
        .upgrade_in_progress(&handle, state.provider.now())
        .await
    {
        Ok(Some(account)) => email_page(
            &state,
            jar,
            lang,
            StatusCode::OK,
            &account.client_number,
            "",
            None,
            false,
        ),
        Ok(None) => message(
            &state,
            StatusCode::BAD_REQUEST,
            lang,
            "upgrade_email_title",
            vec![state.pages.text(lang, "upgrade_expired")],
        )
        .into_response(),
        Err(_) => unavailable(&state, lang),
    }
}

pub async fn email_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = form_fields(&headers, &body);
    let lang = page_lang(&jar, &state.settings, &headers, None);
    if !csrf_ok(&jar, &state, fields.get("csrf_token").map(String::as_str)) {
        return forbidden(&state, lang);
    }
    let handle = cookies::get(&jar, &state.settings, cookies::UPGRADE).unwrap_or_default();
    let chosen = fields
        .get("email")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let interaction =
        cookies::get(&jar, &state.settings, cookies::INTERACTION).map(|uid| hash_handle(&uid));
    let now = state.provider.now();
    let issuer = state.provider.config.issuer_str();
    let account = match state.accounts.upgrade_in_progress(&handle, now).await {
        Ok(a) => a,
        Err(_) => return unavailable(&state, lang),
    };
    let number = account.map(|a| a.client_number).unwrap_or_default();
    match state
        .accounts
        .choose_login_email(&handle, &chosen, interaction, lang.code(), &issuer, now)
        .await
    {
        Ok(ChooseEmail::Sent { masked }) => {
            let t = |k: &str| state.pages.text(lang, k);
            message(
                &state,
                StatusCode::OK,
                lang,
                "sent_title",
                vec![t("sent_text").replace("{masked}", &masked), t("sent_delay")],
            )
            .into_response()
        }
        Ok(ChooseEmail::Taken) => email_page(
            &state,
            jar,
            lang,
            StatusCode::CONFLICT,
            &number,
            &chosen,
            Some(state.pages.text(lang, "email_taken")),
            true,
        ),
        Ok(ChooseEmail::Invalid) => email_page(
            &state,
            jar,
            lang,
            StatusCode::BAD_REQUEST,
            &number,
            &chosen,
            Some(state.pages.text(lang, "email_invalid")),
            false,
        ),
        Ok(ChooseEmail::Expired) => message(
            &state,
            StatusCode::BAD_REQUEST,
            lang,
            "upgrade_email_title",
            vec![state.pages.text(lang, "upgrade_expired")],
        )
        .into_response(),
        Err(_) => unavailable(&state, lang),
    }
}

/// The password form (upgrade step 3, or a reset).
#[allow(clippy::too_many_arguments)]
pub(super) fn password_page(
    state: &AppState,
    jar: CookieJar,
    lang: Lang,
    status: StatusCode,
    action: &str,
    token: &str,
    email: &str,
    numbers: &str,
    errors: &[Violation],
    reset: bool,
) -> Response {
    let (jar, csrf) = csrf_token(jar, state);
    let t = |k: &str| state.pages.text(lang, k);
    let errors: Vec<String> = errors.iter().map(|v| t(v.key())).collect();
    let (title, submit, step) = if reset {
        (t("reset_title"), t("reset_submit"), None)
    } else {
        (t("password_title"), t("password_submit"), Some(3))
    };
    let page = state.pages.render(
        status,
        "password.html",
        lang,
        context! {
            title => title, submit => submit, step => step, action => action, token => token, email => email,
            numbers => numbers, errors => errors, csrf_token => csrf,
            min_length => state.accounts.settings.policy.min_length.to_string(),
        },
    );
    (jar, page).into_response()
}

pub async fn verify_form(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
) -> Response {
    let lang = page_lang(&jar, &state.settings, &headers, None);
    let token = q.token.unwrap_or_default();
    match state
        .accounts
        .link(&token, LinkPurpose::VerifyEmail, state.provider.now())
        .await
    {
        Ok(LinkState::Valid(link)) => {
            let email = link.data.email.clone().unwrap_or_default();
            let number = link.data.client_number.clone().unwrap_or_default();
            password_page(
                &state,
                jar,
                lang,
                StatusCode::OK,
                VERIFY_PATH,
                &token,
                &email,
                &number,
                &[],
                false,
            )
        }
        Ok(other) => link_problem(&state, jar, lang, &other, &token, true),
        Err(_) => unavailable(&state, lang),
    }
}

pub async fn verify_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    meta: ClientMeta,
    body: Bytes,
) -> Response {
    let fields = form_fields(&headers, &body);
    let lang = page_lang(&jar, &state.settings, &headers, None);
    if !csrf_ok(&jar, &state, fields.get("csrf_token").map(String::as_str)) {
        return forbidden(&state, lang);
    }
    let token = fields.get("token").cloned().unwrap_or_default();
    let password = fields.get("password").cloned().unwrap_or_default();
    let confirm = fields.get("password_confirm").cloned().unwrap_or_default();
    let now = state.provider.now();
    let completed = match state
        .accounts
        .complete_upgrade(&token, &password, &confirm, now)
        .await
    {
        Ok(c) => c,
        Err(CompleteError::Policy(violations)) => {
            let link = state
                .accounts
                .link(&token, LinkPurpose::VerifyEmail, now)
                .await;
            let (email, number) = match link {
                Ok(LinkState::Valid(l)) => (
                    l.data.email.unwrap_or_default(),
                    l.data.client_number.unwrap_or_default(),
                ),
                _ => Default::default(),
            };
            return password_page(
                &state,
                jar,
                lang,
                StatusCode::BAD_REQUEST,
                VERIFY_PATH,
                &token,
                &email,
                &number,
                &violations,
                false,
            );
        }
        Err(CompleteError::EmailTaken) => {
            let t = |k: &str| state.pages.text(lang, k);
            let page = state.pages.render(
                StatusCode::CONFLICT,
                "message.html",
                lang,
                context! { title => t("upgrade_email_title"), alert => t("email_taken"), paragraphs => vec![t("taken_help_family"), t("taken_help_private_pro"), t("taken_help_establishments"), t("upgrade_expired")] },
            );
            return page.into_response();
        }
        Err(CompleteError::Link(link)) => {
            return link_problem(&state, jar, lang, &link, &token, true)
        }
        Err(CompleteError::Unavailable(_)) => return unavailable(&state, lang),
    };
    tracing::info!(sub = %completed.identity.id, "upgrade completed");
    let auth = Authentication {
        identity_id: completed.identity.id.clone(),
        auth_time: now,
        amr: vec!["pwd".into()],
        acr: gan_oidc::ACR_PASSWORD.into(),
    };
    let started = state
        .provider
        .start_session(auth, meta.user_agent, meta.ip)
        .await;
    let Ok((cookie, session)) = started else {
        return unavailable(&state, lang);
    };
    let jar = cookies::remove(jar, &state.settings, cookies::UPGRADE).add(cookies::build(
        &state.settings,
        cookies::SESSION,
        cookie,
        SameSite::Lax,
    ));
    // The pending authorization request resumes if this browser started it.
    let uid = cookies::get(&jar, &state.settings, cookies::INTERACTION);
    if let (Some(uid), Some(expected)) = (uid, completed.interaction_hash.as_deref()) {
        if hash_handle(&uid) == expected {
            if let Ok(Some(next)) = state.provider.login_finished(&uid, &session).await {
                return (jar, Redirect::to(&next)).into_response();
            }
        }
    }
    let text = state
        .pages
        .text(lang, "activated_text")
        .replace("{email}", &completed.identity.login_email);
    (
        jar,
        message(&state, StatusCode::OK, lang, "activated_title", vec![text]),
    )
        .into_response()
}

pub async fn resend(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = form_fields(&headers, &body);
    let lang = page_lang(&jar, &state.settings, &headers, None);
    if !csrf_ok(&jar, &state, fields.get("csrf_token").map(String::as_str)) {
        return forbidden(&state, lang);
    }
    let token = fields.get("token").cloned().unwrap_or_default();
    let issuer = state.provider.config.issuer_str();
    match state
        .accounts
        .resend_verification(&token, &issuer, state.provider.now())
        .await
    {
        Ok(true) => message(
            &state,
            StatusCode::OK,
            lang,
            "resent_title",
            vec![
                state.pages.text(lang, "resent_text"),
                state.pages.text(lang, "sent_delay"),
            ],
        )
        .into_response(),
        Ok(false) => message(
            &state,
            StatusCode::BAD_REQUEST,
            lang,
            "link_invalid_title",
            vec![state.pages.text(lang, "link_invalid_text")],
        )
        .into_response(),
        Err(_) => unavailable(&state, lang),
    }
}

/// From the "mot de passe oublié" email of a client number not yet upgraded: straight to step 2.
pub async fn start(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
) -> Response {
    let lang = page_lang(&jar, &state.settings, &headers, None);
    let token = q.token.unwrap_or_default();
    match state
        .accounts
        .start_upgrade_from_link(&token, state.provider.now())
        .await
    {
        Ok(Ok(handle)) => {
            let jar = jar.add(cookies::build(
                &state.settings,
                cookies::UPGRADE,
                handle,
                SameSite::Lax,
            ));
            (jar, Redirect::to("/upgrade/email")).into_response()
        }
        Ok(Err(link)) => link_problem(&state, jar, lang, &link, &token, false),
        Err(_) => unavailable(&state, lang),
    }
}
