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
/// A console session of a staff member (`/console`).
pub const CONSOLE: &str = "gc_console";
/// The console's sign-in in progress: its `state`, PKCE verifier and `nonce`.
pub const CONSOLE_FLOW: &str = "gc_console_flow";
/// The portal "Gérer mon compte" was opened from (a `client_id`), for its "back" link.
pub const RETURN: &str = "gc_return";

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

/// The `SameSite` attribute of each cookie: `Strict` for the CSRF cookie and the console's
/// (staff reach the console from its own pages), `Lax` for the others (the session and the
/// pending interaction must survive the relying party's redirect).
pub fn same_site(base: &str) -> SameSite {
    if matches!(base, CSRF | CONSOLE | CONSOLE_FLOW) {
        SameSite::Strict
    } else {
        SameSite::Lax
    }
}

/// A cookie with our attributes: `Path=/`, `HttpOnly`, `Secure` on https issuers, no `Domain`,
/// and the `SameSite` of [`same_site`].
pub fn build(settings: &WebSettings, base: &str, value: String) -> Cookie<'static> {
    Cookie::build((name(settings, base), value))
        .path("/")
        .http_only(true)
        .secure(settings.secure_cookies)
        .same_site(same_site(base))
        .build()
}

/// Removes a cookie the request carried: an empty value that expired in the past
/// (`Max-Age=0`), with the attributes it was set with, since browsers ignore a removal that
/// does not match (a `__Host-` cookie needs `Secure` and `Path=/`).
pub fn remove(jar: CookieJar, settings: &WebSettings, base: &str) -> CookieJar {
    jar.remove(build(settings, base, String::new()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use axum::http::{header, HeaderMap};
    use axum::response::IntoResponse;

    use super::*;

    fn https() -> WebSettings {
        WebSettings::for_issuer(&url::Url::parse("https://connect.example.fr").unwrap())
    }

    /// The `Set-Cookie` lines of `jar`.
    fn set_cookies(jar: CookieJar) -> Vec<String> {
        let res = (jar, ()).into_response();
        res.headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn a_removal_on_an_https_issuer_has_the_attributes_of_the_cookie() {
        let settings = https();
        for base in [SESSION, INTERACTION, CSRF, UPGRADE, LANG] {
            let mut headers = HeaderMap::new();
            let sent = format!("{}=value", name(&settings, base));
            headers.insert(header::COOKIE, sent.parse().unwrap());
            let set = set_cookies(remove(CookieJar::from_headers(&headers), &settings, base));
            let [removal] = set.as_slice() else {
                panic!("{base}: {set:?}")
            };
            let parts: Vec<&str> = removal.split("; ").collect();
            assert_eq!(parts[0], format!("__Host-{base}="), "{removal}");
            for attribute in ["Secure", "HttpOnly", "Path=/", "Max-Age=0"] {
                assert!(parts.contains(&attribute), "{base}: {removal}");
            }
            let same_site = format!("SameSite={}", same_site(base));
            assert!(parts.contains(&same_site.as_str()), "{base}: {removal}");
            assert!(
                !removal.to_ascii_lowercase().contains("domain="),
                "{removal}"
            );
            let expires = Cookie::parse(removal.as_str())
                .unwrap()
                .expires_datetime()
                .unwrap();
            assert!(expires < time::OffsetDateTime::now_utc(), "{removal}");
            // The same attributes as when it was set.
            let set = build(&settings, base, "v".into()).to_string();
            let attributes = |c: &str| {
                let mut a: Vec<String> = c.split("; ").skip(1).map(str::to_string).collect();
                a.retain(|a| !a.starts_with("Max-Age") && !a.starts_with("Expires"));
                a.sort();
                a
            };
            assert_eq!(attributes(&set), attributes(removal), "{base}");
        }
        assert_eq!(same_site(CSRF), SameSite::Strict);
        assert_eq!(same_site(SESSION), SameSite::Lax);
    }
}
