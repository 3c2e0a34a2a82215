//! Gan Connect's own domain: identities (one login email, one password) and, in later steps,
//! customer accounts, legacy credentials, upgrade and attach. Storage sits behind [`ports`].

pub mod email;
pub mod identity;
pub mod password;
pub mod ports;
pub mod service;

pub use identity::{Identity, IdentityStatus};
pub use service::{Accounts, SignInError};
