//! CORS (issue 16): a browser app reads the token, userinfo and revocation answers from the
//! origins its client allows — those of its redirect URIs and its `web_origins` — and from no
//! other; never `*`, never credentials, always `Vary: Origin`; never at `/authorize`; discovery
//! and JWKS stay `*`.

use gan_testkit::flows::{code, exchange};
use gan_testkit::{each_backend, Browser, ClientSpec};
use reqwest::header::HeaderMap;

const EMAIL: &str = "spa@example.fr";
const PASSWORD: &str = "a-good-password-1";
/// The origin of `gan_testkit::REDIRECT` (`http://127.0.0.1:9/cb`).
const APP: &str = "http://127.0.0.1:9";
const EXTRA: &str = "https://app.example.fr";
const STRANGER: &str = "https://evil.example";

fn allow_origin(h: &HeaderMap) -> Option<&str> {
    h.get("access-control-allow-origin")
        .and_then(|v| v.to_str().ok())
}

fn varies_on_origin(h: &HeaderMap) -> bool {
    h.get_all("vary").iter().any(|v| {
        v.to_str()
            .unwrap_or_default()
            .to_ascii_lowercase()
            .contains("origin")
    })
}

#[tokio::test]
async fn browser_apps_read_answers_from_their_own_origins_only() {
    each_backend!(|server| {
        let mut spec = ClientSpec::portal("spa");
        spec.web_origins = vec![EXTRA.into()];
        let secret = server.add_client(spec).await.unwrap();
        let mut other = ClientSpec::portal("other");
        other.redirect_uris = vec!["https://other.example.fr/cb".into()];
        let other_secret = server.add_client(other).await.unwrap();
        server.add_identity(EMAIL, PASSWORD).await;
        let http = reqwest::Client::new();

        // Preflights: the endpoints answer them for a registered origin, with the headers a
        // bearer or Basic call needs; a stranger gets no permission.
        for path in ["/userinfo", "/token", "/revoke"] {
            for (origin, ok) in [(APP, true), (EXTRA, true), (STRANGER, false)] {
                let res = http
                    .request(reqwest::Method::OPTIONS, server.url(path))
                    .header("origin", origin)
                    .header("access-control-request-method", "POST")
                    .header(
                        "access-control-request-headers",
                        "authorization,content-type",
                    )
                    .send()
                    .await
                    .unwrap();
                assert!(
                    res.status().is_success(),
                    "{path} {origin}: {}",
                    res.status()
                );
                let h = res.headers();
                assert!(varies_on_origin(h), "{path}: {h:?}");
                if ok {
                    assert_eq!(allow_origin(h), Some(origin), "{path}");
                    let allowed = h["access-control-allow-headers"]
                        .to_str()
                        .unwrap()
                        .to_ascii_lowercase();
                    assert!(allowed.contains("authorization"), "{allowed}");
                } else {
                    assert_eq!(allow_origin(h), None, "{path} {origin}");
                }
                assert!(h.get("access-control-allow-credentials").is_none());
            }
        }

        // The real calls: the client's own origins read them; another client's origin does not.
        let mut b = Browser::new(&server.base);
        let c = code(&server, &mut b, "spa", EMAIL, PASSWORD).await;
        let (_, tokens) = exchange(&server, "spa", &secret, &c).await;
        let at = tokens["access_token"].as_str().unwrap();
        for (origin, ok) in [
            (APP, true),
            (EXTRA, true),
            ("https://other.example.fr", false),
            (STRANGER, false),
        ] {
            let res = http
                .get(server.url("/userinfo"))
                .bearer_auth(at)
                .header("origin", origin)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            assert!(varies_on_origin(res.headers()));
            assert_eq!(
                allow_origin(res.headers()),
                ok.then_some(origin),
                "userinfo from {origin}"
            );
        }
        let token_from = |origin: &'static str, client: &'static str, secret: String| {
            let http = http.clone();
            let url = server.url("/token");
            async move {
                http.post(url)
                    .basic_auth(client, Some(secret))
                    .header("origin", origin)
                    .form(&[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", "gcr_unknown"),
                    ])
                    .send()
                    .await
                    .unwrap()
            }
        };
        // Even an error is readable by the client's page (it must see invalid_grant)…
        let res = token_from(EXTRA, "spa", secret.clone()).await;
        assert_eq!(res.status(), 400);
        assert_eq!(allow_origin(res.headers()), Some(EXTRA));
        // …but not by a page of another client's origin.
        let res = token_from(EXTRA, "other", other_secret.clone()).await;
        assert_eq!(allow_origin(res.headers()), None);
        let res = http
            .post(server.url("/revoke"))
            .basic_auth("spa", Some(&secret))
            .header("origin", APP)
            .form(&[("token", at)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(allow_origin(res.headers()), Some(APP));

        // Never at /authorize (nor introspection); discovery and JWKS stay `*`.
        for path in [
            "/authorize?client_id=spa",
            "/.well-known/openid-configuration",
            "/jwks",
        ] {
            let res = http
                .get(server.url(path))
                .header("origin", APP)
                .send()
                .await
                .unwrap();
            let expected = (!path.starts_with("/authorize")).then_some("*");
            assert_eq!(allow_origin(res.headers()), expected, "{path}");
        }
        let res = http
            .post(server.url("/introspect"))
            .basic_auth("spa", Some(&secret))
            .header("origin", APP)
            .form(&[("token", at)])
            .send()
            .await
            .unwrap();
        assert_eq!(
            allow_origin(res.headers()),
            None,
            "no CORS on introspection"
        );
    });
}

#[tokio::test]
async fn web_origins_are_checked_at_registration() {
    each_backend!(|server| {
        use gan_admin::{AdminError, ClientInput};
        let input = |origins: &[&str]| ClientInput {
            client_id: "spa".into(),
            client_name: "SPA".into(),
            redirect_uris: vec!["https://app.example.fr/cb".into()],
            token_endpoint_auth_method: Some("none".into()),
            web_origins: origins.iter().map(|o| o.to_string()).collect(),
            ..Default::default()
        };
        for bad in [
            "*",
            "https://app.example.fr/",
            "https://app.example.fr/path",
            "http://app.example.fr",
            "https://APP.example.fr",
            "https://app.example.fr:443",
            "null",
            "file:///etc",
        ] {
            match server.state.admin.create_client(input(&[bad])).await {
                Err(AdminError::Invalid { field, .. }) => assert_eq!(field, "web_origins", "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
        let ok = server
            .state
            .admin
            .create_client(input(&["https://spa.example.fr", "http://localhost:5173"]))
            .await
            .unwrap();
        assert_eq!(ok.client.web_origins.len(), 2);
    });
}

/// A page of an origin the client does not allow cannot spend its code: the token request is
/// refused before anything is redeemed, and the client's own server (no `Origin`) still can.
#[tokio::test]
async fn a_token_request_from_a_foreign_page_spends_nothing() {
    each_backend!(|server| {
        let secret = server.add_client(ClientSpec::portal("spa")).await.unwrap();
        server.add_identity(EMAIL, PASSWORD).await;
        let mut b = Browser::new(&server.base);
        let c = code(&server, &mut b, "spa", EMAIL, PASSWORD).await;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", c.as_str()),
            ("redirect_uri", gan_testkit::REDIRECT),
            ("code_verifier", gan_testkit::flows::VERIFIER),
        ];
        let res = reqwest::Client::new()
            .post(server.url("/token"))
            .basic_auth("spa", Some(&secret))
            .header("origin", STRANGER)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        assert_eq!(allow_origin(res.headers()), None);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{body}");
        let (s, tokens) = exchange(&server, "spa", &secret, &c).await;
        assert_eq!(s, 200, "the code was not spent: {tokens}");
    });
}
