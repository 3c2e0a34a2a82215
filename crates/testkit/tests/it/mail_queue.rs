//! A message that cannot be delivered stays in the queue and is retried with back-off; after
//! recovery it is delivered once.

use std::sync::Arc;

use gan_mail::{Message, Postman, Transport};
use gan_testkit::{backends, read_outbox, TestDb};
use time::Duration;

#[tokio::test]
async fn undeliverable_mail_is_kept_retried_and_delivered_once() {
    for backend in backends() {
        let db = TestDb::create(&backend).await;
        {
            // The queue alone, without a server whose own postman would compete for the message.
            let settings = gan_testkit::test_settings("http://127.0.0.1:9", &db.url, &[]);
            let store = gan_connect::wiring::connect_store(&settings).await.unwrap();
            store.migrate().await.unwrap();
            // An outbox "folder" that is a file: every delivery fails until it is fixed.
            let dir = std::env::temp_dir()
                .join("gan-connect-tests")
                .join(format!("broken-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let _ = std::fs::remove_file(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let transport =
                Transport::outbox(dir.clone(), "Gan Connect <no-reply@example.fr>").unwrap();
            std::fs::remove_dir_all(&dir).unwrap();
            std::fs::write(&dir, b"not a folder").unwrap();
            let postman = Arc::new(Postman::new(Arc::new(store), transport));
            let now = time::OffsetDateTime::now_utc();
            postman
                .post(
                    Message {
                        to: "client@example.fr".into(),
                        subject: "Objet".into(),
                        text: "texte".into(),
                        html: "<p>html</p>".into(),
                    },
                    now,
                )
                .await
                .unwrap();
            assert_eq!(
                postman.deliver_due(now).await.unwrap(),
                (0, 1),
                "the first attempt fails"
            );
            assert_eq!(
                postman.deliver_due(now).await.unwrap(),
                (0, 0),
                "not retried before its back-off"
            );
            let kept = postman.recent(10).await.unwrap();
            assert_eq!(kept.len(), 1, "the message is kept");
            assert_eq!(kept[0].attempts, 1);

            let later = now + Duration::seconds(25);
            assert_eq!(
                postman.deliver_due(later).await.unwrap(),
                (0, 1),
                "retried, fails again"
            );
            // The "mail server" recovers.
            std::fs::remove_file(&dir).unwrap();
            std::fs::create_dir_all(&dir).unwrap();
            let much_later = later + Duration::seconds(60);
            assert_eq!(postman.deliver_due(much_later).await.unwrap(), (1, 0));
            assert_eq!(
                postman
                    .deliver_due(much_later + Duration::hours(2))
                    .await
                    .unwrap(),
                (0, 0),
                "sent once"
            );
            let delivered = read_outbox(&dir);
            assert_eq!(delivered.len(), 1);
            assert_eq!(delivered[0].subject, "Objet");
            assert_eq!(delivered[0].to, "client@example.fr");
        }
        db.drop_db().await;
    }
}
