//! The mail queue: messages sealed at rest and dropped once delivered or given up, rows an older
//! version left in clear sealed or emptied, sent rows purged, failures retried with back-off,
//! and each message delivered once by two processes behind a slow relay.

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use gan_mail::{MailSealer, MailStatus, Message, Postman, Round, Transport};
use gan_store::entity::mail_queue;
use gan_store::Store;
use gan_testkit::faults::{SinkOptions, SmtpSink};
use gan_testkit::{backends, read_outbox, Browser, TestDb, TestServer};
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder, Statement};
use time::{Duration, OffsetDateTime};

const FROM: &str = "Gan Connect <no-reply@example.fr>";

/// The queue alone, without a server whose own postman would compete for the messages.
pub(crate) async fn queue_only(db: &TestDb, extra: &[(&str, &str)]) -> (Store, MailSealer) {
    let settings = gan_testkit::test_settings("http://127.0.0.1:9", &db.url, extra);
    let store = gan_connect::wiring::connect_store(&settings).await.unwrap();
    store.migrate().await.unwrap();
    let key = gan_connect::wiring::encryption_key(&settings).unwrap();
    (store, MailSealer::new(&key))
}

pub(crate) fn message(to: &str, text: &str) -> Message {
    Message {
        to: to.into(),
        subject: "Objet".into(),
        text: text.into(),
        html: format!("<p>{text}</p>"),
    }
}

/// Every row of the queue, every column, as text.
pub(crate) async fn rows(store: &Store) -> Vec<mail_queue::Model> {
    mail_queue::Entity::find()
        .order_by_asc(mail_queue::Column::CreatedAt)
        .all(store.db.pool())
        .await
        .unwrap()
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir()
        .join("gan-connect-tests")
        .join(format!("{name}-{}", gan_testkit::random_suffix()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test]
async fn a_reset_link_is_never_in_clear_in_the_queue_and_its_body_goes_once_delivered() {
    for backend in backends() {
        let db = TestDb::create(&backend).await;
        {
            // The relay refuses at first: the message waits in the queue, as in an outage.
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
            server
                .add_identity("jeanne@example.fr", "Velo-rouge-2026")
                .await;
            let mut b = Browser::new(&server.base);
            let r = crate::journeys::post(
                &mut b,
                "/forgot/password",
                "identifier",
                "jeanne@example.fr",
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.body);

            // Until the refusal is recorded (the server's postman tries at once).
            let deadline = Instant::now() + StdDuration::from_secs(15);
            let waiting = loop {
                let waiting = rows(&server.store).await;
                if waiting.len() == 1 && waiting[0].attempts >= 1 {
                    break waiting;
                }
                assert!(Instant::now() < deadline, "never tried: {waiting:?}");
                tokio::time::sleep(StdDuration::from_millis(50)).await;
            };
            assert_eq!(waiting.len(), 1);
            let row = &waiting[0];
            assert_eq!(row.status, "queued");
            assert_eq!(row.recipient, "j***@example.fr");
            assert_eq!(
                (
                    row.subject.as_str(),
                    row.body_text.as_str(),
                    row.body_html.as_str()
                ),
                ("", "", "")
            );
            let at_rest = format!("{waiting:?}");
            for clear in ["password/reset", "token=", "jeanne@", "Réinitialis"] {
                assert!(!at_rest.contains(clear), "{clear} at rest: {at_rest}");
            }
            // Sealed for its row: moved to another row, it does not open.
            let queued = server.postman.recent(10).await.unwrap();
            let opened = server.postman.open(&queued[0]).unwrap();
            assert_eq!(opened.to, "jeanne@example.fr");
            assert!(opened.text.contains("/password/reset?token="));
            let mut moved = queued[0].clone();
            moved.id = "another-row".into();
            assert!(server.postman.open(&moved).is_err());

            // The relay accepts: delivered, and the body is gone from the database.
            sink.accept();
            let later = OffsetDateTime::now_utc() + Duration::hours(1);
            let round = server.postman.deliver_due(later).await.unwrap();
            assert_eq!(round.sent, 1, "{round:?}");
            let received = sink.received();
            assert_eq!(received.len(), 1);
            let mail = mail_parser::MessageParser::default()
                .parse(received[0].data.as_bytes())
                .unwrap();
            let text = mail.body_text(0).unwrap().to_string();
            let token = text
                .split("/password/reset?token=")
                .nth(1)
                .and_then(|t| t.split_whitespace().next())
                .unwrap()
                .to_string();
            assert!(token.len() > 20, "{text}");
            assert!(!at_rest.contains(&token));
            let done = rows(&server.store).await;
            assert_eq!(done[0].status, "sent");
            assert_eq!(done[0].envelope, None, "the body is dropped");
            assert!(!format!("{done:?}").contains(&token));
        }
        db.drop_db().await;
    }
}

#[tokio::test]
async fn undeliverable_mail_is_kept_retried_and_delivered_once() {
    for backend in backends() {
        let db = TestDb::create(&backend).await;
        {
            let (store, sealer) = queue_only(&db, &[]).await;
            // An outbox "folder" that is a file: every delivery fails until it is fixed.
            let dir = temp_dir("broken");
            let transport = Transport::outbox(dir.clone(), FROM).unwrap();
            std::fs::remove_dir_all(&dir).unwrap();
            std::fs::write(&dir, b"not a folder").unwrap();
            let postman = Postman::new(Arc::new(store.clone()), transport, sealer);
            let now = OffsetDateTime::now_utc();
            postman
                .post(message("client@example.fr", "texte"), now)
                .await
                .unwrap();
            let failed = Round {
                failed: 1,
                ..Round::default()
            };
            assert_eq!(
                postman.deliver_due(now).await.unwrap(),
                failed,
                "the first attempt fails"
            );
            assert_eq!(
                postman.deliver_due(now).await.unwrap(),
                Round::default(),
                "not retried before its back-off"
            );
            let kept = postman.recent(10).await.unwrap();
            assert_eq!(kept.len(), 1, "the message is kept");
            assert_eq!(kept[0].attempts, 1);
            assert_eq!(kept[0].status, MailStatus::Queued);
            assert!(kept[0].envelope.is_some(), "still sealed, to retry");
            assert!(kept[0]
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("outbox")));

            let later = now + Duration::seconds(25);
            assert_eq!(
                postman.deliver_due(later).await.unwrap(),
                failed,
                "retried, fails again"
            );
            // The "mail server" recovers.
            std::fs::remove_file(&dir).unwrap();
            std::fs::create_dir_all(&dir).unwrap();
            let much_later = later + Duration::seconds(60);
            assert_eq!(
                postman.deliver_due(much_later).await.unwrap(),
                Round {
                    sent: 1,
                    ..Round::default()
                }
            );
            assert_eq!(
                postman
                    .deliver_due(much_later + Duration::hours(2))
                    .await
                    .unwrap(),
                Round::default(),
                "sent once"
            );
            let delivered = read_outbox(&dir);
            assert_eq!(delivered.len(), 1);
            assert_eq!(delivered[0].subject, "Objet");
            assert_eq!(delivered[0].to, "client@example.fr");
            let row = &rows(&store).await[0];
            assert_eq!((row.status.as_str(), &row.envelope), ("sent", &None));
        }
        db.drop_db().await;
    }
}

#[tokio::test]
async fn given_up_messages_lose_their_body_and_finished_rows_are_purged() {
    for backend in backends() {
        let db = TestDb::create(&backend).await;
        {
            let (store, sealer) = queue_only(&db, &[]).await;
            let dir = temp_dir("give-up");
            let transport = Transport::outbox(dir.clone(), FROM).unwrap();
            let postman = Postman::new(Arc::new(store.clone()), transport, sealer)
                .give_up_after(Duration::hours(24));
            let now = OffsetDateTime::now_utc();
            // Refused for good: an address no relay takes.
            postman
                .post(message("pas une adresse", "un lien"), now)
                .await
                .unwrap();
            assert_eq!(
                postman.deliver_due(now).await.unwrap(),
                Round {
                    dead: 1,
                    ..Round::default()
                }
            );
            // Too old: queued 25 hours ago, still failing (the outbox is a file now).
            postman
                .post(
                    message("vieux@example.fr", "un vieux lien"),
                    now - Duration::hours(25),
                )
                .await
                .unwrap();
            postman
                .post(message("neuf@example.fr", "un lien neuf"), now)
                .await
                .unwrap();
            std::fs::remove_dir_all(&dir).unwrap();
            std::fs::write(&dir, b"not a folder").unwrap();
            assert_eq!(
                postman.deliver_due(now).await.unwrap(),
                Round {
                    failed: 1,
                    dead: 1,
                    ..Round::default()
                }
            );
            let all = rows(&store).await;
            let by = |to: &str| all.iter().find(|r| r.recipient == to).unwrap();
            for dead in ["***", "v***@example.fr"] {
                let row = by(dead);
                assert_eq!(row.status, "dead", "{row:?}");
                assert_eq!(row.envelope, None, "{row:?}");
                assert!(row.last_error.is_some(), "{row:?}");
            }
            assert_eq!(by("n***@example.fr").status, "queued");

            // A week later: finished rows go, the waiting one stays.
            assert_eq!(postman.purge(now - Duration::days(7)).await.unwrap(), 0);
            assert_eq!(
                postman.purge(now + Duration::seconds(1)).await.unwrap(),
                2,
                "the two dead rows"
            );
            let left = rows(&store).await;
            assert_eq!(left.len(), 1);
            assert_eq!(left[0].recipient, "n***@example.fr");
            std::fs::remove_file(&dir).unwrap();
        }
        db.drop_db().await;
    }
}

#[tokio::test]
async fn messages_an_older_version_left_in_clear_are_sealed_or_emptied_at_upgrade() {
    use gan_migration::{Migrator, MigratorTrait};
    for backend in backends() {
        let db = TestDb::create(&backend).await;
        {
            let settings = gan_testkit::test_settings("http://127.0.0.1:9", &db.url, &[]);
            let store = gan_connect::wiring::connect_store(&settings).await.unwrap();
            // The schema of the version before sealing, and what it wrote.
            Migrator::up(store.db.pool(), Some(4)).await.unwrap();
            let now = OffsetDateTime::now_utc().unix_timestamp();
            for (id, status, to, link) in [
                (
                    "old-sent",
                    "sent",
                    "ancien@example.fr",
                    "https://id/password/reset?token=gcl_OLD_SENT",
                ),
                (
                    "old-pending",
                    "pending",
                    "attend@example.fr",
                    "https://id/password/reset?token=gcl_OLD_PENDING",
                ),
            ] {
                store
                    .db
                    .pool()
                    .execute(Statement::from_string(
                        store.backend(),
                        format!(
                            "INSERT INTO mail_queue (id, recipient, subject, body_text, body_html, status, attempts, next_attempt_at, last_error, created_at, sent_at) \
                             VALUES ('{id}', '{to}', 'Réinitialisation', 'Votre lien : {link}', '<a href=\"{link}\">lien</a>', '{status}', 0, {now}, NULL, {now}, NULL)"
                        ),
                    ))
                    .await
                    .unwrap();
            }
            // The upgrade: sent bodies emptied by the migration.
            store.migrate().await.unwrap();
            let migrated = format!("{:?}", rows(&store).await);
            assert!(!migrated.contains("gcl_OLD_SENT"), "{migrated}");
            assert!(
                migrated.contains("gcl_OLD_PENDING"),
                "the key is not known to migrations: the postman seals it"
            );

            // The first round seals the waiting one, then delivers it.
            let dir = temp_dir("upgrade");
            let key = gan_connect::wiring::encryption_key(&settings).unwrap();
            let postman = Postman::new(
                Arc::new(store.clone()),
                Transport::outbox(dir.clone(), FROM).unwrap(),
                MailSealer::new(&key),
            );
            let later = OffsetDateTime::now_utc() + Duration::seconds(1);
            assert_eq!(
                postman.deliver_due(later).await.unwrap(),
                Round {
                    sent: 1,
                    ..Round::default()
                }
            );
            let delivered = read_outbox(&dir);
            assert_eq!(delivered.len(), 1);
            assert_eq!(delivered[0].to, "attend@example.fr");
            assert!(delivered[0].text.contains("gcl_OLD_PENDING"));
            let after = rows(&store).await;
            let text = format!("{after:?}");
            assert!(!text.contains("gcl_OLD"), "{text}");
            assert!(after
                .iter()
                .all(|r| r.status == "sent" && r.envelope.is_none()));
            assert!(after.iter().any(|r| r.recipient == "a***@example.fr"));
        }
        db.drop_db().await;
    }
}

/// Two processes (two pools on one database), a relay that takes 200 ms to answer each
/// message, leases of 3 s: a batch of 25 lasts longer than a lease. Each message is delivered
/// once. (With the lease counted from the batch's start, as before, messages past the lease
/// were taken by the other process and sent twice.)
#[tokio::test]
async fn two_processes_deliver_each_message_once_behind_a_slow_relay() {
    for backend in backends() {
        let db = TestDb::create(&backend).await;
        {
            let sink = SmtpSink::start_with(SinkOptions {
                data_delay: StdDuration::from_millis(200),
                ..SinkOptions::default()
            })
            .await;
            let port = sink.port.to_string();
            let smtp = [
                ("GAN_CONNECT__MAIL__TRANSPORT", "smtp"),
                ("GAN_CONNECT__MAIL__SMTP_HOST", "127.0.0.1"),
                ("GAN_CONNECT__MAIL__SMTP_PORT", port.as_str()),
            ];
            let worker = || async {
                let (store, sealer) = queue_only(&db, &smtp).await;
                let settings = gan_testkit::test_settings("http://127.0.0.1:9", &db.url, &smtp);
                let transport = gan_connect::wiring::transport(&settings).unwrap();
                Arc::new(
                    Postman::new(Arc::new(store), transport, sealer)
                        .with_lease(StdDuration::from_secs(3)),
                )
            };
            let (a, b) = (worker().await, worker().await);
            let now = OffsetDateTime::now_utc();
            for n in 0..50 {
                a.post(message(&format!("client{n:02}@example.fr"), "lien"), now)
                    .await
                    .unwrap();
            }
            let started = Instant::now();
            let mut sent = 0;
            loop {
                let (ra, rb) = tokio::join!(a.deliver_due(now), b.deliver_due(now));
                let (ra, rb) = (ra.unwrap(), rb.unwrap());
                assert_eq!((ra.failed + rb.failed, ra.dead + rb.dead), (0, 0));
                sent += ra.sent + rb.sent;
                if ra.sent + rb.sent == 0 {
                    break;
                }
                assert!(started.elapsed() < StdDuration::from_secs(60), "too slow");
            }
            let mut to: Vec<String> = sink
                .received()
                .iter()
                .flat_map(|r| r.recipients.clone())
                .collect();
            let deliveries = to.len();
            to.sort();
            to.dedup();
            eprintln!(
                "{backend:?}: {deliveries} deliveries of 50 messages in {:?}",
                started.elapsed()
            );
            assert_eq!((sent, deliveries, to.len()), (50, 50, 50));
            let (check, _) = queue_only(&db, &[]).await;
            assert!(rows(&check).await.iter().all(|r| r.status == "sent"));
        }
        db.drop_db().await;
    }
}
