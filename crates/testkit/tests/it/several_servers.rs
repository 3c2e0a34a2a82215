//! No state lives in one process: two servers on one database finish each other's flows, and
//! single-use rules hold under concurrency.

use gan_testkit::flows::{active, authorize_url, exchange, token, VERIFIER};
use gan_testkit::{backends, Browser, ClientSpec, TestDb, TestServer, REDIRECT};

const EMAIL: &str = "two@example.fr";
const PASSWORD: &str = "a-good-password-1";

/// Sends the same token request `n` times at once, spread over the servers.
async fn race(
    servers: &[&str],
    secret: &str,
    form: &[(&str, &str)],
    n: usize,
) -> Vec<serde_json::Value> {
    let form: Vec<(String, String)> = form
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (url, secret, form) = (
                format!("{}/token", servers[i % servers.len()]),
                secret.to_string(),
                form.clone(),
            );
            tokio::spawn(async move {
                reqwest::Client::new()
                    .post(url)
                    .basic_auth("portal", Some(secret))
                    .form(&form)
                    .send()
                    .await
                    .unwrap()
                    .json::<serde_json::Value>()
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test]
async fn a_flow_started_on_one_server_finishes_on_another() {
    for backend in backends() {
        let db = TestDb::create(&backend).await;
        {
            let a = TestServer::start(&db, &[]).await;
            let b = TestServer::start(&db, &[]).await;
            let secret = a.add_client(ClientSpec::portal("portal")).await.unwrap();
            a.add_identity(EMAIL, PASSWORD).await;

            // Authorize on A, sign in on B, resume on A; the cookies are the browser's.
            let mut browser = Browser::new(&a.base);
            let first = browser.get(&authorize_url(&a, "portal", &[])).await;
            let interaction = first.location.clone().unwrap();
            let on_b = interaction.replace(&a.base, &b.base);
            let page = browser.get(&on_b).await;
            assert_eq!(page.status, 200, "B knows A's interaction: {}", page.body);
            let action = page.form_action().unwrap();
            let csrf = page.input("csrf_token").unwrap();
            let posted = browser
                .post_form(
                    &format!("{}{}", b.base, action),
                    &[
                        ("csrf_token", &csrf),
                        ("identifier", EMAIL),
                        ("password", PASSWORD),
                    ],
                )
                .await;
            assert_eq!(posted.status, 303, "{}", posted.body);
            let resume = posted.location.unwrap().replace(&b.base, &a.base);
            let back = browser.get(&resume).await;
            let code = back.location_param("code").expect("a code from A");

            // Token and introspection on B.
            let (s, tokens) = exchange(&b, "portal", &secret, &code).await;
            assert_eq!(s, 200, "{tokens}");
            let at = tokens["access_token"].as_str().unwrap();
            assert!(active(&b, "portal", &secret, at).await);
            assert!(active(&a, "portal", &secret, at).await);
            // The ID token from B verifies with A's JWKS (the keys are shared).
            let jwks_a: serde_json::Value = reqwest::get(a.url("/jwks"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let jwks_b: serde_json::Value = reqwest::get(b.url("/jwks"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(jwks_a, jwks_b);

            // A key rotated on A is served by B after B's reload interval.
            a.state.provider.rotate_keys().await.unwrap();
            b.clock.advance(31);
            let jwks_b: serde_json::Value = reqwest::get(b.url("/jwks"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(jwks_b["keys"].as_array().unwrap().len(), 6);
        }
        db.drop_db().await;
    }
}

#[tokio::test]
async fn concurrent_redemptions_of_one_code_and_one_refresh_token() {
    for backend in backends() {
        let db = TestDb::create(&backend).await;
        {
            let a = TestServer::start(&db, &[]).await;
            let b = TestServer::start(&db, &[]).await;
            let secret = a.add_client(ClientSpec::portal("portal")).await.unwrap();
            a.add_identity(EMAIL, PASSWORD).await;
            let mut browser = Browser::new(&a.base);
            let back = browser
                .sign_in(&authorize_url(&a, "portal", &[]), EMAIL, PASSWORD)
                .await;
            let code = back.location_param("code").unwrap();

            let form = [
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ];
            let mut winners = Vec::new();
            for body in race(&[&a.base, &b.base], &secret, &form, 8).await {
                if body.get("access_token").is_some() {
                    winners.push(body);
                } else {
                    assert_eq!(body["error"], "invalid_grant");
                }
            }
            assert_eq!(
                winners.len(),
                1,
                "exactly one redemption succeeds ({backend:?})"
            );
            // The replays revoked what the code produced, even the winner's tokens that were
            // written while they raced.
            let winner_token = winners[0]["access_token"].as_str().unwrap();
            assert!(
                !active(&a, "portal", &secret, winner_token).await,
                "replay revokes the winner's tokens ({backend:?})"
            );

            // Fresh tokens for the refresh race (the replays above revoked the first grant).
            let back = browser
                .sign_in(&authorize_url(&a, "portal", &[]), EMAIL, PASSWORD)
                .await;
            let (_, tokens) =
                exchange(&a, "portal", &secret, &back.location_param("code").unwrap()).await;
            let rt = tokens["refresh_token"].as_str().unwrap().to_string();
            let form = [
                ("grant_type", "refresh_token"),
                ("refresh_token", rt.as_str()),
            ];
            let rotated = race(&[&a.base, &b.base], &secret, &form, 6)
                .await
                .iter()
                .filter(|b| b.get("refresh_token").is_some())
                .count();
            assert_eq!(rotated, 1, "exactly one rotation ({backend:?})");
            // Then reuse was detected: the whole family is revoked.
            let (s, _, _) = token(
                &a,
                "portal",
                &secret,
                &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
            )
            .await;
            assert_eq!(s, 400);
            assert!(
                !active(
                    &a,
                    "portal",
                    &secret,
                    tokens["access_token"].as_str().unwrap()
                )
                .await
            );
        }
        db.drop_db().await;
    }
}
