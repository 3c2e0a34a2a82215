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
pub mod customer_account;
pub mod identity_account;
pub mod mail_queue;
pub mod one_time_link;
pub mod throttle;
pub mod audit_event;
