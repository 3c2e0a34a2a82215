//! JWS parsing and verification of untrusted tokens: `id_token_hint` against the provider's
//! keys, and `private_key_jwt` assertions against a client's registered keys.
#![no_main]

use gan_oidc::authorize::id_token_hint::verified_sub;
use gan_oidc::client_auth::verify_assertion;
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(jwt) = std::str::from_utf8(data) else {
        return;
    };
    let f = common::fixture();
    let _ = verified_sub(jwt, &f.ring, &f.config);
    let audiences = [f.config.issuer_str()];
    let _ = verify_assertion(&f.client, jwt, &audiences, time::OffsetDateTime::now_utc());
});
