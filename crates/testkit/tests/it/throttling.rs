//! Issue 13 §2: throttling that holds — a burst gets no more guesses than the rule allows, every
//! password check counts, a locked identity looks like a wrong password, counters decay.

use gan_testkit::flows::authorize_url;
use gan_testkit::{each_backend, Browser, ClientSpec, Reply, TestServer};

const EMAIL: &str = "cible@example.fr";
const PASSWORD: &str = "Le-bon-mot-2026";

/// A browser on the sign-in page, ready to post: (browser, form action, CSRF token).
async fn on_sign_in_page(server: &TestServer) -> (Browser, String, String) {
    let mut b = Browser::new(&server.base);
    let r = b.get(&authorize_url(server, "portal", &[])).await;
    let page = b.follow(r).await;
    let action = page.form_action().unwrap();
    let csrf = page.input("csrf_token").unwrap();
    (b, action, csrf)
}

async fn sign_in(server: &TestServer, password: &str) -> Reply {
    let (mut b, action, csrf) = on_sign_in_page(server).await;
    b.post_form(
        &action,
        &[
            ("csrf_token", csrf.as_str()),
            ("identifier", EMAIL),
            ("password", password),
        ],
    )
    .await
}

/// `n` sign-ins with `password` posted at once (each from its own browser, ready beforehand);
/// their statuses.
async fn at_once(server: &TestServer, n: usize, password: &'static str) -> Vec<u16> {
    let mut ready = Vec::new();
    for _ in 0..n {
        ready.push(on_sign_in_page(server).await);
    }
    let mut burst = tokio::task::JoinSet::new();
    for (mut b, action, csrf) in ready {
        burst.spawn(async move {
            b.post_form(
                &action,
                &[
                    ("csrf_token", csrf.as_str()),
                    ("identifier", EMAIL),
                    ("password", password),
                ],
            )
            .await
            .status
        });
    }
    burst.join_all().await
}

async fn wrong_guesses_evaluated(server: &TestServer) -> usize {
    server.state.provider.audit.flush().await;
    let filter = gan_audit::AuditFilter {
        event_type: Some(gan_audit::EventType::SignInFailed),
        limit: 200,
        ..Default::default()
    };
    let events = server
        .state
        .admin
        .audit_events(&filter)
        .await
        .unwrap()
        .items;
    events
        .iter()
        .filter(|e| e.detail["reason"] == "wrong_credentials")
        .count()
}

#[tokio::test]
async fn forty_wrong_passwords_at_once_get_no_more_guesses_than_a_sequence() {
    each_backend!(|server| {
        server.add_client(ClientSpec::portal("portal")).await;
        server.add_identity(EMAIL, PASSWORD).await;
        let statuses = at_once(&server, 40, "Pas-le-bon-2026").await;
        let wrong = statuses.iter().filter(|s| **s == 401).count();
        let held = statuses.iter().filter(|s| **s == 429).count();
        assert_eq!(wrong + held, 40, "{statuses:?}");
        // No more than a sequence gets in a whole window (10), and the window is then locked:
        // 30 were never checked.
        let allowed = gan_accounts::throttle::LOCK_AFTER as usize;
        assert_eq!(wrong, allowed, "{statuses:?}");
        assert_eq!(wrong_guesses_evaluated(&server).await, allowed);
        // Locked, even the right password waits (and is not checked); once the lock is over
        // it signs in, and a success forgets the failures.
        assert_eq!(sign_in(&server, PASSWORD).await.status, 429);
        server.clock.advance(15 * 60 + 1);
        assert_eq!(sign_in(&server, PASSWORD).await.status, 303);
        assert_eq!(sign_in(&server, "Pas-le-bon-2026").await.status, 401);
    });
}

#[tokio::test]
async fn right_passwords_at_once_are_not_held_back() {
    each_backend!(|server| {
        server.add_client(ClientSpec::portal("portal")).await;
        server.add_identity(EMAIL, PASSWORD).await;
        let statuses = at_once(&server, 8, PASSWORD).await;
        assert!(statuses.iter().all(|s| *s == 303), "{statuses:?}");
    });
}

#[tokio::test]
async fn failures_count_for_a_window_then_lock_and_the_lock_is_not_renewed() {
    each_backend!(|server| {
        server.add_client(ClientSpec::portal("portal")).await;
        server.add_identity(EMAIL, PASSWORD).await;
        let mut statuses = Vec::new();
        for _ in 0..10 {
            statuses.push(sign_in(&server, "Pas-le-bon-2026").await.status);
            server.clock.advance(300);
        }
        // Ten guesses over 50 minutes: each window (15 minutes) holds only a few, so the
        // failures decay instead of adding up forever.
        assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
        // Ten within a window lock the identifier for 15 minutes; guesses meanwhile are refused
        // without being checked and do not renew the lock.
        for _ in 0..10 {
            let r = sign_in(&server, "Pas-le-bon-2026").await;
            if r.status == 429 {
                break;
            }
            server.clock.advance(70);
        }
        assert_eq!(sign_in(&server, PASSWORD).await.status, 429);
        for _ in 0..5 {
            assert_eq!(sign_in(&server, "Pas-le-bon-2026").await.status, 429);
        }
        server.clock.advance(16 * 60);
        assert_eq!(sign_in(&server, PASSWORD).await.status, 303);
        // Counters whose window and wait are over are purged with the other expired rows.
        use gan_testkit::ClockExt;
        let later = server.clock.now_value() + time::Duration::hours(2);
        assert!(server.state.accounts.purge_expired(later).await.unwrap() >= 1);
    });
}

#[tokio::test]
async fn password_checks_on_the_account_pages_are_throttled_too() {
    each_backend!(|server| {
        server.add_client(ClientSpec::portal("portal")).await;
        server.add_identity(EMAIL, PASSWORD).await;
        let mut b = Browser::new(&server.base);
        let back = b
            .sign_in(&authorize_url(&server, "portal", &[]), EMAIL, PASSWORD)
            .await;
        assert!(back.location_param("code").is_some());
        // A stolen session cookie tries current passwords on the password-change form.
        let mut statuses = Vec::new();
        for _ in 0..6 {
            let page = b.get("/account").await;
            let csrf = page.input("csrf_token").unwrap();
            let r = b
                .post_form(
                    "/account/password",
                    &[
                        ("csrf_token", csrf.as_str()),
                        ("current_password", "Devine-2026"),
                        ("password", "Nouveau-mot-2027"),
                        ("password_confirm", "Nouveau-mot-2027"),
                    ],
                )
                .await;
            statuses.push(r.status);
            if r.status == 429 {
                assert!(r.headers.get("retry-after").is_some());
            }
        }
        assert_eq!(&statuses[..3], [401, 401, 401], "{statuses:?}");
        assert_eq!(statuses[3], 429, "{statuses:?}");
        // The same counter holds the email change, the re-authentication and the sign-in.
        let page = b.get("/account").await;
        let csrf = page.input("csrf_token").unwrap();
        let email = b
            .post_form(
                "/account/email",
                &[
                    ("csrf_token", csrf.as_str()),
                    ("email", "autre@example.fr"),
                    ("current_password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(email.status, 429);
        let reauth = b
            .post_form(
                "/account/reauth",
                &[("csrf_token", csrf.as_str()), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(
            reauth.status, 429,
            "the re-authentication page, with the wait"
        );
        assert!(
            reauth.body.contains("Trop de tentatives"),
            "{}",
            reauth.body
        );
        assert_eq!(sign_in(&server, PASSWORD).await.status, 429);
    });
}

#[tokio::test]
async fn a_locked_identity_answers_like_a_wrong_password() {
    each_backend!(|server| {
        server.add_client(ClientSpec::portal("portal")).await;
        let id = server.add_identity(EMAIL, PASSWORD).await;
        server.state.admin.lock_identity(&id).await.unwrap();
        let right = sign_in(&server, PASSWORD).await;
        let wrong = sign_in(&server, "Pas-le-bon-2026").await;
        assert_eq!(right.status, 401);
        assert_eq!(right.status, wrong.status);
        let alert = |r: &Reply| {
            r.body
                .split("role=\"alert\"")
                .nth(1)
                .map(|s| s.split("</").next().unwrap_or_default().to_string())
        };
        assert_eq!(alert(&right), alert(&wrong));
    });
}

/// Messages queued to `to` so far (queued, sent or not), counted by the masked recipient the
/// queue keeps (the tests that call it mail no other address with the same mask).
async fn queued_to(server: &TestServer, to: &str) -> u64 {
    use gan_store::entity::mail_queue;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    mail_queue::Entity::find()
        .filter(mail_queue::Column::Recipient.eq(gan_mail::mask_address(to)))
        .count(server.store.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn limits_checked_before_acting_hold_under_concurrency() {
    each_backend!(|server| {
        server.add_client(ClientSpec::portal("portal")).await;
        crate::journeys::seed(&server).await;
        server.add_identity(EMAIL, PASSWORD).await;

        // Twenty "mot de passe oublié" at once for one address: five messages an hour.
        let mut ready = Vec::new();
        for _ in 0..20 {
            let mut b = Browser::new(&server.base);
            let form = b.get("/forgot/password").await;
            let csrf = form.input("csrf_token").unwrap();
            ready.push((b, csrf));
        }
        let mut burst = tokio::task::JoinSet::new();
        for (mut b, csrf) in ready {
            burst.spawn(async move {
                b.post_form(
                    "/forgot/password",
                    &[("csrf_token", csrf.as_str()), ("identifier", EMAIL)],
                )
                .await
                .status
            });
        }
        let statuses = burst.join_all().await;
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
        assert_eq!(queued_to(&server, EMAIL).await, 5);

        // Two personal accounts attached at once to an identity that may hold one: one wins.
        let mut one = Browser::new(&server.base);
        let mut two = Browser::new(&server.base);
        for b in [&mut one, &mut two] {
            let back = b
                .sign_in(&authorize_url(&server, "portal", &[]), EMAIL, PASSWORD)
                .await;
            assert!(back.location_param("code").is_some());
        }
        let c1 = one.get("/account").await.input("csrf_token").unwrap();
        let c2 = two.get("/account").await.input("csrf_token").unwrap();
        let f1 = [
            ("csrf_token", c1.as_str()),
            ("client_number", "10000001"),
            ("password", crate::journeys::LEGACY),
        ];
        let f2 = [
            ("csrf_token", c2.as_str()),
            ("client_number", "10000003"),
            ("password", crate::journeys::LEGACY),
        ];
        let (r1, r2) = tokio::join!(
            one.post_form("/account/attach", &f1),
            two.post_form("/account/attach", &f2)
        );
        let mut statuses = [r1.status, r2.status];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "one personal account at most");
        let accounts = server
            .state
            .accounts
            .accounts_of(
                &server
                    .state
                    .accounts
                    .identity_by_email(EMAIL)
                    .await
                    .unwrap()
                    .unwrap()
                    .id,
            )
            .await
            .unwrap();
        assert_eq!(accounts.len(), 1);
    });
}
