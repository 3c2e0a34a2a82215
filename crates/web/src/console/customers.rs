//! Customers in the console: the search, the customer page with its diagnosis, and the actions
//! an agent takes with the reason they type (resend or cancel the activation, unlock, end
//! sessions, detach an account, show the login email in full).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use gan_admin::console::Permission;
use gan_admin::diagnosis::CustomerFile;
use gan_admin::AdminError;
use minijinja::context;

use super::ConsoleArg;
use super::{reason_of, with_reason, Console};
use crate::page::PostedForm;
use crate::AppState;

/// The search's query string.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(super) struct SearchQuery {
    q: String,
    cursor: Option<String>,
}

/// Customers per page of the search.
const PAGE: u64 = 25;

/// `GET /console/customers?q=…`: by client number, login email, contact email or name.
pub(super) async fn search(
    State(state): State<AppState>,
    console: Console,
    ConsoleArg(Query(query)): ConsoleArg<Query<SearchQuery>>,
) -> Response {
    let q = query.q.trim().to_string();
    if q.is_empty() {
        return console.render(
            &state,
            StatusCode::OK,
            "console_customers.html",
            context! { q => q },
        );
    }
    let page = match state
        .admin
        .search_customers(&q, query.cursor.clone(), PAGE)
        .await
    {
        Ok(page) => page,
        Err(AdminError::Invalid { reason, .. }) => {
            return console.render(
                &state,
                StatusCode::BAD_REQUEST,
                "console_customers.html",
                context! { q => q, error => reason },
            )
        }
        Err(e) => return console.failed("console: search customers", e),
    };
    // Login emails come masked for support (the admin service's rule).
    console.render(
        &state,
        StatusCode::OK,
        "console_customers.html",
        context! { q => q, items => page.items, next_cursor => page.next_cursor, searched => true },
    )
}

/// What the customer page says after an action (`?done=…`).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(super) struct Done {
    done: String,
}

/// `GET /console/customers/{number}`: the customer page.
pub(super) async fn show(
    State(state): State<AppState>,
    console: Console,
    ConsoleArg(Path(number)): ConsoleArg<Path<String>>,
    ConsoleArg(Query(done)): ConsoleArg<Query<Done>>,
) -> Response {
    let notice = match done.done.as_str() {
        "resend" | "cancel" | "unlock" | "end-sessions" | "detach" => Some(
            console
                .ui
                .t(&format!("console_done_{}", done.done.replace('-', "_"))),
        ),
        _ => None,
    };
    customer_page(
        &state,
        console,
        &number,
        PageNotes {
            notice,
            ..Default::default()
        },
    )
    .await
}

/// What a customer page shows besides the data.
#[derive(Default)]
struct PageNotes {
    /// A confirmation (`role="status"`).
    notice: Option<String>,
    /// An error of the action form (`role="alert"`).
    error: Option<String>,
    /// The login email in full (after "show", audited).
    revealed: Option<String>,
}

async fn customer_page(
    state: &AppState,
    console: Console,
    number: &str,
    notes: PageNotes,
) -> Response {
    let file = match state.admin.customer_file(number).await {
        Ok(file) => file,
        Err(e) => return console.failed("console: read the customer", e),
    };
    let CustomerFile {
        detail,
        identity,
        throttle: _,
        events,
        findings,
    } = file;
    // Support gets the login email masked (the admin service's rule) until they ask ("show",
    // audited); admins see it.
    let masked = notes.revealed.is_none() && !console.staff.role.may(Permission::Manage);
    let login_email = notes
        .revealed
        .clone()
        .or_else(|| detail.customer.login_email.clone());
    let status = if notes.error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let lang = console.ui.lang;
    let findings: Vec<_> = findings
        .iter()
        .map(|f| super::overview::finding_text(&console.ui, f, lang))
        .collect();
    console.render(
        state,
        status,
        "console_customer.html",
        context! {
            customer => detail.customer,
            login_email => login_email,
            masked => masked,
            activation => detail.pending_activation,
            identity => identity,
            events => events,
            findings => findings,
            notice => notes.notice,
            error => notes.error,
        },
    )
}

/// An action's form: the reason the agent typed and, for a detach, the confirmation.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(super) struct ActionForm {
    reason: String,
    confirmed: String,
}

/// `POST /console/customers/{number}/{action}`: `resend`, `cancel`, `unlock`, `end-sessions`,
/// `detach` (after a confirmation page), each with a reason, recorded in the audit event; and
/// `show-email`, which shows the login email in full (recorded as `console.email_shown`).
pub(super) async fn act(
    State(state): State<AppState>,
    console: Console,
    ConsoleArg(Path((number, action))): ConsoleArg<Path<(String, String)>>,
    PostedForm { form, .. }: PostedForm<ActionForm>,
) -> Response {
    if action == "show-email" {
        let revealed = match state.admin.reveal_login_email(&number).await {
            Ok(email) => email,
            Err(e) => return console.failed("console: show the login email", e),
        };
        let notes = PageNotes {
            revealed,
            ..Default::default()
        };
        return customer_page(&state, console, &number, notes).await;
    }
    if !matches!(
        action.as_str(),
        "resend" | "cancel" | "unlock" | "end-sessions" | "detach"
    ) {
        return console.failed("console: customer action", AdminError::NotFound("action"));
    }
    let Some(reason) = reason_of(&form.reason) else {
        let notes = PageNotes {
            error: Some(console.ui.t("console_reason_needed")),
            ..Default::default()
        };
        return customer_page(&state, console, &number, notes).await;
    };
    if action == "detach" && form.confirmed != "yes" {
        return console.render(
            &state,
            StatusCode::OK,
            "console_detach.html",
            context! { number => number, reason => reason },
        );
    }
    let admin = &state.admin;
    let result = with_reason(reason, async {
        match action.as_str() {
            "resend" => admin.resend_activation(&number).await.map(|_| ()),
            "cancel" => admin.cancel_activation(&number).await.map(|_| ()),
            "unlock" => admin.unlock_customer(&number).await,
            "detach" => admin.detach_account(&number).await.map(|_| ()),
            _ => {
                let detail = admin.customer(&number).await?;
                match detail.customer.identity_id {
                    Some(id) => admin.end_sessions(&id).await,
                    None => Err(AdminError::Conflict(
                        "this account is not attached to an identity: it has no sessions".into(),
                    )),
                }
            }
        }
    })
    .await;
    match result {
        Ok(()) => {
            let to = format!(
                "/console/customers/{}?done={action}",
                form_urlencoded::byte_serialize(number.as_bytes()).collect::<String>()
            );
            Redirect::to(&to).into_response()
        }
        Err(AdminError::Conflict(m)) | Err(AdminError::Invalid { reason: m, .. }) => {
            let notes = PageNotes {
                error: Some(m),
                ..Default::default()
            };
            customer_page(&state, console, &number, notes).await
        }
        Err(e) => console.failed("console: customer action", e),
    }
}
