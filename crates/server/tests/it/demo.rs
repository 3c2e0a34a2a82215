//! Demo mode stays in the demo (issue 15 §2): its own database by default, a mark on any
//! database it sets up that a plain `serve` refuses, and loopback only.

use std::path::Path;

use gan_oidc::pkce::challenge_s256;
use gan_testkit::{backends, Browser, TestDb};

use crate::support::{free_port, gan_connect_in, Serving, TempDir};

const DEMO_EMAIL: &str = "demo@example.fr";
const DEMO_PASSWORD: &str = "Demo-password-2026";
const DEMO_CLIENT: &str = "demo-portal";
const DEMO_REDIRECT: &str = "http://127.0.0.1:9090/callback";
const VERIFIER: &str = "demo-test-verifier-0123456789-abcdefghijklmnop";

/// A server's environment: the default configuration (files under `data/` of its working
/// directory) but for its port and cheap password hashing.
fn env(port: u16, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = vec![
        (
            "GAN_CONNECT__SERVER__LISTEN".into(),
            format!("127.0.0.1:{port}"),
        ),
        (
            "GAN_CONNECT__SERVER__ISSUER".into(),
            format!("http://127.0.0.1:{port}"),
        ),
        (
            "GAN_CONNECT__PASSWORDS__ARGON2_MEMORY_KIB".into(),
            "1024".into(),
        ),
        (
            "GAN_CONNECT__PASSWORDS__ARGON2_ITERATIONS".into(),
            "1".into(),
        ),
        ("GAN_CONNECT__LOG__LEVEL".into(), "warn".into()),
    ];
    for (k, v) in extra {
        env.retain(|(key, _)| key != k);
        env.push((k.to_string(), v.to_string()));
    }
    env
}

fn authorize(base: &str, client_id: &str, redirect_uri: &str) -> String {
    let mut url = url::Url::parse(&format!("{base}/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", "openid email")
        .append_pair("state", "s")
        .append_pair("code_challenge", &challenge_s256(VERIFIER))
        .append_pair("code_challenge_method", "S256");
    url.to_string()
}

/// Signs in at `client_id` of the server at `base`: whether a code came back, and the last page.
async fn signs_in(
    base: &str,
    client_id: &str,
    redirect_uri: &str,
    identifier: &str,
    password: &str,
) -> (bool, String) {
    let mut browser = Browser::new(base);
    let back = browser
        .sign_in(
            &authorize(base, client_id, redirect_uri),
            identifier,
            password,
        )
        .await;
    (
        back.location_param("code").is_some(),
        format!("{} {:?} {}", back.status, back.location, back.body),
    )
}

fn run_in(dir: &Path, args: &[&str], env: &[(String, String)], stdin: &str) -> String {
    let (ok, out, err) = gan_connect_in(Some(dir), args, env, stdin);
    assert!(ok, "{args:?}: {err}");
    out
}

#[tokio::test]
async fn after_a_demo_a_plain_serve_on_the_default_database_knows_nothing_of_it() {
    let dir = TempDir::new("gan-demo-default");
    let demo_port = free_port();
    let mut demo = Serving::start(dir.path(), &["serve", "--demo"], &env(demo_port, &[]));
    let demo_base = format!("http://127.0.0.1:{demo_port}");
    demo.ready(&format!("{demo_base}/healthz")).await;
    // The mailbox answers pages of this machine only: a rebound name is not one (DNS rebinding).
    let http = reqwest::Client::new();
    let mailbox = |host: &'static str| {
        let req = http
            .get(format!("{demo_base}/demo/mailbox"))
            .header(reqwest::header::HOST, host);
        async move { req.send().await.unwrap().status() }
    };
    assert_eq!(mailbox("evil.example").await, 404);
    assert_eq!(mailbox("evil.example:80").await, 404);
    assert_eq!(mailbox("127.0.0.1").await, 200);
    assert_eq!(mailbox("localhost:8080").await, 200);
    assert_eq!(mailbox("[::1]:8080").await, 200);
    // The demo works: its identity signs in at its relying party.
    let (ok, page) = signs_in(
        &demo_base,
        DEMO_CLIENT,
        DEMO_REDIRECT,
        DEMO_EMAIL,
        DEMO_PASSWORD,
    )
    .await;
    assert!(ok, "{page}");
    assert!(demo.output().contains("data/demo.db"), "{}", demo.output());
    drop(demo);
    assert!(dir.path().join("data/demo.db").exists());
    assert!(
        !dir.path().join("data/gan-connect.db").exists(),
        "the demo did not touch the default database"
    );

    // A plain serve on the default database, with a relying party of its own.
    let port = free_port();
    let plain_env = env(port, &[]);
    let redirect = "http://127.0.0.1:9/cb";
    run_in(
        dir.path(),
        &[
            "client",
            "add",
            "--id",
            "portal",
            "--name",
            "Portal",
            "--redirect-uri",
            redirect,
            "--first-party",
            "--secret-stdin",
        ],
        &plain_env,
        "plain-secret-0123456789-abcdefghijklmnop\n",
    );
    let mut plain = Serving::start(dir.path(), &["serve"], &plain_env);
    let base = format!("http://127.0.0.1:{port}");
    plain.ready(&format!("{base}/healthz")).await;
    let mut browser = Browser::new(&base);
    let unknown = browser
        .get(&authorize(&base, DEMO_CLIENT, DEMO_REDIRECT))
        .await;
    assert_eq!(
        unknown.status, 400,
        "no demo relying party: {}",
        unknown.body
    );
    for (identifier, password) in [
        (DEMO_EMAIL, DEMO_PASSWORD),
        ("90000001", "demo-ancien-1"),
        ("90000002", "demo-ancien-2"),
    ] {
        let (ok, page) = signs_in(&base, "portal", redirect, identifier, password).await;
        assert!(!ok, "{identifier} signed in: {page}");
        assert!(page.contains("role=\"alert\""), "{identifier}: {page}");
    }
    let mailbox = reqwest::get(format!("{base}/demo/mailbox")).await.unwrap();
    assert_eq!(mailbox.status(), 404);
}

#[tokio::test]
async fn a_database_given_to_the_demo_is_marked_and_refused_by_a_plain_serve() {
    for backend in backends() {
        let dir = TempDir::new("gan-demo-given");
        let db = TestDb::create(&backend).await;
        let port = free_port();
        let given = env(port, &[("GAN_CONNECT__DATABASE__URL", &db.url)]);

        // A new database: the demo takes it, and marks it.
        let mut demo = Serving::start(dir.path(), &["serve", "--demo"], &given);
        demo.ready(&format!("http://127.0.0.1:{port}/healthz"))
            .await;
        drop(demo);
        let (ok, out) = Serving::start(dir.path(), &["serve"], &given).exit();
        assert!(
            !ok,
            "{backend:?}: a plain serve started on a demo database: {out}"
        );
        assert!(
            out.contains("was set up by `serve --demo`") && out.contains("--demo"),
            "{backend:?}: {out}"
        );
        let (ok, out) = Serving::start(dir.path(), &["serve", "--no-migrate"], &given).exit();
        assert!(!ok && out.contains("serve --demo"), "{backend:?}: {out}");
        // The demo itself starts again on it.
        let mut again = Serving::start(dir.path(), &["serve", "--demo"], &given);
        again
            .ready(&format!("http://127.0.0.1:{port}/healthz"))
            .await;
        drop(again);
        db.drop_db().await;

        // A database with a real deployment's data: the demo refuses it, untouched.
        let real = TestDb::create(&backend).await;
        let real_env = env(port, &[("GAN_CONNECT__DATABASE__URL", &real.url)]);
        run_in(dir.path(), &["migrate"], &real_env, "");
        run_in(
            dir.path(),
            &[
                "client",
                "add",
                "--id",
                "portal",
                "--name",
                "Portal",
                "--redirect-uri",
                "https://portal.example.fr/cb",
            ],
            &real_env,
            "",
        );
        let (ok, out) = Serving::start(dir.path(), &["serve", "--demo"], &real_env).exit();
        assert!(
            !ok,
            "{backend:?}: the demo started on a real database: {out}"
        );
        assert!(
            out.contains("real deployment") && out.contains("Leave database.url unset"),
            "{backend:?}: {out}"
        );
        let clients = run_in(dir.path(), &["client", "list", "--json"], &real_env, "");
        assert!(!clients.contains(DEMO_CLIENT), "{backend:?}: {clients}");
        let mut plain = Serving::start(dir.path(), &["serve"], &real_env);
        plain
            .ready(&format!("http://127.0.0.1:{port}/healthz"))
            .await;
        drop(plain);
        real.drop_db().await;

        // Without migrations, a new database is refused with what to do.
        let fresh = TestDb::create(&backend).await;
        let fresh_env = env(port, &[("GAN_CONNECT__DATABASE__URL", &fresh.url)]);
        let (ok, out) = Serving::start(dir.path(), &["serve", "--no-migrate"], &fresh_env).exit();
        assert!(
            !ok && out.contains("run `gan-connect migrate`"),
            "{backend:?}: {out}"
        );
        fresh.drop_db().await;
    }
}

#[tokio::test]
async fn the_demo_refuses_an_issuer_or_a_listener_off_loopback() {
    let dir = TempDir::new("gan-demo-loopback");
    let port = free_port();
    for (key, value, says) in [
        (
            "GAN_CONNECT__SERVER__ISSUER",
            "https://connect.example.fr",
            "loopback issuer",
        ),
        (
            "GAN_CONNECT__SERVER__ISSUER",
            "https://192.0.2.10:8443",
            "loopback issuer",
        ),
        (
            "GAN_CONNECT__SERVER__ISSUER",
            "https://[2001:db8::1]",
            "loopback issuer",
        ),
        (
            "GAN_CONNECT__SERVER__LISTEN",
            "0.0.0.0:0",
            "server.listen is",
        ),
        ("GAN_CONNECT__SERVER__LISTEN", "[::]:0", "server.listen is"),
    ] {
        for args in [&["serve", "--demo"][..], &["serve"][..]] {
            let mut extra = vec![(key, value)];
            if args.len() == 1 {
                extra.push(("GAN_CONNECT__SERVER__DEMO", "true"));
            }
            let (ok, out) = Serving::start(dir.path(), args, &env(port, &extra)).exit();
            assert!(!ok, "{args:?} {value}: started: {out}");
            assert!(out.contains(says) && out.contains(value), "{value}: {out}");
        }
    }
    assert!(
        !dir.path().join("data").exists(),
        "refused before creating anything"
    );
}
