//! The support console's staff in tests: a member added, signed in through the console (the
//! provider's sign-in page, then the TOTP enrolment), with the code their authenticator app
//! would show.

use gan_admin::StaffRole;

use crate::{Browser, ClockExt, Reply, TestServer};

/// The TOTP code (RFC 6238: SHA-1, 6 digits, 30 s) of a base32 `secret` at Unix time `at`.
pub fn totp_code(secret: &str, at: i64) -> String {
    let raw = totp_rs::Secret::Encoded(secret.to_string())
        .to_bytes()
        .expect("a base32 secret");
    let totp = totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        raw,
        None,
        "test".to_string(),
    )
    .expect("a TOTP");
    totp.generate(at as u64)
}

/// The text of the first `<code class="secret">` of a page (the TOTP key, a client secret).
pub fn secret_on(page: &Reply) -> Option<String> {
    let at = page.body.find("class=\"secret\"")?;
    let start = at + page.body[at..].find('>')? + 1;
    let end = start + page.body[start..].find('<')?;
    Some(page.body[start..end].trim().to_string())
}

/// A staff member signed in to the console, second factor enrolled.
pub struct StaffBrowser {
    /// Their browser, with the console's cookies.
    pub browser: Browser,
    /// Their identity.
    pub identity_id: String,
    /// Their TOTP key (base32).
    pub secret: String,
    /// Their recovery codes, as shown once.
    pub recovery_codes: Vec<String>,
}

/// From `/console` to the provider's sign-in page and back: the reply after the password (the
/// second-factor page when all went well).
pub async fn console_password(b: &mut Browser, email: &str, password: &str) -> Reply {
    let start = b.get("/console/signin").await;
    let authorize = start.location.clone().expect("a redirect to /authorize");
    b.sign_in(&authorize, email, password).await
}

/// Adds `email` (a new identity with `password`) as staff with `role`, signs them in to the
/// console and enrols their second factor.
pub async fn staff_browser(
    server: &TestServer,
    email: &str,
    password: &str,
    role: StaffRole,
) -> StaffBrowser {
    let identity_id = server.add_identity(email, password).await;
    server
        .state
        .admin
        .add_staff(email, role)
        .await
        .expect("staff added");
    let mut b = Browser::new(&server.base);
    let page = console_password(&mut b, email, password).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let secret = secret_on(&page).expect("an enrolment page with the key");
    let code = totp_code(&secret, server.clock.now_value().unix_timestamp());
    let csrf = page.input("csrf_token").expect("a CSRF token");
    let done = b
        .post_form(
            "/console/second-factor",
            &[("csrf_token", &csrf), ("code", &code)],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    let recovery_codes: Vec<String> = done
        .body
        .split("<li><code>")
        .skip(1)
        .filter_map(|s| s.split('<').next())
        .map(str::to_string)
        .collect();
    assert_eq!(recovery_codes.len(), gan_admin::console::RECOVERY_CODES);
    StaffBrowser {
        browser: b,
        identity_id,
        secret,
        recovery_codes,
    }
}
