//! The token, userinfo, introspection and revocation endpoints under misuse: replays, expiry,
//! reuse, bad clients and bad bodies.

use gan_testkit::flows::{active, code, exchange, token, VERIFIER};
use gan_testkit::{each_backend, Browser, ClientSpec, REDIRECT};

const EMAIL: &str = "t@example.fr";
const PASSWORD: &str = "a-good-password-1";

#[tokio::test]
async fn a_replayed_code_fails_and_revokes_what_it_issued() {
    each_backend!(|server| {
        let secret = server
            .add_client(ClientSpec::portal("portal"))
            .await
            .unwrap();
        server.add_identity(EMAIL, PASSWORD).await;
        let mut b = Browser::new(&server.base);
        let c = code(&server, &mut b, "portal", EMAIL, PASSWORD).await;
        let (s, first) = exchange(&server, "portal", &secret, &c).await;
        assert_eq!(s, 200);
        let access = first["access_token"].as_str().unwrap();
        let refresh = first["refresh_token"].as_str().unwrap();
        assert!(active(&server, "portal", &secret, access).await);

        let (s, body) = exchange(&server, "portal", &secret, &c).await;
        assert_eq!((s, body["error"].as_str()), (400, Some("invalid_grant")));
        assert!(
            !active(&server, "portal", &secret, access).await,
            "access token revoked by the replay"
        );
        assert!(
            !active(&server, "portal", &secret, refresh).await,
            "refresh token revoked by the replay"
        );
    });
}

#[tokio::test]
async fn codes_expire_after_sixty_seconds_and_bind_client_redirect_and_verifier() {
    each_backend!(|server| {
        let secret = server
            .add_client(ClientSpec::portal("portal"))
            .await
            .unwrap();
        let other = server
            .add_client(ClientSpec::portal("other"))
            .await
            .unwrap();
        server.add_identity(EMAIL, PASSWORD).await;
        let mut b = Browser::new(&server.base);

        let c = code(&server, &mut b, "portal", EMAIL, PASSWORD).await;
        server.clock.advance(61);
        let (s, body) = exchange(&server, "portal", &secret, &c).await;
        assert_eq!(
            (s, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "expired"
        );

        let c = code(&server, &mut b, "portal", EMAIL, PASSWORD).await;
        let (s, body) = exchange(&server, "other", &other, &c).await;
        assert_eq!(
            (s, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "another client"
        );

        for form in [
            vec![
                ("grant_type", "authorization_code"),
                ("redirect_uri", "http://127.0.0.1:9/other"),
                ("code_verifier", VERIFIER),
            ],
            vec![
                ("grant_type", "authorization_code"),
                ("redirect_uri", REDIRECT),
                (
                    "code_verifier",
                    "wrong-verifier-0123456789-abcdefghijklmnopqrstuvwxyz",
                ),
            ],
            vec![
                ("grant_type", "authorization_code"),
                ("redirect_uri", REDIRECT),
            ],
        ] {
            let c = code(&server, &mut b, "portal", EMAIL, PASSWORD).await;
            let mut form = form.clone();
            form.push(("code", &c));
            let (s, body, _) = token(&server, "portal", &secret, &form).await;
            assert_eq!(
                (s, body["error"].as_str()),
                (400, Some("invalid_grant")),
                "{form:?}"
            );
        }
        let (s, body, _) = token(
            &server,
            "portal",
            &secret,
            &[
                ("grant_type", "authorization_code"),
                ("code", "made-up"),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
        assert_eq!((s, body["error"].as_str()), (400, Some("invalid_grant")));
    });
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    each_backend!(|server| {
        let secret = server
            .add_client(ClientSpec::portal("portal"))
            .await
            .unwrap();
        server.add_identity(EMAIL, PASSWORD).await;
        let mut b = Browser::new(&server.base);
        let c = code(&server, &mut b, "portal", EMAIL, PASSWORD).await;
        let (_, first) = exchange(&server, "portal", &secret, &c).await;
        let r1 = first["refresh_token"].as_str().unwrap().to_string();

        let (s, second, headers) = token(
            &server,
            "portal",
            &secret,
            &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
        )
        .await;
        assert_eq!(s, 200);
        assert_eq!(headers["cache-control"], "no-store");
        assert!(second["id_token"].is_string());
        let r2 = second["refresh_token"].as_str().unwrap().to_string();
        let a2 = second["access_token"].as_str().unwrap().to_string();
        assert_ne!(r1, r2);

        let (s, body, _) = token(
            &server,
            "portal",
            &secret,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &r2),
                ("scope", "openid email profile accounts"),
            ],
        )
        .await;
        assert_eq!(
            (s, body["error"].as_str()),
            (400, Some("invalid_scope")),
            "no widening on refresh"
        );

        // r1 is presented again: reuse.
        let (s, body, _) = token(
            &server,
            "portal",
            &secret,
            &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
        )
        .await;
        assert_eq!((s, body["error"].as_str()), (400, Some("invalid_grant")));
        assert!(
            !active(&server, "portal", &secret, &r2).await,
            "the family is revoked"
        );
        assert!(!active(&server, "portal", &secret, &a2).await);
        let (s, _, _) = token(
            &server,
            "portal",
            &secret,
            &[("grant_type", "refresh_token"), ("refresh_token", &r2)],
        )
        .await;
        assert_eq!(s, 400);
    });
}

#[tokio::test]
async fn client_authentication_failures() {
    each_backend!(|server| {
        let secret = server
            .add_client(ClientSpec::partner("partner"))
            .await
            .unwrap();
        let (s, body, headers) = token(
            &server,
            "partner",
            "wrong-secret",
            &[("grant_type", "client_credentials")],
        )
        .await;
        assert_eq!((s, body["error"].as_str()), (401, Some("invalid_client")));
        assert!(headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic"));
        let (s, body, _) = token(
            &server,
            "ghost",
            "whatever",
            &[("grant_type", "client_credentials")],
        )
        .await;
        assert_eq!((s, body["error"].as_str()), (401, Some("invalid_client")));

        let http = reqwest::Client::new();
        // client_secret_post for a client registered for client_secret_basic: refused.
        let res = http
            .post(server.url("/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "partner"),
                ("client_secret", secret.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        // Two methods at once.
        let res = http
            .post(server.url("/token"))
            .basic_auth("partner", Some(&secret))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_secret", secret.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);

        let (s, body, headers) = token(
            &server,
            "partner",
            &secret,
            &[("grant_type", "client_credentials")],
        )
        .await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(headers["pragma"], "no-cache");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["scope"], "partner:read");
        assert!(body.get("id_token").is_none() && body.get("refresh_token").is_none());
        let at = body["access_token"].as_str().unwrap();
        assert!(active(&server, "partner", &secret, at).await);
        let (s, body, _) = token(
            &server,
            "partner",
            &secret,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "admin:write"),
            ],
        )
        .await;
        assert_eq!((s, body["error"].as_str()), (400, Some("invalid_scope")));
        let (s, body, _) = token(
            &server,
            "partner",
            &secret,
            &[("grant_type", "authorization_code"), ("code", "x")],
        )
        .await;
        assert_eq!(
            (s, body["error"].as_str()),
            (400, Some("unauthorized_client"))
        );
        let (s, body, _) = token(&server, "partner", &secret, &[("grant_type", "password")]).await;
        assert_eq!(
            (s, body["error"].as_str()),
            (400, Some("unsupported_grant_type"))
        );
        let (s, body, _) = token(&server, "partner", &secret, &[]).await;
        assert_eq!((s, body["error"].as_str()), (400, Some("invalid_request")));

        // A client-credentials token has no user: userinfo refuses it.
        let res = http
            .get(server.url("/userinfo"))
            .bearer_auth(at)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    });
}

#[tokio::test]
async fn malformed_and_oversized_bodies() {
    each_backend!(|server| {
        let secret = server
            .add_client(ClientSpec::partner("partner"))
            .await
            .unwrap();
        let http = reqwest::Client::new();
        let res = http
            .post(server.url("/token"))
            .basic_auth("partner", Some(&secret))
            .header("content-type", "application/json")
            .body(r#"{"grant_type":"client_credentials"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request");

        let res = http
            .post(server.url("/token"))
            .basic_auth("partner", Some(&secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(vec![0xff, 0xfe, b'=', 0x80])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);

        let huge = format!("grant_type=client_credentials&pad={}", "a".repeat(200_000));
        let res = http
            .post(server.url("/token"))
            .basic_auth("partner", Some(&secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(huge)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 413);

        let res = http
            .post(server.url("/token"))
            .basic_auth("partner", Some(&secret))
            .form(&[
                ("grant_type", "client_credentials"),
                ("grant_type", "client_credentials"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "repeated parameters");

        // Garbage Authorization headers.
        for h in ["Basic", "Basic !!!", "Basic Zm9v", "Bearer x"] {
            let res = http
                .post(server.url("/token"))
                .header("authorization", h)
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap();
            assert!(
                res.status() == 401 || res.status() == 400,
                "{h}: {}",
                res.status()
            );
        }
    });
}

#[tokio::test]
async fn userinfo_bearer_rules() {
    each_backend!(|server| {
        let secret = server
            .add_client(ClientSpec::portal("portal"))
            .await
            .unwrap();
        let sub = server.add_identity(EMAIL, PASSWORD).await;
        let mut b = Browser::new(&server.base);
        let c = code(&server, &mut b, "portal", EMAIL, PASSWORD).await;
        let (_, tokens) = exchange(&server, "portal", &secret, &c).await;
        let at = tokens["access_token"].as_str().unwrap();
        let http = reqwest::Client::new();

        let res = http.get(server.url("/userinfo")).send().await.unwrap();
        assert_eq!(res.status(), 401);
        assert_eq!(
            res.headers()["www-authenticate"],
            "Bearer realm=\"gan-connect\""
        );
        let res = http
            .get(server.url("/userinfo"))
            .bearer_auth("nope")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        assert!(res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\""));

        let res = http
            .post(server.url("/userinfo"))
            .form(&[("access_token", at)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["sub"], sub.as_str());
        assert_eq!(body["email_verified"], true);
        let res = http
            .post(server.url("/userinfo"))
            .bearer_auth(at)
            .form(&[("access_token", at)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "token twice");

        server.clock.advance(601);
        let res = http
            .get(server.url("/userinfo"))
            .bearer_auth(at)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "expired");
    });
}

#[tokio::test]
async fn introspection_and_revocation_rules() {
    each_backend!(|server| {
        let secret = server
            .add_client(ClientSpec::portal("portal"))
            .await
            .unwrap();
        let partner = server
            .add_client(ClientSpec::partner("partner"))
            .await
            .unwrap();
        let mut public = ClientSpec::portal("spa");
        public.auth_method = gan_oidc::model::AuthMethod::None;
        server.add_client(public).await;
        server.add_identity(EMAIL, PASSWORD).await;
        let mut b = Browser::new(&server.base);
        let c = code(&server, &mut b, "portal", EMAIL, PASSWORD).await;
        let (_, tokens) = exchange(&server, "portal", &secret, &c).await;
        let at = tokens["access_token"].as_str().unwrap();
        let http = reqwest::Client::new();

        // A partner app introspects the portal's token.
        let res = http
            .post(server.url("/introspect"))
            .basic_auth("partner", Some(&partner))
            .form(&[("token", at)])
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["active"], true);
        assert_eq!(body["client_id"], "portal");
        assert_eq!(body["token_type"], "Bearer");
        assert!(
            body.get("email").is_none(),
            "the partner is not registered for email: {body}"
        );
        for t in ["", "garbage"] {
            let res = http
                .post(server.url("/introspect"))
                .basic_auth("partner", Some(&partner))
                .form(&[("token", t)])
                .send()
                .await
                .unwrap();
            if t.is_empty() {
                assert_eq!(res.status(), 400);
            } else {
                assert_eq!(
                    res.json::<serde_json::Value>().await.unwrap(),
                    serde_json::json!({"active": false})
                );
            }
        }
        let res = http
            .post(server.url("/introspect"))
            .form(&[("token", at)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "anonymous callers");
        let res = http
            .post(server.url("/introspect"))
            .form(&[("token", at), ("client_id", "spa")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "public clients");

        // Another client cannot revoke the portal's token (RFC 7009 §2.1: refused); unknown
        // tokens answer 200.
        let res = http
            .post(server.url("/revoke"))
            .basic_auth("partner", Some(&partner))
            .form(&[("token", at)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"], "unauthorized_client");
        assert!(active(&server, "partner", &partner, at).await);
        let res = http
            .post(server.url("/revoke"))
            .basic_auth("portal", Some(&secret))
            .form(&[("token", "unknown")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let res = http
            .post(server.url("/revoke"))
            .basic_auth("portal", Some(&secret))
            .form(&[("token", at), ("token_type_hint", "access_token")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(!active(&server, "partner", &partner, at).await);
        let rt = tokens["refresh_token"].as_str().unwrap();
        assert!(
            active(&server, "partner", &partner, rt).await,
            "revoking an access token leaves the refresh token"
        );
        let res = http
            .post(server.url("/revoke"))
            .basic_auth("portal", Some("bad"))
            .form(&[("token", rt)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    });
}

/// Issue 14 §1: introspection by another client gives it no more than its own registration
/// would: the claims of the scopes it holds, `accounts` of the kinds it may see.
#[tokio::test]
async fn introspection_by_another_client_sees_no_more_than_its_registration() {
    use gan_accounts::customer::AccountKind;
    use gan_accounts::ports::CustomerStore;
    each_backend!(|server| {
        let secret = server
            .add_client(ClientSpec::portal("portal"))
            .await
            .unwrap();
        let mut pro = ClientSpec::partner("pro");
        pro.scopes = vec!["partner:read".into(), "accounts".into()];
        pro.account_kinds = vec!["professional".into()];
        let pro_secret = server.add_client(pro).await.unwrap();
        let csv = format!(
            "client_number,kind,label,contact_email,legacy_hash\n\
             40000001,personal,Perso,t@example.fr,{h}\n\
             40000002,professional,Atelier,t@example.fr,{h}\n",
            h = gan_testkit::legacy_sha256("s", "x")
        );
        server.import(&csv).await;
        let sub = server.add_identity(EMAIL, PASSWORD).await;
        let now = gan_testkit::ClockExt::now_value(server.clock.as_ref());
        for (n, kind) in [
            ("40000001", AccountKind::Personal),
            ("40000002", AccountKind::Professional),
        ] {
            server.store.attach(&sub, n, kind, 9, now).await.unwrap();
        }
        let mut b = Browser::new(&server.base);
        let url = gan_testkit::flows::authorize_url(&server, "portal", &[]).replace(
            "scope=openid+email+offline_access",
            "scope=openid+email+accounts",
        );
        let back = b.sign_in(&url, EMAIL, PASSWORD).await;
        let c = back.location_param("code").unwrap();
        let (_, tokens) = exchange(&server, "portal", &secret, &c).await;
        let at = tokens["access_token"].as_str().unwrap();
        let look = |client: &'static str, secret: String| {
            let at = at.to_string();
            let url = server.url("/introspect");
            async move {
                let res = reqwest::Client::new()
                    .post(url)
                    .basic_auth(client, Some(secret))
                    .form(&[("token", at)])
                    .send()
                    .await
                    .unwrap();
                res.json::<serde_json::Value>().await.unwrap()
            }
        };
        let own = look("portal", secret.clone()).await;
        assert_eq!(own["email"], EMAIL);
        assert_eq!(own["accounts"].as_array().unwrap().len(), 2);
        assert_eq!(own["client_numbers"].as_array().unwrap().len(), 2);
        let other = look("pro", pro_secret).await;
        assert_eq!(other["active"], true);
        assert!(other.get("email").is_none(), "{other}");
        let numbers: Vec<&str> = other["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["client_number"].as_str().unwrap())
            .collect();
        assert_eq!(numbers, ["40000002"], "professional accounts only");
        assert_eq!(
            other["client_numbers"],
            serde_json::json!(["40000002"]),
            "the flat claim is filtered the same way"
        );
    });
}

/// Issue 14 §3: every endpoint reading parameters refuses one sent twice (RFC 6749 §3.1, §3.2).
#[tokio::test]
async fn a_parameter_sent_twice_is_refused_everywhere() {
    each_backend!(|server| {
        let secret = server
            .add_client(ClientSpec::portal("portal"))
            .await
            .unwrap();
        let http = reqwest::Client::new();
        for path in ["/token", "/introspect", "/revoke"] {
            let res = http
                .post(server.url(path))
                .basic_auth("portal", Some(&secret))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("token=a&token=b&grant_type=client_credentials")
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 400, "{path}");
            let body: serde_json::Value = res.json().await.unwrap();
            assert_eq!(body["error"], "invalid_request", "{path}");
        }
        let res = http
            .get(server.url("/end_session?state=a&state=b"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        // Userinfo's form body too: an error of the request, not of the token (RFC 6750 §3.1).
        let res = http
            .post(server.url("/userinfo"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("access_token=a&access_token=b")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let challenge = res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(challenge.contains("invalid_request"), "{challenge}");
    });
}

/// Issue 14 §3: a 401 from an endpoint where clients authenticate names Basic — the one HTTP
/// scheme it takes — whatever method the client tried (never a Bearer challenge).
#[tokio::test]
async fn client_authentication_challenges_name_basic() {
    each_backend!(|server| {
        server.add_client(ClientSpec::partner("partner")).await;
        let http = reqwest::Client::new();
        for path in ["/token", "/introspect", "/revoke"] {
            let res = http
                .post(server.url(path))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("token", "x"),
                    ("client_id", "partner"),
                    ("client_secret", "wrong-secret-0123456789abcdefghij"),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 401, "{path}");
            let challenge = res.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .to_string();
            assert!(challenge.starts_with("Basic realm="), "{path}: {challenge}");
        }
    });
}

/// Issue 16: scope `profile` releases the names the customer records hold — of the first
/// account the client may see that has one, personal before professional — and invents nothing.
#[tokio::test]
async fn profile_claims_come_from_the_customer_records() {
    use gan_accounts::customer::AccountKind;
    use gan_accounts::ports::CustomerStore;
    each_backend!(|server| {
        let secret = server
            .add_client(ClientSpec::portal("portal"))
            .await
            .unwrap();
        let mut pro = ClientSpec::portal("pro");
        pro.account_kinds = vec!["professional".into()];
        let pro_secret = server.add_client(pro).await.unwrap();
        let csv = format!(
            "client_number,kind,label,contact_email,legacy_hash,given_name,family_name\n\
             41000001,professional,Atelier,t@example.fr,{h},Hélène,Dupré-Atelier\n\
             41000002,personal,Perso,t@example.fr,{h},Hélène,Dupré\n\
             41000003,personal,Sans nom,n@example.fr,{h},,\n",
            h = gan_testkit::legacy_sha256("s", "x")
        );
        let parsed = server.import(&csv).await;
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
        let sub = server.add_identity(EMAIL, PASSWORD).await;
        let nameless = server.add_identity("n@example.fr", PASSWORD).await;
        let now = gan_testkit::ClockExt::now_value(server.clock.as_ref());
        for (who, n, kind) in [
            (&sub, "41000001", AccountKind::Professional),
            (&sub, "41000002", AccountKind::Personal),
            (&nameless, "41000003", AccountKind::Personal),
        ] {
            server.store.attach(who, n, kind, 9, now).await.unwrap();
        }
        let claims = |client: &'static str, secret: String, email: &'static str| {
            let server = &server;
            async move {
                let mut b = Browser::new(&server.base);
                let url = gan_testkit::flows::authorize_url(server, client, &[])
                    .replace("scope=openid+email+offline_access", "scope=openid+profile");
                let back = b.sign_in(&url, email, PASSWORD).await;
                let c = back.location_param("code").unwrap();
                let (_, tokens) = exchange(server, client, &secret, &c).await;
                let id = gan_testkit::flows::jwt_part(tokens["id_token"].as_str().unwrap(), 1);
                let at = tokens["access_token"].as_str().unwrap();
                let info = gan_testkit::flows::userinfo(server, at).await;
                let seen: serde_json::Value = reqwest::Client::new()
                    .post(server.url("/introspect"))
                    .basic_auth(client, Some(&secret))
                    .form(&[("token", at)])
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                (id, info, seen)
            }
        };
        let (id, info, seen) = claims("portal", secret.clone(), EMAIL).await;
        for c in [&id, &info, &seen] {
            assert_eq!(c["given_name"], "Hélène", "{c}");
            assert_eq!(c["family_name"], "Dupré", "the personal account first: {c}");
            assert_eq!(c["name"], "Hélène Dupré");
            assert!(c["updated_at"].is_i64(), "{c}");
            assert!(c.get("email").is_none() && c.get("locale").is_none(), "{c}");
        }
        // A professional-only portal sees only what its kinds hold.
        let (id, _, _) = claims("pro", pro_secret, EMAIL).await;
        assert_eq!(id["family_name"], "Dupré-Atelier", "{id}");
        // No name on record: none invented.
        let (id, info, _) = claims("portal", secret, "n@example.fr").await;
        for c in [&id, &info] {
            assert!(
                c.get("name").is_none() && c.get("given_name").is_none(),
                "{c}"
            );
            assert!(c["updated_at"].is_i64());
        }
        // A re-import without the name columns keeps the names on record.
        let again = format!(
            "client_number,kind,label,contact_email,legacy_hash\n\
             41000002,personal,Perso,t@example.fr,{h}\n",
            h = gan_testkit::legacy_sha256("s", "x")
        );
        server.import(&again).await;
        let kept = server
            .store
            .find_customer("41000002")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(kept.family_name.as_deref(), Some("Dupré"));
    });
}

/// Issue 16: a client registered for JWT access tokens (RFC 9068) gets `at+jwt` tokens a
/// resource server checks offline with JWKS and a JWT library; introspection, userinfo and
/// revocation work for them too, and a revoked one is inactive at introspection.
#[tokio::test]
async fn jwt_access_tokens_check_offline_and_revoke_online() {
    use josekit::jwk::JwkSet;
    use josekit::jws::RS256;
    use josekit::jwt;
    each_backend!(|server| {
        let mut spec = ClientSpec::portal("api-portal");
        spec.access_token_format = gan_oidc::model::AccessTokenFormat::Jwt;
        let secret = server.add_client(spec).await.unwrap();
        let mut partner = ClientSpec::partner("partner");
        partner.access_token_format = gan_oidc::model::AccessTokenFormat::Jwt;
        let partner_secret = server.add_client(partner).await.unwrap();
        let sub = server.add_identity(EMAIL, PASSWORD).await;
        let mut b = Browser::new(&server.base);
        let c = code(&server, &mut b, "api-portal", EMAIL, PASSWORD).await;
        let (s, tokens) = exchange(&server, "api-portal", &secret, &c).await;
        assert_eq!(s, 200, "{tokens}");
        let at = tokens["access_token"].as_str().unwrap().to_string();

        // Offline: the header says at+jwt, the signature checks against JWKS, the claims are
        // RFC 9068's.
        let header = gan_testkit::flows::jwt_part(&at, 0);
        assert_eq!(header["typ"], "at+jwt");
        assert_eq!(header["alg"], "RS256");
        let jwks: serde_json::Value = reqwest::get(server.url("/jwks"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let set = JwkSet::from_bytes(jwks.to_string().as_bytes()).unwrap();
        let kid = header["kid"].as_str().unwrap();
        let key = set.get(kid)[0];
        let verifier = RS256.verifier_from_jwk(key).unwrap();
        let (payload, _) = jwt::decode_with_verifier(&at, &verifier).unwrap();
        let issuer = server.url("").trim_end_matches('/').to_string();
        assert!(payload.issuer().unwrap().trim_end_matches('/') == issuer);
        assert_eq!(payload.subject(), Some(sub.as_str()));
        assert_eq!(payload.audience(), Some(vec!["api-portal"]));
        assert_eq!(
            payload.claim("client_id"),
            Some(&serde_json::json!("api-portal"))
        );
        assert!(payload
            .claim("scope")
            .unwrap()
            .as_str()
            .unwrap()
            .contains("openid"));
        assert!(payload.jwt_id().is_some() && payload.issued_at().is_some());
        assert!(payload.expires_at().unwrap() > payload.issued_at().unwrap());
        assert!(
            payload.claim("email").is_none(),
            "no personal data in the token"
        );
        // Tampered: refused by the library.
        let mut forged: Vec<char> = at.chars().collect();
        let i = forged.len() - 10;
        forged[i] = if forged[i] == 'A' { 'B' } else { 'A' };
        let forged: String = forged.into_iter().collect();
        assert!(jwt::decode_with_verifier(&forged, &verifier).is_err());

        // Online, the same token works at userinfo and introspection…
        let info = gan_testkit::flows::userinfo(&server, &at).await;
        assert_eq!(info["sub"], sub.as_str());
        assert!(active(&server, "api-portal", &secret, &at).await);
        // …and once revoked it is inactive there, though offline checks cannot know.
        let res = reqwest::Client::new()
            .post(server.url("/revoke"))
            .basic_auth("api-portal", Some(&secret))
            .form(&[("token", at.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(!active(&server, "api-portal", &secret, &at).await);
        assert!(jwt::decode_with_verifier(&at, &verifier).is_ok());

        // client_credentials: the client is the subject.
        let (s, body, _) = token(
            &server,
            "partner",
            &partner_secret,
            &[("grant_type", "client_credentials")],
        )
        .await;
        assert_eq!(s, 200, "{body}");
        let cc = gan_testkit::flows::jwt_part(body["access_token"].as_str().unwrap(), 1);
        assert_eq!(cc["sub"], "partner");
        assert_eq!(cc["client_id"], "partner");
    });
}
