//! The customer import: idempotent, bad rows reported, audited; and the lookups.

use gan_audit::{EventType, Outcome};

use super::*;
use crate::import::ImportError;

#[tokio::test]
async fn importing_again_updates_and_never_gives_an_upgraded_account_its_password_back() {
    let m = engine().await;
    let jean = identity(&m, "jean@example.fr").await;
    m.store_attach(&jean.id, "10000001").await;
    let csv = format!(
        "client_number,kind,label,contact_email,legacy_hash\n\
         10000001,personal,Jean MARTIN,jean.martin@example.fr,{h}\n\
         10000003,personal,Paul Durand,paul@example.fr,{h}\n\
         10000005,professional,Boulangerie,pain@example.fr,{h}\n\
         10000006,business,X,x@example.fr,{h}\n\
         10000003,personal,Paul,paul@example.fr,{h}\n",
        h = legacy("nouveau")
    );
    let report = m
        .accounts
        .import_customers(csv.as_bytes(), NOW)
        .await
        .unwrap();
    assert_eq!((report.counts.created, report.counts.updated), (1, 2));
    let lines: Vec<u64> = report.rejected.iter().map(|r| r.line).collect();
    assert_eq!(lines, [5, 6]);
    let jeans = m.accounts.customer("10000001").await.unwrap().unwrap();
    assert_eq!(
        (jeans.label.as_str(), jeans.legacy_hash),
        ("Jean MARTIN", None)
    );
    assert_eq!(
        m.accounts.owner_of("10000001").await.unwrap().unwrap().id,
        jean.id
    );
    // A legacy account takes the new hash.
    assert!(matches!(
        m.accounts
            .sign_in_any("10000003", "nouveau", None, NOW)
            .await
            .unwrap(),
        crate::interaction::SignInOutcome::UpgradeStarted { .. }
    ));
    // The same file again changes nothing more.
    let again = m
        .accounts
        .import_customers(csv.as_bytes(), NOW)
        .await
        .unwrap();
    assert_eq!((again.counts.created, again.counts.updated), (0, 3));
    assert_eq!(m.store.customers().len(), 5);
    let imported = events(&m, EventType::CustomersImported).await;
    assert_eq!(imported.len(), 3, "the fixture's import, then two");
    assert_eq!(imported[1].outcome, Outcome::Success);
    assert_eq!(
        (
            imported[1].detail["created"].as_u64(),
            imported[1].detail["updated"].as_u64()
        ),
        (Some(1), Some(2))
    );
    assert_eq!(imported[1].detail["rejected"], 2);
}

#[test]
fn contact_emails_are_addresses_in_their_normalised_form() {
    let csv = format!(
        "client_number,kind,label,contact_email,legacy_hash\n\
         20000001,personal,A, Jean@Exämple.FR ,{h}\n\
         20000002,personal,B,v<x@evil.fr>,{h}\n\
         20000003,personal,C,\"\"\"Jean\"\" <j@x.fr>\",{h}\n\
         20000004,personal,D,j@x.fr (commentaire),{h}\n\
         20000005,personal,E,j@[127.0.0.1],{h}\n",
        h = legacy("a")
    );
    let parsed = crate::import::parse(csv.as_bytes(), NOW).unwrap();
    let contacts: Vec<&str> = parsed
        .rows
        .iter()
        .map(|r| r.contact_email.as_str())
        .collect();
    assert_eq!(contacts, ["jean@xn--exmple-cua.fr"]);
    let rejected: Vec<(u64, &str)> = parsed
        .rejected
        .iter()
        .map(|r| (r.line, r.reason.as_str()))
        .collect();
    assert_eq!(
        rejected,
        [
            (
                3,
                "invalid contact email \"v<x@evil.fr>\": a display name or angle brackets"
            ),
            (
                4,
                "invalid contact email \"\\\"Jean\\\" <j@x.fr>\": whitespace or a control character inside"
            ),
            (
                5,
                "invalid contact email \"j@x.fr (commentaire)\": whitespace or a control character inside"
            ),
            (
                6,
                "invalid contact email \"j@[127.0.0.1]\": an address literal"
            ),
        ]
    );
}

#[tokio::test]
async fn an_unreadable_file_or_store_imports_nothing_and_says_so() {
    let m = engine().await;
    assert!(matches!(
        m.accounts
            .import_customers("a,b,c\n1,2,3\n".as_bytes(), NOW)
            .await,
        Err(ImportError::Unreadable(_))
    ));
    m.store.set_unavailable(true);
    let csv = format!(
        "client_number,kind,label,contact_email,legacy_hash\n20000001,personal,A,a@example.fr,{}\n",
        legacy("a")
    );
    assert!(matches!(
        m.accounts.import_customers(csv.as_bytes(), NOW).await,
        Err(ImportError::Unavailable { .. })
    ));
    m.store.set_unavailable(false);
    assert_eq!(m.store.customers().len(), 4);
    let failed: Vec<String> = outcomes(&m, EventType::CustomersImported)
        .await
        .into_iter()
        .filter(|(o, _)| *o == Outcome::Failure)
        .map(|(_, r)| r)
        .collect();
    assert_eq!(failed, ["unreadable_header", "unavailable"]);
}

#[tokio::test]
async fn lookups_normalise_what_they_are_given() {
    let m = engine().await;
    let jean = identity(&m, "jean@example.fr").await;
    assert_eq!(
        m.accounts
            .customer(" 1000 0002 ")
            .await
            .unwrap()
            .unwrap()
            .client_number,
        "10000002"
    );
    assert!(m.accounts.customer("??").await.unwrap().is_none());
    assert!(m.accounts.owner_of("10000002").await.unwrap().is_none());
    assert_eq!(
        m.accounts
            .identity_by_email(" JEAN@example.fr")
            .await
            .unwrap()
            .unwrap()
            .id,
        jean.id
    );
    assert!(m.accounts.identity("gc-nobody").await.unwrap().is_none());
    assert!(m.accounts.accounts_of(&jean.id).await.unwrap().is_empty());
    m.store.set_unavailable(true);
    assert!(m.accounts.identity(&jean.id).await.is_err());
}
