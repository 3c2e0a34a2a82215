//! What a person types as an email: only a bare address is stored and mailed (never
//! `Name <address>`), in one form.

use gan_testkit::{each_backend, Browser, ClientSpec, Reply};

use crate::journeys::{seed, upgrade_to_step_two};

const INVALID_EMAIL: &str = "Saisissez une adresse email valide";

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
        assert_eq!(queued[0].to, "jean@xn--exmple-cua.fr");
        server.mail_to("jean@xn--exmple-cua.fr", 1).await;
    });
}
