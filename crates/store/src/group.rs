//! Group commit of token inserts on SQLite: the rows of requests that arrive while a write is
//! under way go to the database together, in one statement (one commit), and each request is
//! answered once its own rows are committed.
//!
//! SQLite commits one writer at a time, and each commit costs a WAL append, the WAL index and a
//! hop to the connection's thread whatever the number of rows; under load the token endpoint
//! spent its time there, one row per commit. Here the first insert of an idle moment is written
//! at once (no added latency); the ones that arrive meanwhile wait for that write to end, then go
//! together. The write runs in a task of its own: a request that goes away (a client that hangs
//! up) never cancels the others' rows. On PostgreSQL inserts go straight to the pool: row locks
//! let them commit side by side.

use std::sync::{Arc, Mutex, PoisonError};

use sea_orm::{DbErr, EntityTrait, SqlErr};
use tokio::sync::oneshot;

use crate::entity::token;
use crate::Db;

/// Requests written together at most (13 columns a row, two rows a request at most: far below
/// SQLite's limit of bound parameters).
const MAX_GROUP: usize = 128;

struct Pending {
    rows: Vec<token::ActiveModel>,
    done: oneshot::Sender<Result<(), DbErr>>,
}

#[derive(Default)]
struct Queue {
    pending: Vec<Pending>,
    /// A writer task is running: it takes whatever is pending when its write ends.
    writing: bool,
}

/// The token inserts waiting for the writer.
#[derive(Default)]
pub(crate) struct TokenGroups {
    queue: Mutex<Queue>,
}

impl std::fmt::Debug for TokenGroups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenGroups")
    }
}

impl TokenGroups {
    /// Inserts `rows`, with those of the requests that arrive meanwhile; returns once they are
    /// committed (or refused: then only this request's rows are).
    pub(crate) async fn insert(
        self: &Arc<Self>,
        db: &Db,
        rows: Vec<token::ActiveModel>,
    ) -> Result<(), DbErr> {
        let (done, answer) = oneshot::channel();
        let start_writer = {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.pending.push(Pending { rows, done });
            !std::mem::replace(&mut queue.writing, true)
        };
        if start_writer {
            tokio::spawn(write(self.clone(), db.clone()));
        }
        answer
            .await
            .unwrap_or_else(|_| Err(DbErr::Custom("the token writer stopped".into())))
    }

    /// The next group, or `None` (and the writer stops) when nothing waits.
    fn next_group(&self) -> Option<Vec<Pending>> {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if queue.pending.is_empty() {
            queue.writing = false;
            return None;
        }
        let n = queue.pending.len().min(MAX_GROUP);
        Some(queue.pending.drain(..n).collect())
    }
}

/// Should the writer task itself be dropped (its runtime ending), the next insert starts another.
struct Stopped(Arc<TokenGroups>, bool);

impl Drop for Stopped {
    fn drop(&mut self) {
        if self.1 {
            let mut queue = self.0.queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.writing = false;
            // Their senders go: those requests get an error, not a wait without end.
            queue.pending.clear();
        }
    }
}

async fn write(groups: Arc<TokenGroups>, db: Db) {
    let mut guard = Stopped(groups.clone(), true);
    while let Some(group) = groups.next_group() {
        write_group(&db, group).await;
    }
    guard.1 = false;
}

async fn write_group(db: &Db, group: Vec<Pending>) {
    if group.len() > 1 {
        let rows: Vec<token::ActiveModel> = group.iter().flat_map(|p| p.rows.clone()).collect();
        match token::Entity::insert_many(rows).exec(db).await {
            Ok(_) => {
                for p in group {
                    let _ = p.done.send(Ok(()));
                }
                return;
            }
            // One request's rows spoilt the group (a hash already stored): each on its own
            // below, so that only that request fails.
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {}
            // The database itself failed (no turn to write, connection lost): trying each
            // request again would make the last wait as many times as the group is long.
            Err(e) => {
                let message = e.to_string();
                for p in group {
                    let _ = p.done.send(Err(DbErr::Custom(message.clone())));
                }
                return;
            }
        }
    }
    for p in group {
        let result = token::Entity::insert_many(p.rows)
            .exec(db)
            .await
            .map(|_| ());
        let _ = p.done.send(result);
    }
}

#[cfg(test)]
mod tests {
    use gan_oidc::model::{TokenKind, TokenRecord};
    use gan_oidc::ports::TokenStore;
    use sea_orm::{EntityTrait, PaginatorTrait};

    use crate::entity::token;
    use crate::{Store, StoreOptions};

    fn record(hash: &str) -> TokenRecord {
        let now = time::OffsetDateTime::now_utc();
        TokenRecord {
            token_hash: hash.to_string(),
            kind: TokenKind::Access,
            grant_id: format!("grant-{hash}"),
            client_id: "partner".into(),
            identity_id: None,
            scope: "partner:read".into(),
            auth: None,
            sid: None,
            claims: None,
            created_at: now,
            expires_at: now + time::Duration::minutes(10),
            consumed_at: None,
            revoked_at: None,
        }
    }

    async fn sqlite_store(name: &str) -> (Store, std::path::PathBuf) {
        let root = std::env::temp_dir().join(format!(
            "gan-store-group-{name}-{}-{}",
            std::process::id(),
            time::OffsetDateTime::now_utc().unix_timestamp_nanos()
        ));
        let store = Store::connect(&StoreOptions {
            url: format!("sqlite://{}?mode=rwc", root.join("gan.db").display()),
            max_connections: 4,
            connect_timeout: std::time::Duration::from_secs(5),
        })
        .await
        .unwrap();
        store.migrate().await.unwrap();
        (store, root)
    }

    /// Inserts arriving together are each answered, and every row is stored; a request whose row
    /// is already stored fails alone, the others of its group are stored.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn inserts_arriving_together_are_each_answered_and_stored() {
        let (store, root) = sqlite_store("together").await;
        assert!(store.token_groups.is_some());
        store.insert_tokens(&[record("taken")]).await.unwrap();
        let tasks: Vec<_> = (0..60)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    let hash = if i == 30 {
                        "taken".to_string()
                    } else {
                        format!("h{i}")
                    };
                    let pair = [record(&hash), record(&format!("{hash}-refresh"))];
                    (i, store.insert_tokens(&pair).await)
                })
            })
            .collect();
        for task in tasks {
            let (i, result) = task.await.unwrap();
            assert_eq!(result.is_ok(), i != 30, "request {i}: {result:?}");
        }
        let stored = token::Entity::find().count(&store.db).await.unwrap();
        assert_eq!(stored, 1 + 59 * 2);
        for i in [0, 29, 31, 59] {
            assert!(store.find_token(&format!("h{i}")).await.unwrap().is_some());
        }
        assert!(store.find_token("taken-refresh").await.unwrap().is_none());
        drop(store);
        let _ = std::fs::remove_dir_all(&root);
    }
}
