//! The support console (`/console`) through a real server: staff sign-in through the provider
//! with TOTP enrolment and recovery codes, the role checks of every console route and of the
//! admin API for the console's tokens, the customer actions with their reasons in the audit
//! trail, and the dashboard's figures. SQLite, and PostgreSQL when `DATABASE_URL` is set.

use gan_admin::StaffRole;
use gan_audit::AuditFilter;
use gan_oidc::pkce::challenge_s256;
use gan_testkit::staff::{console_password, secret_on, staff_browser, totp_code};
use gan_testkit::{each_backend, Browser, ClientSpec, ClockExt, TestServer};

use crate::journeys::{choose_password, seed, upgrade_to_step_two};

const PASSWORD: &str = "Console-2026-solide";

/// Every console page, with the method and what it needs: (method, path, admin only).
const ROUTES: &[(&str, &str, bool)] = &[
    ("GET", "/console", false),
    ("GET", "/console/stuck.csv", false),
    ("GET", "/console/audit", false),
    ("GET", "/console/customers?q=10000001", false),
    ("GET", "/console/customers/10000001", false),
    ("POST", "/console/customers/10000001/unlock", false),
    ("POST", "/console/customers/10000001/show-email", false),
    ("GET", "/console/clients", true),
    ("POST", "/console/clients", true),
    ("GET", "/console/clients/new", true),
    ("GET", "/console/clients/portal", true),
    ("POST", "/console/clients/portal", true),
    ("POST", "/console/clients/portal/secret", true),
    ("POST", "/console/clients/portal/disable", true),
    ("POST", "/console/clients/portal/delete", true),
    ("GET", "/console/keys", true),
    ("POST", "/console/keys/rotate", true),
    ("GET", "/console/staff", true),
    ("POST", "/console/staff", true),
    ("POST", "/console/staff/nobody/disable", true),
];

/// A CSRF token for `b` (from a console page it may open).
async fn csrf(b: &mut Browser) -> String {
    let page = b.get("/console/customers").await;
    page.input("csrf_token")
        .unwrap_or_else(|| panic!("{} {}", page.status, page.body))
}

async fn request(b: &mut Browser, method: &str, path: &str, csrf: &str) -> u16 {
    if method == "GET" {
        b.get(path).await.status
    } else {
        b.post_form(
            path,
            &[("csrf_token", csrf), ("reason", "vérification des droits")],
        )
        .await
        .status
    }
}

#[tokio::test]
async fn staff_sign_in_asks_for_totp_and_refuses_everyone_else() {
    each_backend!(|server| {
        let admin = staff_browser(&server, "chef@example.fr", PASSWORD, StaffRole::Admin).await;
        let mut b = admin.browser;
        let home = b.get("/console").await;
        assert_eq!(home.status, 200, "{}", home.body);
        assert!(home.body.contains("chef@example.fr"));
        assert_eq!(
            home.headers.get("cache-control").unwrap(),
            "no-store",
            "console pages are not cached"
        );
        assert!(home.headers.get("content-security-policy").is_some());
        let signed = server
            .audit_types(AuditFilter {
                identity_id: Some(admin.identity_id.clone()),
                limit: 50,
                ..Default::default()
            })
            .await;
        assert!(signed.contains(&"console.signed_in"), "{signed:?}");
        assert!(signed.contains(&"console.second_factor"), "{signed:?}");

        // The console's cookies are HttpOnly and SameSite=Strict (`__Host-` and Secure only on
        // https issuers, as every cookie here).
        let mut probe = Browser::new(&server.base);
        let start = probe.get("/console/signin").await;
        let flow = start
            .headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|c| c.starts_with("gc_console_flow="))
            .expect("the sign-in's flow cookie");
        assert!(
            flow.contains("HttpOnly") && flow.contains("SameSite=Strict"),
            "{flow}"
        );
        assert!(
            start.location.as_deref().unwrap().contains("prompt=login"),
            "{:?}",
            start.location
        );
        // A second sign-in asks for the password again (prompt=login), then the code.
        let mut again = Browser::new(&server.base);
        let page = console_password(&mut again, "chef@example.fr", PASSWORD).await;
        assert_eq!(page.status, 200);
        assert!(secret_on(&page).is_none(), "enrolled: no key shown again");
        let form_csrf = page.input("csrf_token").unwrap();
        // A wrong code, then a code already used (the same time step), are refused.
        let wrong = again
            .post_form(
                "/console/second-factor",
                &[("csrf_token", &form_csrf), ("code", "000000")],
            )
            .await;
        assert_eq!(wrong.status, 400);
        assert!(wrong.body.contains("role=\"alert\""));
        let now = server.clock.now_value().unix_timestamp();
        let used = totp_code(&admin.secret, now);
        let replay = again
            .post_form(
                "/console/second-factor",
                &[("csrf_token", &form_csrf), ("code", &used)],
            )
            .await;
        assert_eq!(replay.status, 400, "a code works once");
        assert_eq!(again.get("/console").await.status, 303);
        // The next time step's code opens it, under a new cookie: the one set at the password
        // step opens nothing.
        let before = again.cookies.get("gc_console").cloned().unwrap();
        server.clock.advance(30);
        let next = totp_code(&admin.secret, now + 30);
        let ok = again
            .post_form(
                "/console/second-factor",
                &[("csrf_token", &form_csrf), ("code", &next)],
            )
            .await;
        assert_eq!(ok.status, 303, "{}", ok.body);
        assert_eq!(again.get("/console").await.status, 200);
        assert_ne!(again.cookies.get("gc_console"), Some(&before));
        let mut fixed = Browser::new(&server.base);
        fixed.cookies.insert("gc_console".into(), before);
        assert_eq!(fixed.get("/console").await.status, 303);

        // A recovery code works once.
        let mut lost_phone = Browser::new(&server.base);
        let page = console_password(&mut lost_phone, "chef@example.fr", PASSWORD).await;
        let c = page.input("csrf_token").unwrap();
        let code = admin.recovery_codes[0].to_uppercase();
        let ok = lost_phone
            .post_form(
                "/console/second-factor",
                &[("csrf_token", &c), ("code", &code)],
            )
            .await;
        assert_eq!(ok.status, 303, "{}", ok.body);
        let mut twice = Browser::new(&server.base);
        let page = console_password(&mut twice, "chef@example.fr", PASSWORD).await;
        let c = page.input("csrf_token").unwrap();
        let no = twice
            .post_form(
                "/console/second-factor",
                &[("csrf_token", &c), ("code", &code)],
            )
            .await;
        assert_eq!(no.status, 400, "a recovery code works once");

        // Wrong codes are throttled like passwords.
        let mut statuses = Vec::new();
        for _ in 0..12 {
            let r = twice
                .post_form(
                    "/console/second-factor",
                    &[("csrf_token", &c), ("code", "123456")],
                )
                .await;
            statuses.push(r.status);
            if r.status == 429 {
                assert!(r.headers.get("retry-after").is_some());
                break;
            }
        }
        assert_eq!(statuses.last(), Some(&429), "{statuses:?}");

        // A customer (not staff) who signs in through the console gets a 403 page, audited.
        let customer = server.add_identity("client@example.fr", PASSWORD).await;
        let mut outsider = Browser::new(&server.base);
        let refused = console_password(&mut outsider, "client@example.fr", PASSWORD).await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        assert_eq!(outsider.get("/console").await.status, 303);
        let events = server
            .audit_types(AuditFilter {
                identity_id: Some(customer),
                limit: 20,
                ..Default::default()
            })
            .await;
        assert!(events.contains(&"console.refused"), "{events:?}");

        // Nobody signed in: pages go to sign-in, actions get 401, and none acts on GET.
        let mut anonymous = Browser::new(&server.base);
        for (method, path, _) in ROUTES {
            let status = request(&mut anonymous, method, path, "x").await;
            if *method == "GET" {
                assert_eq!(status, 303, "{method} {path}");
            } else {
                assert!(status == 401 || status == 403, "{method} {path}: {status}");
            }
        }
        assert_eq!(
            b.get("/console/customers/10000001/unlock").await.status,
            405,
            "no action by GET"
        );
    });
}

#[tokio::test]
async fn every_console_route_checks_the_role_and_the_csrf_token() {
    each_backend!(|server| {
        seed(&server).await;
        server.add_client(ClientSpec::portal("portal")).await;
        let support =
            staff_browser(&server, "agent@example.fr", PASSWORD, StaffRole::Support).await;
        let mut s = support.browser;
        let token = csrf(&mut s).await;
        for (method, path, admin_only) in ROUTES {
            let status = request(&mut s, method, path, &token).await;
            if *admin_only {
                assert_eq!(status, 403, "support: {method} {path}");
            } else {
                assert!(
                    matches!(status, 200 | 303 | 400),
                    "support: {method} {path}: {status}"
                );
            }
        }
        let refused = server
            .audit_types(AuditFilter {
                identity_id: Some(support.identity_id.clone()),
                event_type: Some(gan_audit::EventType::ConsoleRefused),
                limit: 50,
                ..Default::default()
            })
            .await;
        assert_eq!(
            refused.len(),
            ROUTES.iter().filter(|r| r.2).count(),
            "each refusal audited"
        );
        // Bad figures in a query string, a repeated field, a path that is not UTF-8: the
        // console's own page.
        for path in [
            "/console?days=abc",
            "/console?days=0",
            "/console/stuck.csv?stuck_days=-1",
            "/console/customers?q=a&q=b",
            "/console/customers/%FF",
        ] {
            let bad = s.get(path).await;
            assert_eq!(bad.status, 400, "{path}");
            assert!(bad.body.contains("role=\"alert\""), "{path}: {}", bad.body);
        }
        // A console error page sends back to the console, not to "the application".
        let forbidden = s.get("/console/clients").await;
        assert_eq!(forbidden.status, 403);
        assert!(
            forbidden.body.contains("Revenir à la console"),
            "{}",
            forbidden.body
        );
        // A form without the CSRF token is refused.
        let no_csrf = s
            .post_form(
                "/console/customers/10000001/unlock",
                &[("reason", "sans jeton")],
            )
            .await;
        assert_eq!(no_csrf.status, 403);

        let admin = staff_browser(&server, "chef@example.fr", PASSWORD, StaffRole::Admin).await;
        let mut a = admin.browser;
        for (method, path) in [
            ("GET", "/console/clients"),
            ("GET", "/console/clients/portal"),
            ("GET", "/console/keys"),
            ("GET", "/console/staff"),
        ] {
            assert_eq!(
                request(&mut a, method, path, "").await,
                200,
                "admin: {path}"
            );
        }

        // Disabling the member ends their console session at once.
        server
            .state
            .admin
            .disable_staff("agent@example.fr")
            .await
            .unwrap();
        assert_eq!(s.get("/console").await.status, 303);
    });
}

/// The console's access token for the browser session of `b` (already signed in to the
/// console): an authorization request of the console's client without `prompt`, answered from
/// the session, exchanged with this test's PKCE verifier.
async fn console_token(server: &TestServer, b: &mut Browser) -> String {
    let verifier = "console-test-verifier-0123456789-abcdefghijklmnopq";
    let callback = server.url("/console/callback");
    let mut url = url::Url::parse(&server.url("/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "gan-console")
        .append_pair("redirect_uri", &callback)
        .append_pair("scope", "openid")
        .append_pair("state", "s")
        .append_pair("code_challenge", &challenge_s256(verifier))
        .append_pair("code_challenge_method", "S256");
    // Follows the provider's redirects, but not the last one: the code is for this test.
    let mut r = b.get(url.as_str()).await;
    for _ in 0..5 {
        match r.location.clone() {
            Some(loc) if !loc.starts_with(&callback) => r = b.get(&loc).await,
            _ => break,
        }
    }
    let code = r
        .location_param("code")
        .unwrap_or_else(|| panic!("no code: {} {:?} {}", r.status, r.location, r.body));
    let res = reqwest::Client::new()
        .post(server.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", callback.as_str()),
            ("client_id", "gan-console"),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

async fn api(server: &TestServer, method: &str, path: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .request(
            method.parse().unwrap(),
            server.url(&format!("/admin/api/v1{path}")),
        )
        .bearer_auth(token)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn the_admin_api_takes_console_tokens_with_the_same_roles() {
    each_backend!(|server| {
        seed(&server).await;
        server.add_client(ClientSpec::portal("portal")).await;
        let mut support =
            staff_browser(&server, "agent@example.fr", PASSWORD, StaffRole::Support).await;
        let token = console_token(&server, &mut support.browser).await;
        // Reads of customers, the audit trail and the migration: allowed.
        for path in [
            "/customers?q=10000001",
            "/customers/10000001",
            "/audit-events",
            "/migration",
        ] {
            assert_eq!(
                api(&server, "GET", path, &token).await,
                200,
                "support GET {path}"
            );
        }
        // Relying parties, keys: refused, read or write.
        for (method, path) in [
            ("GET", "/clients"),
            ("GET", "/clients/portal"),
            ("POST", "/clients"),
            ("DELETE", "/clients/portal"),
            ("GET", "/keys"),
            ("POST", "/keys/rotate"),
        ] {
            assert_eq!(
                api(&server, method, path, &token).await,
                403,
                "support {method} {path}"
            );
        }
        // Every route of the API's own document: relying parties, keys and staff are refused to
        // support (403); everything else is reached (neither 401 nor 403).
        let doc: serde_json::Value = reqwest::get(server.url("/admin/api/v1/openapi.json"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut checked = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in ["get", "post", "patch", "put", "delete"] {
                if item.get(method).is_none() {
                    continue;
                }
                let concrete = path
                    .trim_start_matches("/admin/api/v1")
                    .replace("{client_id}", "portal")
                    .replace("{client_number}", "10000003")
                    .replace("{id}", "gc-nobody");
                let managed = ["/clients", "/keys", "/staff"]
                    .iter()
                    .any(|p| concrete.starts_with(p));
                let status = api(&server, &method.to_uppercase(), &concrete, &token).await;
                if managed {
                    assert_eq!(status, 403, "support {method} {concrete}");
                } else {
                    assert!(
                        status != 401 && status != 403,
                        "support {method} {concrete}: {status}"
                    );
                }
                checked += 1;
            }
        }
        assert!(checked >= 18, "{checked} routes");
        // Support acts on customers, not on staff: another member's identity (an admin's
        // here) is neither read, locked, unlocked nor cut off.
        let chef = server.add_identity("chef2@example.fr", PASSWORD).await;
        server
            .state
            .admin
            .add_staff("chef2@example.fr", StaffRole::Admin)
            .await
            .unwrap();
        for (method, path) in [
            ("GET", format!("/identities/{chef}")),
            ("POST", format!("/identities/{chef}/lock")),
            ("POST", format!("/identities/{chef}/unlock")),
            ("DELETE", format!("/identities/{chef}/sessions")),
        ] {
            assert_eq!(
                api(&server, method, &path, &token).await,
                403,
                "support {method} {path}"
            );
        }
        // A customer's login email comes masked to support, as on the console.
        let customer = server
            .add_identity("jeanne.cliente@example.fr", PASSWORD)
            .await;
        let seen: serde_json::Value = reqwest::Client::new()
            .get(server.url(&format!("/admin/api/v1/identities/{customer}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(seen["login_email"], "j***@example.fr", "{seen}");
        // A customer action: allowed, and recorded with the staff member as actor.
        assert_eq!(
            api(&server, "POST", "/identities/gc-nobody/unlock", &token).await,
            404,
            "the route was reached: no such identity"
        );
        let events = server
            .audit_events(AuditFilter {
                limit: 200,
                ..Default::default()
            })
            .await;
        assert!(events
            .iter()
            .all(|e| e.actor.kind != gan_audit::ActorKind::Admin
                || e.actor.id.as_deref() != Some("gan-console")));

        let mut admin = staff_browser(&server, "chef@example.fr", PASSWORD, StaffRole::Admin).await;
        let admin_token = console_token(&server, &mut admin.browser).await;
        assert_eq!(api(&server, "GET", "/clients", &admin_token).await, 200);
        assert_eq!(api(&server, "GET", "/keys", &admin_token).await, 200);
        assert_eq!(
            api(&server, "GET", &format!("/identities/{chef}"), &admin_token).await,
            200,
            "administrators manage staff"
        );
        // A client id is a safe path segment: no '/', '?', '#' or dot segment.
        for id in ["../staff/x", "a/b", "..", "a?b=1", "a#b", "-lead"] {
            let res = reqwest::Client::new()
                .post(server.url("/admin/api/v1/clients"))
                .bearer_auth(&admin_token)
                .json(&serde_json::json!({
                    "client_id": id, "client_name": "X", "redirect_uris": ["https://x.example/cb"]
                }))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status().as_u16(), 400, "{id}");
        }
        // The console's own client cannot be changed, disabled or deleted from the API.
        for (method, path) in [
            ("PATCH", "/clients/gan-console"),
            ("POST", "/clients/gan-console/disable"),
            ("DELETE", "/clients/gan-console"),
        ] {
            assert_eq!(
                api(&server, method, path, &admin_token).await,
                409,
                "{method} {path}"
            );
        }

        // A token of a browser session whose console sign-in did not pass the second factor:
        // refused.
        let half = server.add_identity("moitie@example.fr", PASSWORD).await;
        server
            .state
            .admin
            .add_staff("moitie@example.fr", StaffRole::Admin)
            .await
            .unwrap();
        let mut b = Browser::new(&server.base);
        let page = console_password(&mut b, "moitie@example.fr", PASSWORD).await;
        assert_eq!(page.status, 200);
        let t = console_token(&server, &mut b).await;
        assert_eq!(api(&server, "GET", "/customers?q=x", &t).await, 401);
        let _ = half;

        // A customer's token from the console's client: refused.
        server.add_identity("client@example.fr", PASSWORD).await;
        let mut c = Browser::new(&server.base);
        let _ = console_password(&mut c, "client@example.fr", PASSWORD).await;
        let t = console_token(&server, &mut c).await;
        assert_eq!(api(&server, "GET", "/customers?q=x", &t).await, 401);

        // Signing out of the console ends what its tokens may do.
        let c2 = csrf(&mut admin.browser).await;
        let out = admin
            .browser
            .post_form("/console/signout", &[("csrf_token", &c2)])
            .await;
        assert_eq!(out.status, 200);
        assert_eq!(api(&server, "GET", "/clients", &admin_token).await, 401);
    });
}

#[tokio::test]
async fn an_agent_resends_a_stuck_activation_and_the_customer_completes_it() {
    each_backend!(|server| {
        seed(&server).await;
        server.add_client(ClientSpec::portal("portal")).await;
        // The customer chose a login email three days ago and never used the link.
        let mut customer = Browser::new(&server.base);
        let r = upgrade_to_step_two(&server, &mut customer, "10000001", "jean@example.fr").await;
        assert!(r.status < 400, "{}", r.body);
        let first = server.mail_to("jean@example.fr", 1).await;
        // They opened it, and went no further.
        let opened = customer
            .get(&first.link(&server.url("/upgrade/verify")).unwrap())
            .await;
        assert_eq!(opened.status, 200);
        server.clock.advance(3 * 86_400);

        let agent = staff_browser(&server, "agent@example.fr", PASSWORD, StaffRole::Support).await;
        let mut a = agent.browser;
        // The dashboard counts the account as pending, and stuck after 2 days.
        let dash = a.get("/console?days=30&stuck_days=2").await;
        assert_eq!(dash.status, 200, "{}", dash.body);
        // The link expired (24 h): no longer pending, but stuck.
        assert!(
            dash.body.contains("id=\"count-pending\">0<"),
            "{}",
            dash.body
        );
        assert!(dash.body.contains("id=\"count-stuck\">1<"));
        assert!(
            dash.body.contains("id=\"count-legacy\">3<"),
            "{}",
            dash.body
        );
        assert!(dash.body.contains("<svg class=\"chart\""));
        let csv = a.get("/console/stuck.csv?stuck_days=2").await;
        assert_eq!(csv.status, 200);
        assert!(csv.body.contains("10000001"));

        let found = a.get("/console/customers?q=10000001").await;
        assert!(found.body.contains("/console/customers/10000001"));
        let page = a.get("/console/customers/10000001").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("il y a 3 jour(s)"), "{}", page.body);
        assert!(page.body.contains("ouvert le"), "{}", page.body);
        // Without a reason, nothing happens.
        let c = page.input("csrf_token").unwrap();
        let no_reason = a
            .post_form(
                "/console/customers/10000001/resend",
                &[("csrf_token", &c), ("reason", "")],
            )
            .await;
        assert_eq!(no_reason.status, 400);
        assert!(no_reason.body.contains("role=\"alert\""));
        let done = a
            .post_form(
                "/console/customers/10000001/resend",
                &[
                    ("csrf_token", &c),
                    ("reason", "appel du client, lien expiré"),
                ],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        let after = a.follow(done).await;
        assert!(after.body.contains("role=\"status\""));
        let resent = server
            .audit_events(AuditFilter {
                event_type: Some(gan_audit::EventType::ActivationResent),
                limit: 5,
                ..Default::default()
            })
            .await;
        let e = &resent[0];
        assert_eq!(e.actor.kind, gan_audit::ActorKind::Staff);
        assert_eq!(e.actor.id.as_deref(), Some(agent.identity_id.as_str()));
        assert_eq!(e.detail["reason"], "appel du client, lien expiré");

        // Resending again and again stops at the address's hourly allowance, before the link
        // that works is cancelled: the agent is told, the last link sent still works.
        let mut refused = None;
        for _ in 0..8 {
            let r = a
                .post_form(
                    "/console/customers/10000001/resend",
                    &[("csrf_token", &c), ("reason", "le client insiste")],
                )
                .await;
            if r.status != 303 {
                refused = Some(r);
                break;
            }
        }
        let refused = refused.expect("the mail allowance runs out");
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert!(refused.body.contains("role=\"alert\""));
        let sent = server
            .mails()
            .into_iter()
            .filter(|m| m.to == "jean@example.fr")
            .count();
        assert_eq!(
            sent,
            1 + 5,
            "the first, three days ago, then mails_per_hour"
        );

        // The customer completes the upgrade from the last mail; the first link is dead.
        let second = server.mail_to("jean@example.fr", sent).await;
        let link = second.link(&server.url("/upgrade/verify")).unwrap();
        let old = first.link(&server.url("/upgrade/verify")).unwrap();
        assert_ne!(link, old);
        let done = choose_password(&mut customer, &link, "Nouveau-mot-2027").await;
        assert!(done.status < 400, "{}", done.body);
        let page = a.get("/console/customers/10000001").await;
        assert!(
            page.body.contains("j***@example.fr"),
            "support sees it masked"
        );
        assert!(!page.body.contains("jean@example.fr"));
        // "Show" displays it, audited.
        let c = page.input("csrf_token").unwrap();
        let shown = a
            .post_form(
                "/console/customers/10000001/show-email",
                &[("csrf_token", &c)],
            )
            .await;
        assert!(shown.body.contains("jean@example.fr"));
        let shown_events = server
            .audit_types(AuditFilter {
                event_type: Some(gan_audit::EventType::ConsoleEmailShown),
                limit: 5,
                ..Default::default()
            })
            .await;
        assert_eq!(shown_events.len(), 1);
    });
}

#[tokio::test]
async fn an_agent_unlocks_a_throttled_customer() {
    each_backend!(|server| {
        seed(&server).await;
        server.add_client(ClientSpec::portal("portal")).await;
        let mut customer = Browser::new(&server.base);
        for _ in 0..10 {
            let _ = crate::journeys::sign_in_page(&server, &mut customer, "10000002", "faux").await;
        }
        let agent = staff_browser(&server, "agent@example.fr", PASSWORD, StaffRole::Support).await;
        let mut a = agent.browser;
        let page = a.get("/console/customers/10000002").await;
        assert!(page.body.contains("Verrouillé après"), "{}", page.body);
        let c = page.input("csrf_token").unwrap();
        let done = a
            .post_form(
                "/console/customers/10000002/unlock",
                &[
                    ("csrf_token", &c),
                    ("reason", "client identifié au téléphone"),
                ],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        let page = a.get("/console/customers/10000002").await;
        assert!(!page.body.contains("Verrouillé après"));
        // The customer signs in again with the legacy password.
        let r = crate::journeys::sign_in_page(
            &server,
            &mut customer,
            "10000002",
            crate::journeys::LEGACY,
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
    });
}

#[tokio::test]
async fn an_admin_creates_a_relying_party_and_rotates_its_secret() {
    each_backend!(|server| {
        let admin = staff_browser(&server, "chef@example.fr", PASSWORD, StaffRole::Admin).await;
        let mut a = admin.browser;
        let form = a.get("/console/clients/new").await;
        let c = form.input("csrf_token").unwrap();
        let fields = |redirect: &'static str| {
            vec![
                ("csrf_token", c.clone()),
                ("client_id", "espace-pro".to_string()),
                ("client_name", "Espace pro".to_string()),
                ("redirect_uris", redirect.to_string()),
                ("scopes", "openid accounts".to_string()),
                ("grant_types", "authorization_code".to_string()),
                (
                    "token_endpoint_auth_method",
                    "client_secret_basic".to_string(),
                ),
                ("access_token_format", "opaque".to_string()),
            ]
        };
        let refs = |f: &[(&'static str, String)]| -> Vec<(&'static str, String)> { f.to_vec() };
        let bad = refs(&fields("pas une uri"));
        let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let refused = a.post_form("/console/clients", &bad).await;
        assert_eq!(refused.status, 400);
        assert!(
            refused.body.contains("id=\"redirect_uris-error\""),
            "{}",
            refused.body
        );
        let good = refs(&fields("https://pro.example.fr/callback"));
        let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let created = a.post_form("/console/clients", &good).await;
        assert_eq!(created.status, 200, "{}", created.body);
        let first = secret_on(&created).expect("the secret, once");
        let rotated = a
            .post_form("/console/clients/espace-pro/secret", &[("csrf_token", &c)])
            .await;
        assert_eq!(rotated.status, 200);
        let second = secret_on(&rotated).unwrap();
        assert_ne!(first, second);
        let page = a.get("/console/clients/espace-pro").await;
        assert!(!page.body.contains(&second), "never shown again");
        assert_eq!(
            page.input("id_token_signed_response_alg").as_deref(),
            Some("RS256")
        );
        // The keys page says where each key stands.
        let keys = a.get("/console/keys").await;
        assert!(keys.body.contains("<td>signe</td>"), "{}", keys.body);
        let events = server
            .audit_events(AuditFilter {
                client_id: Some("espace-pro".into()),
                limit: 10,
                ..Default::default()
            })
            .await;
        assert!(events.iter().any(
            |e| e.event_type == gan_audit::EventType::ClientSecretRotated
                && e.actor.kind == gan_audit::ActorKind::Staff
        ));
    });
}
