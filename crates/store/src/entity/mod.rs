//! sea-orm entities, one per table of `migrations/`.

pub mod auth_code;
pub mod browser_session;
pub mod client;
pub mod client_assertion_jti;
pub mod consent;
pub mod identity;
pub mod interaction;
pub mod signing_key;
pub mod token;
