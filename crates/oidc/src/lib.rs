//! The OpenID Connect provider engine of Gan Connect.
//!
//! Framework-free: the web layer parses HTTP into the inputs here and renders the outputs; storage
//! sits behind the ports in [`ports`]. The engine never renders a page: when a person must sign in
//! or consent it stores an [`interaction::Interaction`] and hands control to the UI, which comes
//! back with an authenticated identity.

#![warn(missing_docs)]

pub mod authorize;
pub mod backchannel;
pub mod client_auth;
pub mod client_cache;
pub mod clock;
pub mod config;
pub mod discovery;
pub mod error;
pub mod grant;
pub mod id_token;
pub mod interaction;
pub mod introspection;
pub mod keys;
pub mod logout;
#[cfg(any(test, feature = "memory"))]
pub mod memory;
pub mod model;
pub mod params;
pub mod paths;
pub mod person;
pub mod pkce;
pub mod ports;
pub mod provider;
pub mod revocation;
pub mod scope;
pub mod secret;
pub mod session;
#[cfg(test)]
pub(crate) mod testing;
pub mod userinfo;

pub use config::ProviderConfig;
pub use error::{EngineError, ErrorCode, OAuthError};
pub use provider::Provider;

/// The `acr` of a password sign-in (no second factor yet).
pub const ACR_PASSWORD: &str = "urn:gan-connect:acr:password";
