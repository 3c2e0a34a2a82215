//! Faults made on purpose: the database going away mid-run (a proxy the test cuts and
//! restores), and a mail server refusing, then accepting. Nothing half-done, nothing lost,
//! nothing sent twice, and service resumes by itself.

use std::time::{Duration, Instant};

use gan_testkit::faults::{FaultProxy, SmtpSink};
use gan_testkit::flows::{authorize_url, token};
use gan_testkit::{backends, Backend, Browser, ClientSpec, TestDb, TestServer};

const LEGACY: &str = "ancien mot de passe";
const NEW_PASSWORD: &str = "Velo-rouge-2026";

fn legacy_hash(salt: &str) -> String {
    gan_testkit::legacy_sha256(salt, LEGACY)
}

async fn seed(server: &TestServer) {
    let csv = format!(
        "client_number,kind,label,contact_email,legacy_hash\n\
         50000001,personal,Alice Blanc,alice.blanc@example.fr,{}\n\
         50000002,personal,Bruno Noir,bruno.noir@example.fr,{}\n",
        legacy_hash("a"),
        legacy_hash("b")
    );
    server.import(&csv).await;
}

/// Step 1 and 2 of the upgrade for `number`; returns the page that says the link was sent.
async fn choose_email(
    server: &TestServer,
    b: &mut Browser,
    number: &str,
    email: &str,
) -> gan_testkit::Reply {
    let first = b.get(&authorize_url(server, "portal", &[])).await;
    let page = b.follow(first).await;
    let (action, csrf) = (
        page.form_action().unwrap(),
        page.input("csrf_token").unwrap(),
    );
    let r = b
        .post_form(
            &action,
            &[
                ("csrf_token", &csrf),
                ("identifier", number),
                ("password", LEGACY),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let form = b.get("/upgrade/email").await;
    let csrf = form.input("csrf_token").unwrap();
    b.post_form("/upgrade/email", &[("csrf_token", &csrf), ("email", email)])
        .await
}

async fn status_of(url: &str) -> u16 {
    reqwest::get(url)
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

/// Polls `url` until it answers `want`, for at most 15 s.
async fn until_status(url: &str, want: u16) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if status_of(url).await == want {
            return;
        }
        assert!(Instant::now() < deadline, "{url} never answered {want}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_database_going_away_gives_503s_leaves_nothing_half_done_and_service_resumes() {
    let Some(pg) = backends().into_iter().find_map(|b| {
        if let Backend::Postgres(u) = b {
            Some(u)
        } else {
            None
        }
    }) else {
        eprintln!(
            "this test needs PostgreSQL (DATABASE_URL); it runs in the PostgreSQL pass of .ci/run"
        );
        return;
    };
    let db = TestDb::create(&Backend::Postgres(pg)).await;
    {
        let mut url = url::Url::parse(&db.url).unwrap();
        let target = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432))
            .parse()
            .unwrap();
        let proxy = FaultProxy::start(target).await;
        url.set_port(Some(proxy.port)).unwrap();
        let server = TestServer::start_url(
            url.as_str(),
            &[("GAN_CONNECT__DATABASE__CONNECT_TIMEOUT_SECONDS", "2")],
        )
        .await;
        let secret = server
            .add_client(ClientSpec::portal("portal"))
            .await
            .unwrap();
        let mut admin = ClientSpec::partner("ops");
        admin.scopes = vec!["admin:read".into()];
        let ops = server.add_client(admin).await.unwrap();
        seed(&server).await;
        let (_, body, _) = token(
            &server,
            "ops",
            &ops,
            &[("grant_type", "client_credentials")],
        )
        .await;
        let admin_token = body["access_token"].as_str().unwrap().to_string();

        // An upgrade waiting at step 3: the password form is open.
        let mut b = Browser::new(&server.base);
        assert_eq!(
            choose_email(&server, &mut b, "50000001", "alice@example.fr")
                .await
                .status,
            200
        );
        let link = server
            .mail_to("alice@example.fr", 1)
            .await
            .link(&server.url("/upgrade/verify"))
            .unwrap();
        let page = b.get(&link).await;
        let (csrf, link_token, action) = (
            page.input("csrf_token").unwrap(),
            page.input("token").unwrap(),
            page.form_action().unwrap(),
        );
        let fields = [
            ("csrf_token", csrf.as_str()),
            ("token", link_token.as_str()),
            ("password", NEW_PASSWORD),
            ("password_confirm", NEW_PASSWORD),
        ];
        assert_eq!(status_of(&server.url("/readyz")).await, 200);

        // The database goes away.
        proxy.cut();
        until_status(&server.url("/readyz"), 503).await;
        let (status, body, _) = token(
            &server,
            "ops",
            &ops,
            &[("grant_type", "client_credentials")],
        )
        .await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["error"], "temporarily_unavailable");
        let signin = b.get(&authorize_url(&server, "portal", &[])).await;
        assert_eq!(signin.status, 503, "{}", signin.body);
        assert!(
            signin.body.contains("indisponible"),
            "a clear page: {}",
            signin.body
        );
        let upgrade = b.post_form(&action, &fields).await;
        assert_eq!(upgrade.status, 503, "{}", upgrade.body);
        let api = reqwest::Client::new()
            .get(server.url("/admin/api/v1/clients"))
            .bearer_auth(&admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(api.status(), 503);
        assert_eq!(api.headers()["content-type"], "application/problem+json");
        assert_eq!(
            status_of(&server.url("/.well-known/openid-configuration")).await,
            200,
            "what needs no database still works"
        );
        assert_eq!(status_of(&server.url("/jwks")).await, 200);

        // It comes back: no restart, and the upgrade that failed can be done again, whole.
        proxy.restore();
        until_status(&server.url("/readyz"), 200).await;
        let done = b.post_form(&action, &fields).await;
        assert_eq!(
            done.status, 303,
            "the link was not used by the failed attempt: {}",
            done.body
        );
        let mut other = Browser::new(&server.base);
        let code = gan_testkit::flows::code(
            &server,
            &mut other,
            "portal",
            "alice@example.fr",
            NEW_PASSWORD,
        )
        .await;
        assert_eq!(
            gan_testkit::flows::exchange(&server, "portal", &secret, &code)
                .await
                .0,
            200
        );
    }
    db.drop_db().await;
}

#[tokio::test]
async fn mail_refused_by_the_smtp_server_is_kept_retried_and_delivered_exactly_once() {
    for backend in backends() {
        let db = TestDb::create(&backend).await;
        {
            let sink = SmtpSink::start(true).await;
            let port = sink.port.to_string();
            let server = TestServer::start(
                &db,
                &[
                    ("GAN_CONNECT__MAIL__TRANSPORT", "smtp"),
                    ("GAN_CONNECT__MAIL__SMTP_HOST", "127.0.0.1"),
                    ("GAN_CONNECT__MAIL__SMTP_PORT", &port),
                ],
            )
            .await;
            server.add_client(ClientSpec::portal("portal")).await;
            seed(&server).await;

            // Two messages while the mail server refuses; the person is told it may take time.
            let mut b = Browser::new(&server.base);
            let sent = choose_email(&server, &mut b, "50000001", "alice@example.fr").await;
            assert_eq!(sent.status, 200, "{}", sent.body);
            assert!(
                sent.body.contains("peut mettre quelques minutes"),
                "{}",
                sent.body
            );
            let mut c = Browser::new(&server.base);
            assert_eq!(
                choose_email(&server, &mut c, "50000002", "bruno@example.fr")
                    .await
                    .status,
                200
            );

            // Refused, kept, and retried later.
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                let queued = server.postman.recent(10).await.unwrap();
                if sink.refused() >= 2
                    && queued.len() == 2
                    && queued.iter().all(|m| m.attempts >= 1)
                {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "the refusals were not recorded: {} refused",
                    sink.refused()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert!(sink.received().is_empty());

            // The server accepts again: past the back-off, every message goes out, once.
            sink.accept();
            let later = time::OffsetDateTime::now_utc() + time::Duration::hours(2);
            server.postman.deliver_due(later).await.unwrap();
            let deadline = Instant::now() + Duration::from_secs(15);
            while sink.received().len() < 2 {
                assert!(Instant::now() < deadline, "not delivered after recovery");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert_eq!(
                server
                    .postman
                    .deliver_due(later + time::Duration::hours(3))
                    .await
                    .unwrap(),
                gan_mail::Round::default()
            );
            let received = sink.received();
            let mut to: Vec<String> = received.iter().flat_map(|r| r.recipients.clone()).collect();
            to.sort();
            assert_eq!(
                to,
                ["alice@example.fr", "bruno@example.fr"],
                "each message exactly once"
            );
            assert!(received
                .iter()
                .all(|r| r.data.contains("/upgrade/verify?token=")));
        }
        db.drop_db().await;
    }
}

/// A tracing writer into a shared buffer: the log lines a request produced.
#[derive(Clone, Default)]
pub(crate) struct LogBuffer(pub(crate) std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn a_storage_failure_on_an_account_page_is_logged_with_its_cause_and_request_id_and_shown_in_the_persons_language(
) {
    use tower::ServiceExt;
    use tracing::instrument::WithSubscriber;

    for backend in backends() {
        let db = TestDb::create(&backend).await;
        {
            let server = TestServer::start(&db, &[]).await;
            let sub = server.add_identity("zoe@example.fr", NEW_PASSWORD).await;
            let auth = gan_oidc::model::Authentication {
                identity_id: sub,
                auth_time: server.state.provider.now(),
                amr: vec!["pwd".into()],
                acr: gan_oidc::ACR_PASSWORD.into(),
            };
            let (cookie, _) = server
                .state
                .provider
                .start_session(auth, None, None)
                .await
                .unwrap();
            let app = gan_web::app(server.state.clone());
            let account_page = |id: &str| {
                http::Request::get("/account")
                    .header("cookie", format!("gc_session={cookie}"))
                    .header("accept-language", "en-GB,en;q=0.9")
                    .header("x-request-id", id)
                    .body(axum::body::Body::empty())
                    .unwrap()
            };
            let ok = app
                .clone()
                .oneshot(account_page("before-the-fault"))
                .await
                .unwrap();
            assert_eq!(ok.status(), 200);

            // The database goes away: every connection of the pool is closed.
            server.store.db.pool().close_by_ref().await.unwrap();
            let logs = LogBuffer::default();
            let subscriber = tracing_subscriber::fmt()
                .with_writer(logs.clone())
                .with_ansi(false)
                .with_max_level(tracing::Level::INFO)
                .finish();
            let res = app
                .oneshot(account_page("fault-account-1"))
                .with_subscriber(subscriber)
                .await
                .unwrap();

            assert_eq!(res.status(), 503);
            assert_eq!(res.headers()["x-request-id"], "fault-account-1");
            let body = http_body_util::BodyExt::collect(res.into_body())
                .await
                .unwrap()
                .to_bytes();
            let body = String::from_utf8_lossy(&body);
            assert!(
                body.contains("The service is temporarily unavailable"),
                "the page is in English: {body}"
            );
            assert!(body.contains("<html lang=\"en\">"), "{body}");
            let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
            let failures: Vec<&str> = logs
                .lines()
                .filter(|l| l.contains("ERROR") && l.contains("fault-account-1"))
                .collect();
            assert_eq!(failures.len(), 1, "logged once: {logs}");
            let line = failures[0];
            assert!(line.contains("service unavailable"), "{line}");
            assert!(
                line.contains("during=\"account: find the session\""),
                "{line}"
            );
            assert!(line.contains("closed"), "the cause, from the pool: {line}");
        }
        db.drop_db().await;
    }
}

#[tokio::test]
async fn a_storage_failure_at_a_protocol_endpoint_is_logged_with_the_request_id() {
    use tower::ServiceExt;
    use tracing::instrument::WithSubscriber;

    for backend in backends() {
        let db = TestDb::create(&backend).await;
        {
            let server = TestServer::start(&db, &[]).await;
            let secret = server
                .add_client(ClientSpec::partner("partner"))
                .await
                .unwrap();
            let app = gan_web::app(server.state.clone());
            server.store.db.pool().close_by_ref().await.unwrap();
            let logs = LogBuffer::default();
            let subscriber = tracing_subscriber::fmt()
                .with_writer(logs.clone())
                .with_ansi(false)
                .with_max_level(tracing::Level::INFO)
                .finish();
            let basic = {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.encode(format!("partner:{secret}"))
            };
            let request = http::Request::post("/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("authorization", format!("Basic {basic}"))
                .header("x-request-id", "fault-token-1")
                .body(axum::body::Body::from("grant_type=client_credentials"))
                .unwrap();
            let res = app
                .oneshot(request)
                .with_subscriber(subscriber)
                .await
                .unwrap();

            assert!(res.status().is_server_error(), "{}", res.status());
            assert_eq!(res.headers()["x-request-id"], "fault-token-1");
            let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
            let failures: Vec<&str> = logs
                .lines()
                .filter(|l| l.contains("ERROR") && l.contains("fault-token-1"))
                .collect();
            assert_eq!(
                failures.len(),
                1,
                "logged once, with the request id: {logs}"
            );
            assert!(failures[0].contains("closed"), "the cause: {}", failures[0]);
        }
        db.drop_db().await;
    }
}
