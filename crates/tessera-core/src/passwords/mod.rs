//! Password hashing and verification on a bounded pool of threads.
//!
//! New passwords are hashed with argon2id at OWASP's recommended parameters
//! (19 MiB, 2 iterations, 1 lane). Hashing runs on the pool's own threads (by
//! default one fewer than the cores), never on the async executor, so a storm of
//! sign-ins can never take every core from other requests. Jobs wait in one
//! queue; a thread that finishes a hash takes the next job at once, without
//! a round trip through the executor, so the pool never idles while sign-ins
//! wait. A job whose request has gone away is dropped without hashing.
//! Digests imported from other systems are verified in their own format and
//! replaced with argon2id after the next successful sign-in.

pub mod breached;
pub mod imported;
mod memory;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::Params;
use tokio::sync::oneshot;

use crate::error::{CoreError, CoreResult};
use imported::ImportedHasher;
use memory::ReusedMemory;

/// The `password_hasher` name of Tessera's own hashes.
pub const NATIVE_HASHER: &str = "argon2id";

/// A password in memory; `Debug` never shows it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Wraps a plaintext password.
    pub fn new(raw: String) -> Self {
        Self(raw)
    }

    /// The plaintext.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Wrong password.
    Mismatch,
    /// Right password, hash is current.
    Match,
    /// Right password; the stored hash is imported or weaker and should be replaced.
    MatchNeedsRehash,
}

impl Verdict {
    /// Whether the password was right.
    pub fn matched(self) -> bool {
        !matches!(self, Self::Mismatch)
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// The bounded hashing pool. Its threads stop when the last clone is dropped.
#[derive(Clone, Debug)]
pub struct Hasher {
    jobs: mpsc::Sender<Job>,
    argon2: ReusedMemory,
}

/// One hashing thread: takes jobs from the shared queue until it closes.
fn hashing_thread(queue: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        // One thread waits on the queue; the others wait for the lock.
        let job = match queue.lock() {
            Ok(rx) => rx.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        let Ok(job) = job else {
            return;
        };
        // A panicking job fails its own request (its answer channel is
        // dropped), not the thread.
        let _ = catch_unwind(AssertUnwindSafe(job));
    }
}

impl Hasher {
    /// A pool that runs at most `concurrency` hashes at once, with OWASP argon2id parameters.
    pub fn new(concurrency: usize) -> Self {
        Self::with_params(concurrency, 19 * 1024, 2, 1)
    }

    /// A pool with explicit argon2id parameters (memory KiB, iterations, lanes).
    pub fn with_params(concurrency: usize, m_cost: u32, t_cost: u32, p_cost: u32) -> Self {
        // Params::new only fails for values outside argon2's limits; fall back to the defaults.
        let params = Params::new(m_cost, t_cost, p_cost, None).unwrap_or_default();
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..concurrency.max(1) {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("tessera-hash-{n}"))
                .spawn(move || hashing_thread(&queue));
            if let Err(e) = spawned {
                tracing::error!("starting a password-hashing thread failed: {e}");
            }
        }
        Self {
            jobs,
            argon2: ReusedMemory { params },
        }
    }

    /// The default concurrency: one fewer than the available cores, at least one.
    pub fn default_concurrency() -> usize {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get().saturating_sub(1))
            .max(1)
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> CoreResult<T> {
        let (answer, answered) = oneshot::channel();
        let queued: Job = Box::new(move || {
            // The request went away while the job waited: no hash for nobody.
            if !answer.is_closed() {
                let _ = answer.send(job());
            }
        });
        self.jobs
            .send(queued)
            .map_err(|_| CoreError::Internal("hashing pool closed".to_owned()))?;
        answered
            .await
            .map_err(|_| CoreError::Internal("hashing job failed".to_owned()))
    }

    /// Hashes a new password into an argon2id PHC string.
    pub async fn hash(&self, password: Password) -> CoreResult<String> {
        let argon2 = self.argon2.clone();
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon2
                .hash_password(password.expose().as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| CoreError::Internal(format!("hashing failed: {e}")))
        })
        .await?
    }

    /// Checks a password against a stored digest made by `hasher`
    /// (`argon2id` for Tessera's own, otherwise an imported format).
    pub async fn verify(
        &self,
        password: Password,
        stored: String,
        hasher: String,
    ) -> CoreResult<Verdict> {
        let argon2 = self.argon2.clone();
        self.run(move || verify_blocking(&password, &stored, &hasher, &argon2))
            .await
    }

    /// [`Self::verify`] on the calling thread, as the pool's threads run it
    /// (benchmarks measure the raw cost of a sign-in's hash with it).
    pub fn verify_here(&self, password: &Password, stored: &str, hasher: &str) -> Verdict {
        verify_blocking(password, stored, hasher, &self.argon2)
    }

    /// Burns the time of one verification, so unknown users take as long as known ones.
    pub async fn verify_dummy(&self, password: Password) -> CoreResult<()> {
        let argon2 = self.argon2.clone();
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            let _ = argon2.hash_password(password.expose().as_bytes(), &salt);
        })
        .await
    }
}

fn verify_blocking(
    password: &Password,
    stored: &str,
    hasher: &str,
    argon2: &ReusedMemory,
) -> Verdict {
    if hasher == NATIVE_HASHER {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return Verdict::Mismatch;
        };
        if argon2
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_err()
        {
            return Verdict::Mismatch;
        }
        // Rehash when the stored parameters are weaker than the current ones.
        let current = Params::try_from(&parsed).ok();
        let ours = &argon2.params;
        let weaker =
            current.is_none_or(|p| p.m_cost() < ours.m_cost() || p.t_cost() < ours.t_cost());
        return if weaker {
            Verdict::MatchNeedsRehash
        } else {
            Verdict::Match
        };
    }
    match hasher.parse::<ImportedHasher>() {
        Ok(kind) if imported::verify(kind, stored, password.expose()) => Verdict::MatchNeedsRehash,
        _ => Verdict::Mismatch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> Hasher {
        Hasher::with_params(2, 1024, 1, 1)
    }

    #[tokio::test]
    async fn runs_at_most_its_concurrency_at_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let hasher = fast();
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let mut jobs = tokio::task::JoinSet::new();
        for _ in 0..6 {
            let (hasher, running, most) = (hasher.clone(), running.clone(), most.clone());
            jobs.spawn(async move {
                hasher
                    .run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(30));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
            });
        }
        while let Some(done) = jobs.join_next().await {
            done.unwrap().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn abandoned_and_panicking_jobs_fail_alone() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::time::Duration;
        let hasher = Hasher::with_params(1, 1024, 1, 1);
        // The only thread is busy; a request that gives up while queued is skipped.
        let busy = {
            let hasher = hasher.clone();
            tokio::spawn(async move {
                hasher
                    .run(|| std::thread::sleep(Duration::from_millis(150)))
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let gave_up = tokio::time::timeout(
            Duration::from_millis(20),
            hasher.run(move || flag.store(true, Ordering::SeqCst)),
        )
        .await;
        assert!(gave_up.is_err());
        busy.await.unwrap().unwrap();
        let panicked = hasher.run(|| panic!("a broken job")).await;
        assert!(panicked.is_err());
        // The thread survived both and still hashes.
        let hash = hasher.hash(Password::new("still here".to_owned())).await;
        assert!(hash.unwrap().starts_with("$argon2id$"));
        assert!(!ran.load(Ordering::SeqCst), "the abandoned job ran");
    }

    #[tokio::test]
    async fn hashes_and_verifies() {
        let hasher = fast();
        let hash = hasher
            .hash(Password::new("correct horse".to_owned()))
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$"));
        let ok = hasher
            .verify(
                Password::new("correct horse".to_owned()),
                hash.clone(),
                NATIVE_HASHER.to_owned(),
            )
            .await
            .unwrap();
        assert_eq!(ok, Verdict::Match);
        let bad = hasher
            .verify(
                Password::new("wrong horse".to_owned()),
                hash,
                NATIVE_HASHER.to_owned(),
            )
            .await
            .unwrap();
        assert_eq!(bad, Verdict::Mismatch);
    }

    #[tokio::test]
    async fn weaker_hashes_ask_for_rehash() {
        let weak = fast()
            .hash(Password::new("pw123456".to_owned()))
            .await
            .unwrap();
        let strong = Hasher::with_params(1, 4096, 2, 1);
        let verdict = strong
            .verify(
                Password::new("pw123456".to_owned()),
                weak,
                NATIVE_HASHER.to_owned(),
            )
            .await
            .unwrap();
        assert_eq!(verdict, Verdict::MatchNeedsRehash);
    }

    #[tokio::test]
    async fn garbage_never_matches() {
        let verdict = fast()
            .verify(
                Password::new("x".to_owned()),
                "garbage".to_owned(),
                "nonsense".to_owned(),
            )
            .await
            .unwrap();
        assert_eq!(verdict, Verdict::Mismatch);
    }
}
