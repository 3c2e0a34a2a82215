//! Output that cannot be forged (issue 15 §5): control characters that anyone can put in the
//! database — an identifier typed at the sign-in page, a client number sent to the attach form,
//! a label in an imported CSV — are printed escaped by every human-readable command, and exactly
//! by `--json`.

use gan_testkit::{backends, flows::authorize_url, Browser, ClientSpec, Reply, TestDb, TestServer};

use crate::support::gan_connect;

/// Sets the terminal's title.
const TITLE: &str = "\x1b]0;pwned\x07";
/// Erases the line, goes back to its start and writes a success over it.
const FORGED: &str = "\x1b[2K\r\x1b[1Asignin.succeeded 10000001";
/// A client number sent to the attach form (stored upper-cased, as typed otherwise).
const ATTACHED: &str = "\x1b]0;owned\x07\r99999999";
/// A label from a CSV: ESC, CR, BEL, an 8-bit CSI (C1) and a right-to-left override.
const LABEL: &str = "Jeanne\x1b[31m Petit\r\x07\u{9b}2J\u{202e}ffo";

async fn sign_in(server: &TestServer, b: &mut Browser, identifier: &str, password: &str) -> Reply {
    let page = b.get(&authorize_url(server, "portal", &[])).await;
    let page = b.follow(page).await;
    let action = page.form_action().unwrap();
    let csrf = page.input("csrf_token").unwrap();
    b.post_form(
        &action,
        &[
            ("csrf_token", &csrf),
            ("identifier", identifier),
            ("password", password),
        ],
    )
    .await
}

/// Runs a reading command on the database at `url`; returns its standard output.
fn read(url: &str, args: &[&str]) -> String {
    let env = [
        ("GAN_CONNECT__DATABASE__URL", url),
        ("GAN_CONNECT__LOG__LEVEL", "warn"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    let (ok, out, err) = gan_connect(args, &env, "");
    assert!(ok, "{args:?}: {err}");
    assert!(
        !err.chars().any(|c| c.is_control() && c != '\n'),
        "{args:?}: {err:?}"
    );
    out
}

/// Nothing a terminal would act on: no control character but the line ends of the output
/// itself, no bidirectional control.
fn printable(args: &[&str], out: &str) {
    let bad: Vec<char> = out
        .chars()
        .filter(|c| {
            (c.is_control() && *c != '\n')
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect();
    assert!(bad.is_empty(), "{args:?} printed {bad:?}: {out}");
}

#[tokio::test]
async fn what_anyone_sends_is_printed_escaped_and_exactly_in_json() {
    for backend in backends() {
        let db = TestDb::create(&backend).await;
        let server = TestServer::start(&db, &[]).await;
        server.add_client(ClientSpec::portal("portal")).await;
        // The import refuses control characters in a label now; a row stored by an older
        // version may hold them, and is printed escaped all the same.
        let csv = "client_number,kind,label,contact_email,legacy_hash\n\
             40000001,personal,Jeanne,jeanne@example.fr,sha256$s$0000000000000000000000000000000000000000000000000000000000000000\n";
        let mut parsed = server.import(csv).await;
        assert_eq!(parsed.rejected.len(), 0);
        parsed.rows[0].label = LABEL.to_string();
        {
            use gan_accounts::ports::CustomerStore;
            let now = gan_testkit::ClockExt::now_value(server.clock.as_ref());
            server
                .store
                .upsert_customers(&parsed.rows, now)
                .await
                .unwrap();
        }
        server
            .add_identity("paul@example.fr", "Un-mot-de-passe-1")
            .await;

        // Failed sign-ins with the given identifiers.
        let mut anyone = Browser::new(&server.base);
        for identifier in [TITLE, FORGED] {
            let r = sign_in(&server, &mut anyone, identifier, "x").await;
            assert_eq!(r.status, 401, "{}", r.body);
        }
        // An attach with the given client number.
        let mut paul = Browser::new(&server.base);
        let r = sign_in(&server, &mut paul, "paul@example.fr", "Un-mot-de-passe-1").await;
        assert_eq!(r.status, 303, "{}", r.body);
        let page = paul.get("/account").await;
        let csrf = page.input("csrf_token").unwrap();
        let r = paul
            .post_form(
                "/account/attach",
                &[
                    ("csrf_token", &csrf),
                    ("client_number", ATTACHED),
                    ("password", "x"),
                ],
            )
            .await;
        assert_eq!(r.status, 401, "{}", r.body);
        server.state.provider.audit.flush().await;

        // --json: exactly what was sent (JSON escapes it).
        let events: Vec<serde_json::Value> = read(&db.url, &["audit", "query", "--json"])
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        // A client number that matches no account is not kept as sent (a slip of the
        // password, or an attack): the trail says only what kind of thing it was.
        let attached = ATTACHED.to_uppercase();
        assert!(
            !events
                .iter()
                .any(|e| e["client_number"].as_str() == Some(attached.as_str())),
            "{backend:?}: {events:?}"
        );
        assert!(
            events.iter().any(|e| e["event_type"] == "account.attached"
                && e["detail"]["identifier"] == "unknown client number"),
            "{backend:?}: {events:?}"
        );
        let customer = read(&db.url, &["customers", "show", "40000001", "--json"]);
        let customer: serde_json::Value = serde_json::from_str(&customer).unwrap();
        assert_eq!(customer["customer"]["customer"]["label"], LABEL);

        // Every human-readable command: escaped.
        for args in [
            &["audit", "query"][..],
            &["audit", "query", "--type", "account.attached"],
            &["audit", "tail", "-n", "50"],
            &["customers", "show", "40000001"],
            &["customers", "show", "example.fr"],
            &["customers", "show", "Petit"],
            &["client", "list"],
            &["client", "show", "portal"],
        ] {
            printable(args, &read(&db.url, args));
        }
        // What anyone typed that matches no account never reached the trail in any form.
        let trail = read(&db.url, &["audit", "query"]);
        let tail = read(&db.url, &["audit", "tail", "-n", "50"]);
        for text in [&trail, &tail] {
            let upper = text.to_uppercase();
            assert!(
                !upper.contains("OWNED") && !upper.contains("PWNED") && !upper.contains("99999999"),
                "{backend:?}: {text}"
            );
        }
        let shown = read(&db.url, &["customers", "show", "40000001"]);
        assert!(
            shown.contains("Jeanne\\u{1b}[31m Petit\\r\\u{7}\\u{9b}2J\\u{202e}ffo"),
            "{backend:?}: {shown}"
        );
        drop(server);
        db.drop_db().await;
    }
}
