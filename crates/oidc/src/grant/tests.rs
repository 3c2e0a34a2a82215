//! Every grant against in-memory ports: what it issues, what it refuses, and what a replay
//! revokes (RFC 6749 §4.1.2 and §10.5, §6, §4.4; RFC 7636; RFC 7009; RFC 7662).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use gan_audit::EventType;

use crate::error::ErrorCode;
use crate::model::TokenKind;
use crate::testing::{basic, code_of, params, partner, portal, Op, PERSON, REDIRECT, VERIFIER};

const ALL: &str = "openid email offline_access";
/// Scopes as the token response lists them (sorted).
const ALL_SORTED: &str = "email offline_access openid";

#[tokio::test]
async fn authorization_code_issues_tokens_once_and_a_replay_revokes_them() {
    let op = Op::start().await;
    op.add(portal("portal")).await;
    let cookie = op.signed_in().await;
    let code = op.code("portal", ALL, &cookie).await;

    let issued = op.redeem("portal", &code).await.unwrap();
    assert_eq!(issued.token_type, "Bearer");
    assert_eq!(issued.scope, ALL_SORTED);
    assert!(issued.id_token.is_some(), "openid asks for an ID token");
    let refresh = issued
        .refresh_token
        .clone()
        .expect("offline_access asks for one");
    assert!(op.active("portal", &issued.access_token).await);
    let stored = op.store.tokens();
    assert_eq!(stored.len(), 2, "one access and one refresh token stored");
    assert!(
        stored.iter().all(|t| t.token_hash != issued.access_token),
        "only hashes are stored"
    );

    let replay = op.redeem("portal", &code).await.unwrap_err();
    assert_eq!(code_of(&replay), ErrorCode::InvalidGrant);
    assert!(!op.active("portal", &issued.access_token).await);
    assert!(!op.active("portal", &refresh).await);
    assert_eq!(op.events(EventType::CodeReplay).await.len(), 1);
}

#[tokio::test]
async fn authorization_code_checks_client_redirect_pkce_and_expiry() {
    let op = Op::start().await;
    op.add(portal("portal")).await;
    op.add(portal("other")).await;
    let cookie = op.signed_in().await;

    let code = op.code("portal", ALL, &cookie).await;
    let stolen = op.redeem("other", &code).await.unwrap_err();
    assert_eq!(
        code_of(&stolen),
        ErrorCode::InvalidGrant,
        "another client's code"
    );

    let code = op.code("portal", ALL, &cookie).await;
    for (name, form) in [
        (
            "redirect_uri differs",
            vec![
                ("redirect_uri", "https://portal.example.fr/other"),
                ("code_verifier", VERIFIER),
            ],
        ),
        (
            "wrong verifier",
            vec![
                ("redirect_uri", REDIRECT),
                (
                    "code_verifier",
                    "another-verifier-of-at-least-forty-three-chars",
                ),
            ],
        ),
        ("verifier missing", vec![("redirect_uri", REDIRECT)]),
    ] {
        let mut pairs = vec![("grant_type", "authorization_code"), ("code", &code)];
        pairs.extend(form);
        let err = op
            .provider
            .token(Some(&basic("portal")), &params(&pairs))
            .await
            .unwrap_err();
        assert_eq!(code_of(&err), ErrorCode::InvalidGrant, "{name}");
    }
    // None of the refusals used the code up.
    assert!(op.redeem("portal", &code).await.is_ok());

    let code = op.code("portal", ALL, &cookie).await;
    op.clock.advance(61);
    let late = op.redeem("portal", &code).await.unwrap_err();
    assert_eq!(code_of(&late), ErrorCode::InvalidGrant, "expired code");

    let unknown = op.redeem("portal", "gcc_nope").await.unwrap_err();
    assert_eq!(code_of(&unknown), ErrorCode::InvalidGrant);
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let op = Op::start().await;
    op.add(portal("portal")).await;
    let first = op.tokens("portal", ALL).await;
    let r1 = first.refresh_token.unwrap();

    let second = op.refresh("portal", &r1).await.unwrap();
    let r2 = second
        .refresh_token
        .clone()
        .expect("rotation issues a new one");
    assert_ne!(r1, r2);
    assert_eq!(second.scope, ALL_SORTED, "the grant's scopes are kept");
    assert!(op.active("portal", &second.access_token).await);
    assert!(
        !op.active("portal", &r1).await,
        "the used refresh token is spent"
    );

    // Reusing r1 is theft or a bug: the whole family dies, r2 included.
    let reuse = op.refresh("portal", &r1).await.unwrap_err();
    assert_eq!(code_of(&reuse), ErrorCode::InvalidGrant);
    assert!(!op.active("portal", &r2).await);
    assert!(!op.active("portal", &second.access_token).await);
    assert_eq!(op.events(EventType::RefreshReuse).await.len(), 1);
    let after = op.refresh("portal", &r2).await.unwrap_err();
    assert_eq!(code_of(&after), ErrorCode::InvalidGrant);
}

#[tokio::test]
async fn refresh_is_refused_to_another_client_and_after_expiry() {
    let op = Op::start().await;
    op.add(portal("portal")).await;
    op.add(portal("other")).await;
    let issued = op.tokens("portal", ALL).await;
    let refresh = issued.refresh_token.unwrap();

    let stolen = op.refresh("other", &refresh).await.unwrap_err();
    assert_eq!(code_of(&stolen), ErrorCode::InvalidGrant);
    assert!(
        op.refresh("portal", &refresh).await.is_ok(),
        "a refusal to another client does not spend the token"
    );

    let issued = op.tokens("portal", ALL).await;
    op.clock.advance(31 * 24 * 3600);
    let late = op
        .refresh("portal", &issued.refresh_token.unwrap())
        .await
        .unwrap_err();
    assert_eq!(code_of(&late), ErrorCode::InvalidGrant);
}

#[tokio::test]
async fn no_refresh_token_without_offline_access_or_the_grant() {
    let op = Op::start().await;
    op.add(portal("portal")).await;
    let mut no_refresh = portal("no-refresh");
    no_refresh.grant_types = vec!["authorization_code".into()];
    op.add(no_refresh).await;
    let cookie = op.signed_in().await;

    let plain = op
        .redeem("portal", &op.code("portal", "openid email", &cookie).await)
        .await
        .unwrap();
    assert!(plain.refresh_token.is_none());
    let code = op.code("no-refresh", ALL, &cookie).await;
    let issued = op.redeem("no-refresh", &code).await.unwrap();
    assert!(issued.refresh_token.is_none());
    let err = op.refresh("no-refresh", "gcr_anything").await.unwrap_err();
    assert_eq!(code_of(&err), ErrorCode::UnauthorizedClient);
}

#[tokio::test]
async fn client_credentials_for_confidential_clients_with_their_scopes() {
    let op = Op::start().await;
    op.add(partner("partner")).await;
    let grant = |scope: Option<&'static str>| {
        let mut pairs = vec![("grant_type", "client_credentials")];
        if let Some(s) = scope {
            pairs.push(("scope", s));
        }
        params(&pairs)
    };
    let issued = op
        .provider
        .token(Some(&basic("partner")), &grant(None))
        .await
        .unwrap();
    assert_eq!(issued.scope, "partner:read");
    assert!(issued.refresh_token.is_none() && issued.id_token.is_none());
    let stored = op.store.tokens();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].kind, TokenKind::Access);
    assert_eq!(stored[0].identity_id, None, "no person behind it");

    for scope in ["openid", "partner:write"] {
        let err = op
            .provider
            .token(Some(&basic("partner")), &grant(Some(scope)))
            .await
            .unwrap_err();
        assert_eq!(code_of(&err), ErrorCode::InvalidScope, "{scope}");
    }
    let wrong_secret = params(&[("grant_type", "client_credentials")]);
    let err = op
        .provider
        .token(Some("Basic cGFydG5lcjpub3BlCg=="), &wrong_secret)
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), ErrorCode::InvalidClient);
}

#[tokio::test]
async fn unknown_and_unallowed_grant_types() {
    let op = Op::start().await;
    op.add(partner("partner")).await;
    let err = op
        .provider
        .token(
            Some(&basic("partner")),
            &params(&[("grant_type", "password")]),
        )
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), ErrorCode::UnsupportedGrantType);
    let err = op
        .provider
        .token(
            Some(&basic("partner")),
            &params(&[("grant_type", "authorization_code"), ("code", "x")]),
        )
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), ErrorCode::UnauthorizedClient);
}

#[tokio::test]
async fn userinfo_and_revocation() {
    let op = Op::start().await;
    op.add(portal("portal")).await;
    op.add(portal("other")).await;
    let issued = op.tokens("portal", ALL).await;

    let claims = op.provider.userinfo(&issued.access_token).await.unwrap();
    assert_eq!(claims["sub"], PERSON);
    assert_eq!(claims["email"], "marie@example.fr");
    assert!(
        claims.get("accounts").is_none(),
        "scope accounts was not asked"
    );

    // Another client's revocation is refused (RFC 7009 §2.1) and leaves the token alone.
    let revoke = |token: &str| params(&[("token", token)]);
    let refused = op
        .provider
        .revoke(Some(&basic("other")), &revoke(&issued.access_token))
        .await
        .unwrap_err();
    assert_eq!(code_of(&refused), ErrorCode::UnauthorizedClient);
    assert!(op.active("portal", &issued.access_token).await);

    // Revoking the refresh token revokes the grant, access token included.
    op.provider
        .revoke(
            Some(&basic("portal")),
            &revoke(issued.refresh_token.as_deref().unwrap()),
        )
        .await
        .unwrap();
    assert!(!op.active("portal", &issued.access_token).await);
    let err = op
        .provider
        .userinfo(&issued.access_token)
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), ErrorCode::InvalidToken);
    assert_eq!(op.events(EventType::TokenRevoked).await.len(), 1);
}

/// Claims follow authorisation: a client restricted to account kinds the person holds none of
/// sees the person's token inactive, and once the person holds none of its own kinds its
/// tokens give nothing more (no refresh, no userinfo, inactive).
#[tokio::test]
async fn a_person_without_the_clients_kinds_gets_nothing_through_it() {
    let op = Op::start().await;
    op.add(portal("portal")).await;
    let mut pro = partner("pro");
    pro.scopes.push("accounts".into());
    pro.account_kinds = vec!["professional".into()];
    op.add(pro).await;
    let issued = op.tokens("portal", ALL).await;
    assert!(op.active("portal", &issued.access_token).await);
    assert!(
        !op.active("pro", &issued.access_token).await,
        "Marie holds no professional account"
    );

    let mut personal = portal("personal");
    personal.account_kinds = vec!["personal".into()];
    op.add(personal).await;
    let issued = op.tokens("personal", ALL).await;
    assert!(op.active("personal", &issued.access_token).await);
    // Her personal account is detached.
    op.claims.add(
        PERSON,
        crate::person::Person {
            accounts: vec![],
            ..crate::testing::marie()
        },
    );
    assert!(!op.active("personal", &issued.access_token).await);
    let err = op
        .provider
        .userinfo(&issued.access_token)
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), ErrorCode::InvalidToken);
    let err = op
        .refresh("personal", issued.refresh_token.as_deref().unwrap())
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), ErrorCode::InvalidGrant);
}

/// Another client introspecting sees the person through both registrations: names from an
/// account of a kind it may see (not the token client's first named account), and nothing at
/// all when both clients are restricted to kinds that do not meet.
#[tokio::test]
async fn introspection_by_another_client_takes_names_from_accounts_it_may_see() {
    use crate::person::{HeldAccount, Person};
    let op = Op::start().await;
    let named = |number: &str, kind: &str, given: &str| HeldAccount {
        client_number: number.into(),
        kind: kind.into(),
        label: number.into(),
        given_name: Some(given.into()),
        family_name: Some("Martin".into()),
        updated_at: 1_700_000_000,
    };
    op.claims.add(
        PERSON,
        Person {
            accounts: vec![
                named("10000001", "personal", "Marie"),
                named("10000002", "professional", "Atelier"),
            ],
            ..crate::testing::marie()
        },
    );
    let mut all = portal("portal");
    all.scopes.push("profile".into());
    op.add(all).await;
    let mut pro = partner("pro");
    pro.scopes
        .extend(["profile".to_string(), "accounts".to_string()]);
    pro.account_kinds = vec!["professional".into()];
    op.add(pro).await;
    let mut personal = portal("personal");
    personal.scopes.push("profile".into());
    personal.account_kinds = vec!["personal".into()];
    op.add(personal).await;

    let introspect = |caller: &'static str, token: String| {
        let provider = &op.provider;
        async move {
            provider
                .introspect(Some(&basic(caller)), &params(&[("token", &token)]))
                .await
                .unwrap()
        }
    };
    let issued = op.tokens("portal", "openid profile accounts").await;
    let seen = introspect("pro", issued.access_token.clone()).await;
    assert_eq!(seen["given_name"], "Atelier", "{seen}");
    assert_eq!(seen["client_numbers"], serde_json::json!(["10000002"]));
    let own = introspect("portal", issued.access_token).await;
    assert_eq!(own["given_name"], "Marie", "{own}");

    let issued = op.tokens("personal", "openid profile accounts").await;
    let seen = introspect("pro", issued.access_token).await;
    assert_eq!(
        seen,
        serde_json::json!({ "active": false }),
        "personal-only and professional-only registrations do not meet"
    );
}

/// A refresh token lives by `offline_access`: dropped from the registration, it is refused.
#[tokio::test]
async fn refresh_is_refused_once_offline_access_leaves_the_registration() {
    let op = Op::start().await;
    op.add(portal("portal")).await;
    let issued = op.tokens("portal", ALL).await;
    let mut narrowed = portal("portal");
    narrowed.scopes.retain(|s| s != "offline_access");
    op.add(narrowed).await;
    let err = op
        .refresh("portal", issued.refresh_token.as_deref().unwrap())
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), ErrorCode::InvalidGrant);
}

#[tokio::test]
async fn a_locked_or_deleted_identity_gets_nothing_more() {
    let op = Op::start().await;
    op.add(portal("portal")).await;
    let issued = op.tokens("portal", ALL).await;
    op.claims.remove(PERSON);
    let err = op
        .provider
        .userinfo(&issued.access_token)
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), ErrorCode::InvalidToken);
    assert!(!op.active("portal", &issued.access_token).await);
}

#[tokio::test]
async fn storage_down_is_a_server_error_not_a_protocol_answer() {
    let op = Op::start().await;
    op.add(portal("portal")).await;
    let cookie = op.signed_in().await;
    let code = op.code("portal", ALL, &cookie).await;
    op.store.fail(true);
    let err = op.redeem("portal", &code).await.unwrap_err();
    assert!(
        !matches!(err, crate::EngineError::OAuth(_)),
        "a storage failure is not invalid_grant: {err:?}"
    );
    op.store.fail(false);
    assert!(
        op.redeem("portal", &code).await.is_ok(),
        "nothing was spent"
    );
}

#[tokio::test]
async fn a_narrower_refresh_narrows_that_response_only() {
    let op = Op::start().await;
    op.add(portal("portal")).await;
    let first = op.tokens("portal", ALL).await;
    let narrow = params(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", first.refresh_token.as_deref().unwrap()),
        ("scope", "openid"),
    ]);
    let narrowed = op
        .provider
        .token(Some(&basic("portal")), &narrow)
        .await
        .unwrap();
    assert_eq!(narrowed.scope, "openid");
    let claims = op.provider.userinfo(&narrowed.access_token).await.unwrap();
    assert!(
        claims.get("email").is_none(),
        "the access token is narrowed"
    );

    // The next refresh without `scope` gets the whole grant again (RFC 6749 §6).
    let again = op
        .refresh("portal", narrowed.refresh_token.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(again.scope, ALL_SORTED);
}

#[tokio::test]
async fn refresh_gives_only_what_the_registration_still_allows() {
    let op = Op::start().await;
    op.add(portal("portal")).await;
    let first = op.tokens("portal", ALL).await;
    let mut narrower = portal("portal");
    narrower.scopes.retain(|s| s != "email");
    op.add(narrower).await;

    let asked = params(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", first.refresh_token.as_deref().unwrap()),
        ("scope", "openid email"),
    ]);
    let err = op
        .provider
        .token(Some(&basic("portal")), &asked)
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), ErrorCode::InvalidScope);

    let next = op
        .refresh("portal", first.refresh_token.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(next.scope, "offline_access openid");
    let later = op
        .refresh("portal", next.refresh_token.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(
        later.scope, "offline_access openid",
        "the grant stays narrowed"
    );
}
