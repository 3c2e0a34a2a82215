//! SMTP over TLS to a local relay whose certificate a test CA signed: STARTTLS and implicit TLS
//! deliver when `mail.smtp_ca_file` trusts that CA; an untrusted certificate, or a relay that
//! does not offer the STARTTLS we require, gets nothing, the cause is logged, and the message
//! waits in the queue for a retry that succeeds once the relay can be trusted.

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use gan_mail::{Postman, Round};
use gan_testkit::faults::{SinkOptions, SinkTls, SmtpSink, TestCa};
use gan_testkit::{backends, TestDb};
use time::{Duration, OffsetDateTime};
use tracing::instrument::WithSubscriber;

use crate::faults::LogBuffer;
use crate::mail_queue::{message, queue_only, rows};

/// A CA file in a fresh folder.
fn ca_file(ca: &TestCa) -> String {
    let dir = std::env::temp_dir()
        .join("gan-connect-tests")
        .join(format!("ca-{}", gan_testkit::random_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("company-ca.pem");
    std::fs::write(&file, ca.pem()).unwrap();
    file.display().to_string()
}

/// A postman over `db` with the transport the settings `smtp` give.
async fn smtp_postman(db: &TestDb, smtp: &[(&str, &str)]) -> (Postman, gan_store::Store) {
    let (store, sealer) = queue_only(db, smtp).await;
    let settings = gan_testkit::test_settings("http://127.0.0.1:9", &db.url, smtp);
    let transport = gan_connect::wiring::transport(&settings).unwrap();
    (
        Postman::new(Arc::new(store.clone()), transport, sealer),
        store,
    )
}

fn sent() -> Round {
    Round {
        sent: 1,
        ..Round::default()
    }
}

fn failed() -> Round {
    Round {
        failed: 1,
        ..Round::default()
    }
}

#[tokio::test]
async fn starttls_and_implicit_tls_deliver_to_a_relay_signed_by_the_configured_ca() {
    for backend in backends() {
        let db = TestDb::create(&backend).await;
        {
            let ca = TestCa::new("Gan test company CA");
            let ca_path = ca_file(&ca);
            let config = ca.server_config(&["localhost", "127.0.0.1"]);
            for (mode, host, tls) in [
                ("starttls", "127.0.0.1", SinkTls::Starttls(config.clone())),
                ("tls", "localhost", SinkTls::Implicit(config.clone())),
            ] {
                let sink = SmtpSink::start_with(SinkOptions {
                    tls,
                    ..SinkOptions::default()
                })
                .await;
                let port = sink.port.to_string();
                let (postman, _) = smtp_postman(
                    &db,
                    &[
                        ("GAN_CONNECT__MAIL__TRANSPORT", "smtp"),
                        ("GAN_CONNECT__MAIL__SMTP_HOST", host),
                        ("GAN_CONNECT__MAIL__SMTP_PORT", &port),
                        ("GAN_CONNECT__MAIL__SMTP_TLS", mode),
                        ("GAN_CONNECT__MAIL__SMTP_CA_FILE", &ca_path),
                        ("GAN_CONNECT__MAIL__SMTP_USERNAME", ""),
                    ],
                )
                .await;
                let now = OffsetDateTime::now_utc();
                postman
                    .post(message(&format!("{mode}@example.fr"), "un lien"), now)
                    .await
                    .unwrap();
                assert_eq!(postman.deliver_due(now).await.unwrap(), sent(), "{mode}");
                let received = sink.received();
                assert_eq!(received.len(), 1, "{mode}");
                assert!(received[0].tls, "{mode}: over TLS");
                assert_eq!(received[0].recipients, [format!("{mode}@example.fr")]);
                assert_eq!(sink.handshakes_failed(), 0);
            }
        }
        db.drop_db().await;
    }
}

#[tokio::test]
async fn an_untrusted_relay_gets_nothing_the_cause_is_logged_and_the_message_waits() {
    for backend in backends() {
        let db = TestDb::create(&backend).await;
        {
            let ours = TestCa::new("Gan test company CA");
            let ca_path = ca_file(&ours);
            // A relay whose certificate another CA signed.
            let impostor = TestCa::new("Someone else's CA");
            let sink = SmtpSink::start_with(SinkOptions {
                tls: SinkTls::Starttls(impostor.server_config(&["127.0.0.1"])),
                ..SinkOptions::default()
            })
            .await;
            let port = sink.port.to_string();
            let smtp = [
                ("GAN_CONNECT__MAIL__TRANSPORT", "smtp"),
                ("GAN_CONNECT__MAIL__SMTP_HOST", "127.0.0.1"),
                ("GAN_CONNECT__MAIL__SMTP_PORT", port.as_str()),
                ("GAN_CONNECT__MAIL__SMTP_TLS", "starttls"),
                ("GAN_CONNECT__MAIL__SMTP_CA_FILE", ca_path.as_str()),
            ];
            let (postman, store) = smtp_postman(&db, &smtp).await;
            let now = OffsetDateTime::now_utc();
            postman
                .post(message("jean@example.fr", "un lien"), now)
                .await
                .unwrap();
            let logs = LogBuffer::default();
            let subscriber = tracing_subscriber::fmt()
                .with_writer(logs.clone())
                .with_ansi(false)
                .with_max_level(tracing::Level::INFO)
                .finish();
            let round = postman
                .deliver_due(now)
                .with_subscriber(subscriber)
                .await
                .unwrap();
            assert_eq!(round, failed());
            assert!(sink.received().is_empty());
            // The sink sees the handshake fail on its side a moment later.
            let deadline = Instant::now() + StdDuration::from_secs(10);
            while sink.handshakes_failed() == 0 {
                assert!(Instant::now() < deadline, "no failed handshake seen");
                tokio::time::sleep(StdDuration::from_millis(20)).await;
            }
            let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
            let lines: Vec<&str> = logs
                .lines()
                .filter(|l| l.contains("mail delivery failed; will retry"))
                .collect();
            assert_eq!(lines.len(), 1, "logged once: {logs}");
            assert!(
                lines[0].contains("certificate verify failed"),
                "with its cause: {}",
                lines[0]
            );
            assert!(
                !lines[0].contains("jean@"),
                "the address masked: {}",
                lines[0]
            );
            let row = &rows(&store).await[0];
            assert_eq!((row.status.as_str(), row.attempts), ("queued", 1));
            assert!(row.envelope.is_some(), "kept sealed for the retry");
            assert!(row
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("certificate verify failed")));

            // The relay gets a certificate from the trusted CA: the retry delivers it, once.
            drop(sink);
            let sink = SmtpSink::start_with(SinkOptions {
                tls: SinkTls::Starttls(ours.server_config(&["127.0.0.1"])),
                ..SinkOptions::default()
            })
            .await;
            let port = sink.port.to_string();
            let mut fixed = smtp;
            fixed[2] = ("GAN_CONNECT__MAIL__SMTP_PORT", port.as_str());
            let (postman, _) = smtp_postman(&db, &fixed).await;
            let later = now + Duration::minutes(1);
            assert_eq!(postman.deliver_due(later).await.unwrap(), sent());
            assert_eq!(
                postman
                    .deliver_due(later + Duration::hours(1))
                    .await
                    .unwrap(),
                Round::default()
            );
            assert_eq!(sink.received().len(), 1);
            assert!(sink.received()[0].tls);
        }
        db.drop_db().await;
    }
}

#[tokio::test]
async fn required_starttls_sends_nothing_to_a_relay_that_does_not_offer_it() {
    for backend in backends() {
        let db = TestDb::create(&backend).await;
        {
            let sink = SmtpSink::start(false).await;
            let port = sink.port.to_string();
            let (postman, store) = smtp_postman(
                &db,
                &[
                    ("GAN_CONNECT__MAIL__TRANSPORT", "smtp"),
                    ("GAN_CONNECT__MAIL__SMTP_HOST", "127.0.0.1"),
                    ("GAN_CONNECT__MAIL__SMTP_PORT", &port),
                    ("GAN_CONNECT__MAIL__SMTP_TLS", "starttls"),
                    ("GAN_CONNECT__MAIL__SMTP_USERNAME", "gan"),
                    ("GAN_CONNECT__MAIL__SMTP_PASSWORD", "secret"),
                ],
            )
            .await;
            let now = OffsetDateTime::now_utc();
            postman
                .post(message("jean@example.fr", "un lien"), now)
                .await
                .unwrap();
            assert_eq!(postman.deliver_due(now).await.unwrap(), failed());
            assert!(sink.received().is_empty());
            let row = &rows(&store).await[0];
            assert_eq!(row.status, "queued");
            assert!(row.last_error.as_deref().is_some_and(|e| !e.is_empty()));
        }
        db.drop_db().await;
    }
}
