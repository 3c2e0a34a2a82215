//! The Gan Connect journeys through the real pages and mail: J1 (upgrade from the legacy login,
//! resuming the relying party's request), J2 (email already used), J5 (forgotten credentials),
//! links (used, expired, tampered), throttling. SQLite, and PostgreSQL when `DATABASE_URL` is set.

use gan_testkit::flows::{authorize_url, exchange};
use gan_testkit::{each_backend, Browser, ClientSpec, Reply, TestServer};

pub(crate) const LEGACY: &str = "ancien mot de passe";
const NEW_PASSWORD: &str = "Velo-rouge-2026";
const TAKEN_MESSAGE: &str = "Email déjà utilisé, saisissez un nouvel email de connexion";

fn legacy_hash(salt: &str) -> String {
    gan_testkit::legacy_sha256(salt, LEGACY)
}

pub(crate) async fn seed(server: &TestServer) {
    let csv = format!(
        "client_number,kind,label,contact_email,legacy_hash\n\
         10000001,personal,Jean Dupont,famille.dupont@example.fr,{}\n\
         10000002,professional,Boulangerie Dupont,famille.dupont@example.fr,{}\n\
         10000003,personal,Marie Dupont,famille.dupont@example.fr,{}\n",
        legacy_hash("a"),
        legacy_hash("b"),
        legacy_hash("c")
    );
    let parsed = server.import(&csv).await;
    assert_eq!(parsed.rows.len(), 3);
}

/// Signs in at the sign-in page of a fresh authorization request.
pub(crate) async fn sign_in_page(
    server: &TestServer,
    b: &mut Browser,
    identifier: &str,
    password: &str,
) -> Reply {
    let r = b.get(&authorize_url(server, "portal", &[])).await;
    let page = b.follow(r).await;
    let action = page.form_action().unwrap();
    let csrf = page.input("csrf_token").unwrap();
    b.post_form(
        &action,
        &[
            ("csrf_token", &csrf),
            ("identifier", identifier),
            ("password", password),
        ],
    )
    .await
}

/// Step 1 and step 2: legacy sign-in, then choose `email`; returns the step-2 answer.
pub(crate) async fn upgrade_to_step_two(
    server: &TestServer,
    b: &mut Browser,
    number: &str,
    email: &str,
) -> Reply {
    let r = sign_in_page(server, b, number, LEGACY).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        r.location.as_deref(),
        Some(server.url("/upgrade/email").as_str())
    );
    let form = b.get("/upgrade/email").await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains(number));
    let csrf = form.input("csrf_token").unwrap();
    b.post_form("/upgrade/email", &[("csrf_token", &csrf), ("email", email)])
        .await
}

pub(crate) async fn choose_password(b: &mut Browser, link: &str, password: &str) -> Reply {
    let page = b.get(link).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.input("csrf_token").unwrap();
    let token = page.input("token").unwrap();
    let action = page.form_action().unwrap();
    b.post_form(
        &action,
        &[
            ("csrf_token", &csrf),
            ("token", &token),
            ("password", password),
            ("password_confirm", password),
        ],
    )
    .await
}

#[tokio::test]
async fn j1_upgrade_resumes_the_relying_party_and_retires_the_legacy_password() {
    each_backend!(|server| {
        let secret = server
            .add_client(ClientSpec::portal("portal"))
            .await
            .unwrap();
        seed(&server).await;
        let mut b = Browser::new(&server.base);
        let sent =
            upgrade_to_step_two(&server, &mut b, "10000001", "  Jean.Dupont@Example.FR ").await;
        assert_eq!(sent.status, 200, "{}", sent.body);
        assert!(
            sent.body.contains("j***@example.fr"),
            "the address is shown masked"
        );

        let mail = server.mail_to("jean.dupont@example.fr", 1).await;
        assert!(
            !mail.html.is_empty() && !mail.text.is_empty(),
            "HTML and text parts"
        );
        let link = mail
            .link(&server.url("/upgrade/verify?token="))
            .expect("an absolute link under the issuer");

        // The criteria are checked on the server too.
        let page = b.get(&link).await;
        let (csrf, token) = (
            page.input("csrf_token").unwrap(),
            page.input("token").unwrap(),
        );
        for weak in [
            "court1",
            "jean.dupont12345",
            "abc10000001xyz",
            "azerty123456",
        ] {
            let r = b
                .post_form(
                    "/upgrade/verify",
                    &[
                        ("csrf_token", &csrf),
                        ("token", &token),
                        ("password", weak),
                        ("password_confirm", weak),
                    ],
                )
                .await;
            assert_eq!(r.status, 400, "{weak}");
            assert!(r.body.contains("role=\"alert\""));
        }
        let mismatch = b
            .post_form(
                "/upgrade/verify",
                &[
                    ("csrf_token", &csrf),
                    ("token", &token),
                    ("password", NEW_PASSWORD),
                    ("password_confirm", "autre"),
                ],
            )
            .await;
        assert_eq!(mismatch.status, 400);

        let done = choose_password(&mut b, &link, NEW_PASSWORD).await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert!(
            done.location
                .as_deref()
                .unwrap()
                .contains("/authorize/resume/"),
            "the pending request resumes"
        );
        let back = b.follow(done).await;
        let code = back
            .location_param("code")
            .expect("back at the relying party with a code");
        let (s, tokens) = exchange(&server, "portal", &secret, &code).await;
        assert_eq!(s, 200);
        let info =
            gan_testkit::flows::userinfo(&server, tokens["access_token"].as_str().unwrap()).await;
        assert_eq!(info["email"], "jean.dupont@example.fr");
        assert!(!info["sub"].as_str().unwrap().contains("10000001"));

        // The link is used up.
        let again = b.get(&link).await;
        assert_eq!(again.status, 410);
        assert!(again.body.contains("role=\"alert\"") || again.body.contains("<h1>"));

        // The legacy password no longer signs in; the page names the new identifier, masked.
        let mut other = Browser::new(&server.base);
        let r = sign_in_page(&server, &mut other, "10000001", LEGACY).await;
        assert_eq!(r.status, 200);
        assert!(r.body.contains("j***@example.fr"), "{}", r.body);
        assert!(!r.body.contains("jean.dupont@example.fr"));
        // The email and new password do.
        let r = sign_in_page(&server, &mut other, "jean.dupont@example.fr", NEW_PASSWORD).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let r = other.follow(r).await;
        assert!(r.location_param("code").is_some());

        // Re-importing the file does not bring the legacy password back.
        seed(&server).await;
        let mut third = Browser::new(&server.base);
        let r = sign_in_page(&server, &mut third, "10000001", LEGACY).await;
        assert!(r.body.contains("j***@example.fr"));

        // The trail of the account: each upgrade step, then the refused legacy sign-ins.
        let by_number = gan_audit::AuditFilter {
            client_number: Some("10000001".into()),
            ..Default::default()
        };
        assert_eq!(
            server.audit_types(by_number).await,
            [
                "upgrade.started",
                "upgrade.email_chosen",
                // The link was opened twice (weak passwords tried, then the real one).
                "upgrade.link_opened",
                "upgrade.link_opened",
                "email.verified",
                "upgrade.completed",
                "signin.failed",
                "signin.failed"
            ]
        );
        let sub = info["sub"].as_str().unwrap().to_string();
        let by_identity = gan_audit::AuditFilter {
            identity_id: Some(sub),
            ..Default::default()
        };
        assert_eq!(
            server.audit_types(by_identity).await,
            [
                "email.verified",
                "upgrade.completed",
                "token.issued",
                "signin.succeeded"
            ]
        );
    });
}

#[tokio::test]
async fn j2_an_email_already_used_gets_the_exact_message_and_help() {
    each_backend!(|server| {
        server.add_client(ClientSpec::portal("portal")).await;
        seed(&server).await;
        server
            .add_identity("pris@example.fr", "Un-mot-de-passe-1")
            .await;
        let mut b = Browser::new(&server.base);
        let r = upgrade_to_step_two(&server, &mut b, "10000001", "  PRIS@Example.fr ").await;
        assert_eq!(r.status, 409);
        assert!(r.body.contains(TAKEN_MESSAGE), "{}", r.body);
        assert!(r.body.contains("role=\"alert\""));
        assert!(r.body.contains("Rattacher un compte"));
        assert!(server.mails().is_empty(), "no message for a taken email");
        let csrf = r.input("csrf_token").unwrap();
        let ok = b
            .post_form(
                "/upgrade/email",
                &[("csrf_token", &csrf), ("email", "autre@example.fr")],
            )
            .await;
        assert_eq!(ok.status, 200);
    });
}

#[tokio::test]
async fn two_browsers_racing_for_one_email_exactly_one_wins() {
    each_backend!(|server| {
        server.add_client(ClientSpec::portal("portal")).await;
        seed(&server).await;
        let mut a = Browser::new(&server.base);
        let mut b = Browser::new(&server.base);
        assert_eq!(
            upgrade_to_step_two(&server, &mut a, "10000001", "commun@example.fr")
                .await
                .status,
            200
        );
        assert_eq!(
            upgrade_to_step_two(&server, &mut b, "10000003", "commun@example.fr")
                .await
                .status,
            200
        );
        let link_a = server
            .mail_to("commun@example.fr", 1)
            .await
            .link(&server.url("/upgrade/verify"))
            .unwrap();
        let link_b = server
            .mail_to("commun@example.fr", 2)
            .await
            .link(&server.url("/upgrade/verify"))
            .unwrap();
        let page_a = a.get(&link_a).await;
        let page_b = b.get(&link_b).await;
        let form = |p: &Reply| (p.input("csrf_token").unwrap(), p.input("token").unwrap());
        let (ca, ta) = form(&page_a);
        let (cb, tb) = form(&page_b);
        let form_a = [
            ("csrf_token", ca.as_str()),
            ("token", ta.as_str()),
            ("password", NEW_PASSWORD),
            ("password_confirm", NEW_PASSWORD),
        ];
        let form_b = [
            ("csrf_token", cb.as_str()),
            ("token", tb.as_str()),
            ("password", NEW_PASSWORD),
            ("password_confirm", NEW_PASSWORD),
        ];
        let fa = a.post_form("/upgrade/verify", &form_a);
        let fb = b.post_form("/upgrade/verify", &form_b);
        let (ra, rb) = tokio::join!(fa, fb);
        let statuses = [ra.status, rb.status];
        assert!(statuses.contains(&303), "{statuses:?}");
        assert!(statuses.contains(&409), "{statuses:?}");
        let loser = if ra.status == 409 { &ra } else { &rb };
        assert!(loser.body.contains(TAKEN_MESSAGE));
    });
}

#[tokio::test]
async fn links_opened_elsewhere_expired_tampered_and_resent() {
    each_backend!(|server| {
        server.add_client(ClientSpec::portal("portal")).await;
        seed(&server).await;
        let mut b = Browser::new(&server.base);
        upgrade_to_step_two(&server, &mut b, "10000001", "ailleurs@example.fr").await;
        let link = server
            .mail_to("ailleurs@example.fr", 1)
            .await
            .link(&server.url("/upgrade/verify"))
            .unwrap();

        let tampered = b.get(&format!("{link}x")).await;
        assert_eq!(tampered.status, 404);
        let missing = b.get("/upgrade/verify").await;
        assert_eq!(missing.status, 404);

        server.clock.advance(24 * 3600 + 1);
        let expired = b.get(&link).await;
        assert_eq!(expired.status, 410);
        let csrf = expired.input("csrf_token").unwrap();
        let token = expired.input("token").unwrap();
        let resent = b
            .post_form(
                "/upgrade/resend",
                &[("csrf_token", &csrf), ("token", &token)],
            )
            .await;
        assert_eq!(resent.status, 200);
        let fresh = server
            .mail_to("ailleurs@example.fr", 2)
            .await
            .link(&server.url("/upgrade/verify"))
            .unwrap();
        assert_ne!(fresh, link);

        // Opened in another browser: the account is activated there.
        let mut phone = Browser::new(&server.base);
        let done = choose_password(&mut phone, &fresh, NEW_PASSWORD).await;
        assert_eq!(done.status, 200, "{}", done.body);
        assert!(done.body.contains("ailleurs@example.fr"));
    });
}

#[tokio::test]
async fn j5_forgotten_identifier_and_password_never_reveal_anything() {
    each_backend!(|server| {
        server.add_client(ClientSpec::portal("portal")).await;
        seed(&server).await;
        server
            .add_identity("connu@example.fr", "Un-mot-de-passe-1")
            .await;
        let mut b = Browser::new(&server.base);

        let known = post(
            &mut b,
            "/forgot/identifier",
            "email",
            "Famille.Dupont@example.fr",
        )
        .await;
        let unknown = post(&mut b, "/forgot/identifier", "email", "personne@example.fr").await;
        assert_eq!((known.status, unknown.status), (200, 200));
        assert_eq!(
            strip(&known.body),
            strip(&unknown.body),
            "the same page either way"
        );
        let reminder = server.mail_to("famille.dupont@example.fr", 1).await;
        for n in ["10000001", "10000002", "10000003"] {
            assert!(reminder.text.contains(n), "{}", reminder.text);
        }
        assert!(!server.mails().iter().any(|m| m.to == "personne@example.fr"));

        // Password reset for an email login.
        let r = post(&mut b, "/forgot/password", "identifier", "connu@example.fr").await;
        let nobody = post(
            &mut b,
            "/forgot/password",
            "identifier",
            "nobody@example.fr",
        )
        .await;
        assert_eq!(strip(&r.body), strip(&nobody.body));
        let link = server
            .mail_to("connu@example.fr", 1)
            .await
            .link(&server.url("/password/reset"))
            .unwrap();
        let done = choose_password(&mut b, &link, "Nouveau-secret-42").await;
        assert_eq!(done.status, 200, "{}", done.body);
        let r = sign_in_page(
            &server,
            &mut Browser::new(&server.base),
            "connu@example.fr",
            "Nouveau-secret-42",
        )
        .await;
        assert_eq!(r.status, 303);
        assert_eq!(b.get(&link).await.status, 410, "a reset link works once");

        // A client number not yet upgraded: a link to the contact email, straight to step 2.
        post(&mut b, "/forgot/password", "identifier", "10000002").await;
        let start = server
            .mail_to("famille.dupont@example.fr", 2)
            .await
            .link(&server.url("/upgrade/start"))
            .unwrap();
        let mut fresh = Browser::new(&server.base);
        // Opening the link shows one button; pressing it uses the link and opens step 2.
        let page = fresh.get(&start).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let fields = [
            ("csrf_token", page.input("csrf_token").unwrap()),
            ("token", page.input("token").unwrap()),
        ];
        let r = fresh
            .post_form("/upgrade/start", &as_refs_str(&fields))
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let form = fresh.follow(r).await;
        assert_eq!(form.status, 200);
        assert!(form.body.contains("10000002") && form.body.contains("name=\"email\""));
        assert_eq!(
            fresh.get(&start).await.status,
            410,
            "the start link works once"
        );
    });
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_across_servers_then_released() {
    use gan_testkit::{backends, TestDb};
    for backend in backends() {
        let db = TestDb::create(&backend).await;
        {
            let a = TestServer::start(&db, &[]).await;
            let b = TestServer::start(&db, &[]).await;
            // One time for both servers, as with synchronised hosts.
            b.clock.set(gan_oidc::clock::Clock::now(a.clock.as_ref()));
            a.add_client(ClientSpec::portal("portal")).await;
            seed(&a).await;
            a.add_identity("cible@example.fr", "Un-mot-de-passe-1")
                .await;
            let mut browser = Browser::new(&a.base);
            for _ in 0..3 {
                let r = sign_in_page(&a, &mut browser, "cible@example.fr", "faux").await;
                assert_eq!(r.status, 401);
            }
            // Blocked now, on the other server too, even with the right password.
            let r = sign_in_page(
                &b,
                &mut Browser::new(&b.base),
                "cible@example.fr",
                "Un-mot-de-passe-1",
            )
            .await;
            assert_eq!(r.status, 429, "{}", r.body);
            assert!(r.headers.contains_key("retry-after"));
            // The same answer for an identifier that does not exist.
            let mut x = Browser::new(&a.base);
            for _ in 0..3 {
                sign_in_page(&a, &mut x, "inconnu@example.fr", "faux").await;
            }
            let r = sign_in_page(&a, &mut x, "inconnu@example.fr", "faux").await;
            assert_eq!(r.status, 429);
            // Client numbers too.
            for _ in 0..3 {
                sign_in_page(&a, &mut x, "10000001", "faux").await;
            }
            assert_eq!(
                sign_in_page(&a, &mut x, "10000001", LEGACY).await.status,
                429
            );

            a.clock.advance(5);
            b.clock.advance(5);
            let r = sign_in_page(
                &b,
                &mut Browser::new(&b.base),
                "cible@example.fr",
                "Un-mot-de-passe-1",
            )
            .await;
            assert_eq!(r.status, 303, "released after the delay");
        }
        db.drop_db().await;
    }
}

#[tokio::test]
async fn pages_are_french_by_default_english_on_request_and_help_is_linked() {
    each_backend!(|server| {
        server.add_client(ClientSpec::portal("portal")).await;
        let mut b = Browser::new(&server.base);
        let r = b.get(&authorize_url(&server, "portal", &[])).await;
        let page = b.follow(r).await;
        assert!(page.body.contains("lang=\"fr\""));
        assert!(
            page.body.contains("Identifiant oublié ou inconnu")
                && page.body.contains("Mot de passe oublié ou inconnu")
        );
        assert!(page.body.contains("href=\"/help\""));
        let help = b.get("/help").await;
        assert_eq!(help.status, 200);
        assert!(help.body.contains("Aide à la connexion"));
        let switched = b.get("/lang?to=en&back=/help").await;
        assert_eq!(switched.status, 303);
        let help = b.get("/help").await;
        assert!(help.body.contains("lang=\"en\"") && help.body.contains("Sign-in help"));
        let evil = b.get("/lang?to=en&back=//evil.example/").await;
        assert_eq!(
            evil.location.as_deref(),
            Some(server.url("/help").as_str()),
            "no open redirect"
        );
    });
}

pub(crate) async fn post(b: &mut Browser, path: &str, field: &str, value: &str) -> Reply {
    let form = b.get(path).await;
    assert_eq!(form.status, 200);
    let csrf = form.input("csrf_token").unwrap();
    b.post_form(path, &[("csrf_token", &csrf), (field, value)])
        .await
}

fn strip(body: &str) -> String {
    body.lines()
        .filter(|l| !l.contains("csrf_token"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn email_sending_forms_are_rate_limited_per_address() {
    each_backend!(|server| {
        seed(&server).await;
        let mut b = Browser::new(&server.base);
        for _ in 0..7 {
            let r = post(
                &mut b,
                "/forgot/identifier",
                "email",
                "famille.dupont@example.fr",
            )
            .await;
            assert_eq!(r.status, 200, "the page is the same, limited or not");
        }
        // Messages are queued during the request, so the queue tells at once what was accepted
        // (recipients are masked at rest; this test mails no other f***@example.fr).
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        let queued = gan_store::entity::mail_queue::Entity::find()
            .filter(gan_store::entity::mail_queue::Column::Recipient.eq("f***@example.fr"))
            .count(&server.store.db)
            .await
            .unwrap();
        assert_eq!(queued, 5);
        server.mail_to("famille.dupont@example.fr", 5).await;
        // The window passes: messages flow again.
        server.clock.advance(3601);
        post(
            &mut b,
            "/forgot/identifier",
            "email",
            "famille.dupont@example.fr",
        )
        .await;
        server.mail_to("famille.dupont@example.fr", 6).await;
    });
}

/// The `accounts` claim of a fresh token for `client_id`, for the browser's signed-in identity.
async fn accounts_claim(
    server: &TestServer,
    b: &mut Browser,
    client_id: &str,
    secret: &str,
) -> Vec<String> {
    let url = authorize_url(server, client_id, &[])
        .replace("scope=openid+email+offline_access", "scope=openid+accounts");
    let r = b.get(&url).await;
    let code = r
        .location_param("code")
        .unwrap_or_else(|| panic!("{:?} {}", r.location, r.body));
    let (s, tokens) = exchange(server, client_id, secret, &code).await;
    assert_eq!(s, 200);
    let id = gan_testkit::flows::jwt_part(tokens["id_token"].as_str().unwrap(), 1);
    let info = gan_testkit::flows::userinfo(server, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(
        id["accounts"], info["accounts"],
        "the same accounts in the ID token and at userinfo"
    );
    // `client_numbers`: the same numbers, flat, in the same order, wherever `accounts` goes.
    let flat: Vec<&serde_json::Value> = id["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["client_number"])
        .collect();
    assert_eq!(
        id["client_numbers"]
            .as_array()
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        flat
    );
    assert_eq!(id["client_numbers"], info["client_numbers"]);
    id["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            format!(
                "{}:{}",
                a["client_number"].as_str().unwrap(),
                a["kind"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn j3_attach_an_account_and_the_accounts_claim() {
    each_backend!(|server| {
        let secret = server
            .add_client(ClientSpec::portal("portal"))
            .await
            .unwrap();
        let mut pro = ClientSpec::portal("pro-portal");
        pro.account_kinds = vec!["professional".into()];
        let pro_secret = server.add_client(pro).await.unwrap();
        seed(&server).await;
        let mut b = Browser::new(&server.base);
        upgrade_to_step_two(&server, &mut b, "10000001", "jean@example.fr").await;
        let link = server
            .mail_to("jean@example.fr", 1)
            .await
            .link(&server.url("/upgrade/verify"))
            .unwrap();
        let done = choose_password(&mut b, &link, NEW_PASSWORD).await;
        b.follow(done).await;
        assert_eq!(
            accounts_claim(&server, &mut b, "portal", &secret).await,
            vec!["10000001:personal"]
        );
        // No professional account yet: the professional portal is told at once, interactive or
        // not (OIDC Core §3.1.2.6), never given an empty claim.
        for extra in [&[][..], &[("prompt", "none")][..]] {
            let refused = b.get(&authorize_url(&server, "pro-portal", extra)).await;
            let back = refused.location.clone().unwrap_or_default();
            assert!(back.starts_with(gan_testkit::REDIRECT), "{back}");
            assert_eq!(
                refused.location_param("error").as_deref(),
                Some("access_denied")
            );
            assert_eq!(refused.location_param("state").as_deref(), Some("st-1"));
            assert!(refused.location_param("iss").is_some(), "{back}");
        }

        let page = b.get("/account").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("10000001") && page.body.contains("Rattacher un compte"));
        let csrf = page.input("csrf_token").unwrap();
        let post = |number: &str, password: &str| {
            vec![
                ("csrf_token".to_string(), csrf.clone()),
                ("client_number".to_string(), number.to_string()),
                ("password".to_string(), password.to_string()),
            ]
        };
        let wrong = b
            .post_form("/account/attach", &as_refs(&post("10000002", "faux")))
            .await;
        assert_eq!(wrong.status, 401);
        let ok = b
            .post_form("/account/attach", &as_refs(&post("10000002", LEGACY)))
            .await;
        assert_eq!(ok.status, 200, "{}", ok.body);
        assert!(ok.body.contains("10000002"));
        let mut got = accounts_claim(&server, &mut b, "portal", &secret).await;
        got.sort();
        assert_eq!(
            got,
            vec!["10000001:personal", "10000002:professional"],
            "a token issued after attaching lists both"
        );
        assert_eq!(
            accounts_claim(&server, &mut b, "pro-portal", &pro_secret).await,
            vec!["10000002:professional"],
            "a kind-restricted client sees only its kind"
        );

        let limit = b
            .post_form("/account/attach", &as_refs(&post("10000003", LEGACY)))
            .await;
        assert_eq!(
            limit.status, 409,
            "one personal account per login by default"
        );
        let mine = b
            .post_form("/account/attach", &as_refs(&post("10000002", LEGACY)))
            .await;
        assert_eq!(mine.status, 200);

        // Someone else cannot take an attached account.
        let mut other = Browser::new(&server.base);
        upgrade_to_step_two(&server, &mut other, "10000003", "marie@example.fr").await;
        let link = server
            .mail_to("marie@example.fr", 1)
            .await
            .link(&server.url("/upgrade/verify"))
            .unwrap();
        choose_password(&mut other, &link, NEW_PASSWORD).await;
        let page = other.get("/account").await;
        let csrf2 = page.input("csrf_token").unwrap();
        let taken = other
            .post_form(
                "/account/attach",
                &[
                    ("csrf_token", csrf2.as_str()),
                    ("client_number", "10000002"),
                    ("password", LEGACY),
                ],
            )
            .await;
        assert_eq!(taken.status, 409);

        let anonymous = Browser::new(&server.base).get("/account").await;
        assert_eq!(anonymous.status, 401);
    });
}

fn as_refs_str<'a>(form: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
    form.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn as_refs(form: &[(String, String)]) -> Vec<(&str, &str)> {
    form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Signs `email` in at the portal in a fresh browser (a session of its own).
pub(crate) async fn signed_in_browser(server: &TestServer, email: &str, password: &str) -> Browser {
    let mut b = Browser::new(&server.base);
    let r = sign_in_page(server, &mut b, email, password).await;
    assert_eq!(r.status, 303, "{}", r.body);
    b.follow(r).await;
    b
}

pub(crate) async fn account_post(b: &mut Browser, path: &str, fields: &[(&str, &str)]) -> Reply {
    let page = b.get("/account").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.input("csrf_token").unwrap();
    let mut form = vec![("csrf_token", csrf.as_str())];
    form.extend_from_slice(fields);
    b.post_form(path, &form).await
}

#[tokio::test]
async fn j4_password_email_and_sessions() {
    each_backend!(|server| {
        server.add_client(ClientSpec::portal("portal")).await;
        server
            .add_identity("gerer@example.fr", "Ancien-mot-2026")
            .await;
        server
            .add_identity("occupe@example.fr", "Autre-mot-2026")
            .await;
        let mut laptop = signed_in_browser(&server, "gerer@example.fr", "Ancien-mot-2026").await;
        let mut phone = signed_in_browser(&server, "gerer@example.fr", "Ancien-mot-2026").await;
        let page = laptop.get("/account").await;
        assert_eq!(
            page.body.matches("name=\"sid\"").count(),
            1,
            "the other session can be ended from here"
        );
        // End that one session from the list (a third browser shows it stays targeted).
        server.clock.advance(1);
        let mut spare = signed_in_browser(&server, "gerer@example.fr", "Ancien-mot-2026").await;
        let page = laptop.get("/account").await;
        assert_eq!(page.body.matches("name=\"sid\"").count(), 2);
        let spare_sid = {
            // The newest other session is listed first.
            page.input("sid").unwrap()
        };
        let ended = account_post(
            &mut laptop,
            "/account/sessions/end",
            &[("sid", spare_sid.as_str())],
        )
        .await;
        assert_eq!(ended.status, 200);
        assert_eq!(
            spare.get("/account").await.status,
            401,
            "that session is over"
        );
        assert_eq!(
            phone.get("/account").await.status,
            200,
            "the others are not"
        );
        let foreign =
            account_post(&mut laptop, "/account/sessions/end", &[("sid", "not-mine")]).await;
        assert_eq!(foreign.status, 200, "an unknown sid ends nothing");

        // Password change: the current password is required; other sessions end.
        let wrong = account_post(
            &mut laptop,
            "/account/password",
            &[
                ("current_password", "faux"),
                ("password", "Nouveau-mot-2027"),
                ("password_confirm", "Nouveau-mot-2027"),
            ],
        )
        .await;
        assert_eq!(wrong.status, 401);
        let weak = account_post(
            &mut laptop,
            "/account/password",
            &[
                ("current_password", "Ancien-mot-2026"),
                ("password", "court"),
                ("password_confirm", "court"),
            ],
        )
        .await;
        assert_eq!(weak.status, 400);
        let ok = account_post(
            &mut laptop,
            "/account/password",
            &[
                ("current_password", "Ancien-mot-2026"),
                ("password", "Nouveau-mot-2027"),
                ("password_confirm", "Nouveau-mot-2027"),
            ],
        )
        .await;
        assert_eq!(ok.status, 200, "{}", ok.body);
        assert_eq!(
            phone.get("/account").await.status,
            401,
            "the other session was ended"
        );
        assert_eq!(
            sign_in_page(
                &server,
                &mut Browser::new(&server.base),
                "gerer@example.fr",
                "Nouveau-mot-2027"
            )
            .await
            .status,
            303
        );

        // Email change: uniqueness, then a link to the new address; nothing changes before.
        let taken = account_post(
            &mut laptop,
            "/account/email",
            &[
                ("email", " OCCUPE@example.fr"),
                ("current_password", "Nouveau-mot-2027"),
            ],
        )
        .await;
        assert_eq!(taken.status, 409);
        assert!(taken.body.contains(TAKEN_MESSAGE));
        let sent = account_post(
            &mut laptop,
            "/account/email",
            &[
                ("email", "nouveau@example.fr"),
                ("current_password", "Nouveau-mot-2027"),
            ],
        )
        .await;
        assert_eq!(sent.status, 200, "{}", sent.body);
        assert_eq!(
            sign_in_page(
                &server,
                &mut Browser::new(&server.base),
                "gerer@example.fr",
                "Nouveau-mot-2027"
            )
            .await
            .status,
            303,
            "unchanged until the link is opened"
        );
        let mut tablet = signed_in_browser(&server, "gerer@example.fr", "Nouveau-mot-2027").await;
        let link = server
            .mail_to("nouveau@example.fr", 1)
            .await
            .link(&server.url("/account/email/verify"))
            .unwrap();
        // Opening the link changes nothing (mail scanners open links): a page with one button.
        let confirm = laptop.get(&link).await;
        assert_eq!(confirm.status, 200, "{}", confirm.body);
        assert_eq!(tablet.get("/account").await.status, 200, "nothing yet");
        let fields = [
            ("csrf_token", confirm.input("csrf_token").unwrap()),
            ("token", confirm.input("token").unwrap()),
        ];
        let done = laptop
            .post_form("/account/email/verify", &as_refs_str(&fields))
            .await;
        assert_eq!(done.status, 200, "{}", done.body);
        let notice = server.mail_to("gerer@example.fr", 1).await;
        assert!(
            notice.text.contains("n***@example.fr"),
            "a notice to the old address"
        );
        assert_eq!(
            tablet.get("/account").await.status,
            401,
            "sessions elsewhere end"
        );
        assert_eq!(laptop.get("/account").await.status, 200, "this one stays");
        assert_eq!(
            sign_in_page(
                &server,
                &mut Browser::new(&server.base),
                "nouveau@example.fr",
                "Nouveau-mot-2027"
            )
            .await
            .status,
            303
        );
        assert_eq!(
            sign_in_page(
                &server,
                &mut Browser::new(&server.base),
                "gerer@example.fr",
                "Nouveau-mot-2027"
            )
            .await
            .status,
            401
        );
        assert_eq!(laptop.get(&link).await.status, 410, "single use");

        // End all other sessions.
        let mut other = signed_in_browser(&server, "nouveau@example.fr", "Nouveau-mot-2027").await;
        let r = account_post(&mut laptop, "/account/sessions/end-others", &[]).await;
        assert_eq!(r.status, 200);
        assert_eq!(other.get("/account").await.status, 401);

        // Each change is in the trail, failures included.
        let sub = server
            .state
            .accounts
            .identity_by_email("nouveau@example.fr")
            .await
            .unwrap()
            .unwrap()
            .id;
        let types = server
            .audit_types(gan_audit::AuditFilter {
                identity_id: Some(sub),
                ..Default::default()
            })
            .await;
        let changes: Vec<&str> = types
            .iter()
            .copied()
            .filter(|t| !t.starts_with("signin.") && *t != "session.ended")
            .collect();
        assert_eq!(
            changes,
            [
                "password.changed",
                "password.changed",
                "access.cut_off",
                "email.verified",
                "login_email.changed",
                "access.cut_off"
            ]
        );
        assert_eq!(
            types.iter().filter(|t| **t == "session.ended").count(),
            2,
            "{types:?}"
        );
    });
}

#[tokio::test]
async fn attach_needs_a_recent_sign_in_races_have_one_winner_and_limits_are_configurable() {
    use gan_testkit::{backends, TestDb};
    for backend in backends() {
        let db = TestDb::create(&backend).await;
        {
            let server = TestServer::start(
                &db,
                &[("GAN_CONNECT__ACCOUNTS__MAX_PERSONAL_ACCOUNTS", "2")],
            )
            .await;
            server.add_client(ClientSpec::portal("portal")).await;
            seed(&server).await;
            server
                .add_identity("un@example.fr", "Premier-mot-2026")
                .await;
            server
                .add_identity("deux@example.fr", "Second-mot-2026")
                .await;
            let mut one = signed_in_browser(&server, "un@example.fr", "Premier-mot-2026").await;
            let mut two = signed_in_browser(&server, "deux@example.fr", "Second-mot-2026").await;

            // Two identities attach the same account at once: exactly one wins.
            let p1 = one.get("/account").await.input("csrf_token").unwrap();
            let p2 = two.get("/account").await.input("csrf_token").unwrap();
            let f1 = [
                ("csrf_token", p1.as_str()),
                ("client_number", "10000001"),
                ("password", LEGACY),
            ];
            let f2 = [
                ("csrf_token", p2.as_str()),
                ("client_number", "10000001"),
                ("password", LEGACY),
            ];
            let (r1, r2) = tokio::join!(
                one.post_form("/account/attach", &f1),
                two.post_form("/account/attach", &f2)
            );
            let mut statuses = [r1.status, r2.status];
            statuses.sort();
            assert_eq!(statuses, [200, 409], "exactly one attach wins");

            // The limit is configurable: two personal accounts here.
            let winner = if r1.status == 200 { &mut one } else { &mut two };
            let again = account_post(
                winner,
                "/account/attach",
                &[("client_number", "10000003"), ("password", LEGACY)],
            )
            .await;
            assert_eq!(again.status, 200, "{}", again.body);

            // Eleven minutes later, attaching asks for the password again.
            server.clock.advance(11 * 60);
            let mut late = signed_in_browser(&server, "deux@example.fr", "Second-mot-2026").await;
            server.clock.advance(11 * 60);
            let asked = account_post(
                &mut late,
                "/account/attach",
                &[("client_number", "10000002"), ("password", LEGACY)],
            )
            .await;
            assert_eq!(asked.status, 401);
            assert!(asked.body.contains("action=\"/account/reauth\""));
            let csrf = asked.input("csrf_token").unwrap();
            let wrong = late
                .post_form(
                    "/account/reauth",
                    &[("csrf_token", csrf.as_str()), ("password", "faux")],
                )
                .await;
            assert_eq!(wrong.status, 401);
            let ok = late
                .post_form(
                    "/account/reauth",
                    &[
                        ("csrf_token", csrf.as_str()),
                        ("password", "Second-mot-2026"),
                    ],
                )
                .await;
            assert_eq!(ok.status, 303);
            let attached = account_post(
                &mut late,
                "/account/attach",
                &[("client_number", "10000002"), ("password", LEGACY)],
            )
            .await;
            assert_eq!(attached.status, 200, "{}", attached.body);
        }
        db.drop_db().await;
    }
}

/// Issue 16: a portal's "Gérer mon compte" link (`/account?client_id=…`) gets a "Retour à
/// <portal>" link back to a URI that portal registered, kept across the page's forms; an
/// unknown or disabled client gets none (no open redirect). The help page says where the login
/// email is changed.
#[tokio::test]
async fn the_account_page_leads_back_to_the_portal_it_was_opened_from() {
    each_backend!(|server| {
        server.add_client(ClientSpec::portal("portal")).await;
        server.add_identity("back@example.fr", NEW_PASSWORD).await;
        let mut b = Browser::new(&server.base);
        let c = gan_testkit::flows::authorize_url(&server, "portal", &[]);
        b.sign_in(&c, "back@example.fr", NEW_PASSWORD).await;

        let plain = b.get("/account").await;
        assert_eq!(plain.status, 200);
        assert!(!plain.body.contains("Retour à"), "no portal named: no link");
        for bogus in ["nobody", "https%3A%2F%2Fevil.example"] {
            let page = b.get(&format!("/account?client_id={bogus}")).await;
            assert_eq!(page.status, 200);
            assert!(!page.body.contains("Retour à"), "{bogus}");
        }
        let page = b.get("/account?client_id=portal").await;
        assert!(
            page.body.contains("Retour à Client portal"),
            "{}",
            page.body
        );
        let href = page
            .body
            .split("class=\"button\" href=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap()
            .replace("&#x2f;", "/");
        assert_eq!(
            href,
            gan_testkit::POST_LOGOUT,
            "a URI the portal registered"
        );
        // The link stays while the person uses the page's forms.
        let csrf = page.input("csrf_token").unwrap();
        let after = b
            .post_form(
                "/account/attach",
                &[
                    ("csrf_token", csrf.as_str()),
                    ("client_number", "00000000"),
                    ("password", "x"),
                ],
            )
            .await;
        assert!(
            after.body.contains("Retour à Client portal"),
            "{}",
            after.body
        );

        let help = b.get("/help").await;
        assert!(
            help.body.contains("Gérer mon compte")
                && help.body.contains("Modifier mon email de connexion"),
            "{}",
            help.body
        );
    });
}
