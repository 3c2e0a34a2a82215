//! One writer at a time on SQLite, queued in order in this process.
//!
//! SQLite lets one connection write at a time; another writer gets `SQLITE_BUSY` and sleeps in
//! the busy handler (1, 2, 5, 10 … 100 ms between tries), so under load a few writers wait far
//! longer than the writes take: the load benchmark showed token-endpoint p99s of 100+ ms and
//! maxima near a second behind writes of well under a millisecond. Here writers wait on a fair
//! queue instead and the handler is left for other processes (the CLI beside a running server).
//! Reads never wait. On PostgreSQL the gate is open: it has row locks.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult,
    QueryResult, Statement, TransactionTrait,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

/// A writer waiting longer than this gives up, as SQLite's busy timeout would.
const WAIT: Duration = Duration::from_secs(10);

/// The connection pool, with writes through the gate.
#[derive(Clone, Debug)]
pub struct Db {
    pool: DatabaseConnection,
    writes: Option<Arc<Mutex<()>>>,
}

/// A transaction holding the gate until it ends: it may write at any point.
#[derive(Debug)]
pub struct Txn {
    txn: DatabaseTransaction,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl Db {
    pub fn new(pool: DatabaseConnection) -> Self {
        let writes =
            (pool.get_database_backend() == DbBackend::Sqlite).then(|| Arc::new(Mutex::new(())));
        Self { pool, writes }
    }

    /// The pool itself (migrations need it).
    pub fn pool(&self) -> &DatabaseConnection {
        &self.pool
    }

    async fn turn(&self) -> Result<Option<OwnedMutexGuard<()>>, DbErr> {
        let Some(writes) = &self.writes else {
            return Ok(None);
        };
        tokio::time::timeout(WAIT, writes.clone().lock_owned())
            .await
            .map(Some)
            .map_err(|_| {
                DbErr::Custom(format!(
                    "database busy: no turn to write within {} s",
                    WAIT.as_secs()
                ))
            })
    }

    pub async fn begin(&self) -> Result<Txn, DbErr> {
        let turn = self.turn().await?;
        Ok(Txn {
            txn: self.pool.begin().await?,
            _turn: turn,
        })
    }
}

impl Txn {
    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        self.txn.rollback().await
    }
}

/// Does this statement only read?
fn reads_only(sql: &str) -> bool {
    let head = sql.trim_start().get(..6).unwrap_or_default();
    head.eq_ignore_ascii_case("SELECT")
}

#[async_trait::async_trait]
impl ConnectionTrait for Db {
    fn get_database_backend(&self) -> DbBackend {
        self.pool.get_database_backend()
    }

    async fn execute(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        let _turn = if reads_only(&stmt.sql) {
            None
        } else {
            self.turn().await?
        };
        self.pool.execute(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        let _turn = if reads_only(sql) {
            None
        } else {
            self.turn().await?
        };
        self.pool.execute_unprepared(sql).await
    }

    async fn query_one(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        let _turn = if reads_only(&stmt.sql) {
            None
        } else {
            self.turn().await?
        };
        self.pool.query_one(stmt).await
    }

    async fn query_all(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let _turn = if reads_only(&stmt.sql) {
            None
        } else {
            self.turn().await?
        };
        self.pool.query_all(stmt).await
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Txn {
    fn get_database_backend(&self) -> DbBackend {
        self.txn.get_database_backend()
    }

    async fn execute(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.txn.execute(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.txn.execute_unprepared(sql).await
    }

    async fn query_one(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.txn.query_one(stmt).await
    }

    async fn query_all(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.txn.query_all(stmt).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_reads_from_writes() {
        assert!(reads_only("SELECT \"token\".\"token_hash\" FROM \"token\""));
        assert!(reads_only("  select 1"));
        assert!(!reads_only("INSERT INTO \"token\" VALUES (1)"));
        assert!(!reads_only("UPDATE \"token\" SET x = 1"));
        assert!(!reads_only("WITH x AS (SELECT 1) DELETE FROM t"));
        assert!(!reads_only(""));
    }
}
