//! The customer import: idempotent, bad rows reported, audited; and the lookups.

use gan_audit::{EventType, Outcome};

use super::*;
use crate::import::ImportError;
use crate::legacy::HashFormat;

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
                "invalid contact email \"\"Jean\" <j@x.fr>\": whitespace or a control character inside"
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

/// Issue 19: a hash of every format read, as the tools that make them write it, signs in through
/// the legacy sign-in once imported (it starts the upgrade); the report counts the formats and
/// warns about the unsalted ones without refusing them.
#[tokio::test]
async fn every_legacy_format_signs_in_once_imported() {
    use crate::interaction::SignInOutcome;
    use crate::legacy::tests::OUTSIDE_VECTORS;
    let m = engine().await;
    let mut csv = String::from("client_number;kind;label;contact_email;legacy_hash\n");
    for (i, (hash, _)) in OUTSIDE_VECTORS.iter().enumerate() {
        let kind = if i % 2 == 0 {
            "personal"
        } else {
            "professional"
        };
        csv.push_str(&format!(
            "3000{i:04};{kind};Compte {i};c{i}@example.fr;{hash}\n"
        ));
    }
    let report = m
        .accounts
        .import_customers(csv.as_bytes(), NOW)
        .await
        .unwrap();
    assert_eq!(report.rejected, [], "{:?}", report.rejected);
    assert_eq!(report.counts.created, OUTSIDE_VECTORS.len() as u64);
    assert_eq!(report.by_kind["personal"], 9);
    assert_eq!(report.by_kind["professional"], 8);
    assert_eq!(report.by_format[&HashFormat::ShaCrypt], 4);
    assert_eq!(report.by_format[&HashFormat::Md5Hex], 1);
    let weak: Vec<&String> = report
        .warnings
        .iter()
        .filter(|w| w.contains("unsalted"))
        .collect();
    assert_eq!(weak.len(), 3, "{:?}", report.warnings);
    for (i, (hash, _)) in OUTSIDE_VECTORS.iter().enumerate() {
        let number = format!("3000{i:04}");
        let outcome = m
            .accounts
            .sign_in_any(&number, "mot de passe é", None, NOW)
            .await
            .unwrap();
        assert!(
            matches!(outcome, SignInOutcome::UpgradeStarted { .. }),
            "{hash}: {outcome:?}"
        );
    }
    assert!(matches!(
        m.accounts
            .sign_in_any("30000000", "mot de passe e", None, NOW)
            .await
            .unwrap(),
        SignInOutcome::Wrong
    ));
}

/// A watcher that keeps what it is told.
#[derive(Default)]
struct Kept {
    header: Vec<String>,
    rejected: Vec<(u64, Vec<String>)>,
    progress: Vec<(u64, u64)>,
}

impl crate::import::ImportWatcher for Kept {
    fn opened(&mut self, shape: &crate::import::FileShape) {
        self.header = shape
            .header
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
    }
    fn rejected(&mut self, rejected: &crate::import::Rejected, raw: &csv::ByteRecord) {
        let raw = raw
            .iter()
            .map(|f| String::from_utf8_lossy(f).chars().take(20).collect())
            .collect();
        self.rejected.push((rejected.line, raw));
    }
    fn progress(&mut self, rows: u64, bytes: u64) {
        self.progress.push((rows, bytes));
    }
}

/// Issue 19's bad input: a 10 MB line, NUL bytes, mixed line endings, stray quotes: each row is rejected on its own line with a short reason, the others are imported; a
/// dry run says the same and writes nothing, not even an audit event.
#[tokio::test]
async fn hostile_rows_are_rejected_one_by_one_and_a_dry_run_writes_nothing() {
    use crate::import::{ImportOptions, Unwatched};
    let m = engine().await;
    let h = legacy("x");
    let huge = "A".repeat(10 * 1024 * 1024);
    let csv = format!(
        "client_number,kind,label,contact_email,legacy_hash,note\r\n\
         50000001,personal,Un,un@example.fr,{h},a\n\
         50000002,personal,{huge},deux@example.fr,{h},b\r\n\
         50000003,personal,Tr\0is,trois@example.fr,{h},c\n\
         5000\x0004,personal,Quatre,quatre@example.fr,{h},d\r\n\
         50000005,personal,\"Cinq\" x,cinq@example.fr,{h},e\n\
         50000006,personal,Six,six@example.fr,{h},f\r\n"
    );
    let before = m.store.customers().len();
    let events_before = events(&m, EventType::CustomersImported).await.len();
    let dry = ImportOptions {
        dry_run: true,
        ..ImportOptions::default()
    };
    let mut kept = Kept::default();
    let report = m
        .accounts
        .import_customers_watched(csv.as_bytes(), dry, &mut kept, NOW)
        .await
        .unwrap();
    assert_eq!(report.valid, 3, "{:?}", report.rejected);
    assert_eq!(report.counts, Default::default());
    assert_eq!(
        m.store.customers().len(),
        before,
        "a dry run writes nothing"
    );
    assert_eq!(
        events(&m, EventType::CustomersImported).await.len(),
        events_before,
        "nor records an import"
    );
    let lines: Vec<u64> = report.rejected.iter().map(|r| r.line).collect();
    assert_eq!(lines, [3, 4, 5]);
    assert!(report.rejected.iter().all(|r| r.reason.len() < 300));
    assert!(report.rejected[0].reason.contains("label"));
    assert!(report.rejected[1].reason.contains("control"));
    assert!(report.rejected[2].reason.contains("client number"));
    assert_eq!(report.warnings, ["line 1: columns ignored: note"]);
    assert_eq!(kept.header.last().map(String::as_str), Some("note"));
    assert_eq!(kept.rejected[2].1[0], "5000\x0004");
    assert_eq!(kept.progress.last().map(|p| p.0), Some(6));

    let report = m
        .accounts
        .import_customers_watched(
            csv.as_bytes(),
            ImportOptions::default(),
            &mut Unwatched,
            NOW,
        )
        .await
        .unwrap();
    assert_eq!((report.counts.created, report.rejected_count), (3, 3));
    assert_eq!(m.store.customers().len(), before + 3);
}
