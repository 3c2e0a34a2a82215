//! The end-to-end suites over HTTP, one test binary (one link instead of one per suite): each
//! test starts its own server on SQLite and, when `DATABASE_URL` is set, on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin_api;
mod authorize_errors;
mod code_flow;
mod console;
mod cors;
mod cut_off;
mod faults;
mod hostile_input;
mod https_headers;
mod identifiers;
mod journeys;
mod logout_keys_ops;
mod mail_queue;
mod mail_tls;
mod proxy;
mod query_count;
mod several_servers;
mod throttling;
mod token_errors;
