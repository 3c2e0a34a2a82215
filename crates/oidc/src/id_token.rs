//! ID tokens (OpenID Connect Core §2) and the `at_hash` claim.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256, Sha512};
use time::OffsetDateTime;

use crate::model::{Authentication, SigningAlg};

/// The left half of the hash of `access_token`, with the hash of the signing algorithm
/// (SHA-512 for Ed25519, as the OpenID Foundation's errata and its certified libraries do).
pub fn at_hash(access_token: &str, alg: SigningAlg) -> String {
    let digest: Vec<u8> = match alg {
        SigningAlg::RS256 | SigningAlg::ES256 => Sha256::digest(access_token.as_bytes()).to_vec(),
        SigningAlg::EdDSA => Sha512::digest(access_token.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

/// Everything that goes into one ID token.
pub struct IdTokenInput<'a> {
    /// `iss`: the issuer, without a trailing slash.
    pub issuer: &'a str,
    /// `aud` and `azp`: the client the token is for.
    pub client_id: &'a str,
    /// `sub`, `auth_time`, `acr` and `amr` come from here.
    pub auth: &'a Authentication,
    /// `sid` of the session the grant came from, if any.
    pub sid: Option<&'a str>,
    /// `nonce` of the authorization request, if one was sent.
    pub nonce: Option<&'a str>,
    /// The access token issued alongside, for `at_hash` (OIDC Core §3.1.3.6).
    pub access_token: Option<&'a str>,
    /// The algorithm the token will be signed with (it decides the `at_hash` hash).
    pub alg: SigningAlg,
    /// `iat`; `exp` is `now + ttl`.
    pub now: OffsetDateTime,
    /// Lifetime of the ID token (`id_token_ttl`).
    pub ttl: time::Duration,
    /// User claims released by scope or requested individually.
    pub claims: serde_json::Map<String, serde_json::Value>,
}

/// The claim set, ready to sign.
pub fn payload(input: IdTokenInput<'_>) -> serde_json::Value {
    let mut body = input.claims;
    let mut put = |k: &str, v: serde_json::Value| {
        body.insert(k.to_string(), v);
    };
    put("iss", input.issuer.into());
    put("sub", input.auth.identity_id.clone().into());
    put("aud", input.client_id.into());
    put("azp", input.client_id.into());
    put("iat", input.now.unix_timestamp().into());
    put("exp", (input.now + input.ttl).unix_timestamp().into());
    put("auth_time", input.auth.auth_time.unix_timestamp().into());
    put("acr", input.auth.acr.clone().into());
    put("amr", input.auth.amr.clone().into());
    if let Some(sid) = input.sid {
        put("sid", sid.into());
    }
    if let Some(nonce) = input.nonce {
        put("nonce", nonce.into());
    }
    if let Some(at) = input.access_token {
        put("at_hash", at_hash(at, input.alg).into());
    }
    serde_json::Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_matches_the_spec_example() {
        // OpenID Connect Core, Appendix A.3 (RS256).
        assert_eq!(
            at_hash(
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y",
                SigningAlg::RS256
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        assert_eq!(at_hash("x", SigningAlg::EdDSA).len(), 43);
    }
}
