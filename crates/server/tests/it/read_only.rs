//! Commands that only read (issue 15 §6): they never migrate, never create a database, a key
//! file or a folder, and say to run `migrate` when the schema is missing or behind.

use gan_migration::sea_orm::{ConnectionTrait, Statement};
use gan_migration::{Migrator, MigratorTrait, SchemaManager};
use gan_store::{Store, StoreOptions};
use gan_testkit::{backends, Backend, TestDb};

use crate::support::{gan_connect_in, TempDir};

const READERS: [&[&str]; 7] = [
    &["audit", "query"],
    &["audit", "tail", "-n", "5"],
    &["client", "list"],
    &["client", "show", "portal"],
    &["customers", "show", "10000001"],
    &["customers", "show", "10000001", "--json"],
    &["keys", "list"],
];

async fn store(url: &str) -> Store {
    Store::connect(&StoreOptions {
        url: url.to_string(),
        max_connections: 2,
        connect_timeout: std::time::Duration::from_secs(5),
    })
    .await
    .unwrap()
}

/// Runs `gan-connect ARGS` in `dir` (whose `data/` the default key file would go to) on the
/// database at `url`.
fn run(dir: &std::path::Path, url: &str, args: &[&str]) -> (bool, String, String) {
    let env = [
        ("GAN_CONNECT__DATABASE__URL", url),
        ("GAN_CONNECT__LOG__LEVEL", "warn"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    gan_connect_in(Some(dir), args, &env, "")
}

fn listing(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn readers_create_nothing_migrate_nothing_and_say_to_migrate() {
    for backend in backends() {
        let work = TempDir::new("gan-readers");
        let db = TestDb::create(&backend).await;
        if backend == Backend::Sqlite {
            // No database at all: refused, and no file appears.
            for args in READERS {
                let (ok, _, err) = run(work.path(), &db.url, args);
                assert!(!ok, "{args:?} succeeded without a database");
                assert!(
                    err.contains("gan-connect migrate") || err.contains("key-encryption key"),
                    "{args:?}: {err}"
                );
            }
            let file = db.url.trim_start_matches("sqlite://");
            let file = file.split('?').next().unwrap();
            assert!(
                !std::path::Path::new(file).exists(),
                "a reader created the database"
            );
            // An empty file, as SQLite would leave it: no schema.
            std::fs::write(file, b"").unwrap();
        }
        // A database without the schema: refused, still without it.
        for args in READERS.iter().filter(|a| a[0] != "keys") {
            let (ok, _, err) = run(work.path(), &db.url, args);
            assert!(!ok, "{backend:?} {args:?} succeeded without a schema");
            assert!(
                err.contains("has no Gan Connect schema: run `gan-connect migrate` first"),
                "{backend:?} {args:?}: {err}"
            );
        }
        let s = store(&db.url).await;
        assert!(
            !SchemaManager::new(s.db.pool())
                .has_table("seaql_migrations")
                .await
                .unwrap(),
            "{backend:?}: a reader ran the migrator"
        );

        // Migrated, with some data, by commands that write (the key file is in `keys/`).
        let writer = TempDir::new("gan-writer");
        let key = writer.path().join("keys").join("keys.secret");
        let env = [
            ("GAN_CONNECT__DATABASE__URL", db.url.as_str()),
            (
                "GAN_CONNECT__KEYS__ENCRYPTION_KEY_FILE",
                key.to_str().unwrap(),
            ),
            ("GAN_CONNECT__LOG__LEVEL", "warn"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        for args in [
            &["migrate"][..],
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
        ] {
            let (ok, _, err) = gan_connect_in(Some(writer.path()), args, &env, "");
            assert!(ok, "{args:?}: {err}");
        }
        // Readers from another folder: they read, and leave that folder empty (no data/,
        // no keys.secret); listing keys needs the key, which is not there.
        for args in READERS {
            let (ok, out, err) = run(work.path(), &db.url, args);
            if args[0] == "keys" {
                assert!(!ok && err.contains("key-encryption key"), "{args:?}: {err}");
            } else {
                assert!(ok, "{backend:?} {args:?}: {err}");
            }
            if args == ["client", "list"] {
                assert!(out.contains("portal"), "{out}");
            }
        }
        assert!(
            listing(work.path()).is_empty(),
            "{backend:?}: readers wrote {:?}",
            listing(work.path())
        );
        let env_with_key = [
            ("GAN_CONNECT__DATABASE__URL", db.url.as_str()),
            (
                "GAN_CONNECT__KEYS__ENCRYPTION_KEY_FILE",
                key.to_str().unwrap(),
            ),
            ("GAN_CONNECT__LOG__LEVEL", "warn"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let (ok, out, err) = gan_connect_in(
            Some(work.path()),
            &["keys", "list", "--json"],
            &env_with_key,
            "",
        );
        assert!(ok, "{err}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&out)
                .unwrap()
                .as_array()
                .map(Vec::len),
            Some(3)
        );
        assert!(listing(work.path()).is_empty());

        // A schema behind this build (its last migration forgotten): refused, with the
        // migrations to apply.
        let last = Migrator::migrations().last().unwrap().name().to_string();
        s.db.execute(Statement::from_string(
            s.backend(),
            format!("DELETE FROM seaql_migrations WHERE version = '{last}'"),
        ))
        .await
        .unwrap();
        for args in [&["client", "list"][..], &["audit", "query"]] {
            let (ok, _, err) = run(work.path(), &db.url, args);
            assert!(!ok, "{backend:?} {args:?}: read an outdated schema");
            assert!(
                err.contains("not migrated to this version")
                    && err.contains(&last)
                    && err.contains("run `gan-connect migrate`"),
                "{backend:?} {args:?}: {err}"
            );
        }
        // What readers connect with refuses writes.
        let reader = Store::connect_read_only(&StoreOptions {
            url: db.url.clone(),
            max_connections: 1,
            connect_timeout: std::time::Duration::from_secs(5),
        })
        .await
        .unwrap();
        let written = reader
            .db
            .execute(Statement::from_string(
                reader.backend(),
                "DELETE FROM client",
            ))
            .await;
        assert!(written.is_err(), "{backend:?}: a reader's connection wrote");
        assert_eq!(
            s.db.query_all(Statement::from_string(s.backend(), "SELECT 1 FROM client",))
                .await
                .unwrap()
                .len(),
            1
        );
        drop((s, reader));
        db.drop_db().await;
    }
}
