//! "Gérer mon compte" (web's `routes/account.rs`, design.md J3 and J4): attach another customer
//! account, change the password, change the login email.

mod attach;
mod change_email;
mod change_password;

pub use attach::AttachOutcome;
pub use change_email::{ConfirmEmailError, EmailChange, EMAIL_CHANGE_PATH};
pub use change_password::PasswordChange;
