//! The authorization endpoint's flow over the interaction boundary, against in-memory ports:
//! sign-in and consent hand-offs, resume, remembered consent, eligibility, and the errors that
//! must never redirect (OIDC Core §3.1.2; RFC 6749 §4.1.2.1).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::authorize::AuthorizeOutcome;
use crate::pkce;
use crate::testing::{params, portal, Op, REDIRECT, VERIFIER};

fn request(client_id: &str, extra: &[(&str, &str)]) -> crate::params::Params {
    let challenge = pkce::challenge_s256(VERIFIER);
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("scope", "openid email"),
        ("state", "st-1"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    pairs.extend_from_slice(extra);
    params(&pairs)
}

fn query(location: &str, name: &str) -> Option<String> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn without_a_session_the_ui_signs_in_then_the_request_resumes() {
    let op = Op::start().await;
    op.add(portal("portal")).await;
    let AuthorizeOutcome::Interact { uid, location } =
        op.provider.authorize(&request("portal", &[]), None).await
    else {
        panic!("expected the login UI")
    };
    assert!(location.ends_with(&uid), "{location}");

    let cookie = op.signed_in().await;
    let session = op.provider.session(Some(&cookie)).await.unwrap().unwrap();
    let resume = op
        .provider
        .login_finished(&uid, &session)
        .await
        .unwrap()
        .unwrap();
    assert!(resume.contains(&uid));
    let AuthorizeOutcome::Redirect(to) = op.provider.resume(&uid, Some(&cookie)).await else {
        panic!("expected a redirect to the client")
    };
    assert!(to.starts_with(REDIRECT));
    assert!(query(&to, "code").is_some());
    assert_eq!(query(&to, "state").as_deref(), Some("st-1"));
    assert_eq!(
        query(&to, "iss").as_deref(),
        Some("https://connect.example.fr")
    );

    // The interaction is used up.
    let AuthorizeOutcome::Page(_) = op.provider.resume(&uid, Some(&cookie)).await else {
        panic!("a finished interaction cannot be resumed")
    };
}

#[tokio::test]
async fn prompt_none_without_a_session_is_login_required_at_the_client() {
    let op = Op::start().await;
    op.add(portal("portal")).await;
    let AuthorizeOutcome::Redirect(to) = op
        .provider
        .authorize(&request("portal", &[("prompt", "none")]), None)
        .await
    else {
        panic!("expected an error redirect")
    };
    assert_eq!(query(&to, "error").as_deref(), Some("login_required"));
    assert_eq!(query(&to, "state").as_deref(), Some("st-1"));
}

#[tokio::test]
async fn consent_is_asked_once_for_a_third_party_and_deny_is_access_denied() {
    let op = Op::start().await;
    let mut third = portal("third");
    third.first_party = false;
    op.add(third).await;
    let cookie = op.signed_in().await;
    let session = op.provider.session(Some(&cookie)).await.unwrap().unwrap();

    let AuthorizeOutcome::Interact { uid, .. } = op
        .provider
        .authorize(&request("third", &[]), Some(&cookie))
        .await
    else {
        panic!("expected the consent page")
    };
    let denied = op
        .provider
        .consent_finished(&uid, &session, false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(query(&denied, "error").as_deref(), Some("access_denied"));

    let AuthorizeOutcome::Interact { uid, .. } = op
        .provider
        .authorize(&request("third", &[]), Some(&cookie))
        .await
    else {
        panic!("expected the consent page again")
    };
    op.provider
        .consent_finished(&uid, &session, true)
        .await
        .unwrap()
        .unwrap();
    let AuthorizeOutcome::Redirect(to) = op.provider.resume(&uid, Some(&cookie)).await else {
        panic!("expected the code")
    };
    assert!(query(&to, "code").is_some());

    // Remembered: the next request goes straight to the client.
    let AuthorizeOutcome::Redirect(to) = op
        .provider
        .authorize(&request("third", &[]), Some(&cookie))
        .await
    else {
        panic!("consent was remembered")
    };
    assert!(query(&to, "code").is_some());
}

#[tokio::test]
async fn a_client_for_other_account_kinds_is_refused_to_the_person() {
    let op = Op::start().await;
    let mut pro = portal("pro");
    pro.account_kinds = vec!["professional".into()];
    op.add(pro).await;
    let cookie = op.signed_in().await;
    let outcome = op
        .provider
        .authorize(&request("pro", &[]), Some(&cookie))
        .await;
    let AuthorizeOutcome::Redirect(to) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(query(&to, "error").as_deref(), Some("access_denied"));
    assert!(query(&to, "iss").is_some());
}

#[tokio::test]
async fn unknown_clients_and_unregistered_redirects_never_redirect() {
    let op = Op::start().await;
    op.add(portal("portal")).await;
    let cookie = op.signed_in().await;
    let unknown = op
        .provider
        .authorize(&request("nobody", &[]), Some(&cookie))
        .await;
    assert!(matches!(unknown, AuthorizeOutcome::Page(_)), "{unknown:?}");
    let challenge = pkce::challenge_s256(VERIFIER);
    let wrong = params(&[
        ("response_type", "code"),
        ("client_id", "portal"),
        ("redirect_uri", "https://evil.example/cb"),
        ("scope", "openid"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ]);
    let outcome = op.provider.authorize(&wrong, Some(&cookie)).await;
    assert!(matches!(outcome, AuthorizeOutcome::Page(_)), "{outcome:?}");
}

#[tokio::test]
async fn an_expired_interaction_cannot_be_resumed() {
    let op = Op::start().await;
    op.add(portal("portal")).await;
    let AuthorizeOutcome::Interact { uid, .. } =
        op.provider.authorize(&request("portal", &[]), None).await
    else {
        panic!("expected the login UI")
    };
    op.clock.advance(31 * 60);
    let cookie = op.signed_in().await;
    let outcome = op.provider.resume(&uid, Some(&cookie)).await;
    assert!(matches!(outcome, AuthorizeOutcome::Page(_)), "{outcome:?}");
}
