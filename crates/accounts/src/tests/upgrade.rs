//! J1 steps 2 and 3, J2: choose the login email, the link, the password.

use gan_audit::{EventType, Outcome};

use super::*;
use crate::customer::AccountStatus;
use crate::interaction::SignInOutcome;
use crate::links::LinkState;
use crate::policy::Violation;
use crate::upgrade::{ChooseEmail, CompleteError, VERIFY_PATH};

/// Step 1 with the legacy password of `number`: the step-2 handle.
async fn step1(m: &MemoryAccounts, number: &str, pw: &str) -> String {
    match m.accounts.sign_in_any(number, pw, None, NOW).await.unwrap() {
        SignInOutcome::UpgradeStarted { handle } => handle,
        other => panic!("{other:?}"),
    }
}

/// Steps 1 and 2 for 10000001 with `email`: the token of the verification link.
async fn step2(m: &MemoryAccounts, email: &str) -> String {
    let handle = step1(m, "10000001", "ancien-1").await;
    let chosen = m
        .accounts
        .choose_login_email(&handle, email, Some("ih".into()), "fr", BASE, NOW)
        .await
        .unwrap();
    assert!(matches!(chosen, ChooseEmail::Sent { .. }), "{chosen:?}");
    last_token(m, &email.trim().to_lowercase())
}

#[tokio::test]
async fn choosing_the_login_email_sends_a_link_to_it() {
    let m = engine().await;
    let handle = step1(&m, "10000001", "ancien-1").await;
    let chosen = m
        .accounts
        .choose_login_email(&handle, " Jean@Example.fr ", None, "en", BASE, NOW)
        .await
        .unwrap();
    assert_eq!(
        chosen,
        ChooseEmail::Sent {
            masked: "j***@example.fr".into()
        }
    );
    let mail = m.mailer.sent_to("jean@example.fr");
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].template, "upgrade_verify");
    assert_eq!(mail[0].lang, "en");
    assert_eq!(mail[0].vars["client_number"], "10000001");
    assert_eq!(mail[0].vars["hours"], 24);
    let link = mail[0].vars["link"].as_str().unwrap();
    assert!(
        link.starts_with(&format!("https://login.example.fr{VERIFY_PATH}?token=")),
        "{link}"
    );
    // Only the token's hash is stored.
    let token = last_token(&m, "jean@example.fr");
    assert!(m.store.links().iter().all(|l| l.token_hash != token));
    assert_eq!(
        outcomes(&m, EventType::UpgradeEmailChosen).await,
        [(Outcome::Success, String::new())]
    );
}

#[tokio::test]
async fn a_taken_or_invalid_email_or_an_expired_step_sends_nothing() {
    let m = engine().await;
    identity(&m, "pris@example.fr").await;
    identity(&m, "pris@exämple.fr").await;
    let handle = step1(&m, "10000001", "ancien-1").await;
    let choose = |email: &'static str, at| {
        let accounts = m.accounts.clone();
        let handle = handle.clone();
        async move {
            accounts
                .choose_login_email(&handle, email, None, "fr", BASE, at)
                .await
                .unwrap()
        }
    };
    assert_eq!(choose(" PRIS@example.fr", NOW).await, ChooseEmail::Taken);
    // One form for an international domain, in Unicode or Punycode.
    assert_eq!(
        choose("Pris@XN--EXMPLE-CUA.fr", NOW).await,
        ChooseEmail::Taken
    );
    for invalid in [
        "pas-un-email",
        "v<x@evil.fr>",
        "\"Jean\" <j@x.fr>",
        "j@x.fr\r\nBcc: y@z.fr",
    ] {
        assert_eq!(
            choose(invalid, NOW).await,
            ChooseEmail::Invalid,
            "{invalid:?}"
        );
    }
    let later = NOW + JourneySettings::default().upgrade_ttl;
    assert_eq!(
        choose("libre@example.fr", later).await,
        ChooseEmail::Expired
    );
    assert_eq!(
        m.accounts
            .choose_login_email("forged", "libre@example.fr", None, "fr", BASE, NOW)
            .await
            .unwrap(),
        ChooseEmail::Expired
    );
    assert!(m.mailer.sent().is_empty());
    assert_eq!(
        outcomes(&m, EventType::UpgradeEmailChosen).await,
        [
            (Outcome::Failure, "email_taken".into()),
            (Outcome::Failure, "email_taken".into())
        ]
    );
}

#[tokio::test]
async fn completing_the_upgrade_attaches_the_account_and_retires_the_legacy_password() {
    let m = engine().await;
    let token = step2(&m, "jean@example.fr").await;
    // The policy is checked first (the client number may not be in the password).
    let Err(CompleteError::Policy(v)) = m
        .accounts
        .complete_upgrade(&token, "abc10000001xyz", "abc10000001xyz", NOW)
        .await
    else {
        panic!("policy not checked")
    };
    assert_eq!(v, [Violation::ContainsClientNumber]);
    let done = m
        .accounts
        .complete_upgrade(&token, GOOD, GOOD, NOW)
        .await
        .unwrap();
    assert_eq!(done.identity.login_email, "jean@example.fr");
    assert_eq!(done.interaction_hash.as_deref(), Some("ih"));
    let id = done.identity.id;
    assert_eq!(
        m.accounts.owner_of("10000001").await.unwrap().unwrap().id,
        id
    );
    let account = m.accounts.customer("10000001").await.unwrap().unwrap();
    assert_eq!(account.status, AccountStatus::Upgraded);
    assert_eq!(account.legacy_hash, None);
    // The email signs in; the client number now answers that the email is the identifier.
    assert!(m.accounts.sign_in("jean@example.fr", GOOD).await.is_ok());
    match m
        .accounts
        .sign_in_any("10000001", "ancien-1", None, NOW)
        .await
        .unwrap()
    {
        SignInOutcome::UseEmail { masked } => assert_eq!(masked, "j***@example.fr"),
        other => panic!("{other:?}"),
    }
    // The link is single use.
    assert!(matches!(
        m.accounts.complete_upgrade(&token, GOOD, GOOD, NOW).await,
        Err(CompleteError::Link(LinkState::Used))
    ));
    let verified = events(&m, EventType::EmailVerified).await;
    assert_eq!(verified[0].detail["purpose"], "upgrade");
    assert_eq!(
        events(&m, EventType::UpgradeCompleted).await[0]
            .identity_id
            .as_deref(),
        Some(id.as_str())
    );
}

#[tokio::test]
async fn an_expired_link_can_be_sent_again_and_an_unknown_one_cannot() {
    let m = engine().await;
    let token = step2(&m, "jean@example.fr").await;
    let later = NOW + JourneySettings::default().link_ttl;
    assert!(matches!(
        m.accounts.complete_upgrade(&token, GOOD, GOOD, later).await,
        Err(CompleteError::Link(LinkState::Expired(_)))
    ));
    // A valid or unknown link is not resent.
    assert!(!m
        .accounts
        .resend_verification(&token, BASE, NOW)
        .await
        .unwrap());
    assert!(!m
        .accounts
        .resend_verification("forged", BASE, later)
        .await
        .unwrap());
    assert!(m
        .accounts
        .resend_verification(&token, BASE, later)
        .await
        .unwrap());
    let fresh = last_token(&m, "jean@example.fr");
    assert_ne!(fresh, token);
    assert!(m
        .accounts
        .complete_upgrade(&fresh, GOOD, GOOD, later)
        .await
        .is_ok());
    assert!(matches!(
        m.accounts
            .complete_upgrade("forged", GOOD, GOOD, later)
            .await,
        Err(CompleteError::Link(LinkState::Unknown))
    ));
}

#[tokio::test]
async fn an_email_taken_between_the_steps_is_refused_at_the_last_one() {
    let m = engine().await;
    let token = step2(&m, "jean@example.fr").await;
    identity(&m, "jean@example.fr").await;
    assert!(matches!(
        m.accounts.complete_upgrade(&token, GOOD, GOOD, NOW).await,
        Err(CompleteError::EmailTaken)
    ));
    // Nothing happened: the account is still legacy, the link still unused.
    assert_eq!(
        m.accounts
            .customer("10000001")
            .await
            .unwrap()
            .unwrap()
            .status,
        AccountStatus::Legacy
    );
    assert!(m.store.links().iter().all(|l| l.used_at.is_none()));
}

#[tokio::test]
async fn the_upgrade_start_link_opens_step_two_once() {
    let m = engine().await;
    m.accounts
        .forgot_password("10000003", "fr", BASE, NOW)
        .await
        .unwrap();
    let token = last_token(&m, "paul@example.fr");
    let handle = m
        .accounts
        .start_upgrade_from_link(&token, NOW)
        .await
        .unwrap()
        .unwrap();
    let account = m
        .accounts
        .upgrade_in_progress(&handle, NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.client_number, "10000003");
    assert_eq!(
        m.accounts
            .start_upgrade_from_link(&token, NOW)
            .await
            .unwrap(),
        Err(LinkState::Used)
    );
    assert_eq!(
        m.accounts
            .start_upgrade_from_link("forged", NOW)
            .await
            .unwrap(),
        Err(LinkState::Unknown)
    );
}
