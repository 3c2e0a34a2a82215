//! Registered clients kept in memory for a short while: the token, introspection and userinfo
//! endpoints read the client on every request, and registrations change rarely. Changes made
//! through this process are seen at once (write-through, `forget`); changes made by another
//! process within the time-to-live.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::model::Client;
use crate::ports::{ClientStore, StoreResult};

/// Entries kept at most; past it the cache starts afresh (ids are chosen by callers, so a flood
/// of unknown ids must not grow memory — and unknown ids are not cached at all).
const MAX_ENTRIES: usize = 10_000;

/// A [`ClientStore`] in front of another that keeps found clients in memory for a time-to-live.
pub struct CachedClients {
    inner: Arc<dyn ClientStore>,
    ttl: Duration,
    entries: RwLock<HashMap<String, (Client, Instant)>>,
}

impl CachedClients {
    /// Caches what `inner` finds for `ttl` (the server passes `server.client_cache_seconds`, 5 s).
    pub fn new(inner: Arc<dyn ClientStore>, ttl: Duration) -> Self {
        Self {
            inner,
            ttl,
            entries: RwLock::new(HashMap::new()),
        }
    }

    fn fresh(&self, id: &str) -> Option<Client> {
        let entries = self.entries.read().ok()?;
        let (client, at) = entries.get(id)?;
        (at.elapsed() < self.ttl).then(|| client.clone())
    }
}

#[async_trait]
impl ClientStore for CachedClients {
    async fn find_client(&self, id: &str) -> StoreResult<Option<Client>> {
        if let Some(c) = self.fresh(id) {
            return Ok(Some(c));
        }
        let found = self.inner.find_client(id).await?;
        if let (Some(c), Ok(mut entries)) = (&found, self.entries.write()) {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(id.to_string(), (c.clone(), Instant::now()));
        }
        Ok(found)
    }

    async fn find_client_now(&self, id: &str) -> StoreResult<Option<Client>> {
        self.forget(id);
        self.find_client(id).await
    }

    async fn save_client(&self, client: &Client) -> StoreResult<()> {
        self.inner.save_client(client).await?;
        self.forget(&client.id);
        Ok(())
    }

    async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        self.inner.list_clients().await
    }

    fn forget(&self, id: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Counting {
        clients: Mutex<HashMap<String, Client>>,
        reads: AtomicUsize,
    }

    #[async_trait]
    impl ClientStore for Counting {
        async fn find_client(&self, id: &str) -> StoreResult<Option<Client>> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            Ok(self.clients.lock().unwrap().get(id).cloned())
        }
        async fn save_client(&self, c: &Client) -> StoreResult<()> {
            self.clients.lock().unwrap().insert(c.id.clone(), c.clone());
            Ok(())
        }
        async fn list_clients(&self) -> StoreResult<Vec<Client>> {
            Ok(self.clients.lock().unwrap().values().cloned().collect())
        }
    }

    fn client(name: &str) -> Client {
        Client::bare("rp", name)
    }

    #[tokio::test]
    async fn reads_are_cached_writes_are_seen_at_once_unknown_ids_are_not_kept() {
        let inner = Arc::new(Counting::default());
        let cache = CachedClients::new(inner.clone(), Duration::from_secs(60));
        assert!(cache.find_client("nobody").await.unwrap().is_none());
        assert!(cache.find_client("nobody").await.unwrap().is_none());
        assert_eq!(
            inner.reads.load(Ordering::SeqCst),
            2,
            "unknown ids go to the store each time"
        );
        cache.save_client(&client("first")).await.unwrap();
        assert_eq!(
            cache.find_client("rp").await.unwrap().unwrap().name,
            "first"
        );
        assert_eq!(
            cache.find_client("rp").await.unwrap().unwrap().name,
            "first"
        );
        assert_eq!(
            inner.reads.load(Ordering::SeqCst),
            3,
            "the second read came from memory"
        );
        cache.save_client(&client("second")).await.unwrap();
        assert_eq!(
            cache.find_client("rp").await.unwrap().unwrap().name,
            "second",
            "a write through the cache is seen at once"
        );
        inner.save_client(&client("elsewhere")).await.unwrap();
        assert_eq!(
            cache.find_client("rp").await.unwrap().unwrap().name,
            "second",
            "another process's write waits for the TTL"
        );
        cache.forget("rp");
        assert_eq!(
            cache.find_client("rp").await.unwrap().unwrap().name,
            "elsewhere"
        );
    }

    #[tokio::test]
    async fn a_read_for_now_skips_the_copy_and_refreshes_it() {
        let inner = Arc::new(Counting::default());
        let cache = CachedClients::new(inner.clone(), Duration::from_secs(60));
        cache.save_client(&client("kept")).await.unwrap();
        assert_eq!(cache.find_client("rp").await.unwrap().unwrap().name, "kept");
        inner.save_client(&client("elsewhere")).await.unwrap();
        assert_eq!(
            cache.find_client_now("rp").await.unwrap().unwrap().name,
            "elsewhere",
            "another process's change is seen at once"
        );
        assert_eq!(
            cache.find_client("rp").await.unwrap().unwrap().name,
            "elsewhere",
            "and the copy is refreshed"
        );
    }
}
