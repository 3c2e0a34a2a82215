//! The authorization endpoint's refusals: which errors are shown on our page (never redirected)
//! and which go back to the verified redirect URI, as the specs say.

use gan_testkit::flows::authorize_url;
use gan_testkit::{each_backend, Browser, ClientSpec, REDIRECT};

#[tokio::test]
async fn errors_before_the_redirect_uri_is_verified_stay_on_our_page() {
    each_backend!(|server| {
        server.add_client(ClientSpec::portal("portal")).await;
        let mut b = Browser::new(&server.base);
        for url in [
            authorize_url(&server, "portal", &[])
                .replace("127.0.0.1%3A9%2Fcb", "evil.example%2Fcb"),
            authorize_url(&server, "nobody", &[]),
            server.url("/authorize?response_type=code&scope=openid"),
            authorize_url(&server, "portal", &[]).replace("redirect_uri=", "x="),
            // Prefix and suffix variants of a registered URI are not matches.
            authorize_url(&server, "portal", &[]).replace("%2Fcb", "%2Fcb%2F"),
            authorize_url(&server, "portal", &[]).replace("%2Fcb", "%2Fcb%3Fx%3D1"),
        ] {
            let r = b.get(&url).await;
            assert_eq!(r.status, 400, "{url}");
            assert!(r.location.is_none(), "never redirect for {url}");
            assert!(r.body.contains("role=\"alert\""));
            assert_eq!(r.headers["content-type"], "text/html; charset=utf-8");
        }
    });
}

#[tokio::test]
async fn errors_after_verification_are_redirected_with_state_and_iss() {
    each_backend!(|server| {
        server.add_client(ClientSpec::portal("portal")).await;
        let mut b = Browser::new(&server.base);
        let cases: Vec<(String, &str)> = vec![
            (
                authorize_url(&server, "portal", &[]).replace("response_type=code&", ""),
                "invalid_request",
            ),
            (
                authorize_url(&server, "portal", &[])
                    .replace("response_type=code", "response_type=token"),
                "unsupported_response_type",
            ),
            (
                authorize_url(&server, "portal", &[])
                    .replace("response_type=code", "response_type=code+id_token"),
                "unsupported_response_type",
            ),
            (
                authorize_url(&server, "portal", &[])
                    .replace("scope=openid+email+offline_access", "scope=email"),
                "invalid_scope",
            ),
            (
                authorize_url(&server, "portal", &[])
                    .replace("scope=openid+email+offline_access&", ""),
                "invalid_scope",
            ),
            (
                authorize_url(&server, "portal", &[]).replace(
                    "&code_challenge_method=S256",
                    "&code_challenge_method=plain",
                ),
                "invalid_request",
            ),
            (
                authorize_url(&server, "portal", &[]).replace("&code_challenge_method=S256", ""),
                "invalid_request",
            ),
            (
                authorize_url(&server, "portal", &[])
                    .split("&code_challenge=")
                    .next()
                    .unwrap()
                    .to_string(),
                "invalid_request",
            ),
            (
                authorize_url(&server, "portal", &[("prompt", "none")]),
                "login_required",
            ),
            (
                authorize_url(&server, "portal", &[("prompt", "none login")]),
                "invalid_request",
            ),
            (
                authorize_url(&server, "portal", &[("prompt", "select_account")]),
                "account_selection_required",
            ),
            (
                authorize_url(&server, "portal", &[("max_age", "-5")]),
                "invalid_request",
            ),
            (
                authorize_url(&server, "portal", &[("claims", "not json")]),
                "invalid_request",
            ),
            (
                authorize_url(&server, "portal", &[("id_token_hint", "a.b.c")]),
                "invalid_request",
            ),
            (
                authorize_url(
                    &server,
                    "portal",
                    &[("request", "eyJhbGciOiJub25lIn0.e30.")],
                ),
                "request_not_supported",
            ),
            (
                authorize_url(&server, "portal", &[("request_uri", "https://x.example/r")]),
                "request_uri_not_supported",
            ),
            (
                authorize_url(&server, "portal", &[("response_mode", "fragment")]),
                "invalid_request",
            ),
            (
                authorize_url(&server, "portal", &[("state", "again")]),
                "invalid_request",
            ),
        ];
        for (url, error) in cases {
            let r = b.get(&url).await;
            assert_eq!(r.status, 303, "{url}: {}", r.body);
            let loc = r.location.clone().unwrap();
            assert!(loc.starts_with(REDIRECT), "{loc}");
            assert_eq!(r.location_param("error").as_deref(), Some(error), "{url}");
            assert_eq!(
                r.location_param("iss").as_deref(),
                Some(server.base.as_str())
            );
            if !url.contains("state=again") {
                assert_eq!(r.location_param("state").as_deref(), Some("st-1"));
            }
            assert!(r.location_param("code").is_none());
        }
    });
}

#[tokio::test]
async fn unknown_parameters_are_ignored_and_post_works() {
    each_backend!(|server| {
        server.add_client(ClientSpec::portal("portal")).await;
        server
            .add_identity("p@example.fr", "a-good-password-1")
            .await;
        let mut b = Browser::new(&server.base);
        let url = authorize_url(
            &server,
            "portal",
            &[
                ("foo", "bar"),
                ("display", "touch"),
                ("ui_locales", "en"),
                ("login_hint", "p@example.fr"),
            ],
        );
        let r = b.get(&url).await;
        let page = b.follow(r).await;
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains("lang=\"en\""),
            "ui_locales=en gives an English page"
        );
        assert_eq!(
            page.input("identifier").as_deref(),
            Some("p@example.fr"),
            "login_hint prefills"
        );

        // The same request by POST.
        let query = url.split_once('?').unwrap().1.to_string();
        let res = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(server.url("/authorize"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(query.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        assert!(res.headers()["location"]
            .to_str()
            .unwrap()
            .contains("/interaction/"));

        // Parameters in the URL of a POST as well: refused, not merged or ignored.
        let res = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(server.url("/authorize?prompt=none"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(query)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
    });
}

#[tokio::test]
async fn max_age_and_prompt_login_force_a_new_sign_in() {
    each_backend!(|server| {
        server.add_client(ClientSpec::portal("portal")).await;
        server
            .add_identity("m@example.fr", "a-good-password-1")
            .await;
        let mut b = Browser::new(&server.base);
        let first = b
            .sign_in(
                &authorize_url(&server, "portal", &[]),
                "m@example.fr",
                "a-good-password-1",
            )
            .await;
        assert!(first.location_param("code").is_some());

        // A live session: no sign-in page.
        let silent = b
            .get(&authorize_url(&server, "portal", &[("prompt", "none")]))
            .await;
        assert!(
            silent.location_param("code").is_some(),
            "prompt=none with a session gives a code"
        );

        server.clock.advance(100);
        let r = b
            .get(&authorize_url(&server, "portal", &[("max_age", "10")]))
            .await;
        assert!(
            r.location.as_deref().unwrap().contains("/interaction/"),
            "max_age exceeded: sign in again"
        );
        let r = b
            .get(&authorize_url(&server, "portal", &[("max_age", "1000")]))
            .await;
        assert!(r.location_param("code").is_some());
        let r = b
            .get(&authorize_url(&server, "portal", &[("prompt", "login")]))
            .await;
        assert!(r.location.as_deref().unwrap().contains("/interaction/"));
        let r = b
            .get(&authorize_url(
                &server,
                "portal",
                &[("max_age", "10"), ("prompt", "none")],
            ))
            .await;
        assert_eq!(r.location_param("error").as_deref(), Some("login_required"));

        // Signing in again satisfies prompt=login, and auth_time moves.
        let again = b
            .sign_in(
                &authorize_url(&server, "portal", &[("prompt", "login")]),
                "m@example.fr",
                "a-good-password-1",
            )
            .await;
        assert!(
            again.location_param("code").is_some(),
            "{:?}",
            again.location
        );
    });
}

#[tokio::test]
async fn consent_for_third_party_clients_is_asked_once_and_can_be_denied() {
    each_backend!(|server| {
        let mut spec = ClientSpec::portal("third");
        spec.first_party = false;
        server.add_client(spec).await;
        server
            .add_identity("c@example.fr", "a-good-password-1")
            .await;
        let mut b = Browser::new(&server.base);
        let consent = b
            .sign_in(
                &authorize_url(&server, "third", &[]),
                "c@example.fr",
                "a-good-password-1",
            )
            .await;
        assert_eq!(consent.status, 200, "a consent page");
        assert!(consent.body.contains("name=\"decision\""));
        let action = consent.form_action().unwrap();
        let csrf = consent.input("csrf_token").unwrap();
        let denied = b
            .post_form(&action, &[("csrf_token", &csrf), ("decision", "deny")])
            .await;
        assert_eq!(
            denied.location_param("error").as_deref(),
            Some("access_denied")
        );
        assert_eq!(denied.location_param("state").as_deref(), Some("st-1"));

        let r = b.get(&authorize_url(&server, "third", &[])).await;
        let page = b.follow(r).await;
        assert!(page.body.contains("name=\"decision\""), "still no consent");
        let action = page.form_action().unwrap();
        let csrf = page.input("csrf_token").unwrap();
        let allowed = b
            .post_form(&action, &[("csrf_token", &csrf), ("decision", "allow")])
            .await;
        let allowed = b.follow(allowed).await;
        assert!(
            allowed.location_param("code").is_some(),
            "{:?} {}",
            allowed.location,
            allowed.body
        );

        let r = b
            .get(&authorize_url(&server, "third", &[("prompt", "none")]))
            .await;
        assert!(r.location_param("code").is_some(), "consent remembered");
        let r = b
            .get(&authorize_url(&server, "third", &[("prompt", "consent")]))
            .await;
        let page = b.follow(r).await;
        assert!(
            page.body.contains("name=\"decision\""),
            "prompt=consent asks again"
        );
    });
}

#[tokio::test]
async fn sign_in_page_refuses_wrong_passwords_forged_forms_and_other_browsers() {
    each_backend!(|server| {
        server.add_client(ClientSpec::portal("portal")).await;
        server
            .add_identity("w@example.fr", "a-good-password-1")
            .await;
        let mut b = Browser::new(&server.base);
        let r = b.get(&authorize_url(&server, "portal", &[])).await;
        let page = b.follow(r).await;
        let action = page.form_action().unwrap();
        let csrf = page.input("csrf_token").unwrap();

        let wrong = b
            .post_form(
                &action,
                &[
                    ("csrf_token", &csrf),
                    ("identifier", "w@example.fr"),
                    ("password", "nope"),
                ],
            )
            .await;
        assert_eq!(wrong.status, 401);
        assert!(wrong.body.contains("role=\"alert\""));
        let unknown = b
            .post_form(
                &action,
                &[
                    ("csrf_token", &csrf),
                    ("identifier", "nobody@example.fr"),
                    ("password", "nope"),
                ],
            )
            .await;
        assert_eq!(unknown.status, 401);
        assert_eq!(
            alert(&wrong.body),
            alert(&unknown.body),
            "unknown and wrong look the same"
        );

        let forged = b
            .post_form(
                &action,
                &[
                    ("csrf_token", "forged"),
                    ("identifier", "w@example.fr"),
                    ("password", "a-good-password-1"),
                ],
            )
            .await;
        assert_eq!(forged.status, 403);
        let missing = b
            .post_form(
                &action,
                &[
                    ("identifier", "w@example.fr"),
                    ("password", "a-good-password-1"),
                ],
            )
            .await;
        assert_eq!(missing.status, 403);

        // Another browser cannot finish this browser's request.
        let mut other = Browser::new(&server.base);
        let stolen = other.get(&action.replace("/login", "")).await;
        assert_eq!(stolen.status, 400);

        let ok = b
            .post_form(
                &action,
                &[
                    ("csrf_token", &csrf),
                    ("identifier", "w@example.fr"),
                    ("password", "a-good-password-1"),
                ],
            )
            .await;
        assert_eq!(ok.status, 303);
        let session = ok
            .headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|c| c.starts_with("gc_session="))
            .unwrap();
        assert!(
            session.contains("HttpOnly") && session.contains("SameSite=Lax"),
            "{session}"
        );
        let done = b.follow(ok).await;
        assert!(done.location_param("code").is_some());

        // The interaction is used up.
        let replay = b
            .post_form(
                &action,
                &[
                    ("csrf_token", &csrf),
                    ("identifier", "w@example.fr"),
                    ("password", "a-good-password-1"),
                ],
            )
            .await;
        assert_eq!(replay.status, 400);
    });
}

fn alert(body: &str) -> String {
    let at = body.find("role=\"alert\"").unwrap();
    body[at..at + body[at..].find("</div>").unwrap()].to_string()
}

#[tokio::test]
async fn the_claims_parameter_releases_individual_claims_where_asked() {
    use gan_testkit::flows::exchange;
    each_backend!(|server| {
        let secret = server
            .add_client(ClientSpec::portal("portal"))
            .await
            .unwrap();
        server
            .add_identity("k@example.fr", "a-good-password-1")
            .await;
        let mut b = Browser::new(&server.base);
        let claims =
            r#"{"id_token":{"email":{"essential":true}},"userinfo":{"email_verified":null}}"#;
        let url = authorize_url(&server, "portal", &[("claims", claims)])
            .replace("scope=openid+email+offline_access", "scope=openid");
        let back = b.sign_in(&url, "k@example.fr", "a-good-password-1").await;
        let (s, tokens) = exchange(
            &server,
            "portal",
            &secret,
            &back.location_param("code").unwrap(),
        )
        .await;
        assert_eq!(s, 200);
        assert_eq!(tokens["scope"], "openid");
        let id = gan_testkit::flows::jwt_part(tokens["id_token"].as_str().unwrap(), 1);
        assert_eq!(
            id["email"], "k@example.fr",
            "essential claim in the ID token"
        );
        assert!(id.get("email_verified").is_none());
        let info =
            gan_testkit::flows::userinfo(&server, tokens["access_token"].as_str().unwrap()).await;
        assert_eq!(info["email_verified"], true, "requested for userinfo");
        assert!(
            info.get("email").is_none(),
            "not requested for userinfo, and no email scope"
        );
    });
}

/// Issue 13 §3: `prompt=login` and `max_age` are satisfied only by a password checked in that
/// interaction — not by a consent form posted to it, not by a sign-in in the same second.
#[tokio::test]
async fn only_a_password_checked_in_the_interaction_satisfies_prompt_login_and_max_age() {
    each_backend!(|server| {
        let mut third = ClientSpec::portal("third");
        third.first_party = false;
        server.add_client(ClientSpec::portal("portal")).await;
        server.add_client(third).await;
        server
            .add_identity("r@example.fr", "a-good-password-1")
            .await;
        let mut b = Browser::new(&server.base);
        let first = b
            .sign_in(
                &authorize_url(&server, "portal", &[]),
                "r@example.fr",
                "a-good-password-1",
            )
            .await;
        assert!(first.location_param("code").is_some());

        // max_age=0 within the very second of the sign-in: sign in again; so do huge values.
        let r = b
            .get(&authorize_url(&server, "portal", &[("max_age", "0")]))
            .await;
        assert!(
            r.location.as_deref().unwrap().contains("/interaction/"),
            "max_age=0: {:?}",
            r.location
        );
        let r = b
            .get(&authorize_url(
                &server,
                "portal",
                &[("max_age", "4294967296")],
            ))
            .await;
        assert!(
            r.location_param("code").is_some(),
            "a valid max_age above 2^32"
        );

        // A consent form posted to an interaction that asks for a sign-in is refused, for a
        // first-party and a third-party client alike.
        for client in ["portal", "third"] {
            let r = b
                .get(&authorize_url(&server, client, &[("prompt", "login")]))
                .await;
            let page = b.follow(r).await;
            let action = page.form_action().unwrap();
            assert!(action.ends_with("/login"), "{action}");
            let consent = action.replace("/login", "/consent");
            let csrf = page.input("csrf_token").unwrap();
            let forged = b
                .post_form(
                    &consent,
                    &[("csrf_token", csrf.as_str()), ("decision", "allow")],
                )
                .await;
            assert!(
                forged.status >= 400,
                "{} {:?}",
                forged.status,
                forged.location
            );
            let resumed = b.follow(forged).await;
            assert!(
                resumed.location_param("code").is_none(),
                "{client}: no code without the password"
            );
        }
    });
}

/// Issue 14 §1: the `claims` parameter never widens what the client's registration allows,
/// what it asks within it is shown on the consent page, and `sub.value` and an essential `acr`
/// bind the answer.
#[tokio::test]
async fn the_claims_parameter_stays_within_the_registration_and_the_consent() {
    use gan_testkit::flows::{exchange, jwt_part, userinfo};
    each_backend!(|server| {
        let mut narrow = ClientSpec::portal("narrow");
        narrow.first_party = false;
        narrow.scopes = vec!["openid".into()];
        let narrow_secret = server.add_client(narrow).await.unwrap();
        let mut mail = ClientSpec::portal("mail");
        mail.first_party = false;
        mail.scopes = vec!["openid".into(), "email".into()];
        server.add_client(mail).await;
        server.add_client(ClientSpec::portal("portal")).await;
        let sub = server
            .add_identity("c@example.fr", "a-good-password-1")
            .await;
        let claims = r#"{"id_token":{"email":null,"accounts":null},"userinfo":{"accounts":null}}"#;
        let url = |client: &str, extra: &[(&str, &str)]| {
            authorize_url(&server, client, extra)
                .replace("scope=openid+email+offline_access", "scope=openid")
        };

        // Registered for openid only: the consent page lists nothing more, and nothing more
        // is released.
        let mut b = Browser::new(&server.base);
        let page = b
            .sign_in(
                &url("narrow", &[("claims", claims)]),
                "c@example.fr",
                "a-good-password-1",
            )
            .await;
        assert!(page.body.contains("name=\"decision\""), "{}", page.body);
        assert!(
            !page.body.contains("<li>"),
            "nothing to list: {}",
            page.body
        );
        let action = page.form_action().unwrap();
        let csrf = page.input("csrf_token").unwrap();
        let allowed = b
            .post_form(&action, &[("csrf_token", &csrf), ("decision", "allow")])
            .await;
        let back = b.follow(allowed).await;
        let code = back.location_param("code").unwrap();
        let (status, tokens) = exchange(&server, "narrow", &narrow_secret, &code).await;
        assert_eq!(status, 200, "{tokens}");
        assert_eq!(tokens["scope"], "openid");
        let id = jwt_part(tokens["id_token"].as_str().unwrap(), 1);
        assert!(
            id.get("email").is_none() && id.get("accounts").is_none(),
            "{id}"
        );
        let info = userinfo(&server, tokens["access_token"].as_str().unwrap()).await;
        assert!(info.get("accounts").is_none(), "{info}");

        // Registered for email: asked individually, it is on the consent page.
        let asked = b
            .get(&url(
                "mail",
                &[("claims", r#"{"id_token":{"email":null}}"#)],
            ))
            .await;
        let page = b.follow(asked).await;
        assert!(page.body.contains("name=\"decision\""), "{}", page.body);
        assert!(
            page.body.contains("<li>"),
            "the email is listed: {}",
            page.body
        );

        // sub.value names someone else than the signed-in person: a sign-in is asked, never a
        // code for another subject; under prompt=none, login_required.
        let other = r#"{"id_token":{"sub":{"value":"gc-someone-else"}}}"#;
        let r = b.get(&url("portal", &[("claims", other)])).await;
        assert!(r.location.as_deref().unwrap().contains("/interaction/"));
        let r = b
            .get(&url("portal", &[("claims", other), ("prompt", "none")]))
            .await;
        assert_eq!(r.location_param("error").as_deref(), Some("login_required"));
        let mine = format!(r#"{{"id_token":{{"sub":{{"value":"{sub}"}}}}}}"#);
        let r = b.get(&url("portal", &[("claims", &mine)])).await;
        assert!(r.location_param("code").is_some(), "{:?}", r.location);
        // Signing in as the wrong person in that interaction fails instead of looping.
        let mut fresh = Browser::new(&server.base);
        let r = fresh
            .sign_in(
                &url("portal", &[("claims", other)]),
                "c@example.fr",
                "a-good-password-1",
            )
            .await;
        assert_eq!(r.location_param("error").as_deref(), Some("access_denied"));

        // An essential acr this provider cannot satisfy.
        let acr = r#"{"id_token":{"acr":{"essential":true,"values":["urn:example:mfa"]}}}"#;
        let r = b.get(&url("portal", &[("claims", acr)])).await;
        assert_eq!(r.location_param("error").as_deref(), Some("access_denied"));
    });
}

/// Issue 14 §4: a native app registered with a loopback IP redirect URI may use any port
/// (RFC 8252 §7.3); path and query still match exactly; `localhost` is not a loopback literal.
#[tokio::test]
async fn loopback_redirect_uris_accept_any_port() {
    each_backend!(|server| {
        let mut native = ClientSpec::portal("native");
        native.auth_method = gan_oidc::model::AuthMethod::None;
        native.redirect_uris = vec![
            "http://127.0.0.1/callback".into(),
            "http://[::1]/callback".into(),
            "http://localhost/callback".into(),
        ];
        server.add_client(native).await;
        let mut b = Browser::new(&server.base);
        let with = |uri: &str| {
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            authorize_url(&server, "native", &[]).replace(
                &format!("redirect_uri={}", enc(REDIRECT)),
                &format!("redirect_uri={}", enc(uri)),
            )
        };
        for ok in [
            "http://127.0.0.1:51004/callback",
            "http://[::1]:51004/callback",
        ] {
            let r = b.get(&with(ok)).await;
            assert_eq!(r.status, 303, "{ok}: {}", r.body);
            assert!(r.location.unwrap().contains("/interaction/"), "{ok}");
        }
        for refused in [
            "http://127.0.0.1:0/callback",
            "http://localhost:51004/callback",
            "http://127.0.0.1:51004/callback/other",
            "http://127.0.0.1:51004/callback?x=1",
        ] {
            let r = b.get(&with(refused)).await;
            assert_eq!(r.status, 400, "{refused}");
            assert!(r.location.is_none(), "{refused}");
        }
        // A confidential client is no native app: its loopback URI matches exactly.
        server.add_client(ClientSpec::portal("server-side")).await;
        let other_port = authorize_url(&server, "server-side", &[])
            .replace("127.0.0.1%3A9%2Fcb", "127.0.0.1%3A10%2Fcb");
        assert!(other_port.contains("127.0.0.1%3A10%2Fcb"), "{other_port}");
        let r = b.get(&other_port).await;
        assert_eq!(r.status, 400, "{}", r.body);
    });
}

/// Issue 14 §2: an `id_token_hint` naming another person than the signed-in one, or signed by a
/// key we do not know, has one outcome per `prompt` value — never a loop.
#[tokio::test]
async fn an_id_token_hint_for_someone_else_has_a_defined_outcome() {
    use gan_testkit::flows::{code, exchange};
    each_backend!(|server| {
        let secret = server
            .add_client(ClientSpec::portal("portal"))
            .await
            .unwrap();
        server
            .add_identity("a@example.fr", "a-good-password-1")
            .await;
        server
            .add_identity("b@example.fr", "b-good-password-2")
            .await;
        // A's ID token, then B signed in in another browser.
        let mut a = Browser::new(&server.base);
        let c = code(
            &server,
            &mut a,
            "portal",
            "a@example.fr",
            "a-good-password-1",
        )
        .await;
        let (_, tokens) = exchange(&server, "portal", &secret, &c).await;
        let hint_a = tokens["id_token"].as_str().unwrap().to_string();
        let mut b = Browser::new(&server.base);
        code(
            &server,
            &mut b,
            "portal",
            "b@example.fr",
            "b-good-password-2",
        )
        .await;

        let with = |prompt: Option<&str>| {
            let mut extra = vec![("id_token_hint", hint_a.as_str())];
            if let Some(p) = prompt {
                extra.push(("prompt", p));
            }
            authorize_url(&server, "portal", &extra)
        };
        // prompt=none: login_required, back at the client.
        let r = b.get(&with(Some("none"))).await;
        assert_eq!(r.location_param("error").as_deref(), Some("login_required"));
        // Otherwise the sign-in page; B signing in again fails instead of asking forever, A
        // signing in gets the code.
        for prompt in [None, Some("login"), Some("consent")] {
            let r = b
                .sign_in(&with(prompt), "b@example.fr", "b-good-password-2")
                .await;
            assert_eq!(
                r.location_param("error").as_deref(),
                Some("access_denied"),
                "{prompt:?}: {:?}",
                r.location
            );
        }
        let mut fresh = Browser::new(&server.base);
        let r = fresh
            .sign_in(&with(None), "a@example.fr", "a-good-password-1")
            .await;
        assert!(r.location_param("code").is_some(), "{:?}", r.location);
        // A hint signed by a key we do not know: invalid_request, back at the client.
        let mut parts: Vec<&str> = hint_a.split('.').collect();
        parts[2] = "AAAA";
        let forged = parts.join(".");
        let r = b
            .get(&authorize_url(
                &server,
                "portal",
                &[("id_token_hint", &forged)],
            ))
            .await;
        assert_eq!(
            r.location_param("error").as_deref(),
            Some("invalid_request")
        );
    });
}
