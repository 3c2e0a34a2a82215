//! Pages more than one journey shows: a link that cannot be used, a link's confirmation, the
//! password form, and a throttled answer's text and `Retry-After`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use gan_accounts::links::LinkState;
use gan_accounts::policy::Violation;
use minijinja::context;

use super::Ui;
use crate::security::csrf_token;
use crate::AppState;

/// "Trop de tentatives. Patientez {s} secondes…", in the person's language.
pub fn throttled_text(ui: &Ui, seconds: i64) -> String {
    let key = if seconds == 1 {
        "login_throttled_one"
    } else {
        "login_throttled"
    };
    ui.t(key).replace("{s}", &seconds.to_string())
}

/// `Retry-After` (RFC 9110 §10.2.3), in seconds, on a throttled answer.
pub fn with_retry_after(mut res: Response, seconds: i64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// What a confirmation page says and where its button posts.
pub struct Confirm<'a> {
    /// The form's action (the link's own path).
    pub action: &'static str,
    /// The link's token, sent back in a hidden field.
    pub token: &'a str,
    /// Translation key of the title.
    pub title: &'static str,
    /// The text above the button.
    pub text: String,
    /// Translation key of the button's label.
    pub submit: &'static str,
}

/// The page a state-changing link opens (design.md §6: links never act on GET, mail scanners
/// open them): what it will do, and one button that POSTs the token with a CSRF token.
pub fn confirm_page(state: &AppState, jar: CookieJar, ui: &Ui, c: Confirm<'_>) -> Response {
    let (jar, csrf) = csrf_token(jar, state);
    let page = ui.render(
        StatusCode::OK,
        "confirm_link.html",
        context! { title => ui.t(c.title), paragraphs => vec![c.text], action => c.action, token => c.token, submit => ui.t(c.submit), csrf_token => csrf },
    );
    (jar, page).into_response()
}

/// The page for a link that cannot be used (4xx, never 200 or 5xx). An expired link offers to
/// send a new one (`resend`) or the forgotten-password form.
pub fn link_problem(
    state: &AppState,
    jar: CookieJar,
    ui: &Ui,
    link: &LinkState,
    token: &str,
    resend: bool,
) -> Response {
    match link {
        LinkState::Used => ui
            .message(
                StatusCode::GONE,
                "link_used_title",
                vec![ui.t("link_used_text")],
            )
            .into_response(),
        LinkState::Expired(_) => {
            let (jar, csrf) = csrf_token(jar, state);
            let page = ui.render(
                StatusCode::GONE,
                "message.html",
                context! { title => ui.t("link_expired_title"), paragraphs => vec![ui.t("link_expired_text")], resend_token => resend.then_some(token), csrf_token => csrf, link_href => (!resend).then_some("/forgot/password"), link_text => ui.t("forgot_password_title") },
            );
            (jar, page).into_response()
        }
        _ => ui
            .message(
                StatusCode::NOT_FOUND,
                "link_invalid_title",
                vec![ui.t("link_invalid_text")],
            )
            .into_response(),
    }
}

/// What the password form shows.
pub struct PasswordForm<'a> {
    /// Where it posts.
    pub action: &'a str,
    /// The link's token, sent back in a hidden field.
    pub token: &'a str,
    /// The login email the password is for.
    pub email: &'a str,
    /// The client numbers being upgraded (empty for a reset).
    pub numbers: &'a str,
    /// The password rules the last attempt broke.
    pub errors: &'a [Violation],
    /// A reset (true) or upgrade step 3 (false).
    pub reset: bool,
}

/// The password form (upgrade step 3, or a reset).
pub fn password_page(
    state: &AppState,
    jar: CookieJar,
    ui: &Ui,
    status: StatusCode,
    form: PasswordForm<'_>,
) -> Response {
    let (jar, csrf) = csrf_token(jar, state);
    let errors: Vec<String> = form.errors.iter().map(|v| ui.t(v.key())).collect();
    let (title, submit, step) = if form.reset {
        (ui.t("reset_title"), ui.t("reset_submit"), None)
    } else {
        (ui.t("password_title"), ui.t("password_submit"), Some(3))
    };
    let page = ui.render(
        status,
        "password.html",
        context! {
            title => title, submit => submit, step => step, action => form.action, token => form.token, email => form.email,
            numbers => form.numbers, errors => errors, csrf_token => csrf,
            min_length => state.accounts.settings.policy.min_length.to_string(),
        },
    );
    (jar, page).into_response()
}
