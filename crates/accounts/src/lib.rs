//! Gan Connect's own domain: identities (one login email, one password) and, in later steps,
//! customer accounts, legacy credentials, upgrade and attach. Storage sits behind [`ports`].

pub mod attach;
pub mod customer;
pub mod email;
pub mod identity;
pub mod import;
pub mod journeys;
pub mod legacy;
pub mod links;
pub mod manage;
pub mod password;
pub mod policy;
pub mod ports;
pub mod service;
pub mod throttle;

pub use identity::{Identity, IdentityStatus};
pub use service::{Accounts, AccountsPorts, JourneySettings, SignInError};
