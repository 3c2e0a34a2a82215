//! Issue 13 §1 (design.md §6): a credential change cuts off everything the old credential
//! granted — sessions, tokens, pending links — and a logout ends what its session was issued.

use gan_testkit::flows::{active, authorize_url, code, exchange, token};
use gan_testkit::{each_backend, Browser, ClientSpec, TestServer};

use crate::journeys::{choose_password, post};

const EMAIL: &str = "coupure@example.fr";
const PASSWORD: &str = "Ancien-mot-2026";
const NEW: &str = "Nouveau-mot-2027";

/// Tokens of one sign-in: (access, refresh).
async fn tokens(server: &TestServer, b: &mut Browser, secret: &str) -> (String, String) {
    let c = code(server, b, "portal", EMAIL, PASSWORD).await;
    let (status, body) = exchange(server, "portal", secret, &c).await;
    assert_eq!(status, 200, "{body}");
    (
        body["access_token"].as_str().unwrap().to_string(),
        body["refresh_token"].as_str().unwrap().to_string(),
    )
}

async fn refresh(server: &TestServer, secret: &str, refresh_token: &str) -> u16 {
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    token(server, "portal", secret, &form).await.0
}

/// The `access.cut_off` events of the trail: (reason, sessions ended, tokens revoked, links).
async fn cut_offs(server: &TestServer) -> Vec<(String, u64, u64, u64)> {
    let filter = gan_audit::AuditFilter {
        event_type: Some(gan_audit::EventType::AccessCutOff),
        ..Default::default()
    };
    server
        .audit_events(filter)
        .await
        .iter()
        .map(|e| {
            let n = |k: &str| e.detail[k].as_u64().unwrap_or(0);
            (
                e.detail["reason"].as_str().unwrap_or_default().to_string(),
                n("sessions_ended"),
                n("tokens_revoked"),
                n("links_cancelled"),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_password_reset_elsewhere_cuts_off_every_session_token_and_pending_link() {
    each_backend!(|server| {
        let secret = server
            .add_client(ClientSpec::portal("portal"))
            .await
            .unwrap();
        server.add_identity(EMAIL, PASSWORD).await;
        // Device A is signed in and its portal holds tokens.
        let mut a = Browser::new(&server.base);
        let (access, refresh_token) = tokens(&server, &mut a, &secret).await;
        assert_eq!(a.get("/account").await.status, 200);

        // Device B asks for two reset links, L1 then L2, and uses L2.
        let mut b = Browser::new(&server.base);
        post(&mut b, "/forgot/password", "identifier", EMAIL).await;
        post(&mut b, "/forgot/password", "identifier", EMAIL).await;
        let l1 = server
            .mail_to(EMAIL, 1)
            .await
            .link(&server.url("/password/reset"))
            .unwrap();
        let l2 = server
            .mail_to(EMAIL, 2)
            .await
            .link(&server.url("/password/reset"))
            .unwrap();
        let done = choose_password(&mut b, &l2, NEW).await;
        assert_eq!(done.status, 200, "{}", done.body);

        // On A: no session, no code without a sign-in, no refresh, no access.
        assert_eq!(a.get("/account").await.status, 401);
        let again = a.get(&authorize_url(&server, "portal", &[])).await;
        let page = a.follow(again).await;
        assert!(
            page.location_param("code").is_none() && page.body.contains("name=\"password\""),
            "the sign-in page again: {} {:?}",
            page.status,
            page.location
        );
        assert_eq!(refresh(&server, &secret, &refresh_token).await, 400);
        assert!(!active(&server, "portal", &secret, &access).await);
        // L1 died with the change.
        assert_eq!(b.get(&l1).await.status, 410, "a sibling link is dead");
        let cut = cut_offs(&server).await;
        assert_eq!(cut.len(), 1, "{cut:?}");
        assert_eq!(cut[0].0, "password_reset");
        assert!(cut[0].1 >= 1 && cut[0].2 >= 2 && cut[0].3 >= 1, "{cut:?}");
        // The new password signs in.
        let mut c = Browser::new(&server.base);
        let back = c
            .sign_in(&authorize_url(&server, "portal", &[]), EMAIL, NEW)
            .await;
        assert!(back.location_param("code").is_some());
    });
}

#[tokio::test]
async fn a_password_change_keeps_this_session_and_cuts_off_the_others() {
    each_backend!(|server| {
        let secret = server
            .add_client(ClientSpec::portal("portal"))
            .await
            .unwrap();
        server.add_identity(EMAIL, PASSWORD).await;
        let mut a = Browser::new(&server.base);
        let (a_access, a_refresh) = tokens(&server, &mut a, &secret).await;
        // A also holds a code it has not redeemed yet.
        let pending = code(&server, &mut a, "portal", EMAIL, PASSWORD).await;
        let mut b = Browser::new(&server.base);
        let (b_access, b_refresh) = tokens(&server, &mut b, &secret).await;

        let page = b.get("/account").await;
        let csrf = page.input("csrf_token").unwrap();
        let changed = b
            .post_form(
                "/account/password",
                &[
                    ("csrf_token", csrf.as_str()),
                    ("current_password", PASSWORD),
                    ("password", NEW),
                    ("password_confirm", NEW),
                ],
            )
            .await;
        assert_eq!(changed.status, 200, "{}", changed.body);

        assert_eq!(a.get("/account").await.status, 401);
        assert_eq!(refresh(&server, &secret, &a_refresh).await, 400);
        assert!(!active(&server, "portal", &secret, &a_access).await);
        let (status, body) = exchange(&server, "portal", &secret, &pending).await;
        assert_eq!(status, 400, "a code of an ended session: {body}");
        assert_eq!(body["error"], "invalid_grant");
        // What B's own session was issued stays: the person made the change from it.
        assert_eq!(b.get("/account").await.status, 200);
        assert!(active(&server, "portal", &secret, &b_access).await);
        assert_eq!(refresh(&server, &secret, &b_refresh).await, 200);
        let cut = cut_offs(&server).await;
        assert_eq!(cut.len(), 1, "{cut:?}");
        assert_eq!(cut[0].0, "password_changed");
    });
}

#[tokio::test]
async fn logout_revokes_what_the_session_was_issued_but_offline_access() {
    each_backend!(|server| {
        let secret = server
            .add_client(ClientSpec::portal("portal"))
            .await
            .unwrap();
        server.add_identity(EMAIL, PASSWORD).await;
        let mut a = Browser::new(&server.base);
        // One grant without offline_access, one with, in the same session.
        let online = authorize_url(&server, "portal", &[])
            .replace("scope=openid+email+offline_access", "scope=openid+email");
        assert!(!online.contains("offline_access"));
        let back = a.sign_in(&online, EMAIL, PASSWORD).await;
        let c = back.location_param("code").unwrap();
        let (status, first) = exchange(&server, "portal", &secret, &c).await;
        assert_eq!(status, 200, "{first}");
        let online_access = first["access_token"].as_str().unwrap().to_string();
        let (offline_access, offline_refresh) = tokens(&server, &mut a, &secret).await;
        let id_token = first["id_token"].as_str().unwrap();

        let bye = a
            .get(&format!("/end_session?id_token_hint={id_token}"))
            .await;
        assert!(bye.status < 400, "{} {}", bye.status, bye.body);
        assert_eq!(a.get("/account").await.status, 401);
        assert!(!active(&server, "portal", &secret, &online_access).await);
        assert!(active(&server, "portal", &secret, &offline_access).await);
        assert_eq!(refresh(&server, &secret, &offline_refresh).await, 200);
    });
}

#[tokio::test]
async fn a_re_authentication_keeps_what_the_session_was_issued() {
    each_backend!(|server| {
        let secret = server
            .add_client(ClientSpec::portal("portal"))
            .await
            .unwrap();
        server.add_identity(EMAIL, PASSWORD).await;
        let mut a = Browser::new(&server.base);
        let online = authorize_url(&server, "portal", &[])
            .replace("scope=openid+email+offline_access", "scope=openid+email");
        let back = a.sign_in(&online, EMAIL, PASSWORD).await;
        let (_, first) = exchange(
            &server,
            "portal",
            &secret,
            &back.location_param("code").unwrap(),
        )
        .await;
        let first_access = first["access_token"].as_str().unwrap().to_string();

        // Another portal (here the same one) asks for a fresh sign-in: the person types the
        // password again; what the browser's session was issued stays.
        let again = authorize_url(&server, "portal", &[("prompt", "login")])
            .replace("scope=openid+email+offline_access", "scope=openid+email");
        let back = a.sign_in(&again, EMAIL, PASSWORD).await;
        let (_, second) = exchange(
            &server,
            "portal",
            &secret,
            &back.location_param("code").unwrap(),
        )
        .await;
        assert!(active(&server, "portal", &secret, &first_access).await);

        // It now belongs to the new session: logging that one out revokes it.
        let hint = second["id_token"].as_str().unwrap();
        let bye = a.get(&format!("/end_session?id_token_hint={hint}")).await;
        assert!(bye.status < 400, "{}", bye.body);
        assert!(!active(&server, "portal", &secret, &first_access).await);
    });
}

#[tokio::test]
async fn ending_the_other_sessions_revokes_all_they_were_issued() {
    each_backend!(|server| {
        let secret = server
            .add_client(ClientSpec::portal("portal"))
            .await
            .unwrap();
        server.add_identity(EMAIL, PASSWORD).await;
        // A stolen cookie obtained offline_access tokens on device A.
        let mut a = Browser::new(&server.base);
        let (a_access, a_refresh) = tokens(&server, &mut a, &secret).await;
        let mut b = Browser::new(&server.base);
        let (b_access, _) = tokens(&server, &mut b, &secret).await;
        let page = b.get("/account").await;
        let csrf = page.input("csrf_token").unwrap();
        let ended = b
            .post_form(
                "/account/sessions/end-others",
                &[("csrf_token", csrf.as_str())],
            )
            .await;
        assert_eq!(ended.status, 200, "{}", ended.body);
        assert_eq!(a.get("/account").await.status, 401);
        assert!(!active(&server, "portal", &secret, &a_access).await);
        assert_eq!(refresh(&server, &secret, &a_refresh).await, 400);
        assert!(active(&server, "portal", &secret, &b_access).await);
    });
}
