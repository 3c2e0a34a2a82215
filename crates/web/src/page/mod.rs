//! The page layer shared by every HTML handler in `routes/`: the person's language and the theme
//! ([`Ui`]), extractors for posted forms and for the signed-in account, one error type
//! ([`PageError`]) that logs a failure once and renders its page, and the pages several journeys
//! share (messages, link problems, the password form).
//!
//! Handlers return `Result<Response, PageError>`: what they cannot do, they hand to `?`.

mod error;
mod extract;
mod views;

pub use error::{request_id, Failure, OrUnavailable, PageError};
pub use extract::{identifier_fits, read_form, trimmed, Account, AccountForm, PostedForm, Ui};
pub use views::{
    confirm_page, link_problem, password_page, throttled_text, with_retry_after, Confirm,
    PasswordForm,
};
