//! The authorization request: query parsing, then the whole validation pipeline (client,
//! redirect URI, response type, scopes, PKCE, prompt, max_age, claims JSON, id_token_hint).
#![no_main]

use gan_oidc::authorize::validate;
use gan_oidc::params::Params;
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let f = common::fixture();
    if let Ok(params) = Params::from_urlencoded(query) {
        let _ = validate(&params, Some(&f.client), &f.config, &f.ring);
        let _ = validate(&params, None, &f.config, &f.ring);
    }
});
