//! Route paths, defined once: they feed both the router and the discovery document.

/// The discovery document (OpenID Connect Discovery 1.0 §4).
pub const DISCOVERY: &str = "/.well-known/openid-configuration";
/// OAuth 2.0 Authorization Server Metadata (RFC 8414 §3): the same document.
pub const AS_METADATA: &str = "/.well-known/oauth-authorization-server";
/// The JWKS document: the public signing keys (RFC 7517).
pub const JWKS: &str = "/jwks";
/// The authorization endpoint (RFC 6749 §3.1, OIDC Core §3.1.2), GET and POST.
pub const AUTHORIZE: &str = "/authorize";
/// Where the UI sends the browser back to finish a pending authorization request.
pub const AUTHORIZE_RESUME: &str = "/authorize/resume/{uid}";
/// The token endpoint (RFC 6749 §3.2).
pub const TOKEN: &str = "/token";
/// The userinfo endpoint (OIDC Core §5.3).
pub const USERINFO: &str = "/userinfo";
/// The introspection endpoint (RFC 7662).
pub const INTROSPECT: &str = "/introspect";
/// The revocation endpoint (RFC 7009).
pub const REVOKE: &str = "/revoke";
/// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).
pub const END_SESSION: &str = "/end_session";
/// Where the UI takes over a pending authorization request.
pub const INTERACTION: &str = "/interaction/{uid}";

/// `AUTHORIZE_RESUME` with its placeholder filled.
pub fn authorize_resume(uid: &str) -> String {
    AUTHORIZE_RESUME.replace("{uid}", uid)
}

/// `INTERACTION` with its placeholder filled.
pub fn interaction(uid: &str) -> String {
    INTERACTION.replace("{uid}", uid)
}
