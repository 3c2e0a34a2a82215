//! Behind an https issuer: every page carries the browser-security headers, HSTS is on, and the
//! cookies are `__Host-` prefixed, `Secure`, `HttpOnly`, `SameSite`, host-only. (Requests go
//! straight to the router; TLS itself is the reverse proxy's.)

use std::sync::Arc;

use axum::body::Body;
use gan_oidc::clock::FixedClock;
use gan_testkit::{test_settings, Backend, TestDb};
use tower::ServiceExt;

#[tokio::test]
async fn pages_and_cookies_behind_an_https_issuer() {
    let db = TestDb::create(&Backend::Sqlite).await;
    let settings = test_settings("https://connect.example.fr", &db.url, &[]);
    let store = gan_connect::wiring::connect_store(&settings).await.unwrap();
    store.migrate().await.unwrap();
    let key = gan_connect::wiring::encryption_key(&settings).unwrap();
    let built = gan_connect::wiring::build(
        &settings,
        store,
        Arc::new(FixedClock::new(time::OffsetDateTime::now_utc())),
        &key,
    )
    .await
    .unwrap();
    let app = gan_web::app(built.state);

    for path in [
        "/forgot/password",
        "/help",
        "/account",
        "/nowhere",
        "/.well-known/openid-configuration",
        "/jwks",
    ] {
        let res = app
            .clone()
            .oneshot(http::Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'none'")
                && csp.contains("script-src 'self'")
                && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert!(
            !csp.contains("unsafe-inline")
                || !csp
                    .split(';')
                    .any(|d| d.contains("script-src") && d.contains("unsafe-inline"))
        );
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert!(
            h["strict-transport-security"]
                .to_str()
                .unwrap()
                .contains("max-age="),
            "{path}"
        );
    }

    // A form page sets the CSRF cookie: prefixed, Secure, HttpOnly, SameSite, no Domain.
    let res = app
        .clone()
        .oneshot(
            http::Request::get("/forgot/password")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let cookies: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_string())
        .collect();
    assert!(!cookies.is_empty());
    for c in &cookies {
        let lower = c.to_ascii_lowercase();
        assert!(c.starts_with("__Host-gc_"), "{c}");
        assert!(
            lower.contains("; secure")
                && lower.contains("; httponly")
                && lower.contains("; path=/"),
            "{c}"
        );
        assert!(
            lower.contains("samesite=lax") || lower.contains("samesite=strict"),
            "{c}"
        );
        assert!(!lower.contains("domain="), "{c}");
    }
    db.drop_db().await;
}
