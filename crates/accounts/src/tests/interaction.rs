//! The sign-in form: email or client number, throttling, rehash, audit.

use gan_audit::{EventType, Outcome};

use super::*;
use crate::interaction::SignInOutcome;
use crate::password::{HashCost, Hasher};
use crate::service::SignInError;
use crate::throttle;

async fn sign_in(m: &MemoryAccounts, who: &str, pw: &str, at: OffsetDateTime) -> SignInOutcome {
    m.accounts
        .sign_in_any(who, pw, Some("192.0.2.1"), at)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_email_and_its_password_sign_in_whatever_the_case() {
    let m = engine().await;
    let jean = identity(&m, "jean@example.fr").await;
    match sign_in(&m, "  Jean@Example.FR ", GOOD, NOW).await {
        SignInOutcome::Identity(i) => assert_eq!(i.id, jean.id),
        other => panic!("{other:?}"),
    }
    let ok = events(&m, EventType::SignInSucceeded).await;
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].identity_id.as_deref(), Some(jean.id.as_str()));
}

#[tokio::test]
async fn wrong_unknown_and_locked_look_the_same_without_the_password() {
    let m = engine().await;
    identity(&m, "jean@example.fr").await;
    locked(&m, "bloque@example.fr").await;
    assert!(matches!(
        sign_in(&m, "jean@example.fr", "Mauvais-2026", NOW).await,
        SignInOutcome::Wrong
    ));
    assert!(matches!(
        sign_in(&m, "personne@example.fr", GOOD, NOW).await,
        SignInOutcome::Wrong
    ));
    assert!(matches!(
        sign_in(&m, "bloque@example.fr", "Mauvais-2026", NOW).await,
        SignInOutcome::Wrong
    ));
    // Even the right password of a locked identity looks wrong from outside (the audit trail
    // says why).
    assert!(matches!(
        sign_in(&m, "bloque@example.fr", GOOD, NOW).await,
        SignInOutcome::Wrong
    ));
    // The plain check never tells unknown from wrong either.
    assert_eq!(
        m.accounts
            .sign_in("personne@example.fr", GOOD)
            .await
            .unwrap_err(),
        SignInError::WrongCredentials
    );
    assert_eq!(
        m.accounts
            .sign_in("jean@example.fr", "Mauvais-2026")
            .await
            .unwrap_err(),
        SignInError::WrongCredentials
    );
    assert_eq!(
        m.accounts
            .sign_in("bloque@example.fr", GOOD)
            .await
            .unwrap_err(),
        SignInError::Locked
    );
    let reasons: Vec<String> = outcomes(&m, EventType::SignInFailed)
        .await
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    assert_eq!(
        reasons,
        [
            "wrong_credentials",
            "wrong_credentials",
            "wrong_credentials",
            "identity_locked"
        ]
    );
    // Failures of a known identity name it; an unknown email is not kept in any form.
    let failed = events(&m, EventType::SignInFailed).await;
    assert!(failed[0].identity_id.is_some());
    assert_eq!(failed[0].detail["identifier"], "j***@example.fr");
    assert!(failed[1].identity_id.is_none());
    assert_eq!(failed[1].detail["identifier"], "unknown email");
}

/// Issue 15 §1: a password typed into the identifier field (`Tr0ub4dor 2024` reads as a client
/// number) is kept nowhere as typed: not in the audit trail, not in a throttle key a copy of the
/// database could test guesses against.
#[tokio::test]
async fn what_matches_no_account_is_kept_in_no_readable_form() {
    let m = engine().await;
    for typed in ["Tr0ub4dor 2024", "p@ssw0rd-of-mine", "\u{1b}]0;owned\u{7}"] {
        sign_in(&m, typed, "whatever-it-was", NOW).await;
        sign_in(&m, typed, "whatever-it-was", NOW).await;
    }
    // A known client number is named as it is.
    sign_in(&m, "10000001", "not-the-legacy-one", NOW).await;
    let failed = events(&m, EventType::SignInFailed).await;
    let trail = serde_json::to_string(&failed).unwrap().to_uppercase();
    for secret in ["TR0UB4DOR", "SSW0RD", "OWNED"] {
        assert!(!trail.contains(secret), "{secret} in {trail}");
    }
    assert_eq!(failed[0].detail["identifier"], "unknown client number");
    assert_eq!(failed[0].client_number, None);
    assert_eq!(failed[2].detail["identifier"], "unknown email");
    let last = failed.last().unwrap();
    assert_eq!(last.client_number.as_deref(), Some("10000001"));

    // Throttle keys are keyed hashes: neither the typed value nor its plain SHA-256.
    let keys = m.store.counter_keys();
    assert!(!keys.is_empty());
    let plain = gan_secret::hash_handle("TR0UB4DOR2024");
    for k in &keys {
        assert!(
            !k.to_uppercase().contains("TR0UB4DOR") && !k.contains(&plain),
            "{k}"
        );
    }
    // Another key (another deployment) gives other stored forms for the same identifier.
    let other = engine().await;
    sign_in(&other, "Tr0ub4dor 2024", "whatever-it-was", NOW).await;
    let theirs = other.store.counter_keys();
    assert!(
        theirs.iter().all(|k| !keys.contains(k)),
        "{theirs:?} {keys:?}"
    );
}

#[tokio::test]
async fn a_hash_with_old_parameters_is_replaced_at_sign_in() {
    let m = engine().await;
    let old = Hasher::new(
        HashCost {
            memory_kib: 2048,
            iterations: 1,
            parallelism: 1,
        },
        1,
    )
    .unwrap();
    let before = old.hash(GOOD).await.unwrap();
    let i = Identity {
        id: "gc-old".into(),
        login_email: "ancien@example.fr".into(),
        email_verified_at: Some(NOW),
        password_hash: before.clone(),
        status: IdentityStatus::Active,
        created_at: NOW,
    };
    insert(&m, &i).await;
    m.accounts.sign_in("ancien@example.fr", GOOD).await.unwrap();
    let after = m
        .accounts
        .identity("gc-old")
        .await
        .unwrap()
        .unwrap()
        .password_hash;
    assert_ne!(after, before);
    assert!(after.contains("m=1024"), "{after}");
    // The fresh hash still signs in, and is left alone.
    m.accounts.sign_in("ancien@example.fr", GOOD).await.unwrap();
    assert_eq!(
        m.accounts
            .identity("gc-old")
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        after
    );
}

#[tokio::test]
async fn failures_grow_into_delays_then_a_lock_and_a_success_clears_them() {
    let m = engine().await;
    identity(&m, "jean@example.fr").await;
    let mut at = NOW;
    for _ in 0..throttle::FREE_FAILURES {
        assert!(matches!(
            sign_in(&m, "jean@example.fr", "Mauvais-2026", at).await,
            SignInOutcome::Wrong
        ));
    }
    // The third failure blocks for 1 s: even the right password waits.
    match sign_in(&m, "jean@example.fr", GOOD, at).await {
        SignInOutcome::Throttled {
            retry_after_seconds,
        } => assert_eq!(retry_after_seconds, 1),
        other => panic!("{other:?}"),
    }
    // Each failure after waiting doubles the delay, up to the lock at the tenth.
    for n in throttle::FREE_FAILURES..throttle::LOCK_AFTER {
        at += throttle::block_for(n) + secs(1);
        assert!(matches!(
            sign_in(&m, "jean@example.fr", "Mauvais-2026", at).await,
            SignInOutcome::Wrong
        ));
    }
    match sign_in(&m, "jean@example.fr", GOOD, at + secs(60)).await {
        SignInOutcome::Throttled {
            retry_after_seconds,
        } => {
            assert_eq!(retry_after_seconds, throttle::LOCK.whole_seconds() - 60)
        }
        other => panic!("{other:?}"),
    }
    let locks = events(&m, EventType::SignInLocked).await;
    assert_eq!(locks.len(), 1);
    assert_eq!(locks[0].detail["scope"], "identifier");
    assert_eq!(locks[0].detail["identifier"], "j***@example.fr");
    // After the lock, the right password signs in and the count starts again.
    at += throttle::LOCK;
    assert!(matches!(
        sign_in(&m, "jean@example.fr", GOOD, at).await,
        SignInOutcome::Identity(_)
    ));
    assert!(matches!(
        sign_in(&m, "jean@example.fr", "Mauvais-2026", at).await,
        SignInOutcome::Wrong
    ));
    assert!(matches!(
        sign_in(&m, "jean@example.fr", GOOD, at).await,
        SignInOutcome::Identity(_)
    ));
    assert_eq!(
        outcomes(&m, EventType::SignInFailed)
            .await
            .last()
            .unwrap()
            .1,
        "wrong_credentials"
    );
}

#[tokio::test]
async fn an_address_gets_five_times_more_room_than_an_identifier() {
    let m = engine().await;
    identity(&m, "jean@example.fr").await;
    // Fifteen failures on fifteen unknown identifiers from one address: 15 / 5 = 3 → blocked.
    for n in 0..15 {
        let who = format!("inconnu{n}@example.fr");
        assert!(
            matches!(sign_in(&m, &who, "x", NOW).await, SignInOutcome::Wrong),
            "{n}"
        );
    }
    assert!(matches!(
        sign_in(&m, "jean@example.fr", GOOD, NOW).await,
        SignInOutcome::Throttled { .. }
    ));
    // Another address is not concerned.
    let elsewhere = m
        .accounts
        .sign_in_any("jean@example.fr", GOOD, Some("198.51.100.7"), NOW)
        .await
        .unwrap();
    assert!(matches!(elsewhere, SignInOutcome::Identity(_)));
}

#[tokio::test]
async fn a_client_number_and_its_legacy_password_start_the_upgrade() {
    let m = engine().await;
    let SignInOutcome::UpgradeStarted { handle } =
        sign_in(&m, " 1000 0001 ", "ancien-1", NOW).await
    else {
        panic!("no upgrade")
    };
    let account = m
        .accounts
        .upgrade_in_progress(&handle, NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.client_number, "10000001");
    // The step-2 session ends after upgrade_ttl.
    let later = NOW + JourneySettings::default().upgrade_ttl;
    assert!(m
        .accounts
        .upgrade_in_progress(&handle, later)
        .await
        .unwrap()
        .is_none());
    assert!(m
        .accounts
        .upgrade_in_progress("forged", NOW)
        .await
        .unwrap()
        .is_none());
    let started = events(&m, EventType::UpgradeStarted).await;
    assert_eq!(started[0].client_number.as_deref(), Some("10000001"));
    // A wrong legacy password and an unknown client number look the same.
    assert!(matches!(
        sign_in(&m, "10000001", "ancien-2", NOW).await,
        SignInOutcome::Wrong
    ));
    assert!(matches!(
        sign_in(&m, "99999999", "ancien-1", NOW).await,
        SignInOutcome::Wrong
    ));
    assert_eq!(
        outcomes(&m, EventType::SignInFailed).await,
        [
            (Outcome::Failure, "wrong_credentials".into()),
            (Outcome::Failure, "wrong_credentials".into())
        ]
    );
}

#[tokio::test]
async fn an_unavailable_store_is_an_error_not_a_wrong_password() {
    let m = engine().await;
    identity(&m, "jean@example.fr").await;
    m.store.set_unavailable(true);
    assert!(m
        .accounts
        .sign_in_any("jean@example.fr", GOOD, None, NOW)
        .await
        .is_err());
    assert!(matches!(
        m.accounts.sign_in("jean@example.fr", GOOD).await,
        Err(SignInError::Unavailable(_))
    ));
    m.store.set_unavailable(false);
    assert!(matches!(
        sign_in(&m, "jean@example.fr", GOOD, NOW).await,
        SignInOutcome::Identity(_)
    ));
}
