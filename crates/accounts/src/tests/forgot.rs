//! J5: forgotten identifier and password, the reset; never revealing what exists.

use gan_audit::EventType;

use super::*;
use crate::customer::AccountStatus;
use crate::forgot::{ResetError, RESET_PATH};
use crate::links::LinkState;
use crate::policy::Violation;
use crate::upgrade::START_PATH;

#[tokio::test]
async fn the_client_numbers_of_a_contact_email_go_to_it() {
    let m = engine().await;
    m.accounts
        .forgot_identifier(" Famille@Example.fr ", "fr", NOW)
        .await
        .unwrap();
    let mail = m.mailer.sent_to("famille@example.fr");
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].template, "identifier_reminder");
    let numbers: Vec<&str> = mail[0].vars["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["client_number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["10000001", "10000002"]);
    // Unknown or malformed: the same silent success, no message.
    m.accounts
        .forgot_identifier("personne@example.fr", "fr", NOW)
        .await
        .unwrap();
    m.accounts
        .forgot_identifier("pas-un-email", "fr", NOW)
        .await
        .unwrap();
    assert_eq!(m.mailer.sent().len(), 1);
}

#[tokio::test]
async fn a_forgotten_password_gets_the_link_its_identifier_calls_for() {
    let m = engine().await;
    let jean = identity(&m, "jean@example.fr").await;
    m.store_attach(&jean.id, "10000002").await;
    // An email login: a reset link to it.
    m.accounts
        .forgot_password("JEAN@example.fr", "fr", BASE, NOW)
        .await
        .unwrap();
    let reset = m.mailer.sent_to("jean@example.fr");
    assert_eq!(reset[0].template, "password_reset");
    assert!(reset[0].vars["link"].as_str().unwrap().contains(RESET_PATH));
    // An upgraded client number: a reset link to its login email.
    m.accounts
        .forgot_password("10000002", "fr", BASE, NOW)
        .await
        .unwrap();
    assert_eq!(m.mailer.sent_to("jean@example.fr").len(), 2);
    // A legacy client number: a link to its contact email that leads to step 2.
    m.accounts
        .forgot_password("10000003", "en", BASE, NOW)
        .await
        .unwrap();
    let start = m.mailer.sent_to("paul@example.fr");
    assert_eq!(start[0].template, "upgrade_start");
    assert_eq!(start[0].vars["client_number"], "10000003");
    assert!(start[0].vars["link"].as_str().unwrap().contains(START_PATH));
    // Unknown identifiers: the same silent success.
    for unknown in ["personne@example.fr", "99999999", "??"] {
        m.accounts
            .forgot_password(unknown, "fr", BASE, NOW)
            .await
            .unwrap();
    }
    assert_eq!(m.mailer.sent().len(), 3);
}

#[tokio::test]
async fn an_address_gets_at_most_five_messages_an_hour() {
    let m = engine().await;
    for _ in 0..7 {
        m.accounts
            .forgot_identifier("paul@example.fr", "fr", NOW)
            .await
            .unwrap();
    }
    assert_eq!(m.mailer.sent_to("paul@example.fr").len(), 5);
    // The limit is per address, and the window ends after an hour.
    m.accounts
        .forgot_identifier("lucie@example.fr", "fr", NOW)
        .await
        .unwrap();
    assert_eq!(m.mailer.sent_to("lucie@example.fr").len(), 1);
    m.accounts
        .forgot_identifier("paul@example.fr", "fr", NOW + time::Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(m.mailer.sent_to("paul@example.fr").len(), 6);
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once_within_the_hour() {
    let m = engine().await;
    let jean = identity(&m, "jean@example.fr").await;
    m.accounts
        .forgot_password("jean@example.fr", "fr", BASE, NOW)
        .await
        .unwrap();
    let token = last_token(&m, "jean@example.fr");
    let Err(ResetError::Policy(v)) = m
        .accounts
        .reset_password(&token, "court1", "court1", NOW)
        .await
    else {
        panic!("policy not checked")
    };
    assert_eq!(v, [Violation::TooShort]);
    let new = "Nouveau-mot-2027";
    let done = m
        .accounts
        .reset_password(&token, new, new, NOW)
        .await
        .unwrap();
    assert_eq!(done.id, jean.id);
    assert!(m.accounts.sign_in("jean@example.fr", new).await.is_ok());
    assert!(m.accounts.sign_in("jean@example.fr", GOOD).await.is_err());
    assert!(matches!(
        m.accounts.reset_password(&token, new, new, NOW).await,
        Err(ResetError::Link(LinkState::Used))
    ));
    assert_eq!(events(&m, EventType::PasswordReset).await.len(), 1);
    // A second link expires after an hour.
    m.accounts
        .forgot_password("jean@example.fr", "fr", BASE, NOW)
        .await
        .unwrap();
    let token = last_token(&m, "jean@example.fr");
    let later = NOW + time::Duration::hours(1);
    assert!(matches!(
        m.accounts.reset_password(&token, new, new, later).await,
        Err(ResetError::Link(LinkState::Expired(_)))
    ));
    assert!(matches!(
        m.accounts.reset_password("forged", new, new, NOW).await,
        Err(ResetError::Link(LinkState::Unknown))
    ));
    // The legacy accounts were not touched.
    assert_eq!(
        m.accounts
            .customer("10000003")
            .await
            .unwrap()
            .unwrap()
            .status,
        AccountStatus::Legacy
    );
}
