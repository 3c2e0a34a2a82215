//! The token endpoint's request: form body parsing and client authentication (Basic header,
//! body secret, client assertion), including the assertion's verification.
#![no_main]

use gan_oidc::client_auth::{presented, verify_assertion, Presented};
use gan_oidc::params::Params;
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // First line: the Authorization header (empty: none); the rest: the form body.
    let (header, body) = text.split_once('\n').unwrap_or(("", text));
    let header = (!header.is_empty()).then_some(header);
    let Ok(params) = Params::from_urlencoded(body) else {
        return;
    };
    let _ = params.duplicated();
    let f = common::fixture();
    if let Ok(Presented::Assertion { assertion, .. }) = presented(header, &params) {
        let audiences = [f.config.issuer_str(), f.config.url("/token")];
        let _ = verify_assertion(
            &f.client,
            &assertion,
            &audiences,
            time::OffsetDateTime::now_utc(),
        );
    }
});
