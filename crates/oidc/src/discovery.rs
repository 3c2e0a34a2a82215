//! The discovery document (OpenID Connect Discovery 1.0 §3).

use crate::model::{AuthMethod, SigningAlg};
use crate::{paths, scope, ProviderConfig};

/// The OpenID Provider metadata (OpenID Connect Discovery 1.0 §3) for `config`'s issuer: every
/// endpoint URL, and what the provider supports (code flow only, S256, the signing algorithms and
/// client authentication methods, `iss` in responses per RFC 9207).
pub fn document(config: &ProviderConfig) -> serde_json::Value {
    let auth_methods: Vec<&str> = AuthMethod::ALL.iter().map(|m| m.as_str()).collect();
    let endpoint_auth_methods: Vec<&str> = AuthMethod::ALL
        .iter()
        .filter(|m| **m != AuthMethod::None)
        .map(|m| m.as_str())
        .collect();
    let algs: Vec<&str> = SigningAlg::ALL.iter().map(|a| a.as_str()).collect();
    let mut scopes: Vec<&str> = scope::USER_SCOPES.to_vec();
    scopes.extend([scope::ADMIN_READ, scope::ADMIN_WRITE]);
    serde_json::json!({
        "issuer": config.issuer_str(),
        "authorization_endpoint": config.url(paths::AUTHORIZE),
        "token_endpoint": config.url(paths::TOKEN),
        "userinfo_endpoint": config.url(paths::USERINFO),
        "jwks_uri": config.url(paths::JWKS),
        "introspection_endpoint": config.url(paths::INTROSPECT),
        "revocation_endpoint": config.url(paths::REVOKE),
        "end_session_endpoint": config.url(paths::END_SESSION),
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": crate::model::GRANT_TYPES,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256", "ES256", "EdDSA"],
        "introspection_endpoint_auth_methods_supported": endpoint_auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "azp", "at_hash", "email", "email_verified", "accounts", "client_numbers", "name", "given_name", "family_name", "updated_at"],
        "claims_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "require_request_uri_registration": false,
        "prompt_values_supported": ["none", "login", "consent"],
        // One responsive page for every device; claims carry no language-tagged values.
        "display_values_supported": ["page"],
        "ui_locales_supported": ["fr", "en"],
        "acr_values_supported": [crate::ACR_PASSWORD],
        "authorization_response_iss_parameter_supported": true,
        "frontchannel_logout_supported": false,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
    })
}
