//! "Gérer mon compte": the attached accounts and "Rattacher un compte" (J3), for a signed-in
//! session.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use gan_accounts::account::{AttachOutcome, ConfirmEmailError, EmailChange, PasswordChange};
use gan_accounts::customer::{client_number_fits, AccountKind};
use gan_accounts::links::{LinkPurpose, LinkState};
use gan_accounts::service::PasswordCheck;
use gan_oidc::model::Session;
use minijinja::context;

use super::upgrade::{TokenForm, TokenQuery};
use crate::page::{
    confirm_page, link_problem, throttled_text, trimmed, with_retry_after, Account, AccountForm,
    Confirm, OrUnavailable, PageError, PostedForm, Ui,
};
use crate::request::ClientMeta;
use crate::security::csrf_token;
use crate::{cookies, AppState};

type PageResult = Result<Response, PageError>;

/// "Rattacher un compte".
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(super) struct AttachForm {
    #[serde(deserialize_with = "trimmed")]
    client_number: String,
    password: String,
}

/// The password again, after the re-authentication window.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(super) struct ReauthForm {
    password: String,
}

/// "Changer de mot de passe".
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(super) struct PasswordChangeForm {
    current_password: String,
    password: String,
    password_confirm: String,
}

/// "Changer d'email de connexion".
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(super) struct EmailChangeForm {
    #[serde(deserialize_with = "trimmed")]
    email: String,
    current_password: String,
}

/// One session to end, by its `sid`.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(super) struct EndSessionForm {
    sid: String,
}

/// A form with nothing but its CSRF token.
#[derive(serde::Deserialize, Default)]
pub(super) struct NoFields {}

/// What the page shows next to the forms.
#[derive(Default)]
struct Feedback {
    notice: Option<String>,
    error: Option<String>,
    client_number: String,
    new_email: String,
}

impl Feedback {
    fn notice(text: String) -> Self {
        Self {
            notice: Some(text),
            ..Self::default()
        }
    }

    fn error(text: String) -> Self {
        Self {
            error: Some(text),
            ..Self::default()
        }
    }
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

/// The account page for `account`, with `fb` next to the forms.
async fn page(
    state: &AppState,
    jar: CookieJar,
    account: &Account,
    status: StatusCode,
    fb: Feedback,
) -> PageResult {
    let Account {
        ui,
        identity,
        session,
    } = account;
    let (accounts, sessions) = tokio::join!(
        state.accounts.accounts_of(&identity.id),
        state.provider.sessions_of(&identity.id)
    );
    let accounts = accounts.or_unavailable(ui, "account: load the attached accounts")?;
    let sessions = sessions.or_unavailable(ui, "account: load the sessions")?;
    let rows: Vec<serde_json::Value> = accounts.iter().map(|a| serde_json::json!({ "client_number": a.client_number, "label": a.label, "kind": a.kind.as_str() })).collect();
    let sessions: Vec<serde_json::Value> = sessions
        .iter()
        .map(|s| serde_json::json!({ "sid": s.sid, "device": device(s.user_agent.as_deref()), "ip": s.ip.clone().unwrap_or_default(),
            "started": fmt_time(s.created_at), "seen": fmt_time(s.last_seen_at), "current": s.sid == session.sid }))
        .collect();
    let back = match cookies::get(&jar, &state.settings, cookies::RETURN) {
        Some(id) => return_to(state, &id).await,
        None => None,
    };
    let (back_name, back_href) = back.unzip();
    let (jar, csrf) = csrf_token(jar, state);
    let html = ui.render(
        status,
        "account.html",
        context! { path => "/account", signed_in => true, email => identity.login_email, accounts => rows, sessions => sessions, notice => fb.notice, error => fb.error,
            client_number => fb.client_number, new_email => fb.new_email, csrf_token => csrf, back_name => back_name, back_href => back_href },
    );
    Ok((jar, html).into_response())
}

/// `GET /account?client_id=…`: a portal's "Gérer mon compte" link names the portal.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(super) struct FromPortal {
    client_id: Option<String>,
}

/// Where "Retour à <portal>" goes, for an enabled client: its first post-logout redirect URI
/// (a landing page of its own), else the origin of its first web redirect URI. Only URIs the
/// client registered: never an open redirect.
async fn return_to(state: &AppState, client_id: &str) -> Option<(String, String)> {
    let client = match state.provider.client(client_id).await {
        Ok(c) => c.filter(|c| c.enabled)?,
        Err(e) => {
            tracing::warn!(error = %e, "account: cannot read the portal to go back to; no link");
            return None;
        }
    };
    let href = client
        .post_logout_redirect_uris
        .first()
        .cloned()
        .or_else(|| {
            client
                .redirect_uris
                .iter()
                .find_map(|u| gan_oidc::model::web_origin_of(u))
                .map(|origin| format!("{origin}/"))
        })?;
    Some((client.name, href))
}

pub async fn show(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(from): Query<FromPortal>,
    account: Account,
) -> PageResult {
    let jar = match from.client_id {
        Some(id) if return_to(&state, &id).await.is_some() => {
            jar.add(cookies::build(&state.settings, cookies::RETURN, id))
        }
        _ => jar,
    };
    page(&state, jar, &account, StatusCode::OK, Feedback::default()).await
}

/// Sensitive actions: a sign-in older than the accounts engine's window asks for the password
/// again.
fn needs_reauth(state: &AppState, session: &Session) -> bool {
    state
        .accounts
        .reauthentication_due(session.auth.auth_time, state.provider.now())
}

fn reauth_page(state: &AppState, jar: CookieJar, ui: &Ui, error: Option<String>) -> Response {
    let (jar, csrf) = csrf_token(jar, state);
    let html = ui.render(
        StatusCode::UNAUTHORIZED,
        "reauth.html",
        context! { path => "/account", signed_in => true, csrf_token => csrf, error => error },
    );
    (jar, html).into_response()
}

pub async fn attach(
    State(state): State<AppState>,
    jar: CookieJar,
    meta: ClientMeta,
    AccountForm { account, form }: AccountForm<AttachForm>,
) -> PageResult {
    let ui = &account.ui;
    if needs_reauth(&state, &account.session) {
        return Ok(reauth_page(&state, jar, ui, None));
    }
    let outcome = if client_number_fits(&form.client_number) {
        state
            .accounts
            .attach_account(
                &account.identity.id,
                &form.client_number,
                &form.password,
                meta.ip.as_deref(),
                state.provider.now(),
            )
            .await
            .or_unavailable(ui, "account: attach an account")?
    } else {
        // Longer than any client number: unknown, and nothing reaches the storage.
        AttachOutcome::WrongCredentials
    };
    let t = |k: &str| ui.t(k);
    let mut retry_after = None;
    let (status, mut fb) = match outcome {
        AttachOutcome::Attached(a) => (
            StatusCode::OK,
            Feedback::notice(t("attach_done").replace("{n}", &a.client_number)),
        ),
        AttachOutcome::WrongCredentials => {
            (StatusCode::UNAUTHORIZED, Feedback::error(t("attach_wrong")))
        }
        AttachOutcome::Taken => (StatusCode::CONFLICT, Feedback::error(t("attach_taken"))),
        AttachOutcome::AlreadyMine => (StatusCode::OK, Feedback::notice(t("attach_mine"))),
        AttachOutcome::LimitReached(AccountKind::Personal) => (
            StatusCode::CONFLICT,
            Feedback::error(t("attach_limit_personal")),
        ),
        AttachOutcome::LimitReached(AccountKind::Professional) => (
            StatusCode::CONFLICT,
            Feedback::error(t("attach_limit_professional")),
        ),
        AttachOutcome::Throttled {
            retry_after_seconds,
        } => {
            retry_after = Some(retry_after_seconds);
            let text = throttled_text(ui, retry_after_seconds);
            (StatusCode::TOO_MANY_REQUESTS, Feedback::error(text))
        }
    };
    if fb.error.is_some() {
        fb.client_number = form.client_number;
    }
    let res = page(&state, jar, &account, status, fb).await?;
    Ok(match retry_after {
        Some(seconds) => with_retry_after(res, seconds),
        None => res,
    })
}

pub async fn reauth(
    State(state): State<AppState>,
    jar: CookieJar,
    meta: ClientMeta,
    AccountForm { account, form }: AccountForm<ReauthForm>,
) -> PageResult {
    let ui = &account.ui;
    let check = state
        .accounts
        .check_password(
            &account.identity,
            &form.password,
            meta.ip.as_deref(),
            state.provider.now(),
        )
        .await
        .or_unavailable(ui, "account: check the password again")?;
    match check {
        PasswordCheck::Right => {}
        PasswordCheck::Wrong => {
            let error = Some(ui.t("wrong_current_password"));
            return Ok(reauth_page(&state, jar, ui, error));
        }
        PasswordCheck::Throttled(seconds) => {
            let error = Some(throttled_text(ui, seconds));
            let mut page = reauth_page(&state, jar, ui, error);
            *page.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            return Ok(with_retry_after(page, seconds));
        }
    }
    state
        .provider
        .reauthenticated(&account.session)
        .await
        .or_unavailable(ui, "account: record the re-authentication")?;
    Ok((jar, Redirect::to("/account")).into_response())
}

pub async fn change_password(
    State(state): State<AppState>,
    jar: CookieJar,
    meta: ClientMeta,
    AccountForm { account, form }: AccountForm<PasswordChangeForm>,
) -> PageResult {
    let Account {
        ui,
        identity,
        session,
    } = &account;
    let changed = state
        .accounts
        .change_password(
            identity,
            &form.current_password,
            &form.password,
            &form.password_confirm,
            &session.sid,
            meta.ip.as_deref(),
            state.provider.now(),
        )
        .await
        .or_unavailable(ui, "account: change the password")?;
    let mut retry_after = None;
    let (status, fb) = match changed {
        PasswordChange::Changed(_) => {
            let text = ui.t("change_password_done");
            (StatusCode::OK, Feedback::notice(text))
        }
        PasswordChange::Throttled(seconds) => {
            retry_after = Some(seconds);
            let text = throttled_text(ui, seconds);
            (StatusCode::TOO_MANY_REQUESTS, Feedback::error(text))
        }
        PasswordChange::WrongPassword => (
            StatusCode::UNAUTHORIZED,
            Feedback::error(ui.t("wrong_current_password")),
        ),
        PasswordChange::Policy(v) => {
            let list: Vec<String> = v.iter().map(|x| ui.t(x.key())).collect();
            let text = format!("{} {}", ui.t("password_errors"), list.join(", "));
            (StatusCode::BAD_REQUEST, Feedback::error(text))
        }
    };
    let res = page(&state, jar, &account, status, fb).await?;
    Ok(match retry_after {
        Some(seconds) => with_retry_after(res, seconds),
        None => res,
    })
}

pub async fn change_email(
    State(state): State<AppState>,
    jar: CookieJar,
    meta: ClientMeta,
    AccountForm { account, form }: AccountForm<EmailChangeForm>,
) -> PageResult {
    let ui = &account.ui;
    let issuer = state.provider.config.issuer_str();
    let change = state
        .accounts
        .request_email_change(
            &account.identity,
            &form.email,
            &form.current_password,
            meta.ip.as_deref(),
            ui.lang.code(),
            &issuer,
            state.provider.now(),
        )
        .await
        .or_unavailable(ui, "account: request an email change")?;
    let refused = |status, key: &str| {
        let fb = Feedback {
            new_email: form.email.clone(),
            ..Feedback::error(ui.t(key))
        };
        (status, fb)
    };
    let mut retry_after = None;
    let (status, fb) = match change {
        EmailChange::Throttled(seconds) => {
            retry_after = Some(seconds);
            let fb = Feedback {
                new_email: form.email.clone(),
                ..Feedback::error(throttled_text(ui, seconds))
            };
            (StatusCode::TOO_MANY_REQUESTS, fb)
        }
        EmailChange::TooMany => {
            // The check allowance is hourly.
            retry_after = Some(3600);
            refused(StatusCode::TOO_MANY_REQUESTS, "too_many_requests")
        }
        EmailChange::Sent { masked } => {
            let sent = ui.t("change_email_sent").replace("{masked}", &masked);
            let text = format!("{sent} {}", ui.t("sent_delay"));
            (StatusCode::OK, Feedback::notice(text))
        }
        EmailChange::WrongPassword => refused(StatusCode::UNAUTHORIZED, "wrong_current_password"),
        EmailChange::Invalid => refused(StatusCode::BAD_REQUEST, "email_invalid"),
        EmailChange::Taken => refused(StatusCode::CONFLICT, "email_taken"),
    };
    let res = page(&state, jar, &account, status, fb).await?;
    Ok(match retry_after {
        Some(seconds) => with_retry_after(res, seconds),
        None => res,
    })
}

/// The link from the new address opens a page with one button: opening it changes nothing.
pub async fn confirm_email_form(
    State(state): State<AppState>,
    jar: CookieJar,
    ui: Ui,
    Query(q): Query<TokenQuery>,
) -> PageResult {
    let token = q.token.unwrap_or_default();
    let link = state
        .accounts
        .link(&token, LinkPurpose::EmailChange, state.provider.now())
        .await
        .or_unavailable(&ui, "account: read an email-change link")?;
    Ok(match link {
        LinkState::Valid(link) => {
            let email = link.data.email.unwrap_or_default();
            let confirm = Confirm {
                action: gan_accounts::account::EMAIL_CHANGE_PATH,
                token: &token,
                title: "confirm_email_title",
                text: ui.t("confirm_email_text").replace("{email}", &email),
                submit: "confirm_email_submit",
            };
            confirm_page(&state, jar, &ui, confirm)
        }
        other => link_problem(&state, jar, &ui, &other, &token, false),
    })
}

/// The confirmation page's button: the login email changes, and the accounts engine cuts off
/// what the old one granted — but this browser's session when it is the same identity's.
pub async fn confirm_email(
    State(state): State<AppState>,
    jar: CookieJar,
    PostedForm { ui, form }: PostedForm<TokenForm>,
) -> PageResult {
    let token = form.token;
    // This browser's session stays when it is the identity's. If it cannot be read, it ends
    // with the others rather than the confirmation failing.
    let current = match Account::find(&state, &jar, &ui).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(
                request_id = %crate::page::request_id(),
                failure = ?e.failure(),
                "account: this browser's session could not be read; it ends with the others"
            );
            None
        }
    };
    let current = current.map(|(i, s)| (i.id, s.sid));
    let new_email = match state
        .accounts
        .confirm_email_change(
            &token,
            current.as_ref().map(|(i, s)| (i.as_str(), s.as_str())),
            state.provider.now(),
        )
        .await
    {
        Ok((_, new_email)) => new_email,
        Err(ConfirmEmailError::Link(link)) => {
            return Ok(link_problem(&state, jar, &ui, &link, &token, false))
        }
        Err(ConfirmEmailError::EmailTaken) => {
            return Ok(ui
                .error_key(StatusCode::CONFLICT, "email_taken")
                .into_response())
        }
        Err(e) => {
            let cause = format!("{e:?}");
            return Err(PageError::unavailable(
                &ui,
                "account: confirm an email change",
                cause,
            ));
        }
    };
    let text = ui.t("change_email_done").replace("{email}", &new_email);
    Ok(ui
        .message(StatusCode::OK, "change_email_title", vec![text])
        .into_response())
}

pub async fn end_session(
    State(state): State<AppState>,
    jar: CookieJar,
    AccountForm { account, form }: AccountForm<EndSessionForm>,
) -> PageResult {
    let Account { ui, session, .. } = &account;
    if needs_reauth(&state, session) {
        return Ok(reauth_page(&state, jar, ui, None));
    }
    state
        .provider
        .end_own_session(session, &form.sid, "ended_by_user")
        .await
        .or_unavailable(ui, "account: end a session")?;
    let fb = Feedback::notice(ui.t("sessions_ended"));
    page(&state, jar, &account, StatusCode::OK, fb).await
}

pub async fn end_other_sessions(
    State(state): State<AppState>,
    jar: CookieJar,
    AccountForm { account, .. }: AccountForm<NoFields>,
) -> PageResult {
    let Account {
        ui,
        identity,
        session,
    } = &account;
    if needs_reauth(&state, session) {
        return Ok(reauth_page(&state, jar, ui, None));
    }
    state
        .provider
        .end_sessions_of(&identity.id, Some(&session.sid), "ended_by_user")
        .await
        .or_unavailable(ui, "account: end the other sessions")?;
    let fb = Feedback::notice(ui.t("sessions_ended"));
    page(&state, jar, &account, StatusCode::OK, fb).await
}
