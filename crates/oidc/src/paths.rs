//! Route paths, defined once: they feed both the router and the discovery document.

pub const DISCOVERY: &str = "/.well-known/openid-configuration";
pub const JWKS: &str = "/jwks";
pub const AUTHORIZE: &str = "/authorize";
pub const AUTHORIZE_RESUME: &str = "/authorize/resume/{uid}";
pub const TOKEN: &str = "/token";
pub const USERINFO: &str = "/userinfo";
pub const INTROSPECT: &str = "/introspect";
pub const REVOKE: &str = "/revoke";
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
