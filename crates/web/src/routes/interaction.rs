//! The UI side of the interaction boundary: the sign-in and consent pages. They authenticate the
//! person with the accounts domain and hand the result back to the engine.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use gan_accounts::interaction::SignInOutcome;
use gan_oidc::interaction::{InteractionView, Prompt};
use gan_oidc::model::Authentication;
use minijinja::context;
use serde::de::DeserializeOwned;

use crate::page::{
    identifier_fits, read_form, throttled_text, trimmed, with_retry_after, Failure, OrUnavailable,
    PageError, Ui,
};
use crate::request::ClientMeta;
use crate::security::csrf_token;
use crate::{cookies, AppState};

type PageResult = Result<Response, PageError>;

/// The page language of a sign-in request: the person's choice, then the relying party's
/// `ui_locales`, then `Accept-Language`.
fn ui_of(
    state: &AppState,
    jar: &CookieJar,
    view: Option<&InteractionView>,
    headers: &HeaderMap,
) -> Ui {
    let lang = crate::request::page_lang(
        jar,
        &state.settings,
        headers,
        view.and_then(|v| v.ui_locales.as_deref()),
    );
    Ui::new(state, lang)
}

/// The interaction named in the URL, live and bound to this browser (400 otherwise), with the
/// page language it asks for.
async fn bound_view(
    state: &AppState,
    jar: &CookieJar,
    headers: &HeaderMap,
    uid: &str,
) -> Result<(InteractionView, Ui), PageError> {
    let ui = ui_of(state, jar, None, headers);
    if cookies::get(jar, &state.settings, cookies::INTERACTION).as_deref() != Some(uid) {
        return Err(ui.fail(Failure::Interaction));
    }
    let view = state
        .provider
        .interaction_view(uid)
        .await
        .or_unavailable(&ui, "interaction: look up the sign-in request")?
        .ok_or_else(|| ui.fail(Failure::Interaction))?;
    let ui = ui_of(state, jar, Some(&view), headers);
    Ok((view, ui))
}

/// The sign-in form's fields.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(super) struct LoginForm {
    #[serde(deserialize_with = "trimmed")]
    identifier: String,
    password: String,
}

/// The consent form's answer.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(super) struct ConsentForm {
    decision: String,
}

/// A form posted to an interaction: bound to this browser and live (400), then its CSRF token
/// (403, in the language the relying party asked for), then its fields.
pub(super) struct InteractionForm<T> {
    uid: String,
    view: InteractionView,
    ui: Ui,
    form: T,
}

impl<T: DeserializeOwned> FromRequest<AppState> for InteractionForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let jar = CookieJar::from_headers(&parts.headers);
        let plain = ui_of(state, &jar, None, &parts.headers);
        let Path(uid) = Path::<String>::from_request_parts(&mut parts, state)
            .await
            .map_err(|e| PageError::unreadable(&plain, e))?;
        let body = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|e| PageError::unreadable(&plain, e))?;
        let (view, ui) = bound_view(state, &jar, &parts.headers, &uid).await?;
        let form = read_form(state, &parts.headers, &body, &ui)?;
        Ok(Self {
            uid,
            view,
            ui,
            form,
        })
    }
}

/// What the sign-in form shows besides its fields.
#[derive(Default)]
struct LoginNote<'a> {
    error: Option<&'a str>,
    info: Option<&'a str>,
}

fn login_page(
    state: &AppState,
    jar: CookieJar,
    view: &InteractionView,
    ui: &Ui,
    status: StatusCode,
    note: LoginNote<'_>,
    identifier: &str,
) -> Response {
    let (jar, csrf) = csrf_token(jar, state);
    let page = ui.render(
        status,
        "login.html",
        context! {
            action => format!("/interaction/{}/login", view.uid),
            client_name => view.client_name,
            csrf_token => csrf,
            error => note.error,
            info => note.info,
            identifier => identifier,
            path => format!("/interaction/{}", view.uid),
        },
    );
    (jar, page).into_response()
}

/// The sign-in form again, with an error.
fn login_failed(
    state: &AppState,
    jar: CookieJar,
    view: &InteractionView,
    ui: &Ui,
    status: StatusCode,
    error: &str,
    identifier: &str,
) -> Response {
    let note = LoginNote {
        error: Some(error),
        info: None,
    };
    login_page(state, jar, view, ui, status, note, identifier)
}

pub async fn show(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    Path(uid): Path<String>,
) -> PageResult {
    let (view, ui) = bound_view(&state, &jar, &headers, &uid).await?;
    Ok(match view.prompt {
        Prompt::Login => {
            let hint = view.login_hint.clone().unwrap_or_default();
            let note = LoginNote::default();
            login_page(&state, jar, &view, &ui, StatusCode::OK, note, &hint)
        }
        Prompt::Consent => {
            let (jar, csrf) = csrf_token(jar, &state);
            let scopes: Vec<&String> = view
                .scopes
                .iter()
                .filter(|s| s.as_str() != "openid")
                .collect();
            let page = ui.render(
                StatusCode::OK,
                "consent.html",
                context! { action => format!("/interaction/{uid}/consent"), client_name => view.client_name, scopes => scopes, csrf_token => csrf, signed_in => true },
            );
            (jar, page).into_response()
        }
    })
}

pub async fn login(
    State(state): State<AppState>,
    jar: CookieJar,
    meta: ClientMeta,
    form: InteractionForm<LoginForm>,
) -> PageResult {
    let InteractionForm {
        uid,
        view,
        ui,
        form,
    } = form;
    let identifier = form.identifier;
    if identifier.is_empty() || form.password.is_empty() {
        let error = ui.t("login_missing");
        let status = StatusCode::BAD_REQUEST;
        return Ok(login_failed(
            &state,
            jar,
            &view,
            &ui,
            status,
            &error,
            &identifier,
        ));
    }
    let outcome = if identifier_fits(&identifier) {
        state
            .accounts
            .sign_in_any(
                &identifier,
                &form.password,
                meta.ip.as_deref(),
                state.provider.now(),
            )
            .await
            .or_unavailable(&ui, "sign-in: check the credentials")?
    } else {
        // Longer than any login email or client number: no account has it, so the answer is
        // an unknown account's, and nothing reaches the storage.
        SignInOutcome::Wrong
    };
    let refused = |jar, status, error: &str| {
        login_failed(&state, jar, &view, &ui, status, error, &identifier)
    };
    let identity = match outcome {
        SignInOutcome::Identity(i) => i,
        SignInOutcome::UpgradeStarted { handle } => {
            metrics::counter!("sign_in_total", "outcome" => "upgrade_started").increment(1);
            let jar = jar.add(cookies::build(&state.settings, cookies::UPGRADE, handle));
            return Ok((jar, Redirect::to("/upgrade/email")).into_response());
        }
        SignInOutcome::UseEmail { masked } => {
            let info = ui.t("login_use_email").replace("{masked}", &masked);
            let note = LoginNote {
                error: None,
                info: Some(&info),
            };
            return Ok(login_page(
                &state,
                jar,
                &view,
                &ui,
                StatusCode::OK,
                note,
                "",
            ));
        }
        SignInOutcome::Wrong => {
            metrics::counter!("sign_in_total", "outcome" => "failure").increment(1);
            return Ok(refused(
                jar,
                StatusCode::UNAUTHORIZED,
                &ui.t("login_failed"),
            ));
        }
        SignInOutcome::Throttled {
            retry_after_seconds,
        } => {
            metrics::counter!("sign_in_total", "outcome" => "throttled").increment(1);
            let msg = throttled_text(&ui, retry_after_seconds);
            let res = refused(jar, StatusCode::TOO_MANY_REQUESTS, &msg);
            return Ok(with_retry_after(res, retry_after_seconds));
        }
    };
    metrics::counter!("sign_in_total", "outcome" => "success").increment(1);
    let auth = Authentication {
        identity_id: identity.id,
        auth_time: state.provider.now(),
        amr: vec!["pwd".into()],
        acr: gan_oidc::ACR_PASSWORD.into(),
    };
    let finished = async {
        let old = cookies::get(&jar, &state.settings, cookies::SESSION);
        let (cookie, session) = state
            .provider
            .renew_session(old.as_deref(), auth, meta.user_agent, meta.ip)
            .await?;
        let next = state.provider.login_finished(&uid, &session).await?;
        Ok::<_, gan_oidc::EngineError>((cookie, next))
    }
    .await
    .or_unavailable(&ui, "sign-in: start the session")?;
    match finished {
        (cookie, Some(next)) => {
            // A new session id at every sign-in (no fixation).
            let jar = jar.add(cookies::build(&state.settings, cookies::SESSION, cookie));
            Ok((jar, Redirect::to(&next)).into_response())
        }
        (_, None) => Err(ui.fail(Failure::Interaction)),
    }
}

pub async fn consent(
    State(state): State<AppState>,
    jar: CookieJar,
    form: InteractionForm<ConsentForm>,
) -> PageResult {
    let InteractionForm { uid, ui, form, .. } = form;
    let allow = match form.decision.as_str() {
        "allow" => true,
        "deny" => false,
        _ => return Err(ui.fail(Failure::Interaction)),
    };
    let cookie = cookies::get(&jar, &state.settings, cookies::SESSION);
    let session = state
        .provider
        .session(cookie.as_deref())
        .await
        .or_unavailable(&ui, "consent: find the session")?
        .ok_or_else(|| ui.fail(Failure::Interaction))?;
    let next = state
        .provider
        .consent_finished(&uid, &session, allow)
        .await
        .or_unavailable(&ui, "consent: record the decision")?
        .ok_or_else(|| ui.fail(Failure::Interaction))?;
    Ok(Redirect::to(&next).into_response())
}
