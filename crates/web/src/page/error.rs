//! One error type for the pages: every failure of a page handler ends here, is logged once with
//! its cause and the request id, and becomes a page in the person's language.

use std::fmt::Display;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::Ui;

/// Why a page could not be served.
#[derive(Debug)]
pub enum Failure {
    /// Storage or another dependency failed: 503 "service unavailable", the cause logged.
    Unavailable {
        /// What the handler was doing, e.g. `"account: load sessions"`.
        during: &'static str,
        /// The error, as text (never sent to the browser).
        cause: String,
    },
    /// The form's CSRF token is missing or does not match the cookie: 403.
    Csrf,
    /// An account page without a live session: 401.
    SignedOut,
    /// A console page the person may not see (not staff, or a role without the permission):
    /// 403.
    Forbidden,
    /// The sign-in request is unknown, over, or belongs to another browser: 400.
    Interaction,
    /// A form field could not be read into its type: 400.
    Field {
        /// The field at fault.
        field: String,
        /// Why, for the log.
        reason: String,
    },
    /// The request could not be read (body too large or cut off, a path that is not UTF-8):
    /// axum's own answer to it.
    Unreadable(Response),
}

/// A page handler's failure: what went wrong and how to say it to this person.
pub struct PageError {
    ui: Ui,
    // Boxed: handlers return `Result<Response, PageError>` and the happy path stays small.
    failure: Box<Failure>,
}

impl std::fmt::Debug for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageError")
            .field("lang", &self.ui.lang)
            .field("failure", &self.failure)
            .finish()
    }
}

impl PageError {
    /// A request the extractor `rejection` refused: axum's status, on our error page.
    pub fn unreadable(ui: &Ui, rejection: impl IntoResponse) -> Self {
        Self::new(ui, Failure::Unreadable(rejection.into_response()))
    }

    /// A failure, to be rendered with `ui`'s language and theme.
    pub fn new(ui: &Ui, failure: Failure) -> Self {
        Self {
            ui: ui.clone(),
            failure: Box::new(failure),
        }
    }

    /// A dependency failed while doing `during`: 503, `cause` logged.
    pub fn unavailable(ui: &Ui, during: &'static str, cause: impl Display) -> Self {
        Self::new(
            ui,
            Failure::Unavailable {
                during,
                cause: cause.to_string(),
            },
        )
    }

    /// What went wrong.
    pub fn failure(&self) -> &Failure {
        &self.failure
    }
}

/// `?` for engine results in page handlers: an error becomes a logged 503 page.
pub trait OrUnavailable<T> {
    /// The value, or a [`PageError`] saying the service is unavailable, naming `during`.
    fn or_unavailable(self, ui: &Ui, during: &'static str) -> Result<T, PageError>;
}

impl<T, E: Display> OrUnavailable<T> for Result<T, E> {
    fn or_unavailable(self, ui: &Ui, during: &'static str) -> Result<T, PageError> {
        self.map_err(|e| PageError::unavailable(ui, during, e))
    }
}

/// The correlation id of the request being served (`X-Request-Id`), for log lines.
pub fn request_id() -> String {
    gan_audit::current().correlation_id.unwrap_or_default()
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let request_id = request_id();
        let ui = &self.ui;
        match *self.failure {
            Failure::Unavailable { during, cause } => {
                tracing::error!(request_id = %request_id, during, error = %cause, "page failed: service unavailable");
                ui.error_key(StatusCode::SERVICE_UNAVAILABLE, "error_unavailable")
                    .into_response()
            }
            Failure::Csrf => {
                tracing::warn!(request_id = %request_id, "page refused: CSRF token missing or wrong");
                ui.error_key(StatusCode::FORBIDDEN, "error_csrf")
                    .into_response()
            }
            Failure::SignedOut => {
                tracing::info!(request_id = %request_id, "page refused: not signed in");
                ui.error_key(StatusCode::UNAUTHORIZED, "account_signed_out")
                    .into_response()
            }
            Failure::Forbidden => {
                tracing::info!(request_id = %request_id, "console page refused: not allowed");
                ui.error_key(StatusCode::FORBIDDEN, "console_forbidden")
                    .into_response()
            }
            Failure::Interaction => {
                tracing::info!(request_id = %request_id, "page refused: no such sign-in request in this browser");
                ui.error_key(StatusCode::BAD_REQUEST, "error_interaction")
                    .into_response()
            }
            Failure::Field { field, reason } => {
                tracing::info!(request_id = %request_id, field, reason, "page refused: unreadable form field");
                ui.error_key(StatusCode::BAD_REQUEST, "error_bad_request")
                    .into_response()
            }
            Failure::Unreadable(response) => {
                // axum's status (413 over the size limit, 400 otherwise), on our page and in
                // the person's language rather than axum's English text.
                let status = response.status();
                tracing::info!(request_id = %request_id, status = status.as_u16(), "page refused: unreadable request");
                let key = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "error_too_large"
                } else {
                    "error_bad_request"
                };
                ui.error_key(status, key).into_response()
            }
        }
    }
}
