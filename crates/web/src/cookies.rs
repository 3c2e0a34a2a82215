//! Cookie names and attributes: `__Host-` prefix with `Secure` on https issuers, always
//! `HttpOnly`, `SameSite=Lax` (the session must survive the relying party's redirect), `Strict`
//! for the CSRF cookie.

use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

use crate::WebSettings;

pub const SESSION: &str = "gc_session";
pub const INTERACTION: &str = "gc_interaction";
pub const CSRF: &str = "gc_csrf";
/// The upgrade in progress (step 2), by handle.
pub const UPGRADE: &str = "gc_upgrade";
/// The language the person chose with the switch.
pub const LANG: &str = "gc_lang";

/// The cookie's name as sent to browsers.
pub fn name(settings: &WebSettings, base: &str) -> String {
    if settings.secure_cookies {
        format!("__Host-{base}")
    } else {
        base.to_string()
    }
}

/// A cookie's value from the jar.
pub fn get(jar: &CookieJar, settings: &WebSettings, base: &str) -> Option<String> {
    jar.get(&name(settings, base))
        .map(|c| c.value().to_string())
}

/// A cookie with our attributes.
pub fn build(
    settings: &WebSettings,
    base: &str,
    value: String,
    same_site: SameSite,
) -> Cookie<'static> {
    Cookie::build((name(settings, base), value))
        .path("/")
        .http_only(true)
        .secure(settings.secure_cookies)
        .same_site(same_site)
        .build()
}

/// Removes a cookie.
pub fn remove(jar: CookieJar, settings: &WebSettings, base: &str) -> CookieJar {
    jar.remove(Cookie::build((name(settings, base), "")).path("/").build())
}
