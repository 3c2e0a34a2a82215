//! sea-orm entities, one per table of `migrations/`.

pub mod audit_event;
pub mod auth_code;
pub mod browser_session;
pub mod client;
pub mod client_assertion_jti;
pub mod consent;
pub mod console_session;
pub mod customer_account;
pub mod demo_marker;
pub mod identity;
pub mod identity_account;
pub mod interaction;
pub mod logout_notice;
pub mod mail_queue;
pub mod one_time_link;
pub mod signing_key;
pub mod staff_member;
pub mod throttle;
pub mod token;
