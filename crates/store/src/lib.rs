//! sea-orm storage for Gan Connect (SQLite embedded, PostgreSQL in production). Implements the
//! ports of the `oidc` and `accounts` engines; nothing above this crate sees sea-orm.

mod admin;
mod assertions;
mod audit;
mod clients;
mod codes;
mod consents;
mod convert;
mod customers;
pub mod entity;
mod gate;
mod identities;
mod interactions;
mod keys;
mod mail_queue;
mod sessions;
mod tokens;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gan_migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DbBackend, Statement};

pub use convert::db_err;
pub use gate::{Db, Txn};

/// The database behind every port.
#[derive(Clone, Debug)]
pub struct Store {
    /// The pool; on SQLite, writes take turns (see `gate`).
    pub db: Db,
    /// Statements executed on behalf of requests so far (background work aside): tests count the
    /// queries of a flow with it.
    queries: Arc<AtomicU64>,
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
    /// Connects; for SQLite, creates the file's folder and turns on WAL and a busy timeout.
    pub async fn connect(options: &StoreOptions) -> Result<Self, sea_orm::DbErr> {
        if let Some(path) = sqlite_path(&options.url) {
            if let Some(dir) = std::path::Path::new(&path).parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        sea_orm::DbErr::Custom(format!("cannot create {}: {e}", dir.display()))
                    })?;
                }
            }
        }
        let mut opts = ConnectOptions::new(options.url.clone());
        opts.max_connections(options.max_connections)
            .min_connections(1)
            .connect_timeout(options.connect_timeout)
            .acquire_timeout(options.connect_timeout)
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(|o| {
                o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
            });
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
        Ok(Self {
            db: Db::new(db),
            queries,
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
    }
}
