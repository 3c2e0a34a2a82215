//! `gan-connect serve` as a process: what it refuses to start with, what it warns about, and
//! where it serves `/metrics`.

use std::path::Path;

use crate::support::{free_port, Serving, TempDir};

/// The environment of a server in `dir` listening on `port` (issuer on loopback), with cheap
/// password hashing and warnings logged.
fn env(dir: &Path, port: u16, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        (
            "GAN_CONNECT__DATABASE__URL",
            format!("sqlite://{}/gan.db?mode=rwc", dir.display()),
        ),
        (
            "GAN_CONNECT__KEYS__ENCRYPTION_KEY_FILE",
            dir.join("kek").display().to_string(),
        ),
        (
            "GAN_CONNECT__MAIL__OUTBOX_DIR",
            dir.join("outbox").display().to_string(),
        ),
        ("GAN_CONNECT__SERVER__LISTEN", format!("127.0.0.1:{port}")),
        (
            "GAN_CONNECT__SERVER__ISSUER",
            format!("http://127.0.0.1:{port}"),
        ),
        ("GAN_CONNECT__PASSWORDS__ARGON2_MEMORY_KIB", "1024".into()),
        ("GAN_CONNECT__PASSWORDS__ARGON2_ITERATIONS", "1".into()),
        ("GAN_CONNECT__LOG__LEVEL", "warn".into()),
    ]
    .map(|(k, v)| (k.to_string(), v))
    .to_vec();
    for (k, v) in extra {
        env.retain(|(key, _)| key != k);
        env.push((k.to_string(), v.to_string()));
    }
    env
}

#[tokio::test]
async fn a_plain_http_issuer_off_loopback_is_refused_unless_allowed_and_then_warned_about() {
    let dir = TempDir::new("gan-serve-http");
    let port = free_port();
    for issuer in ["http://connect.example.fr", "http://192.0.2.10:8080"] {
        let refused = Serving::start(
            dir.path(),
            &["serve"],
            &env(dir.path(), port, &[("GAN_CONNECT__SERVER__ISSUER", issuer)]),
        );
        let (ok, out) = refused.exit();
        assert!(!ok, "{issuer} started: {out}");
        assert!(
            out.contains("server.allow_insecure_http_issuer") && out.contains(issuer),
            "{out}"
        );
    }
    assert!(
        !dir.path().join("gan.db").exists(),
        "refused before touching the database"
    );

    let mut allowed = Serving::start(
        dir.path(),
        &["serve"],
        &env(
            dir.path(),
            port,
            &[
                ("GAN_CONNECT__SERVER__ISSUER", "http://connect.example.fr"),
                ("GAN_CONNECT__SERVER__ALLOW_INSECURE_HTTP_ISSUER", "true"),
            ],
        ),
    );
    allowed
        .ready(&format!("http://127.0.0.1:{port}/healthz"))
        .await;
    let out = allowed.output();
    assert!(
        out.contains("WARN")
            && out.contains("INSECURE")
            && out.contains("allow_insecure_http_issuer"),
        "{out}"
    );
}

#[tokio::test]
async fn metrics_on_a_listener_of_their_own_leave_the_main_one() {
    let dir = TempDir::new("gan-serve-metrics");
    let (port, metrics_port) = (free_port(), free_port());
    let metrics_listen = format!("127.0.0.1:{metrics_port}");
    let mut server = Serving::start(
        dir.path(),
        &["serve"],
        &env(
            dir.path(),
            port,
            &[("GAN_CONNECT__SERVER__METRICS_LISTEN", &metrics_listen)],
        ),
    );
    let main = format!("http://127.0.0.1:{port}");
    server.ready(&format!("{main}/healthz")).await;
    let on_main = reqwest::get(format!("{main}/metrics")).await.unwrap();
    assert_eq!(on_main.status(), 404);
    let metrics = format!("http://{metrics_listen}");
    let scraped = reqwest::get(format!("{metrics}/metrics")).await.unwrap();
    assert_eq!(scraped.status(), 200);
    let text = scraped.text().await.unwrap();
    assert!(
        text.contains("http_requests_total") && text.contains("/healthz"),
        "the main listener's requests are counted: {text}"
    );
    for other in [
        "/healthz",
        "/.well-known/openid-configuration",
        "/admin/api/v1/clients",
    ] {
        let answer = reqwest::get(format!("{metrics}{other}")).await.unwrap();
        assert_eq!(answer.status(), 404, "{other}");
    }
}
