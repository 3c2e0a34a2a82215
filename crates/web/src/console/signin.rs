//! Staff sign-in: the console sends the browser to Gan Connect's authorization endpoint as its
//! own first-party client (code + PKCE S256, `prompt=login`: a password checked now), exchanges
//! the code in process, opens a console session, then asks for the TOTP code (or enrols one).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gan_admin::console::{CodeCheck, ConsoleAccess, CALLBACK_PATH, CONSOLE_CLIENT_ID};
use gan_admin::AdminError;
use gan_oidc::params::Params;
use gan_oidc::secret::{constant_time_eq, new_handle};
use minijinja::context;
use sha2::{Digest, Sha256};

use super::access;
use super::ConsoleArg;
use crate::page::{
    throttled_text, with_retry_after, Failure, OrUnavailable, PageError, PostedForm, Ui,
};
use crate::security::csrf_token;
use crate::{cookies, AppState};

type PageResult = Result<Response, PageError>;

/// `GET /console/signin`: starts a staff sign-in.
pub(super) async fn start(State(state): State<AppState>, ui: Ui, jar: CookieJar) -> Response {
    let flow_state = new_handle("");
    let verifier = new_handle("");
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let config = &state.provider.config;
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", CONSOLE_CLIENT_ID),
        ("redirect_uri", &config.url(CALLBACK_PATH)),
        ("scope", "openid"),
        ("state", &flow_state),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
        ("prompt", "login"),
        ("ui_locales", ui.lang.code()),
    ])
    .unwrap_or_default();
    let jar = jar.add(cookies::build(
        &state.settings,
        cookies::CONSOLE_FLOW,
        format!("{flow_state}.{verifier}"),
    ));
    let to = format!("{}?{query}", config.url(gan_oidc::paths::AUTHORIZE));
    (jar, Redirect::to(&to)).into_response()
}

/// The authorization response's parameters.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(super) struct Callback {
    code: String,
    state: String,
    error: String,
}

/// `GET /console/callback`: the provider's answer. The `state` must be this browser's; the code
/// is exchanged with the PKCE verifier; the identity must be an active staff member (403 page,
/// audited, otherwise).
pub(super) async fn callback(
    State(state): State<AppState>,
    ui: Ui,
    jar: CookieJar,
    ConsoleArg(Query(cb)): ConsoleArg<Query<Callback>>,
) -> PageResult {
    let ui = ui.for_console();
    let flow = cookies::get(&jar, &state.settings, cookies::CONSOLE_FLOW);
    let jar = cookies::remove(jar, &state.settings, cookies::CONSOLE_FLOW);
    let Some((expected, verifier)) = flow.as_deref().and_then(|f| f.split_once('.')) else {
        return Ok(retry(
            &ui,
            jar,
            StatusCode::BAD_REQUEST,
            "console_flow_lost",
        ));
    };
    if !constant_time_eq(expected.as_bytes(), cb.state.as_bytes()) {
        return Ok(retry(
            &ui,
            jar,
            StatusCode::BAD_REQUEST,
            "console_flow_lost",
        ));
    }
    if !cb.error.is_empty() || cb.code.is_empty() {
        return Ok(retry(
            &ui,
            jar,
            StatusCode::BAD_REQUEST,
            "console_signin_cancelled",
        ));
    }
    let redirect_uri = state.provider.config.url(CALLBACK_PATH);
    let params = Params::new(
        [
            ("grant_type", "authorization_code"),
            ("code", cb.code.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("client_id", CONSOLE_CLIENT_ID),
            ("code_verifier", verifier),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
    );
    let tokens = match state.provider.token(None, &params).await {
        Ok(tokens) => tokens,
        Err(gan_oidc::EngineError::OAuth(e)) => {
            tracing::info!(request_id = %crate::page::request_id(), error = ?e, "console sign-in: code refused");
            return Ok(retry(
                &ui,
                jar,
                StatusCode::BAD_REQUEST,
                "console_signin_cancelled",
            ));
        }
        Err(e) => return Err(PageError::unavailable(&ui, "console: exchange the code", e)),
    };
    let record = state
        .provider
        .access_token(&tokens.access_token)
        .await
        .or_unavailable(&ui, "console: read the token")?;
    let (Some(identity_id), Some(sid)) = record
        .map(|r| (r.identity_id, r.sid))
        .unwrap_or((None, None))
    else {
        return Ok(retry(
            &ui,
            jar,
            StatusCode::BAD_REQUEST,
            "console_signin_cancelled",
        ));
    };
    match state.admin.open_console(&identity_id, &sid).await {
        Ok(cookie) => {
            let jar = jar.add(cookies::build(&state.settings, cookies::CONSOLE, cookie));
            Ok((jar, Redirect::to("/console/second-factor")).into_response())
        }
        Err(AdminError::Forbidden(_)) => Err(ui.fail(Failure::Forbidden)),
        Err(e) => Err(PageError::unavailable(&ui, "console: open the session", e)),
    }
}

/// A sign-in that cannot go on: why, and a link to start again.
fn retry(ui: &Ui, jar: CookieJar, status: StatusCode, key: &str) -> Response {
    let page = ui.render(
        status,
        "console_signin.html",
        context! { error => ui.t(key) },
    );
    (jar, page).into_response()
}

/// `GET /console/second-factor`: the code form, with the QR code and the secret when the member
/// has no second factor yet.
pub(super) async fn second_factor_form(
    State(state): State<AppState>,
    ui: Ui,
    jar: CookieJar,
) -> PageResult {
    let ui = ui.for_console();
    second_factor_page(&state, &ui, jar, None, StatusCode::OK, None).await
}

async fn second_factor_page(
    state: &AppState,
    ui: &Ui,
    jar: CookieJar,
    error: Option<String>,
    status: StatusCode,
    retry_after: Option<i64>,
) -> PageResult {
    let (session, enrolled) = match access(state, &jar)
        .await
        .or_unavailable(ui, "console: find the session")?
    {
        ConsoleAccess::SecondFactor { session, enrolled } => (session, enrolled),
        ConsoleAccess::Open(_) => return Ok(Redirect::to("/console").into_response()),
        ConsoleAccess::SignIn => return Ok(Redirect::to("/console/signin").into_response()),
    };
    let enrolment = if enrolled {
        None
    } else {
        Some(
            state
                .admin
                .start_enrolment(&session)
                .await
                .or_unavailable(ui, "console: start the enrolment")?,
        )
    };
    let qr = enrolment.as_ref().map(|e| qr_svg(&e.uri));
    let (jar, csrf) = csrf_token(jar, state);
    let page = ui.render(
        status,
        "console_second_factor.html",
        context! {
            enrolling => !enrolled,
            secret => enrolment.as_ref().map(|e| e.secret.clone()),
            qr => qr.map(minijinja::Value::from_safe_string),
            error => error,
            csrf_token => csrf,
        },
    );
    let res = (jar, page).into_response();
    Ok(match retry_after {
        Some(s) => with_retry_after(res, s),
        None => res,
    })
}

/// The QR code of an `otpauth://` URI, as inline SVG (rendered here: no image service sees the
/// secret).
fn qr_svg(uri: &str) -> String {
    use qrcode::render::svg;
    match qrcode::QrCode::new(uri.as_bytes()) {
        Ok(code) => code
            .render::<svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build()
            // The XML declaration is not allowed inside HTML.
            .split_once("?>")
            .map(|(_, svg)| svg.trim().to_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// The second-factor form.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(super) struct CodeForm {
    code: String,
}

/// `POST /console/second-factor`: checks the code. At enrolment, the recovery codes are shown
/// once.
pub(super) async fn second_factor(
    State(state): State<AppState>,
    jar: CookieJar,
    PostedForm { ui, form }: PostedForm<CodeForm>,
) -> PageResult {
    let ui = ui.for_console();
    let session = match access(&state, &jar)
        .await
        .or_unavailable(&ui, "console: find the session")?
    {
        ConsoleAccess::SecondFactor { session, .. } => session,
        ConsoleAccess::Open(_) => return Ok(Redirect::to("/console").into_response()),
        ConsoleAccess::SignIn => return Ok(Redirect::to("/console/signin").into_response()),
    };
    if form.code.len() > 64 {
        let error = Some(ui.t("console_code_wrong"));
        return second_factor_page(&state, &ui, jar, error, StatusCode::BAD_REQUEST, None).await;
    }
    match state
        .admin
        .check_second_factor(&session, &form.code)
        .await
        .or_unavailable(&ui, "console: check the code")?
    {
        CodeCheck::Right { cookie, codes } => {
            let jar = jar.add(cookies::build(&state.settings, cookies::CONSOLE, cookie));
            if codes.is_empty() {
                return Ok((jar, Redirect::to("/console")).into_response());
            }
            let page = ui.render(
                StatusCode::OK,
                "console_recovery_codes.html",
                context! { codes => codes },
            );
            Ok((jar, page).into_response())
        }
        CodeCheck::Wrong => {
            let error = Some(ui.t("console_code_wrong"));
            second_factor_page(&state, &ui, jar, error, StatusCode::BAD_REQUEST, None).await
        }
        CodeCheck::Throttled(wait) => {
            let error = Some(throttled_text(&ui, wait));
            second_factor_page(
                &state,
                &ui,
                jar,
                error,
                StatusCode::TOO_MANY_REQUESTS,
                Some(wait),
            )
            .await
        }
    }
}

/// The sign-out form (nothing but its CSRF token).
#[derive(serde::Deserialize, Default)]
pub(super) struct Nothing {}

/// `POST /console/signout`: ends the console session and the browser session it came from
/// (a help-desk computer is shared).
pub(super) async fn sign_out(
    State(state): State<AppState>,
    jar: CookieJar,
    PostedForm { ui, .. }: PostedForm<Nothing>,
) -> PageResult {
    let ui = ui.for_console();
    match access(&state, &jar)
        .await
        .or_unavailable(&ui, "console: find the session")?
    {
        ConsoleAccess::Open(staff) => state
            .admin
            .end_console(&staff.session)
            .await
            .or_unavailable(&ui, "console: end the session")?,
        ConsoleAccess::SecondFactor { session, .. } => state
            .admin
            .end_console(&session)
            .await
            .or_unavailable(&ui, "console: end the session")?,
        ConsoleAccess::SignIn => {}
    }
    if let Some(cookie) = cookies::get(&jar, &state.settings, cookies::SESSION) {
        state
            .provider
            .end_session_cookie(&cookie)
            .await
            .or_unavailable(&ui, "console: end the browser session")?;
    }
    let jar = cookies::remove(jar, &state.settings, cookies::CONSOLE);
    let jar = cookies::remove(jar, &state.settings, cookies::SESSION);
    let page = ui.render(
        StatusCode::OK,
        "console_signin.html",
        context! { signed_out => true },
    );
    Ok((jar, page).into_response())
}
