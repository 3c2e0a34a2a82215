//! sea-orm storage for Gan Connect (SQLite embedded, PostgreSQL in production). Implements the
//! ports of the `oidc` and `accounts` engines; nothing above this crate sees sea-orm.

mod admin;
mod assertions;
mod audit;
mod clients;
mod codes;
mod consents;
mod console;
mod convert;
mod customers;
mod deployment;
pub mod entity;
mod gate;
mod group;
mod identities;
mod interactions;
mod keys;
mod logouts;
mod mail_queue;
mod sessions;
mod tokens;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gan_migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DbBackend, Statement};

pub use convert::db_err;
pub use deployment::Schema;
pub use gate::{Db, Txn};

/// The database behind every port.
#[derive(Clone, Debug)]
pub struct Store {
    /// The pool; on SQLite, writes take turns (see `gate`).
    pub db: Db,
    /// Statements executed on behalf of requests so far (background work aside): tests count the
    /// queries of a flow with it.
    queries: Arc<AtomicU64>,
    /// Token inserts and refresh rotations that arrive together are committed together (see
    /// `group`).
    token_groups: Arc<group::TokenGroups>,
}

/// A statement slower than this is logged.
const SLOW_QUERY: Duration = Duration::from_millis(200);

/// Connection settings.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub url: String,
    pub max_connections: u32,
    pub connect_timeout: Duration,
}

impl Store {
    /// Connects; for SQLite, creates the file and its folder readable only by this user (see
    /// [`private_sqlite_file`]) and turns on WAL and a busy timeout.
    pub async fn connect(options: &StoreOptions) -> Result<Self, sea_orm::DbErr> {
        if let Some(path) = sqlite_path(&options.url) {
            if sqlite_creates(&options.url) {
                private_sqlite_file(std::path::Path::new(&path))?;
            }
        }
        let mut opts = Self::options(options);
        opts.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
        Self::open(opts).await
    }

    /// Connects for reading only: a SQLite file is opened read-only and never created (nor its
    /// folder), a PostgreSQL session is read-only (`default_transaction_read_only`), so any
    /// write fails. For the commands that only look.
    pub async fn connect_read_only(options: &StoreOptions) -> Result<Self, sea_orm::DbErr> {
        if let Some(path) = sqlite_path(&options.url) {
            if !std::path::Path::new(&path).exists() {
                return Err(sea_orm::DbErr::Custom(format!(
                    "no database file at {path}"
                )));
            }
        }
        let mut opts = Self::options(options);
        opts.map_sqlx_sqlite_opts(|o| {
            o.read_only(true)
                .create_if_missing(false)
                .busy_timeout(Duration::from_secs(10))
        })
        .map_sqlx_postgres_opts(|o| o.options([("default_transaction_read_only", "on")]));
        Self::open(opts).await
    }

    fn options(options: &StoreOptions) -> ConnectOptions {
        let mut opts = ConnectOptions::new(options.url.clone());
        opts.max_connections(options.max_connections)
            .min_connections(1)
            .connect_timeout(options.connect_timeout)
            .acquire_timeout(options.connect_timeout)
            .sqlx_logging(false);
        opts
    }

    async fn open(opts: ConnectOptions) -> Result<Self, sea_orm::DbErr> {
        let mut db = Database::connect(opts).await?;
        let queries = Arc::new(AtomicU64::new(0));
        let counter = queries.clone();
        db.set_metric_callback(move |info| {
            // Background work (the audit writer, the mail queue's postman) is not a request's.
            let sql = &info.statement.sql;
            if !sql.contains("audit_event") && !sql.contains("mail_queue") {
                counter.fetch_add(1, Ordering::Relaxed);
            }
            if info.elapsed > SLOW_QUERY {
                tracing::warn!(elapsed_ms = info.elapsed.as_millis() as u64, failed = info.failed, sql = %info.statement.sql, "slow query");
            }
        });
        let db = Db::new(db);
        let token_groups = Arc::new(group::TokenGroups::default());
        Ok(Self {
            db,
            queries,
            token_groups,
        })
    }

    /// Statements executed on behalf of requests so far.
    pub fn queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    /// Applies pending migrations (idempotent).
    pub async fn migrate(&self) -> Result<(), sea_orm::DbErr> {
        Migrator::up(self.db.pool(), None).await
    }

    /// Is the database reachable?
    pub async fn ping(&self) -> bool {
        self.db
            .execute(Statement::from_string(
                self.db.get_database_backend(),
                "SELECT 1",
            ))
            .await
            .is_ok()
    }

    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }
}

/// Creates `dir` and its missing parents readable only by this user (mode 0700 on Unix);
/// folders that exist are left as they are.
pub fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Creates the SQLite database file, empty (SQLite takes an empty file as an empty database),
/// readable only by this user (0600 on Unix), in a folder created 0700 when missing, before
/// SQLite would create it with the umask's mode (0644 as a rule). SQLite gives the `-wal` and
/// `-shm` files the database file's mode, so they are 0600 too. A file that exists is left as
/// it is, with a warning when other users may read it.
fn private_sqlite_file(path: &std::path::Path) -> Result<(), sea_orm::DbErr> {
    let failed = |what: &std::path::Path, e: std::io::Error| {
        sea_orm::DbErr::Custom(format!("cannot create {}: {e}", what.display()))
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir).map_err(|e| failed(dir, e))?;
    }
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    match open.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            #[cfg(unix)]
            if let Ok(meta) = std::fs::metadata(path) {
                use std::os::unix::fs::PermissionsExt;
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    tracing::warn!(
                        file = %path.display(),
                        mode = format!("{mode:o}"),
                        "the database file can be read by other users: chmod 600 it (and its -wal and -shm files)"
                    );
                }
            }
            Ok(())
        }
        Err(e) => Err(failed(path, e)),
    }
}

/// Whether a SQLite URL lets SQLite create the file (`mode=rwc`).
fn sqlite_creates(url: &str) -> bool {
    url.split_once('?')
        .is_some_and(|(_, query)| query.split('&').any(|p| p == "mode=rwc"))
}

/// The file path of a `sqlite://PATH?…` URL (not for in-memory databases).
fn sqlite_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| path.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn sqlite_paths() {
        assert_eq!(
            super::sqlite_path("sqlite://data/x.db?mode=rwc").as_deref(),
            Some("data/x.db")
        );
        assert_eq!(super::sqlite_path("sqlite::memory:"), None);
        assert_eq!(super::sqlite_path("postgres://u@h/db"), None);
        assert!(super::sqlite_creates("sqlite://data/x.db?mode=rwc"));
        assert!(super::sqlite_creates("sqlite://x.db?cache=shared&mode=rwc"));
        assert!(!super::sqlite_creates("sqlite://x.db?mode=ro"));
        assert!(!super::sqlite_creates("sqlite://x.db"));
    }

    /// The database file, its -wal and -shm companions and the folders created for them are
    /// readable by this user only, whatever the umask.
    #[cfg(unix)]
    #[tokio::test]
    async fn a_new_sqlite_database_is_readable_by_its_user_only() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| {
            std::fs::metadata(p)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        };
        let root = std::env::temp_dir().join(format!(
            "gan-store-modes-{}-{}",
            std::process::id(),
            time::OffsetDateTime::now_utc().unix_timestamp_nanos()
        ));
        let file = root.join("data").join("gan.db");
        let store = super::Store::connect(&super::StoreOptions {
            url: format!("sqlite://{}?mode=rwc", file.display()),
            max_connections: 2,
            connect_timeout: std::time::Duration::from_secs(5),
        })
        .await
        .unwrap();
        store.migrate().await.unwrap();
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(&root.join("data")), 0o700);
        for f in ["gan.db", "gan.db-wal", "gan.db-shm"] {
            assert_eq!(mode(&root.join("data").join(f)), 0o600, "{f}");
        }
        drop(store);
        let _ = std::fs::remove_dir_all(&root);
    }
}
