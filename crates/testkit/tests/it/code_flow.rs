//! The full code flow, driven by the `openidconnect` crate as the relying party: discovery →
//! authorize → sign in → token → ID token verified against JWKS → userinfo → refresh →
//! introspection → revocation → logout. On SQLite, and on PostgreSQL when `DATABASE_URL` is set.

use gan_oidc::model::SigningAlg;
use gan_testkit::flows::jwt_part;
use gan_testkit::{each_backend, Browser, ClientSpec, TestServer, POST_LOGOUT, REDIRECT};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IntrospectionUrl,
    IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope,
    TokenIntrospectionResponse, TokenResponse,
};

const EMAIL: &str = "Marie.Curie@Example.fr";
const PASSWORD: &str = "radium-polonium-1898";

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn full_flow(server: &TestServer, alg: SigningAlg) {
    let client_id = format!("portal-{}", alg.as_str());
    let mut spec = ClientSpec::portal(&client_id);
    spec.alg = alg;
    let secret = server.add_client(spec).await.unwrap();
    let sub = server.add_identity(EMAIL, PASSWORD).await;
    let http = http();

    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(server.base.clone()).unwrap(), &http)
            .await
            .unwrap();
    let rp = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.clone()),
        Some(ClientSecret::new(secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap())
    .set_introspection_url(IntrospectionUrl::new(server.url("/introspect")).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, state, nonce) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();

    let mut browser = Browser::new(&server.base);
    let back = browser
        .sign_in(auth_url.as_str(), "  marie.curie@example.FR ", PASSWORD)
        .await;
    assert_eq!(back.status, 303, "{}", back.body);
    assert!(back.location.as_deref().unwrap().starts_with(REDIRECT));
    assert_eq!(
        back.location_param("state").as_deref(),
        Some(state.secret().as_str())
    );
    assert_eq!(
        back.location_param("iss").as_deref(),
        Some(server.base.as_str()),
        "RFC 9207 iss"
    );
    let code = back.location_param("code").unwrap();

    let tokens = rp
        .exchange_code(AuthorizationCode::new(code.clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let id_token = tokens.id_token().expect("an ID token");
    let verifier = rp.id_token_verifier().set_allowed_algs(vec![alg_of(alg)]);
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("a valid ID token");
    assert_eq!(claims.subject().as_str(), sub);
    assert_ne!(
        claims.subject().as_str(),
        EMAIL.to_lowercase(),
        "sub is opaque"
    );
    assert_eq!(
        claims.email().map(|e| e.as_str()),
        Some("marie.curie@example.fr")
    );
    assert!(claims.auth_time().is_some());
    assert!(claims.auth_context_ref().is_some());
    assert!(claims.auth_method_refs().is_some_and(|m| !m.is_empty()));
    let expected_hash = claims.access_token_hash().expect("at_hash");
    let actual = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(&actual, expected_hash);
    let raw_claims = jwt_claims(&id_token.to_string());
    assert!(raw_claims["sid"].is_string());
    assert_eq!(header_alg(&id_token.to_string()), alg.as_str());

    let userinfo: CoreUserInfoClaims = rp
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(userinfo.subject().as_str(), sub);
    assert_eq!(
        userinfo.email().map(|e| e.as_str()),
        Some("marie.curie@example.fr")
    );

    let refresh = tokens
        .refresh_token()
        .expect("offline_access gives a refresh token")
        .clone();
    let refreshed = rp
        .exchange_refresh_token(&refresh)
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    assert_ne!(
        refreshed.access_token().secret(),
        tokens.access_token().secret()
    );
    let new_refresh = refreshed
        .refresh_token()
        .expect("rotation gives a new refresh token")
        .clone();
    assert_ne!(new_refresh.secret(), refresh.secret());

    let live = rp
        .introspect(refreshed.access_token())
        .request_async(&http)
        .await
        .unwrap();
    assert!(live.active());
    assert_eq!(live.sub(), Some(sub.as_str()));
    assert_eq!(
        live.client_id().map(|c| c.as_str()),
        Some(client_id.as_str())
    );
    assert!(live.exp().is_some() && live.iat().is_some());
    let old = rp
        .introspect(tokens.access_token())
        .request_async(&http)
        .await
        .unwrap();
    assert!(
        old.active(),
        "the first access token lives until it expires"
    );

    // The crate refuses a revocation endpoint over plain http, so this call is made by hand
    // (RFC 7009 §2.1, client_secret_basic).
    let revoked = http
        .post(server.url("/revoke"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[
            ("token", new_refresh.secret().as_str()),
            ("token_type_hint", "refresh_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let after = rp
        .introspect(refreshed.access_token())
        .request_async(&http)
        .await
        .unwrap();
    assert!(
        !after.active(),
        "revoking the refresh token revokes its family"
    );
    assert!(rp
        .exchange_refresh_token(&new_refresh)
        .unwrap()
        .request_async(&http)
        .await
        .is_err());

    // RP-initiated logout with the ID token as hint: no confirmation, redirect with state.
    let logout = format!(
        "/end_session?id_token_hint={}&post_logout_redirect_uri={}&state=bye",
        id_token,
        url_encode(POST_LOGOUT)
    );
    let out = browser.get(&logout).await;
    assert_eq!(out.status, 303, "{}", out.body);
    assert_eq!(
        out.location.as_deref(),
        Some(format!("{POST_LOGOUT}?state=bye").as_str())
    );
    // The session is over: prompt=none now fails with login_required.
    let (again, _, _) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(PkceCodeChallenge::new_random_sha256().0)
        .add_prompt(openidconnect::core::CoreAuthPrompt::None)
        .url();
    let r = browser.get(again.as_str()).await;
    assert_eq!(r.location_param("error").as_deref(), Some("login_required"));
}

fn alg_of(alg: SigningAlg) -> openidconnect::core::CoreJwsSigningAlgorithm {
    use openidconnect::core::CoreJwsSigningAlgorithm as A;
    match alg {
        SigningAlg::RS256 => A::RsaSsaPkcs1V15Sha256,
        SigningAlg::ES256 => A::EcdsaP256Sha256,
        SigningAlg::EdDSA => A::EdDsa,
    }
}

fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn jwt_claims(jwt: &str) -> serde_json::Value {
    jwt_part(jwt, 1)
}

fn header_alg(jwt: &str) -> String {
    jwt_part(jwt, 0)["alg"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn code_flow_with_a_certified_relying_party_library() {
    each_backend!(|server| {
        full_flow(&server, SigningAlg::RS256).await;
    });
}

#[tokio::test]
async fn id_tokens_signed_es256_and_eddsa_per_client() {
    each_backend!(|server| {
        for alg in [SigningAlg::ES256, SigningAlg::EdDSA] {
            let client_id = format!("alg-{}", alg.as_str());
            let mut spec = ClientSpec::portal(&client_id);
            spec.alg = alg;
            let secret = server.add_client(spec).await.unwrap();
            let email = format!("alg{}@example.fr", alg.as_str().to_lowercase());
            server.add_identity(&email, PASSWORD).await;
            let http = http();
            let metadata = CoreProviderMetadata::discover_async(
                IssuerUrl::new(server.base.clone()).unwrap(),
                &http,
            )
            .await
            .unwrap();
            let rp = CoreClient::from_provider_metadata(
                metadata,
                ClientId::new(client_id),
                Some(ClientSecret::new(secret)),
            )
            .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
            let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
            let (url, _, nonce) = rp
                .authorize_url(
                    CoreAuthenticationFlow::AuthorizationCode,
                    CsrfToken::new_random,
                    Nonce::new_random,
                )
                .set_pkce_challenge(challenge)
                .url();
            let mut browser = Browser::new(&server.base);
            let back = browser.sign_in(url.as_str(), &email, PASSWORD).await;
            let code = back.location_param("code").unwrap();
            let tokens = rp
                .exchange_code(AuthorizationCode::new(code))
                .unwrap()
                .set_pkce_verifier(verifier)
                .request_async(&http)
                .await
                .unwrap();
            let id_token = tokens.id_token().unwrap();
            let v = rp.id_token_verifier().set_allowed_algs(vec![alg_of(alg)]);
            let claims = id_token.claims(&v, &nonce).unwrap();
            let expected = claims.access_token_hash().unwrap();
            let actual = AccessTokenHash::from_token(
                tokens.access_token(),
                id_token.signing_alg().unwrap(),
                id_token.signing_key(&v).unwrap(),
            )
            .unwrap();
            assert_eq!(&actual, expected, "{alg:?} at_hash");
            assert_eq!(header_alg(&id_token.to_string()), alg.as_str());
        }
    });
}
