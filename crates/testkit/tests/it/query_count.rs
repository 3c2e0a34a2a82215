//! How many database statements a full sign-in costs, step by step: authorize → sign-in page
//! → password form → resume → token. The anchor to beat is 43 queries per flow (a published Go
//! provider); this keeps ours well under it. SQLite, and PostgreSQL when `DATABASE_URL` is set.

use gan_testkit::flows::{authorize_url, exchange};
use gan_testkit::{each_backend, Browser, ClientSpec};

/// Measured: 25 on SQLite (2 + 1 + 10 + 6 + 6). The sign-in reserves its attempt per identifier
/// and per address before the password is checked, then clears and releases them (issue 13: a
/// burst gets no more guesses than a sequence); the token step checks that the code's session
/// is still live. Lower it when a step gets cheaper.
const BUDGET: u64 = 25;

#[tokio::test]
async fn a_full_code_flow_stays_within_its_query_budget() {
    each_backend!(|server| {
        let secret = server
            .add_client(ClientSpec::portal("portal"))
            .await
            .unwrap();
        server
            .add_identity("compte@example.fr", "Un-mot-de-passe-2026")
            .await;
        let mut b = Browser::new(&server.base);
        let mut steps: Vec<(&str, u64)> = Vec::new();
        let mut last = server.store.queries();
        let mut step = |name: &'static str, store: &gan_store::Store| {
            let now = store.queries();
            steps.push((name, now - last));
            last = now;
        };

        let r = b.get(&authorize_url(&server, "portal", &[])).await;
        step("authorize", &server.store);
        let page = b.get(r.location.as_deref().unwrap()).await;
        step("sign-in page", &server.store);
        let (action, csrf) = (
            page.form_action().unwrap(),
            page.input("csrf_token").unwrap(),
        );
        let posted = b
            .post_form(
                &action,
                &[
                    ("csrf_token", &csrf),
                    ("identifier", "compte@example.fr"),
                    ("password", "Un-mot-de-passe-2026"),
                ],
            )
            .await;
        step("password form", &server.store);
        let back = b.get(posted.location.as_deref().unwrap()).await;
        step("resume", &server.store);
        let code = back.location_param("code").unwrap();
        let (status, _) = exchange(&server, "portal", &secret, &code).await;
        assert_eq!(status, 200);
        step("token", &server.store);

        let total: u64 = steps.iter().map(|(_, n)| n).sum();
        eprintln!("queries per step: {steps:?}, total {total}");
        assert!(
            total <= BUDGET,
            "a code flow took {total} queries (budget {BUDGET}): {steps:?}"
        );
    });
}

/// Introspection (by another client, which sees the person through its own registration) and
/// userinfo of a token whose scopes release accounts and profile: one statement each once the
/// clients are in the cache (the token, its identity and the identity's accounts, joined).
#[tokio::test]
async fn introspection_and_userinfo_read_one_statement() {
    use gan_accounts::customer::AccountKind;
    use gan_accounts::ports::CustomerStore;
    each_backend!(|server| {
        let secret = server
            .add_client(ClientSpec::portal("portal"))
            .await
            .unwrap();
        let mut partner = ClientSpec::partner("partner");
        partner.scopes = vec!["partner:read".into(), "accounts".into()];
        let partner_secret = server.add_client(partner).await.unwrap();
        let csv = format!(
            "client_number,kind,label,contact_email,legacy_hash\n\
             50000001,personal,Perso,q@example.fr,{h}\n\
             50000002,professional,Atelier,q@example.fr,{h}\n",
            h = gan_testkit::legacy_sha256("s", "x")
        );
        server.import(&csv).await;
        let sub = server
            .add_identity("compte@example.fr", "Un-mot-de-passe-2026")
            .await;
        let now = gan_testkit::ClockExt::now_value(server.clock.as_ref());
        for (n, kind) in [
            ("50000001", AccountKind::Personal),
            ("50000002", AccountKind::Professional),
        ] {
            server.store.attach(&sub, n, kind, 9, now).await.unwrap();
        }
        let url = authorize_url(&server, "portal", &[]).replace(
            "scope=openid+email+offline_access",
            "scope=openid+email+profile+accounts",
        );
        let mut b = Browser::new(&server.base);
        let back = b
            .sign_in(&url, "compte@example.fr", "Un-mot-de-passe-2026")
            .await;
        let code = back.location_param("code").unwrap();
        let (status, tokens) = exchange(&server, "portal", &secret, &code).await;
        assert_eq!(status, 200);
        let at = tokens["access_token"].as_str().unwrap().to_string();
        let http = reqwest::Client::new();
        let introspect = || {
            http.post(server.url("/introspect"))
                .basic_auth("partner", Some(&partner_secret))
                .form(&[("token", at.as_str())])
                .send()
        };
        let userinfo = || http.get(server.url("/userinfo")).bearer_auth(&at).send();
        // Once for the client cache.
        introspect().await.unwrap();
        userinfo().await.unwrap();

        let before = server.store.queries();
        let seen: serde_json::Value = introspect().await.unwrap().json().await.unwrap();
        let introspection = server.store.queries() - before;
        assert_eq!(seen["active"], true, "{seen}");
        assert_eq!(
            seen["client_numbers"].as_array().unwrap().len(),
            2,
            "{seen}"
        );
        assert!(
            seen.get("email").is_none(),
            "not the partner's scope: {seen}"
        );

        let before = server.store.queries();
        let claims: serde_json::Value = userinfo().await.unwrap().json().await.unwrap();
        let userinfo_queries = server.store.queries() - before;
        assert_eq!(claims["email"], "compte@example.fr", "{claims}");
        assert_eq!(claims["accounts"].as_array().unwrap().len(), 2, "{claims}");
        assert_eq!(
            (introspection, userinfo_queries),
            (1, 1),
            "statements for introspection and userinfo"
        );
    });
}
