//! Gan Connect's own domain: identities (one login email, one password), customer accounts with
//! their legacy credentials, and the customer journeys of design.md. [`Accounts`] is the engine;
//! storage and mail sit behind its [`ports`], which only the engine uses.
//!
//! The journey modules mirror the web routes that call them:
//! - [`interaction`]: the sign-in form (J1 step 1), throttled;
//! - [`upgrade`]: choosing the login email, its verification link and the password (J1, J2);
//! - [`forgot`]: forgotten identifier or password, and the reset (J5);
//! - [`account`]: "Gérer mon compte": attach an account, change the password or login email
//!   (J3, J4);
//! - [`import`]: the customer CSV import; `lookup`: what pages, admin and CLI read.
//!
//! With the `memory` feature (and in its own tests), `memory` holds in-memory ports.

#![warn(missing_docs)]

pub mod account;
pub mod customer;
pub mod cut_off;
pub mod email;
pub mod forgot;
pub mod identity;
pub mod import;
pub mod interaction;
pub mod legacy;
pub mod links;
mod lookup;
mod mail;
#[cfg(any(test, feature = "memory"))]
pub mod memory;
pub mod password;
pub mod policy;
pub mod ports;
pub mod service;
pub mod throttle;
pub mod upgrade;

#[cfg(test)]
mod tests;

pub use identity::{Identity, IdentityStatus};
pub use service::{
    Accounts, AccountsPorts, CreateIdentityError, JourneySettings, SignInError, Unavailable,
};
pub use throttle::{Checked, ThrottleState};
