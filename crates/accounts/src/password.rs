//! argon2id password hashing on a fixed pool of threads (about one per core), so a flood of
//! sign-ins never starves the protocol endpoints. Fixed threads rather than tokio's blocking pool:
//! each 19 MiB argon2 buffer is freed into its thread's malloc arena and kept there for reuse, so
//! a pool that hands the work to ever-new threads grew the server to ~370 MiB under the sign-in
//! load benchmark; `workers` threads hold `workers` buffers at most.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// argon2id parameters (OWASP's minimum by default: 19 MiB, 2 passes, 1 lane).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCost {
    /// Memory per hash, in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for HashCost {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// The result of checking a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Not the password (or no hash to check against).
    Wrong,
    /// The password, and the hash has the current parameters.
    Right,
    /// Right, and here is a hash with the current parameters to store instead.
    RightRehashed(String),
}

/// Work for the hashing threads.
type Job = Box<dyn FnOnce() + Send>;

/// Hashes and checks passwords with argon2id on its own threads; cheap to clone.
#[derive(Clone)]
pub struct Hasher {
    argon: Argon2<'static>,
    cost: HashCost,
    /// The queue of the hashing threads; they end when the last `Hasher` clone is dropped.
    jobs: Sender<Job>,
    /// Verified against when the account does not exist, so timing reveals nothing.
    /// Made on first use, on a hashing thread (its 19 MiB buffer is not held from start-up).
    dummy: Arc<OnceLock<String>>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher").field("cost", &self.cost).finish()
    }
}

/// Why a hasher could not start or a password could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The argon2 parameters are out of range.
    #[error("invalid argon2 parameters: {0}")]
    Params(String),
    /// Hashing failed, or the hashing threads are gone.
    #[error("hashing failed: {0}")]
    Hash(String),
}

impl Hasher {
    /// `workers` bounds how many hashes run at once (about one per core).
    pub fn new(cost: HashCost, workers: usize) -> Result<Self, HashError> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|e| HashError::Params(e.to_string()))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..workers.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || work(&queue))
                .map_err(|e| HashError::Hash(format!("cannot start a hashing thread: {e}")))?;
        }
        Ok(Self {
            argon,
            cost,
            jobs,
            dummy: Arc::default(),
        })
    }

    fn hash_now(&self, password: &str) -> Result<String, HashError> {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        self.argon
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| HashError::Hash(e.to_string()))
    }

    fn verify_now(&self, password: &str, stored: &str) -> Verdict {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return Verdict::Wrong;
        };
        if self
            .argon
            .verify_password(password.as_bytes(), &parsed)
            .is_err()
        {
            return Verdict::Wrong;
        }
        let current = Params::try_from(&parsed).ok().map(|p| HashCost {
            memory_kib: p.m_cost(),
            iterations: p.t_cost(),
            parallelism: p.p_cost(),
        });
        let argon2id = parsed.algorithm.as_str() == "argon2id";
        if argon2id && current == Some(self.cost) {
            return Verdict::Right;
        }
        match self.hash_now(password) {
            Ok(h) => Verdict::RightRehashed(h),
            Err(_) => Verdict::Right,
        }
    }

    async fn run<T: Send + Default + 'static>(
        &self,
        f: impl FnOnce(Hasher) -> T + Send + 'static,
    ) -> T {
        let me = self.clone();
        self.blocking(move || f(me)).await.unwrap_or_default()
    }

    /// Runs CPU-heavy work (legacy hash checks too) on the hashing threads, in turn.
    pub async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (done, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(f());
        });
        self.jobs.send(job).ok()?;
        answer.await.ok()
    }

    /// Hashes a new password.
    pub async fn hash(&self, password: &str) -> Result<String, HashError> {
        let password = password.to_string();
        self.run(move |h| Some(h.hash_now(&password)))
            .await
            .unwrap_or_else(|| Err(HashError::Hash("hashing task failed".into())))
    }

    /// Checks a password against a stored hash (or, with `None`, against a dummy, in the same time).
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Verdict {
        let password = password.to_string();
        let stored = stored.map(str::to_string);
        let exists = stored.is_some();
        let verdict = self
            .run(move |h| {
                let target = stored.unwrap_or_else(|| {
                    h.dummy
                        .get_or_init(|| h.hash_now("not a password of anyone").unwrap_or_default())
                        .clone()
                });
                Some(h.verify_now(&password, &target))
            })
            .await
            .unwrap_or(Verdict::Wrong);
        if exists {
            verdict
        } else {
            Verdict::Wrong
        }
    }
}

/// A hashing thread: takes jobs until every `Hasher` is gone. It runs at a lower priority than
/// the request threads, so that when sign-ins keep every core busy hashing, a protocol request
/// still gets a core at once (the load benchmark's introspection probe during a sign-in flood);
/// with nothing else to run, hashing goes as fast as before.
fn work(queue: &Mutex<Receiver<Job>>) {
    yield_to_requests();
    loop {
        let next = match queue.lock() {
            Ok(q) => q.recv(),
            Err(_) => return,
        };
        match next {
            // A panicking job loses its answer (the caller sees a failure), not the thread.
            Ok(job) => {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            }
            Err(_) => return,
        }
    }
}

#[cfg(target_os = "linux")]
fn yield_to_requests() {
    // On Linux the nice value is per thread: 0 means the calling thread.
    // SAFETY: setpriority only reads its integer arguments.
    let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 10) };
}

#[cfg(not(target_os = "linux"))]
fn yield_to_requests() {}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> HashCost {
        HashCost {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        }
    }

    #[tokio::test]
    async fn hash_verify_rehash() {
        let h = Hasher::new(cheap(), 2).map_err(|e| e.to_string());
        let Ok(h) = h else { unreachable!() };
        let stored = h.hash("correct horse").await.unwrap_or_default();
        assert!(stored.starts_with("$argon2id$"));
        assert_eq!(
            h.verify("correct horse", Some(&stored)).await,
            Verdict::Right
        );
        assert_eq!(h.verify("wrong", Some(&stored)).await, Verdict::Wrong);
        assert_eq!(h.verify("anything", None).await, Verdict::Wrong);
        assert_eq!(h.verify("x", Some("not a hash")).await, Verdict::Wrong);
        let stronger = Hasher::new(
            HashCost {
                memory_kib: 2048,
                ..cheap()
            },
            1,
        )
        .map_err(|e| e.to_string());
        let Ok(stronger) = stronger else {
            unreachable!()
        };
        assert!(matches!(
            stronger.verify("correct horse", Some(&stored)).await,
            Verdict::RightRehashed(_)
        ));
    }
}
