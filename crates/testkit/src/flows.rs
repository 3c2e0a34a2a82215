//! Protocol steps by hand (without a relying-party library), for negative tests.

use gan_oidc::pkce::challenge_s256;

use crate::{Browser, TestServer, REDIRECT};

/// A fixed PKCE verifier for tests.
pub const VERIFIER: &str = "test-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";

/// An authorization URL for `client_id` with PKCE S256, plus extra parameters.
pub fn authorize_url(server: &TestServer, client_id: &str, extra: &[(&str, &str)]) -> String {
    let challenge = challenge_s256(VERIFIER);
    let mut url = url::Url::parse(&server.url("/authorize")).unwrap();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code");
        q.append_pair("client_id", client_id);
        q.append_pair("redirect_uri", REDIRECT);
        q.append_pair("scope", "openid email offline_access");
        q.append_pair("state", "st-1");
        q.append_pair("nonce", "n-1");
        q.append_pair("code_challenge", &challenge);
        q.append_pair("code_challenge_method", "S256");
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    url.to_string()
}

/// Signs in and returns the code.
pub async fn code(
    server: &TestServer,
    browser: &mut Browser,
    client_id: &str,
    email: &str,
    password: &str,
) -> String {
    let back = browser
        .sign_in(&authorize_url(server, client_id, &[]), email, password)
        .await;
    back.location_param("code")
        .unwrap_or_else(|| panic!("no code: {} {:?} {}", back.status, back.location, back.body))
}

/// POSTs a form to the token endpoint with client_secret_basic; returns status and JSON.
pub async fn token(
    server: &TestServer,
    client_id: &str,
    secret: &str,
    form: &[(&str, &str)],
) -> (u16, serde_json::Value, reqwest::header::HeaderMap) {
    let res = reqwest::Client::new()
        .post(server.url("/token"))
        .basic_auth(client_id, Some(secret))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res.json().await.unwrap_or(serde_json::Value::Null);
    (status, body, headers)
}

/// Exchanges a code with the test verifier.
pub async fn exchange(
    server: &TestServer,
    client_id: &str,
    secret: &str,
    code: &str,
) -> (u16, serde_json::Value) {
    let (s, b, _) = token(
        server,
        client_id,
        secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    (s, b)
}

/// Introspects a token as `client_id`; returns `active`.
pub async fn active(server: &TestServer, client_id: &str, secret: &str, token: &str) -> bool {
    let res = reqwest::Client::new()
        .post(server.url("/introspect"))
        .basic_auth(client_id, Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    body["active"].as_bool().unwrap()
}

/// The userinfo answer for an access token (status 200 expected).
pub async fn userinfo(server: &TestServer, access_token: &str) -> serde_json::Value {
    let res = reqwest::Client::new()
        .get(server.url("/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// Part `i` of a compact JWS (0 header, 1 claims) as JSON, unverified.
pub fn jwt_part(jwt: &str, i: usize) -> serde_json::Value {
    use base64::Engine;
    let part = jwt.split('.').nth(i).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}
