//! J1 steps 2 and 3 and J2: choose the login email, open the link, choose the password.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use gan_accounts::links::{LinkPurpose, LinkState};
use gan_accounts::upgrade::{ChooseEmail, CompleteError, VERIFY_PATH};
use gan_oidc::model::Authentication;
use gan_oidc::secret::hash_handle;
use minijinja::context;

use crate::page::{
    confirm_page, link_problem, password_page, trimmed, with_retry_after, Confirm, OrUnavailable,
    PageError, PasswordForm, PostedForm, Ui,
};
use crate::request::ClientMeta;
use crate::security::csrf_token;
use crate::{cookies, AppState};

type PageResult = Result<Response, PageError>;

#[derive(serde::Deserialize)]
pub(super) struct TokenQuery {
    pub(super) token: Option<String>,
}

/// Step 2's form.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(super) struct EmailForm {
    #[serde(deserialize_with = "trimmed")]
    email: String,
}

/// Step 3's form (and the reset's).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(super) struct PasswordFields {
    pub(super) token: String,
    pub(super) password: String,
    pub(super) password_confirm: String,
}

/// A link's token sent back (to get a new link, or by a link's confirmation button).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(super) struct TokenForm {
    pub(super) token: String,
}

/// What step 2 shows around the form.
struct EmailPage<'a> {
    status: StatusCode,
    client_number: &'a str,
    email: &'a str,
    error: Option<String>,
    taken: bool,
}

fn email_page(state: &AppState, jar: CookieJar, ui: &Ui, p: EmailPage<'_>) -> Response {
    let (jar, csrf) = csrf_token(jar, state);
    let page = ui.render(
        p.status,
        "upgrade_email.html",
        context! { path => "/upgrade/email", client_number => p.client_number, email => p.email, error => p.error, taken => p.taken, csrf_token => csrf },
    );
    (jar, page).into_response()
}

fn upgrade_expired(ui: &Ui) -> Response {
    ui.message(
        StatusCode::BAD_REQUEST,
        "upgrade_email_title",
        vec![ui.t("upgrade_expired")],
    )
    .into_response()
}

pub async fn email_form(State(state): State<AppState>, jar: CookieJar, ui: Ui) -> PageResult {
    let handle = cookies::get(&jar, &state.settings, cookies::UPGRADE).unwrap_or_default();
    let account = state
        .accounts
        .upgrade_in_progress(&handle, state.provider.now())
        .await
        .or_unavailable(&ui, "upgrade: find the upgrade in progress")?;
    Ok(match account {
        Some(account) => email_page(
            &state,
            jar,
            &ui,
            EmailPage {
                status: StatusCode::OK,
                client_number: &account.client_number,
                email: "",
                error: None,
                taken: false,
            },
        ),
        None => upgrade_expired(&ui),
    })
}

pub async fn email_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    PostedForm { ui, form }: PostedForm<EmailForm>,
) -> PageResult {
    let handle = cookies::get(&jar, &state.settings, cookies::UPGRADE).unwrap_or_default();
    let interaction =
        cookies::get(&jar, &state.settings, cookies::INTERACTION).map(|uid| hash_handle(&uid));
    let now = state.provider.now();
    let issuer = state.provider.config.issuer_str();
    let number = state
        .accounts
        .upgrade_in_progress(&handle, now)
        .await
        .or_unavailable(&ui, "upgrade: find the upgrade in progress")?
        .map(|a| a.client_number)
        .unwrap_or_default();
    let chosen = state
        .accounts
        .choose_login_email(
            &handle,
            &form.email,
            interaction,
            ui.lang.code(),
            &issuer,
            now,
        )
        .await
        .or_unavailable(&ui, "upgrade: choose the login email")?;
    let again = |status, error: &str, taken| {
        let page = EmailPage {
            status,
            client_number: &number,
            email: &form.email,
            error: Some(ui.t(error)),
            taken,
        };
        email_page(&state, jar, &ui, page)
    };
    Ok(match chosen {
        ChooseEmail::Sent { masked } => ui
            .message(
                StatusCode::OK,
                "sent_title",
                vec![
                    ui.t("sent_text").replace("{masked}", &masked),
                    ui.t("sent_delay"),
                ],
            )
            .into_response(),
        ChooseEmail::Taken => again(StatusCode::CONFLICT, "email_taken", true),
        ChooseEmail::Invalid => again(StatusCode::BAD_REQUEST, "email_invalid", false),
        ChooseEmail::TooMany => {
            // The check allowance is hourly.
            let res = again(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", false);
            with_retry_after(res, 3600)
        }
        ChooseEmail::Expired => upgrade_expired(&ui),
    })
}

/// Step 3's form for a verification link's data.
fn step3(
    state: &AppState,
    jar: CookieJar,
    ui: &Ui,
    status: StatusCode,
    token: &str,
    link: Option<gan_accounts::links::LinkRecord>,
    errors: &[gan_accounts::policy::Violation],
) -> Response {
    let (email, numbers) = link
        .map(|l| {
            (
                l.data.email.unwrap_or_default(),
                l.data.client_number.unwrap_or_default(),
            )
        })
        .unwrap_or_default();
    let form = PasswordForm {
        action: VERIFY_PATH,
        token,
        email: &email,
        numbers: &numbers,
        errors,
        reset: false,
    };
    password_page(state, jar, ui, status, form)
}

pub async fn verify_form(
    State(state): State<AppState>,
    jar: CookieJar,
    ui: Ui,
    Query(q): Query<TokenQuery>,
) -> PageResult {
    let token = q.token.unwrap_or_default();
    let link = state
        .accounts
        .link(&token, LinkPurpose::VerifyEmail, state.provider.now())
        .await
        .or_unavailable(&ui, "upgrade: read the verification link")?;
    Ok(match link {
        LinkState::Valid(link) => {
            state
                .accounts
                .link_opened(&link, state.provider.now())
                .await;
            step3(&state, jar, &ui, StatusCode::OK, &token, Some(link), &[])
        }
        other => link_problem(&state, jar, &ui, &other, &token, true),
    })
}

pub async fn verify_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    meta: ClientMeta,
    PostedForm { ui, form }: PostedForm<PasswordFields>,
) -> PageResult {
    let token = form.token;
    let now = state.provider.now();
    let completed = match state
        .accounts
        .complete_upgrade(&token, &form.password, &form.password_confirm, now)
        .await
    {
        Ok(c) => c,
        Err(CompleteError::Policy(violations)) => {
            let link = state
                .accounts
                .link(&token, LinkPurpose::VerifyEmail, now)
                .await
                .or_unavailable(&ui, "upgrade: read the verification link")?;
            let link = match link {
                LinkState::Valid(l) => Some(l),
                _ => None,
            };
            let status = StatusCode::BAD_REQUEST;
            return Ok(step3(&state, jar, &ui, status, &token, link, &violations));
        }
        Err(CompleteError::EmailTaken) => {
            let t = |k: &str| ui.t(k);
            let page = ui.render(
                StatusCode::CONFLICT,
                "message.html",
                context! { title => t("upgrade_email_title"), alert => t("email_taken"), paragraphs => vec![t("taken_help_family"), t("taken_help_private_pro"), t("taken_help_establishments"), t("upgrade_expired")] },
            );
            return Ok(page.into_response());
        }
        Err(CompleteError::Link(link)) => {
            return Ok(link_problem(&state, jar, &ui, &link, &token, true))
        }
        Err(CompleteError::Unavailable(e)) => {
            return Err(PageError::unavailable(&ui, "upgrade: complete", e))
        }
    };
    tracing::info!(sub = %completed.identity.id, "upgrade completed");
    let auth = Authentication {
        identity_id: completed.identity.id.clone(),
        auth_time: now,
        amr: vec!["pwd".into()],
        acr: gan_oidc::ACR_PASSWORD.into(),
    };
    let old = cookies::get(&jar, &state.settings, cookies::SESSION);
    let (cookie, session) = state
        .provider
        .renew_session(old.as_deref(), auth, meta.user_agent, meta.ip)
        .await
        .or_unavailable(&ui, "upgrade: start the session")?;
    let jar = cookies::remove(jar, &state.settings, cookies::UPGRADE).add(cookies::build(
        &state.settings,
        cookies::SESSION,
        cookie,
    ));
    // The pending authorization request resumes if this browser started it.
    let uid = cookies::get(&jar, &state.settings, cookies::INTERACTION);
    if let (Some(uid), Some(expected)) = (uid, completed.interaction_hash.as_deref()) {
        if hash_handle(&uid) == expected {
            match state.provider.login_finished(&uid, &session).await {
                Ok(Some(next)) => return Ok((jar, Redirect::to(&next)).into_response()),
                Ok(None) => {}
                // The account is activated and signed in whatever happens to the relying
                // party's request: say so rather than fail the whole step.
                Err(e) => tracing::warn!(
                    request_id = %crate::page::request_id(),
                    error = %e,
                    "upgrade: the pending sign-in request could not resume"
                ),
            }
        }
    }
    let text = ui
        .t("activated_text")
        .replace("{email}", &completed.identity.login_email);
    let page = ui.message(StatusCode::OK, "activated_title", vec![text]);
    Ok((jar, page).into_response())
}

pub async fn resend(
    State(state): State<AppState>,
    PostedForm { ui, form }: PostedForm<TokenForm>,
) -> PageResult {
    let issuer = state.provider.config.issuer_str();
    let sent = state
        .accounts
        .resend_verification(&form.token, &issuer, state.provider.now())
        .await
        .or_unavailable(&ui, "upgrade: resend the verification link")?;
    let page = if sent {
        let text = vec![ui.t("resent_text"), ui.t("sent_delay")];
        ui.message(StatusCode::OK, "resent_title", text)
    } else {
        let text = vec![ui.t("link_invalid_text")];
        ui.message(StatusCode::BAD_REQUEST, "link_invalid_title", text)
    };
    Ok(page.into_response())
}

/// From the "mot de passe oublié" email of a client number not yet upgraded: a page with one
/// button that leads to step 2 (opening the link changes nothing).
pub async fn start_form(
    State(state): State<AppState>,
    jar: CookieJar,
    ui: Ui,
    Query(q): Query<TokenQuery>,
) -> PageResult {
    let token = q.token.unwrap_or_default();
    let link = state
        .accounts
        .link(&token, LinkPurpose::UpgradeStart, state.provider.now())
        .await
        .or_unavailable(&ui, "upgrade: read a start link")?;
    Ok(match link {
        LinkState::Valid(link) => {
            let number = link.data.client_number.unwrap_or_default();
            let confirm = Confirm {
                action: gan_accounts::upgrade::START_PATH,
                token: &token,
                title: "upgrade_start_title",
                text: ui.t("upgrade_start_text").replace("{n}", &number),
                submit: "upgrade_start_submit",
            };
            confirm_page(&state, jar, &ui, confirm)
        }
        other => link_problem(&state, jar, &ui, &other, &token, false),
    })
}

/// The start page's button: the link is used up and step 2 opens.
pub async fn start(
    State(state): State<AppState>,
    jar: CookieJar,
    PostedForm { ui, form }: PostedForm<TokenForm>,
) -> PageResult {
    let token = form.token;
    let started = state
        .accounts
        .start_upgrade_from_link(&token, state.provider.now())
        .await
        .or_unavailable(&ui, "upgrade: start from a link")?;
    Ok(match started {
        Ok(handle) => {
            let jar = jar.add(cookies::build(&state.settings, cookies::UPGRADE, handle));
            (jar, Redirect::to("/upgrade/email")).into_response()
        }
        Err(link) => link_problem(&state, jar, &ui, &link, &token, false),
    })
}
