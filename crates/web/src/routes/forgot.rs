//! J5: forgotten identifier and password, and the password reset. The answers never say whether
//! anything exists.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use gan_accounts::email;
use gan_accounts::forgot::{ResetError, RESET_PATH};
use gan_accounts::links::{LinkPurpose, LinkState};
use minijinja::context;

use super::upgrade::{PasswordFields, TokenQuery};
use crate::page::{
    identifier_fits, link_problem, password_page, trimmed, OrUnavailable, PageError, PasswordForm,
    PostedForm, Ui,
};
use crate::security::csrf_token;
use crate::AppState;

type PageResult = Result<Response, PageError>;

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

/// "Identifiant oublié": the contact email.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(super) struct IdentifierForm {
    #[serde(deserialize_with = "trimmed")]
    email: String,
}

/// "Mot de passe oublié": a login email or a client number.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(super) struct PasswordRequestForm {
    #[serde(deserialize_with = "trimmed")]
    identifier: String,
}

/// What a form page shows besides its field: nothing, or the text sent back with an error.
#[derive(Default)]
struct Refused<'a> {
    error_key: Option<&'a str>,
    value: &'a str,
}

fn form_page(
    state: &AppState,
    jar: CookieJar,
    ui: &Ui,
    form: &Form,
    refused: Refused<'_>,
) -> Response {
    let (jar, csrf) = csrf_token(jar, state);
    let t = |k: &str| ui.t(k);
    let (status, error) = match refused.error_key {
        Some(key) => (StatusCode::BAD_REQUEST, Some(t(key))),
        None => (StatusCode::OK, None),
    };
    let page = ui.render(
        status,
        "forgot.html",
        context! { path => form.action, title => t(form.title), lead => t(form.lead), action => form.action, field => form.field, label => t(form.label), csrf_token => csrf, value => refused.value, error => error },
    );
    (jar, page).into_response()
}

fn sent(ui: &Ui) -> Response {
    ui.message(
        StatusCode::OK,
        "forgot_sent_title",
        vec![ui.t("forgot_sent_text"), ui.t("mail_queued")],
    )
    .into_response()
}

pub async fn identifier_form(State(state): State<AppState>, jar: CookieJar, ui: Ui) -> Response {
    form_page(&state, jar, &ui, &IDENTIFIER, Refused::default())
}

pub async fn password_form(State(state): State<AppState>, jar: CookieJar, ui: Ui) -> Response {
    form_page(&state, jar, &ui, &PASSWORD, Refused::default())
}

pub async fn identifier_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    PostedForm { ui, form }: PostedForm<IdentifierForm>,
) -> PageResult {
    // Saying that a text is no address reveals nothing about the accounts.
    if !email::looks_valid(&form.email) {
        let refused = Refused {
            error_key: Some("email_invalid"),
            value: &form.email,
        };
        return Ok(form_page(&state, jar, &ui, &IDENTIFIER, refused));
    }
    state
        .accounts
        .forgot_identifier(&form.email, ui.lang.code(), state.provider.now())
        .await
        .or_unavailable(&ui, "forgot: identifier request")?;
    Ok(sent(&ui))
}

pub async fn password_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    PostedForm { ui, form }: PostedForm<PasswordRequestForm>,
) -> PageResult {
    if !identifier_fits(&form.identifier) {
        let refused = Refused {
            error_key: Some("identifier_too_long"),
            value: &form.identifier,
        };
        return Ok(form_page(&state, jar, &ui, &PASSWORD, refused));
    }
    let issuer = state.provider.config.issuer_str();
    state
        .accounts
        .forgot_password(
            &form.identifier,
            ui.lang.code(),
            &issuer,
            state.provider.now(),
        )
        .await
        .or_unavailable(&ui, "forgot: password request")?;
    Ok(sent(&ui))
}

/// The reset form for a link's email.
fn reset_page(
    state: &AppState,
    jar: CookieJar,
    ui: &Ui,
    status: StatusCode,
    token: &str,
    email: &str,
    errors: &[gan_accounts::policy::Violation],
) -> Response {
    let form = PasswordForm {
        action: RESET_PATH,
        token,
        email,
        numbers: "",
        errors,
        reset: true,
    };
    password_page(state, jar, ui, status, form)
}

pub async fn reset_form(
    State(state): State<AppState>,
    jar: CookieJar,
    ui: Ui,
    Query(q): Query<TokenQuery>,
) -> PageResult {
    let token = q.token.unwrap_or_default();
    let link = state
        .accounts
        .link(&token, LinkPurpose::PasswordReset, state.provider.now())
        .await
        .or_unavailable(&ui, "reset: read the link")?;
    Ok(match link {
        LinkState::Valid(link) => {
            let email = link.data.email.unwrap_or_default();
            reset_page(&state, jar, &ui, StatusCode::OK, &token, &email, &[])
        }
        other => link_problem(&state, jar, &ui, &other, &token, false),
    })
}

pub async fn reset_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    PostedForm { ui, form }: PostedForm<PasswordFields>,
) -> PageResult {
    let token = form.token;
    let now = state.provider.now();
    let reset = state
        .accounts
        .reset_password(&token, &form.password, &form.password_confirm, now)
        .await;
    Ok(match reset {
        Ok(_) => ui
            .message(
                StatusCode::OK,
                "reset_done_title",
                vec![ui.t("reset_done_text")],
            )
            .into_response(),
        Err(ResetError::Policy(v)) => {
            let link = state
                .accounts
                .link(&token, LinkPurpose::PasswordReset, now)
                .await
                .or_unavailable(&ui, "reset: read the link")?;
            let email = match link {
                LinkState::Valid(l) => l.data.email.unwrap_or_default(),
                _ => String::new(),
            };
            reset_page(
                &state,
                jar,
                &ui,
                StatusCode::BAD_REQUEST,
                &token,
                &email,
                &v,
            )
        }
        Err(ResetError::Link(link)) => link_problem(&state, jar, &ui, &link, &token, false),
        Err(e) => {
            let cause = format!("{e:?}");
            return Err(PageError::unavailable(
                &ui,
                "reset: set the password",
                cause,
            ));
        }
    })
}
