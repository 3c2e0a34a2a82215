//! What a person types as an email or an identifier: only a bare address is stored and mailed
//! (never `Name <address>`), in one form, and text longer than any identifier is refused before
//! it reaches the database — the same answers on SQLite and PostgreSQL, never a 5xx.

use gan_testkit::{each_backend, Browser, ClientSpec, Reply};

use crate::journeys::{
    account_post, post, seed, sign_in_page, signed_in_browser, upgrade_to_step_two,
};

const INVALID_EMAIL: &str = "Saisissez une adresse email valide";
const WRONG: &str = "<div class=\"alert\" role=\"alert\" id=\"form-error\">Identifiant ou mot de passe incorrect.</div>";

/// Posts `email` to step 2 again, in the browser whose upgrade is in progress.
async fn choose_email(b: &mut Browser, email: &str) -> Reply {
    let form = b.get("/upgrade/email").await;
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = form.input("csrf_token").unwrap();
    b.post_form("/upgrade/email", &[("csrf_token", &csrf), ("email", email)])
        .await
}

/// A field error on the form it came from.
fn refused(r: &Reply, field: &str, message: &str) {
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("role=\"alert\""), "{}", r.body);
    assert!(r.body.contains(message), "{}", r.body);
    assert!(r.body.contains(&format!("name=\"{field}\"")), "{}", r.body);
}

/// The longest address RFC 5321 allows: 64 + 1 + 189 octets.
fn longest_address() -> String {
    let domain = format!(
        "{}.{}.{}.fr",
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(58)
    );
    let address = format!("{}@{domain}", "a".repeat(64));
    assert_eq!(address.len(), 254);
    address
}

#[tokio::test]
async fn a_display_name_is_no_login_email_and_nothing_is_mailed_to_it() {
    each_backend!(|server| {
        server.add_client(ClientSpec::portal("portal")).await;
        seed(&server).await;
        let mut b = Browser::new(&server.base);
        let r = upgrade_to_step_two(&server, &mut b, "10000001", "v<x@evil.fr>").await;
        refused(&r, "email", INVALID_EMAIL);
        for bad in [
            "\"Jean\" <j@x.fr>",
            "j@x.fr (commentaire)",
            "j@x.fr\r\nBcc: y@z.fr",
            "j@[127.0.0.1]",
            "jérôme@example.fr",
        ] {
            refused(&choose_email(&mut b, bad).await, "email", INVALID_EMAIL);
        }
        assert!(
            server.postman.recent(10).await.unwrap().is_empty(),
            "no message queued"
        );

        // An international domain has one form: the one stored, mailed and shown.
        let sent = choose_email(&mut b, " Jean@Exämple.FR ").await;
        assert_eq!(sent.status, 200, "{}", sent.body);
        assert!(
            sent.body.contains("j***@xn--exmple-cua.fr"),
            "{}",
            sent.body
        );
        let queued = server.postman.recent(10).await.unwrap();
        assert_eq!(queued.len(), 1);
        assert_eq!(
            queued[0].recipient, "j***@xn--exmple-cua.fr",
            "masked at rest"
        );
        server.mail_to("jean@xn--exmple-cua.fr", 1).await;
    });
}

#[tokio::test]
async fn identifiers_longer_than_the_columns_are_refused_before_the_database() {
    each_backend!(|server| {
        server.add_client(ClientSpec::portal("portal")).await;
        seed(&server).await;
        let long_email = format!("{}@example.fr", "a".repeat(289));
        let long_number = "1".repeat(300);
        assert_eq!((long_email.len(), long_number.len()), (300, 300));
        let longest = longest_address();

        // Sign-in: an unknown account's answer, however often.
        let mut b = Browser::new(&server.base);
        let unknown = sign_in_page(&server, &mut b, "inconnu@example.fr", "x").await;
        assert_eq!(unknown.status, 401, "{}", unknown.body);
        assert!(unknown.body.contains(WRONG), "{}", unknown.body);
        for identifier in [&long_email, &long_number, &longest] {
            for _ in 0..3 {
                let r = sign_in_page(&server, &mut b, identifier, "x").await;
                assert_eq!(r.status, 401, "{identifier}: {}", r.body);
                assert!(r.body.contains(WRONG), "{identifier}: {}", r.body);
                assert!(r.body.contains("name=\"password\""));
            }
        }

        // The forgotten-credential forms say what is wrong with the text.
        for identifier in [&long_email, &long_number] {
            let r = post(&mut b, "/forgot/password", "identifier", identifier).await;
            refused(&r, "identifier", "Cet identifiant est trop long");
        }
        let r = post(&mut b, "/forgot/identifier", "email", &long_email).await;
        refused(&r, "email", INVALID_EMAIL);
        let r = post(&mut b, "/forgot/identifier", "email", "v<x@evil.fr>").await;
        refused(&r, "email", INVALID_EMAIL);
        let r = post(&mut b, "/forgot/password", "identifier", &longest).await;
        assert_eq!(r.status, 200, "{}", r.body);

        // Upgrade step 2: too long is invalid; the longest address is mailed (its rate-limit
        // counter fits too).
        let r = upgrade_to_step_two(&server, &mut b, "10000001", &long_email).await;
        refused(&r, "email", INVALID_EMAIL);
        assert!(server.postman.recent(10).await.unwrap().is_empty());
        let sent = choose_email(&mut b, &longest).await;
        assert_eq!(sent.status, 200, "{}", sent.body);
        server.mail_to(&longest, 1).await;

        // The account page: attach and email change.
        server
            .add_identity("paul@example.fr", "Un-mot-de-passe-1")
            .await;
        let mut paul = signed_in_browser(&server, "paul@example.fr", "Un-mot-de-passe-1").await;
        let r = account_post(
            &mut paul,
            "/account/attach",
            &[("client_number", &long_number), ("password", "x")],
        )
        .await;
        assert_eq!(r.status, 401, "{}", r.body);
        assert!(r.body.contains("Numéro client ou mot de passe incorrect."));
        let r = account_post(
            &mut paul,
            "/account/email",
            &[
                ("email", &long_email),
                ("current_password", "Un-mot-de-passe-1"),
            ],
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains(INVALID_EMAIL), "{}", r.body);

        // Nothing was locked or broken on the way.
        let r = sign_in_page(&server, &mut b, "paul@example.fr", "Un-mot-de-passe-1").await;
        assert_eq!(r.status, 303, "{}", r.body);
    });
}
