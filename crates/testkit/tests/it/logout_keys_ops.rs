//! Logout, private_key_jwt, key rotation, discovery and JWKS caching, operations endpoints and
//! security headers.

use gan_oidc::model::AuthMethod;
use gan_testkit::flows::{code, exchange, VERIFIER};
use gan_testkit::{each_backend, Browser, ClientSpec, POST_LOGOUT, REDIRECT};

const EMAIL: &str = "l@example.fr";
const PASSWORD: &str = "a-good-password-1";

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn logout_checks_the_post_logout_uri_and_confirms_without_a_hint() {
    each_backend!(|server| {
        let secret = server
            .add_client(ClientSpec::portal("portal"))
            .await
            .unwrap();
        server.add_identity(EMAIL, PASSWORD).await;
        let mut b = Browser::new(&server.base);
        let c = code(&server, &mut b, "portal", EMAIL, PASSWORD).await;
        let (_, tokens) = exchange(&server, "portal", &secret, &c).await;
        let id_token = tokens["id_token"].as_str().unwrap();

        let bad = b
            .get(&format!(
                "/end_session?id_token_hint={id_token}&post_logout_redirect_uri={}",
                enc("https://evil.example/")
            ))
            .await;
        assert_eq!(bad.status, 400);
        assert!(
            bad.location.is_none(),
            "never redirect to an unregistered URI"
        );
        let no_client = b
            .get(&format!(
                "/end_session?post_logout_redirect_uri={}",
                enc(POST_LOGOUT)
            ))
            .await;
        assert_eq!(
            no_client.status, 400,
            "a post-logout URI needs a client to check it against"
        );
        let bad_hint = b.get("/end_session?id_token_hint=x.y.z").await;
        assert_eq!(bad_hint.status, 400);

        // Without a hint, the person confirms.
        let ask = b
            .get(&format!(
                "/end_session?client_id=portal&post_logout_redirect_uri={}&state=s9",
                enc(POST_LOGOUT)
            ))
            .await;
        assert_eq!(ask.status, 200);
        let csrf = ask.input("csrf_token").unwrap();
        let forged = b
            .post_form(
                "/end_session/confirm",
                &[("csrf_token", "x"), ("client_id", "portal")],
            )
            .await;
        assert_eq!(forged.status, 403);
        let done = b
            .post_form(
                "/end_session/confirm",
                &[
                    ("csrf_token", &csrf),
                    ("client_id", "portal"),
                    ("post_logout_redirect_uri", POST_LOGOUT),
                    ("state", "s9"),
                ],
            )
            .await;
        assert_eq!(done.status, 303);
        assert_eq!(
            done.location.as_deref(),
            Some(format!("{POST_LOGOUT}?state=s9").as_str())
        );
        let r = b
            .get(&gan_testkit::flows::authorize_url(
                &server,
                "portal",
                &[("prompt", "none")],
            ))
            .await;
        assert_eq!(r.location_param("error").as_deref(), Some("login_required"));

        // No session, no redirect URI: a signed-out page.
        let page = b.get("/end_session").await;
        assert_eq!(page.status, 200);
    });
}

#[tokio::test]
async fn private_key_jwt_client_authentication() {
    use josekit::jws::{JwsHeader, ES256};
    use josekit::jwt::{self, JwtPayload};
    each_backend!(|server| {
        let pair = ES256.generate_key_pair().unwrap();
        let mut public = pair.to_jwk_public_key();
        public.set_key_id("k1");
        let mut spec = ClientSpec::partner("signed");
        spec.auth_method = AuthMethod::PrivateKeyJwt;
        spec.jwks = Some(
            serde_json::json!({ "keys": [serde_json::Value::Object(public.as_ref().clone())] }),
        );
        server.add_client(spec).await;
        let signer = ES256.signer_from_jwk(&pair.to_jwk_private_key()).unwrap();
        let now = std::time::SystemTime::now();
        let assertion = |jti: &str, aud: &str, iss: &str| {
            let mut p = JwtPayload::new();
            p.set_issuer(iss);
            p.set_subject("signed");
            p.set_audience(vec![aud]);
            p.set_jwt_id(jti);
            p.set_issued_at(&now);
            p.set_expires_at(&(now + std::time::Duration::from_secs(120)));
            let mut h = JwsHeader::new();
            h.set_key_id("k1");
            jwt::encode_with_signer(&p, &h, &signer).unwrap()
        };
        let http = reqwest::Client::new();
        let send = |a: String| {
            let http = http.clone();
            let url = server.url("/token");
            async move {
                http.post(url)
                    .form(&[
                        ("grant_type", "client_credentials"),
                        (
                            "client_assertion_type",
                            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                        ),
                        ("client_assertion", a.as_str()),
                    ])
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        let token_url = server.url("/token");
        let good = assertion("j1", &token_url, "signed");
        assert_eq!(send(good.clone()).await, 200);
        assert_eq!(send(good).await, 401, "a replayed assertion");
        assert_eq!(
            send(assertion("j2", "https://elsewhere.example/token", "signed")).await,
            401,
            "wrong audience"
        );
        assert_eq!(
            send(assertion("j3", &server.base, "signed")).await,
            200,
            "the issuer is an accepted audience"
        );
        let other = ES256.generate_key_pair().unwrap();
        let forged_signer = ES256.signer_from_jwk(&other.to_jwk_private_key()).unwrap();
        let mut p = JwtPayload::new();
        p.set_issuer("signed");
        p.set_subject("signed");
        p.set_audience(vec![token_url.as_str()]);
        p.set_jwt_id("j4");
        p.set_expires_at(&(now + std::time::Duration::from_secs(60)));
        let mut h = JwsHeader::new();
        h.set_key_id("k1");
        assert_eq!(
            send(jwt::encode_with_signer(&p, &h, &forged_signer).unwrap()).await,
            401,
            "wrong key"
        );
        // Issue 14 §3: no `kid` in the header (Authlib's default) while the registered key has
        // one: the key is known, the assertion is accepted (RFC 7515 §4.1.4: `kid` is a hint).
        let mut p = JwtPayload::new();
        p.set_issuer("signed");
        p.set_subject("signed");
        p.set_audience(vec![token_url.as_str()]);
        p.set_jwt_id("j5");
        p.set_expires_at(&(now + std::time::Duration::from_secs(60)));
        let no_kid = jwt::encode_with_signer(&p, &JwsHeader::new(), &signer).unwrap();
        assert!(gan_testkit::flows::jwt_part(&no_kid, 0)
            .get("kid")
            .is_none());
        assert_eq!(send(no_kid).await, 200, "an assertion without kid");
        p.set_jwt_id("j6");
        let forged = jwt::encode_with_signer(&p, &JwsHeader::new(), &forged_signer).unwrap();
        assert_eq!(
            send(forged).await,
            401,
            "without kid, a wrong key is still wrong"
        );
        let mut other_kid = JwsHeader::new();
        other_kid.set_key_id("k2");
        p.set_jwt_id("j7");
        assert_eq!(
            send(jwt::encode_with_signer(&p, &other_kid, &signer).unwrap()).await,
            401,
            "a kid that names no registered key"
        );
        // Every time claim within one documented skew (60 s): a clock a little ahead is fine,
        // a token not valid yet is not; jti is required.
        let timed = |jti: Option<&str>, iat: i64, nbf: Option<i64>, exp: i64| {
            let at = |d: i64| {
                if d >= 0 {
                    now + std::time::Duration::from_secs(d as u64)
                } else {
                    now - std::time::Duration::from_secs((-d) as u64)
                }
            };
            let mut p = JwtPayload::new();
            p.set_issuer("signed");
            p.set_subject("signed");
            p.set_audience(vec![token_url.as_str()]);
            if let Some(j) = jti {
                p.set_jwt_id(j);
            }
            p.set_issued_at(&at(iat));
            if let Some(n) = nbf {
                p.set_not_before(&at(n));
            }
            p.set_expires_at(&at(exp));
            jwt::encode_with_signer(&p, &JwsHeader::new(), &signer).unwrap()
        };
        assert_eq!(
            send(timed(Some("t1"), 30, Some(30), 120)).await,
            200,
            "30 s ahead"
        );
        assert_eq!(
            send(timed(Some("t2"), -300, None, -30)).await,
            200,
            "expired 30 s ago"
        );
        assert_eq!(
            send(timed(Some("t3"), 0, Some(600), 900)).await,
            401,
            "not valid yet"
        );
        assert_eq!(
            send(timed(Some("t4"), 600, None, 900)).await,
            401,
            "issued in the future"
        );
        assert_eq!(
            send(timed(Some("t5"), -600, None, -120)).await,
            401,
            "expired"
        );
        assert_eq!(
            send(timed(Some("t6"), 0, None, 7200)).await,
            401,
            "lives too long"
        );
        assert_eq!(send(timed(None, 0, None, 60)).await, 401, "no jti");
    });
}

#[tokio::test]
async fn key_rotation_publishes_before_signing_and_keeps_old_keys() {
    each_backend!(|server| {
        let secret = server
            .add_client(ClientSpec::portal("portal"))
            .await
            .unwrap();
        server.add_identity(EMAIL, PASSWORD).await;
        let jwks = |s: String| async move {
            reqwest::get(s)
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        };
        let kids = |v: &serde_json::Value| {
            v["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["kid"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        let before = kids(&jwks(server.url("/jwks")).await);
        assert_eq!(before.len(), 3, "one key per algorithm");

        let added = server.state.provider.rotate_keys().await.unwrap();
        let during = kids(&jwks(server.url("/jwks")).await);
        assert_eq!(during.len(), 6, "new keys are published at once");
        let new_rs = added
            .iter()
            .find(|k| k.alg.as_str() == "RS256")
            .unwrap()
            .kid
            .clone();

        let kid_of = |jwt: &str| {
            gan_testkit::flows::jwt_part(jwt, 0)["kid"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let mut b = Browser::new(&server.base);
        let c = code(&server, &mut b, "portal", EMAIL, PASSWORD).await;
        let (_, t) = exchange(&server, "portal", &secret, &c).await;
        let old_hint = t["id_token"].as_str().unwrap().to_string();
        assert!(
            before.contains(&kid_of(&old_hint)),
            "the old key signs until the new one is due"
        );

        server.clock.advance(301);
        server.state.provider.reload_keys().await.unwrap();
        let c = code(&server, &mut b, "portal", EMAIL, PASSWORD).await;
        let (_, t) = exchange(&server, "portal", &secret, &c).await;
        assert_eq!(
            kid_of(t["id_token"].as_str().unwrap()),
            new_rs,
            "the new key signs after the delay"
        );
        assert_eq!(
            kids(&jwks(server.url("/jwks")).await).len(),
            6,
            "old keys stay while their tokens live"
        );

        server.clock.advance(600 + 31);
        server.state.provider.reload_keys().await.unwrap();
        assert_eq!(
            kids(&jwks(server.url("/jwks")).await).len(),
            6,
            "old keys stay while the sessions their ID tokens may name live"
        );
        // Issue 14 §2: an expired hint, signed by a retired key, of a live session logs out at
        // once (RP-Initiated Logout §2).
        let bye = b
            .get(&format!(
                "/end_session?id_token_hint={old_hint}&post_logout_redirect_uri={}",
                enc(POST_LOGOUT)
            ))
            .await;
        assert_eq!(bye.status, 303, "{}", bye.body);
        assert!(bye.location.as_deref().unwrap().starts_with(POST_LOGOUT));
        assert_eq!(b.get("/account").await.status, 401, "the session ended");

        server.clock.advance(12 * 3600);
        server.state.provider.rotate_keys().await.unwrap();
        let after = kids(&jwks(server.url("/jwks")).await);
        assert_eq!(
            after.len(),
            6,
            "the first keys left JWKS once no session they may name lives; the second rotation's are in"
        );
        assert!(after.contains(&new_rs));
        assert!(before.iter().all(|k| !after.contains(k)));
    });
}

#[tokio::test]
async fn discovery_jwks_health_metrics_and_headers() {
    each_backend!(|server| {
        let http = reqwest::Client::new();
        let res = http
            .get(server.url("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age"));
        assert_eq!(res.headers()["x-frame-options"], "DENY");
        assert!(res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'"));
        let d: serde_json::Value = res.json().await.unwrap();
        assert_eq!(d["issuer"], server.base.as_str());
        assert_eq!(
            d["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
        assert_eq!(d["request_parameter_supported"], false);
        assert_eq!(d["authorization_response_iss_parameter_supported"], true);
        // Only what is true: one page for every display, no localised claims; profile and the
        // claims it releases.
        assert_eq!(d["display_values_supported"], serde_json::json!(["page"]));
        assert!(d.get("claims_locales_supported").is_none());
        assert!(d["scopes_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "profile"));
        for claim in [
            "name",
            "given_name",
            "family_name",
            "updated_at",
            "client_numbers",
        ] {
            assert!(
                d["claims_supported"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c == claim),
                "{claim}"
            );
        }
        for endpoint in [
            "authorization_endpoint",
            "token_endpoint",
            "userinfo_endpoint",
            "jwks_uri",
            "introspection_endpoint",
            "revocation_endpoint",
            "end_session_endpoint",
        ] {
            assert!(
                d[endpoint].as_str().unwrap().starts_with(&server.base),
                "{endpoint}"
            );
        }
        // RFC 8414 §3: the same metadata for OAuth clients.
        let res = http
            .get(server.url("/.well-known/oauth-authorization-server"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let metadata: serde_json::Value = res.json().await.unwrap();
        assert_eq!(metadata, d);
        let res = http.get(server.url("/jwks")).send().await.unwrap();
        assert!(res.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age"));
        // Served beside the request stack, the documents carry the headers of every response.
        for document in [
            "/.well-known/openid-configuration",
            "/.well-known/oauth-authorization-server",
            "/jwks",
        ] {
            let res = http.get(server.url(document)).send().await.unwrap();
            let h = res.headers();
            assert_eq!(h["content-type"], "application/json", "{document}");
            assert_eq!(h["access-control-allow-origin"], "*", "{document}");
            assert_eq!(h["x-frame-options"], "DENY", "{document}");
            assert_eq!(h["x-content-type-options"], "nosniff", "{document}");
            assert_eq!(h["referrer-policy"], "no-referrer", "{document}");
            assert_eq!(h["cross-origin-opener-policy"], "same-origin", "{document}");
            assert!(h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'"));
            let head = http.head(server.url(document)).send().await.unwrap();
            assert_eq!(head.status(), 200, "{document}");
            assert_eq!(head.headers()["x-frame-options"], "DENY", "{document}");
        }
        let jwks: serde_json::Value = res.json().await.unwrap();
        for k in jwks["keys"].as_array().unwrap() {
            for private in ["d", "p", "q", "dp", "dq", "qi"] {
                assert!(k.get(private).is_none(), "no private parts in JWKS");
            }
            assert_eq!(k["use"], "sig");
        }
        assert_eq!(
            http.get(server.url("/healthz"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        assert_eq!(
            http.get(server.url("/readyz"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        let metrics = http
            .get(server.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(metrics.contains("http_requests_total"), "{metrics}");
        assert!(metrics.contains(r#"route="/jwks""#), "{metrics}");
        // A method the caller made up does not name a series of its own (one per request).
        let made_up = reqwest::Method::from_bytes(b"FOOBAR").unwrap();
        http.request(made_up, server.url("/healthz"))
            .send()
            .await
            .unwrap();
        let metrics = http
            .get(server.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!metrics.contains("FOOBAR"), "{metrics}");
        assert!(metrics.contains(r#"method="other""#), "{metrics}");
        let nf = http.get(server.url("/nope")).send().await.unwrap();
        assert_eq!(nf.status(), 404);
    });
}

#[tokio::test]
async fn private_keys_are_encrypted_and_secrets_hashed_at_rest() {
    use sea_orm::EntityTrait;
    each_backend!(|server| {
        let secret = server
            .add_client(ClientSpec::portal("portal"))
            .await
            .unwrap();
        server.add_identity(EMAIL, PASSWORD).await;
        let mut b = Browser::new(&server.base);
        let c = code(&server, &mut b, "portal", EMAIL, PASSWORD).await;
        let (_, t) = exchange(&server, "portal", &secret, &c).await;
        let db = &server.store.db;
        for k in gan_store::entity::signing_key::Entity::find()
            .all(db)
            .await
            .unwrap()
        {
            assert!(!k.private_enc.contains("BEGIN") && !k.public_jwk.contains("\"d\""));
        }
        let tokens = gan_store::entity::token::Entity::find()
            .all(db)
            .await
            .unwrap();
        let raw = format!("{tokens:?}");
        for secret_value in [
            t["access_token"].as_str().unwrap(),
            t["refresh_token"].as_str().unwrap(),
            c.as_str(),
        ] {
            assert!(!raw.contains(secret_value));
        }
        let codes = format!(
            "{:?}",
            gan_store::entity::auth_code::Entity::find()
                .all(db)
                .await
                .unwrap()
        );
        assert!(!codes.contains(&c) && !codes.contains(VERIFIER));
        let clients = format!(
            "{:?}",
            gan_store::entity::client::Entity::find()
                .all(db)
                .await
                .unwrap()
        );
        assert!(!clients.contains(&secret));
        let ids = format!(
            "{:?}",
            gan_store::entity::identity::Entity::find()
                .all(db)
                .await
                .unwrap()
        );
        assert!(!ids.contains(PASSWORD) && ids.contains("$argon2id$"));
        let sessions = format!(
            "{:?}",
            gan_store::entity::browser_session::Entity::find()
                .all(db)
                .await
                .unwrap()
        );
        for v in b.cookies.values() {
            assert!(
                !sessions.contains(v.as_str()),
                "session cookies are stored hashed"
            );
        }
        let _ = REDIRECT;
    });
}

#[tokio::test]
async fn expired_records_are_purged_but_live_ones_kept() {
    use sea_orm::{EntityTrait, PaginatorTrait};
    each_backend!(|server| {
        let secret = server
            .add_client(ClientSpec::portal("portal"))
            .await
            .unwrap();
        server.add_identity(EMAIL, PASSWORD).await;
        let mut b = Browser::new(&server.base);
        let c = code(&server, &mut b, "portal", EMAIL, PASSWORD).await;
        let (_, t) = exchange(&server, "portal", &secret, &c).await;
        let db = &server.store.db;
        assert_eq!(
            server.state.provider.purge_expired().await.unwrap(),
            0,
            "nothing is expired yet"
        );
        assert_eq!(
            gan_store::entity::token::Entity::find()
                .count(db)
                .await
                .unwrap(),
            2
        );
        // Past the access token's life plus a day: it goes; the refresh token (30 days) stays.
        server.clock.advance(600 + 86_400 + 1);
        assert!(server.state.provider.purge_expired().await.unwrap() >= 2);
        assert_eq!(
            gan_store::entity::token::Entity::find()
                .count(db)
                .await
                .unwrap(),
            1
        );
        assert!(
            gan_testkit::flows::active(
                &server,
                "portal",
                &secret,
                t["refresh_token"].as_str().unwrap()
            )
            .await
        );
    });
}

/// Issue 14 §2: a disabled client gets nothing from any endpoint — its tokens are inactive at
/// userinfo and introspection, its post-logout redirect is refused — even before its tokens
/// are revoked (here it is disabled behind the admin service's back).
#[tokio::test]
async fn a_disabled_client_gets_nothing_from_any_endpoint() {
    use gan_oidc::ports::ClientStore;
    each_backend!(|server| {
        let secret = server
            .add_client(ClientSpec::portal("portal"))
            .await
            .unwrap();
        let partner = server
            .add_client(ClientSpec::partner("partner"))
            .await
            .unwrap();
        server.add_identity(EMAIL, PASSWORD).await;
        let mut b = Browser::new(&server.base);
        let c = code(&server, &mut b, "portal", EMAIL, PASSWORD).await;
        let (_, t) = exchange(&server, "portal", &secret, &c).await;
        let at = t["access_token"].as_str().unwrap();
        let id_token = t["id_token"].as_str().unwrap();
        let mut portal = server.store.find_client("portal").await.unwrap().unwrap();
        portal.enabled = false;
        server.store.save_client(&portal).await.unwrap();
        server.state.provider.forget_client("portal");

        let res = reqwest::Client::new()
            .get(server.url("/userinfo"))
            .bearer_auth(at)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        assert!(!gan_testkit::flows::active(&server, "partner", &partner, at).await);
        let bye = b
            .get(&format!(
                "/end_session?id_token_hint={id_token}&post_logout_redirect_uri={}",
                enc(POST_LOGOUT)
            ))
            .await;
        assert_eq!(bye.status, 400, "{}", bye.body);
        assert!(bye.location.is_none());
    });
}

/// Issue 15 §1: a row written to the key table by someone without the key-encryption key — our
/// sealed private key next to a public key of their own — is neither published nor believed.
#[tokio::test]
async fn a_forged_key_row_is_neither_published_nor_believed() {
    use gan_oidc::clock::Clock;
    use gan_oidc::keys::{new_key, KeyRing, KeySealer};
    use gan_oidc::ports::KeyStore;
    each_backend!(|server| {
        let secret = server
            .add_client(ClientSpec::portal("portal"))
            .await
            .unwrap();
        server.add_identity(EMAIL, PASSWORD).await;
        let mut b = Browser::new(&server.base);
        let c = code(&server, &mut b, "portal", EMAIL, PASSWORD).await;
        let (_, t) = exchange(&server, "portal", &secret, &c).await;
        let genuine = gan_testkit::flows::jwt_part(t["id_token"].as_str().unwrap(), 1);

        let ours = server.store.list_keys().await.unwrap();
        let rs = ours.iter().find(|k| k.alg.as_str() == "RS256").unwrap();
        let theirs_sealer = KeySealer::new(&[9u8; 32]);
        let now = server.clock.now();
        let theirs = new_key(&theirs_sealer, rs.alg, now, now).unwrap();
        let forged = gan_oidc::model::StoredKey {
            private_enc: rs.private_enc.clone(),
            ..theirs.clone()
        };
        server.store.insert_key(&forged).await.unwrap();
        server.state.provider.reload_keys().await.unwrap();

        let jwks = reqwest::get(server.url("/jwks"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            jwks.contains(&rs.kid) && !jwks.contains(&theirs.kid),
            "{jwks}"
        );
        // A hint they sign for the victim's session is not one of ours.
        let their_ring = KeyRing::load(vec![theirs], &theirs_sealer, now).unwrap();
        let hint = their_ring.sign(rs.alg, &genuine, now).unwrap();
        let refused = b
            .get(&format!(
                "/end_session?id_token_hint={hint}&post_logout_redirect_uri={}",
                enc(POST_LOGOUT)
            ))
            .await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert_eq!(b.get("/account").await.status, 200, "the session lives on");
    });
}

/// A relying party's back-channel logout endpoint: records every logout token posted to it and
/// answers the statuses given, in turn (the last one from then on).
struct Receiver {
    url: String,
    tokens: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

async fn receiver(statuses: Vec<u16>) -> Receiver {
    slow_receiver(statuses, 0).await
}

/// [`receiver`], taking `delay_ms` to answer each post.
async fn slow_receiver(statuses: Vec<u16>, delay_ms: u64) -> Receiver {
    use axum::extract::{Form, State};
    use std::sync::{Arc, Mutex};
    type Seen = (Arc<Mutex<Vec<String>>>, Arc<Mutex<Vec<u16>>>, u64);
    async fn logout(
        State((tokens, statuses, delay_ms)): State<Seen>,
        Form(form): Form<std::collections::HashMap<String, String>>,
    ) -> axum::http::StatusCode {
        tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
        tokens
            .lock()
            .unwrap()
            .push(form.get("logout_token").cloned().unwrap_or_default());
        let mut s = statuses.lock().unwrap();
        let status = if s.len() > 1 { s.remove(0) } else { s[0] };
        axum::http::StatusCode::from_u16(status).unwrap()
    }
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let state: Seen = (tokens.clone(), Arc::new(Mutex::new(statuses)), delay_ms);
    let app = axum::Router::new()
        .route("/bcl", axum::routing::post(logout))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/bcl", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Receiver { url, tokens }
}

/// Issue 16: single logout (OpenID Connect Back-Channel Logout 1.0). Ending a session tells every
/// client that took part in it and listens, with a signed logout token; a client that is down
/// gets it later, once.
#[tokio::test]
async fn back_channel_logout_reaches_each_client_of_the_session_once() {
    use gan_oidc::clock::Clock;
    use josekit::jwk::JwkSet;
    each_backend!(|server| {
        // The portal is down at first (503), then answers.
        let rp = receiver(vec![503, 200]).await;
        let mut spec = ClientSpec::portal("portal");
        spec.backchannel_logout_uri = Some(rp.url.clone());
        let secret = server.add_client(spec).await.unwrap();
        let quiet_secret = server
            .add_client(ClientSpec::portal("quiet"))
            .await
            .unwrap();
        let sub = server.add_identity(EMAIL, PASSWORD).await;
        let mut b = Browser::new(&server.base);
        let c = code(&server, &mut b, "portal", EMAIL, PASSWORD).await;
        let (_, t) = exchange(&server, "portal", &secret, &c).await;
        let id_token = t["id_token"].as_str().unwrap().to_string();
        let sid = gan_testkit::flows::jwt_part(&id_token, 1)["sid"]
            .as_str()
            .unwrap()
            .to_string();
        // The same session signs in at a client that does not listen.
        let c = code(&server, &mut b, "quiet", EMAIL, PASSWORD).await;
        exchange(&server, "quiet", &quiet_secret, &c).await;

        let bye = b
            .get(&format!(
                "/end_session?id_token_hint={id_token}&post_logout_redirect_uri={}",
                enc(POST_LOGOUT)
            ))
            .await;
        assert_eq!(bye.status, 303, "{}", bye.body);

        let sender = gan_connect::wiring::HttpLogoutSender::new().unwrap();
        let provider = &server.state.provider;
        assert_eq!(
            provider.deliver_logouts(&sender).await.unwrap(),
            0,
            "the portal is down"
        );
        assert_eq!(rp.tokens.lock().unwrap().len(), 1);
        assert_eq!(
            provider.deliver_logouts(&sender).await.unwrap(),
            0,
            "not due yet"
        );
        server.clock.advance(6);
        assert_eq!(
            provider.deliver_logouts(&sender).await.unwrap(),
            1,
            "delivered after the outage"
        );
        assert_eq!(provider.deliver_logouts(&sender).await.unwrap(), 0, "once");
        let tokens = rp.tokens.lock().unwrap().clone();
        assert_eq!(tokens.len(), 2, "one failed attempt, one delivery, no more");

        // The logout token, checked as an RP library would (§2.6).
        let token = tokens.last().unwrap();
        let header = gan_testkit::flows::jwt_part(token, 0);
        assert_eq!(header["typ"], "logout+jwt");
        let jwks = reqwest::get(server.url("/jwks"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let set = JwkSet::from_bytes(jwks.as_bytes()).unwrap();
        let key = set.get(header["kid"].as_str().unwrap())[0];
        let verifier = josekit::jws::RS256.verifier_from_jwk(key).unwrap();
        let (claims, _) = josekit::jwt::decode_with_verifier(token, &verifier).unwrap();
        let claims = claims.claims_set();
        assert_eq!(claims["aud"], "portal");
        assert_eq!(claims["sub"], sub.as_str());
        assert_eq!(claims["sid"], sid.as_str());
        assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
        assert!(claims.get("nonce").is_none());
        assert!(claims["jti"].is_string());
        let now = server.clock.now().unix_timestamp();
        assert!(claims["iat"].as_i64().unwrap() <= now && claims["exp"].as_i64().unwrap() > now);
        assert!(claims["iss"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1"));

        // A credential change (or an admin lock) ends the other sessions: those clients are told.
        let mut other = Browser::new(&server.base);
        let c = code(&server, &mut other, "portal", EMAIL, PASSWORD).await;
        exchange(&server, "portal", &secret, &c).await;
        provider.end_sessions_of(&sub, None, "test").await.unwrap();
        assert_eq!(provider.deliver_logouts(&sender).await.unwrap(), 1);
        assert_eq!(rp.tokens.lock().unwrap().len(), 3);

        let d: serde_json::Value = reqwest::get(server.url("/.well-known/openid-configuration"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(d["backchannel_logout_supported"], true);
        assert_eq!(d["backchannel_logout_session_supported"], true);
    });
}

/// Several deliverers at once (several processes share the queue): each notice is claimed by one
/// of them, so a slow portal still gets each logout token once.
#[tokio::test]
async fn concurrent_deliverers_send_each_logout_once() {
    each_backend!(|server| {
        let rp = slow_receiver(vec![200], 150).await;
        let mut spec = ClientSpec::portal("portal");
        spec.backchannel_logout_uri = Some(rp.url.clone());
        let secret = server.add_client(spec).await.unwrap();
        let sub = server.add_identity(EMAIL, PASSWORD).await;
        for _ in 0..4 {
            let mut b = Browser::new(&server.base);
            let c = code(&server, &mut b, "portal", EMAIL, PASSWORD).await;
            exchange(&server, "portal", &secret, &c).await;
        }
        let provider = &server.state.provider;
        provider.end_sessions_of(&sub, None, "test").await.unwrap();
        let sender = gan_connect::wiring::HttpLogoutSender::new().unwrap();
        let (a, b, c) = tokio::join!(
            provider.deliver_logouts(&sender),
            provider.deliver_logouts(&sender),
            provider.deliver_logouts(&sender)
        );
        let delivered = a.unwrap() + b.unwrap() + c.unwrap();
        assert_eq!(delivered, 4, "one notice per session");
        assert_eq!(rp.tokens.lock().unwrap().len(), 4, "each posted once");
        assert_eq!(provider.deliver_logouts(&sender).await.unwrap(), 0);
    });
}
