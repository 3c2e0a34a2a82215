//! J3 and J4: attach an account, change the password, change the login email.

use gan_audit::{EventType, Outcome};

use super::*;
use crate::account::{AttachOutcome, ConfirmEmailError, EmailChange, PasswordChange};
use crate::customer::{AccountKind, AccountStatus};
use crate::links::LinkState;
use crate::policy::Violation;

async fn attach(
    m: &MemoryAccounts,
    who: &Identity,
    number: &str,
    pw: &str,
    at: OffsetDateTime,
) -> AttachOutcome {
    m.accounts
        .attach_account(&who.id, number, pw, Some("192.0.2.1"), at)
        .await
        .unwrap()
}

#[tokio::test]
async fn attaching_respects_the_limit_per_kind() {
    let m = engine().await;
    let jean = identity(&m, "jean@example.fr").await;
    assert!(matches!(
        attach(&m, &jean, "1000 0001", "ancien-1", NOW).await,
        AttachOutcome::Attached(_)
    ));
    // One personal account by default: a second one is refused…
    assert!(matches!(
        attach(&m, &jean, "10000003", "ancien-3", NOW).await,
        AttachOutcome::LimitReached(AccountKind::Personal)
    ));
    // …but a professional one is welcome.
    assert!(matches!(
        attach(&m, &jean, "10000002", "ancien-2", NOW).await,
        AttachOutcome::Attached(_)
    ));
    let numbers: Vec<String> = m
        .accounts
        .accounts_of(&jean.id)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.client_number)
        .collect();
    assert_eq!(numbers, ["10000001", "10000002"]);
    // Attached accounts lose their legacy password.
    let a = m.accounts.customer("10000001").await.unwrap().unwrap();
    assert_eq!((a.status, a.legacy_hash), (AccountStatus::Upgraded, None));
    assert_eq!(
        outcomes(&m, EventType::AccountAttached).await,
        [
            (Outcome::Success, String::new()),
            (Outcome::Failure, "limit_reached".into()),
            (Outcome::Success, String::new())
        ]
    );
}

#[tokio::test]
async fn the_limit_per_kind_is_a_setting() {
    let m = engine_with(JourneySettings {
        max_personal: 2,
        ..Default::default()
    })
    .await;
    let jean = identity(&m, "jean@example.fr").await;
    assert!(matches!(
        attach(&m, &jean, "10000001", "ancien-1", NOW).await,
        AttachOutcome::Attached(_)
    ));
    assert!(matches!(
        attach(&m, &jean, "10000003", "ancien-3", NOW).await,
        AttachOutcome::Attached(_)
    ));
    assert!(matches!(
        attach(&m, &jean, "10000004", "ancien-4", NOW).await,
        AttachOutcome::LimitReached(AccountKind::Personal)
    ));
}

#[tokio::test]
async fn taken_mine_and_wrong_credentials_are_told_apart_as_designed() {
    let m = engine().await;
    let jean = identity(&m, "jean@example.fr").await;
    let paul = identity(&m, "paul@example.fr").await;
    assert!(matches!(
        attach(&m, &paul, "10000003", "ancien-3", NOW).await,
        AttachOutcome::Attached(_)
    ));
    assert!(matches!(
        attach(&m, &jean, "10000003", "ancien-3", NOW).await,
        AttachOutcome::Taken
    ));
    assert!(matches!(
        attach(&m, &paul, "10000003", "ancien-3", NOW).await,
        AttachOutcome::AlreadyMine
    ));
    // A wrong password and an unknown client number look the same.
    assert!(matches!(
        attach(&m, &jean, "10000001", "ancien-2", NOW).await,
        AttachOutcome::WrongCredentials
    ));
    assert!(matches!(
        attach(&m, &jean, "99999999", "ancien-1", NOW).await,
        AttachOutcome::WrongCredentials
    ));
    let reasons: Vec<String> = outcomes(&m, EventType::AccountAttached)
        .await
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    assert_eq!(
        reasons,
        [
            "",
            "attached_elsewhere",
            "already_attached_here",
            "wrong_credentials",
            "wrong_credentials"
        ]
    );
}

#[tokio::test]
async fn attaching_is_throttled_like_the_sign_in() {
    let m = engine().await;
    let jean = identity(&m, "jean@example.fr").await;
    for _ in 0..3 {
        assert!(matches!(
            attach(&m, &jean, "10000001", "faux", NOW).await,
            AttachOutcome::WrongCredentials
        ));
    }
    assert!(matches!(
        attach(&m, &jean, "10000001", "ancien-1", NOW).await,
        AttachOutcome::Throttled {
            retry_after_seconds: 1
        }
    ));
    assert!(matches!(
        attach(&m, &jean, "10000001", "ancien-1", NOW + secs(1)).await,
        AttachOutcome::Attached(_)
    ));
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_follows_the_policy() {
    let m = engine().await;
    let jean = identity(&m, "jean@example.fr").await;
    m.store_attach(&jean.id, "10000001").await;
    let new = "Nouveau-mot-2027";
    assert_eq!(
        m.accounts
            .change_password(&jean, "faux", new, new, "sid-1", None, NOW)
            .await
            .unwrap(),
        PasswordChange::WrongPassword
    );
    assert_eq!(
        m.accounts
            .change_password(
                &jean,
                GOOD,
                "x10000001yz2026",
                "x10000001yz2026",
                "sid-1",
                None,
                NOW
            )
            .await
            .unwrap(),
        PasswordChange::Policy(vec![Violation::ContainsClientNumber])
    );
    assert_eq!(
        m.accounts
            .change_password(&jean, GOOD, new, "autre", "sid-1", None, NOW)
            .await
            .unwrap(),
        PasswordChange::Policy(vec![Violation::Mismatch])
    );
    assert_eq!(
        m.accounts
            .change_password(&jean, GOOD, new, new, "sid-1", None, NOW)
            .await
            .unwrap(),
        PasswordChange::Changed(Default::default())
    );
    assert!(m.accounts.sign_in("jean@example.fr", new).await.is_ok());
    assert!(m.accounts.sign_in("jean@example.fr", GOOD).await.is_err());
    assert_eq!(
        outcomes(&m, EventType::PasswordChanged).await,
        [
            (Outcome::Failure, "wrong_current_password".into()),
            (Outcome::Success, String::new())
        ]
    );
}

#[tokio::test]
async fn changing_the_login_email_goes_through_a_link_to_the_new_address() {
    let m = engine().await;
    let jean = identity(&m, "jean@example.fr").await;
    identity(&m, "pris@example.fr").await;
    let change = |email: &'static str, pw: &'static str| {
        let (accounts, jean) = (m.accounts.clone(), jean.clone());
        async move {
            accounts
                .request_email_change(&jean, email, pw, None, "fr", BASE, NOW)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        change("neuf@example.fr", "faux").await,
        EmailChange::WrongPassword
    );
    assert_eq!(change("pas-un-email", GOOD).await, EmailChange::Invalid);
    assert_eq!(change("v<x@evil.fr>", GOOD).await, EmailChange::Invalid);
    assert_eq!(change("Pris@example.fr", GOOD).await, EmailChange::Taken);
    assert!(m.mailer.sent().is_empty());
    assert_eq!(
        change("Neuf@example.fr", GOOD).await,
        EmailChange::Sent {
            masked: "n***@example.fr".into()
        }
    );
    // Nothing changes until the link is opened.
    assert!(m.accounts.sign_in("jean@example.fr", GOOD).await.is_ok());
    let token = last_token(&m, "neuf@example.fr");
    let (before, new) = m
        .accounts
        .confirm_email_change(&token, None, NOW)
        .await
        .unwrap();
    assert_eq!(
        (before.login_email.as_str(), new.as_str()),
        ("jean@example.fr", "neuf@example.fr")
    );
    assert!(m.accounts.sign_in("neuf@example.fr", GOOD).await.is_ok());
    assert!(m.accounts.sign_in("jean@example.fr", GOOD).await.is_err());
    // The old address is told, masked.
    let notice = m.mailer.sent_to("jean@example.fr");
    assert_eq!(notice[0].template, "email_changed_notice");
    assert_eq!(notice[0].vars["masked"], "n***@example.fr");
    assert!(matches!(
        m.accounts.confirm_email_change(&token, None, NOW).await,
        Err(ConfirmEmailError::Link(LinkState::Used))
    ));
    let changed = events(&m, EventType::LoginEmailChanged).await;
    assert_eq!(
        (
            changed[0].detail["from"].as_str(),
            changed[0].detail["to"].as_str()
        ),
        (Some("j***@example.fr"), Some("n***@example.fr"))
    );
}

#[tokio::test]
async fn an_address_taken_before_the_link_is_opened_is_refused_then() {
    let m = engine().await;
    let jean = identity(&m, "jean@example.fr").await;
    let sent = m
        .accounts
        .request_email_change(&jean, "neuf@example.fr", GOOD, None, "fr", BASE, NOW)
        .await
        .unwrap();
    assert!(matches!(sent, EmailChange::Sent { .. }));
    let token = last_token(&m, "neuf@example.fr");
    identity(&m, "neuf@example.fr").await;
    assert!(matches!(
        m.accounts.confirm_email_change(&token, None, NOW).await,
        Err(ConfirmEmailError::EmailTaken)
    ));
    let later = NOW + JourneySettings::default().link_ttl;
    assert!(matches!(
        m.accounts.confirm_email_change(&token, None, later).await,
        Err(ConfirmEmailError::Link(LinkState::Expired(_)))
    ));
}

#[tokio::test]
async fn sensitive_actions_need_a_password_checked_within_ten_minutes() {
    let m = engine().await;
    let signed_in = NOW;
    let ten = time::Duration::minutes(10);
    assert!(!m.accounts.reauthentication_due(signed_in, NOW));
    assert!(!m.accounts.reauthentication_due(signed_in, NOW + ten));
    assert!(m
        .accounts
        .reauthentication_due(signed_in, NOW + ten + time::Duration::seconds(1)));
}
