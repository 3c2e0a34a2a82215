//! The journey rules over in-memory ports: no database, no network, a fixed clock (every engine
//! method takes `now`) and cheap argon2 parameters. One file per journey module.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod account;
mod forgot;
mod import;
mod interaction;
mod upgrade;

use gan_audit::{AuditEvent, EventType, Outcome};
use sha2::{Digest, Sha256};
use time::macros::datetime;
use time::OffsetDateTime;

use crate::memory::MemoryAccounts;
use crate::ports::IdentityStore;
use crate::service::JourneySettings;
use crate::{Identity, IdentityStatus};

/// The fixed "now" of every test.
pub(super) const NOW: OffsetDateTime = datetime!(2026-11-02 09:00 UTC);
/// A password the policy accepts.
pub(super) const GOOD: &str = "Pomme-verte-2026";
pub(super) const BASE: &str = "https://login.example.fr/";

/// A salted SHA-256 legacy hash (the cheapest format the import accepts).
pub(super) fn legacy(password: &str) -> String {
    let salt = "sel";
    let digest = Sha256::digest(format!("{salt}{password}").as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256${salt}${hex}")
}

/// An engine with the default settings and, imported, legacy customers:
/// 10000001 personal (password "ancien-1", contact famille@example.fr),
/// 10000002 professional ("ancien-2", famille@example.fr),
/// 10000003 personal ("ancien-3", paul@example.fr),
/// 10000004 personal ("ancien-4", lucie@example.fr).
pub(super) async fn engine() -> MemoryAccounts {
    engine_with(JourneySettings::default()).await
}

pub(super) async fn engine_with(settings: JourneySettings) -> MemoryAccounts {
    let m = MemoryAccounts::start(settings).unwrap();
    let csv = format!(
        "client_number,kind,label,contact_email,legacy_hash\n\
         10000001,personal,Jean Martin,famille@example.fr,{}\n\
         10000002,professional,Garage Martin,famille@example.fr,{}\n\
         10000003,personal,Paul Durand,paul@example.fr,{}\n\
         10000004,personal,Lucie Petit,lucie@example.fr,{}\n",
        legacy("ancien-1"),
        legacy("ancien-2"),
        legacy("ancien-3"),
        legacy("ancien-4"),
    );
    let report = m
        .accounts
        .import_customers(csv.as_bytes(), NOW)
        .await
        .unwrap();
    assert_eq!(report.counts.created, 4);
    m
}

/// An identity with a login email and the password [`GOOD`].
pub(super) async fn identity(m: &MemoryAccounts, email: &str) -> Identity {
    m.accounts.create_identity(email, GOOD, NOW).await.unwrap()
}

/// Stores an identity as it is, e.g. locked or hashed with other parameters.
pub(super) async fn insert(m: &MemoryAccounts, identity: &Identity) {
    m.store.insert_identity(identity).await.unwrap();
}

/// A locked identity whose password is [`GOOD`].
pub(super) async fn locked(m: &MemoryAccounts, email: &str) -> Identity {
    let i = Identity {
        id: "gc-locked".into(),
        login_email: email.into(),
        email_verified_at: Some(NOW),
        password_hash: m.accounts.hasher.hash(GOOD).await.unwrap(),
        status: IdentityStatus::Locked,
        created_at: NOW,
    };
    insert(m, &i).await;
    i
}

/// The token of the last link mailed to `to` (the `link` variable of the message).
pub(super) fn last_token(m: &MemoryAccounts, to: &str) -> String {
    let mail = m.mailer.sent_to(to).pop().expect("a message");
    let link = mail.vars["link"].as_str().expect("a link").to_string();
    link.split("token=").nth(1).expect("a token").to_string()
}

/// The events of one type, oldest first.
pub(super) async fn events(m: &MemoryAccounts, t: EventType) -> Vec<AuditEvent> {
    m.events()
        .await
        .into_iter()
        .filter(|e| e.event_type == t)
        .collect()
}

/// `(outcome, reason)` of each event of a type, oldest first.
pub(super) async fn outcomes(m: &MemoryAccounts, t: EventType) -> Vec<(Outcome, String)> {
    events(m, t)
        .await
        .iter()
        .map(|e| {
            let reason = e.detail["reason"].as_str().unwrap_or_default().to_string();
            (e.outcome, reason)
        })
        .collect()
}

pub(super) fn secs(n: i64) -> time::Duration {
    time::Duration::seconds(n)
}

impl MemoryAccounts {
    /// Attaches a legacy account directly (as an upgrade or an attach would).
    pub(super) async fn store_attach(&self, identity_id: &str, number: &str) {
        use crate::ports::CustomerStore;
        self.store
            .attach(
                identity_id,
                number,
                crate::customer::AccountKind::Personal,
                usize::MAX,
                NOW,
            )
            .await
            .unwrap();
    }
}
