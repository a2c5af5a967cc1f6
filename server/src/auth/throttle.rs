//! Sign-in throttling that slows guessing without locking the owner out, and the bound on
//! concurrent password hashes. The scheme and its numbers are written down once, in
//! docs/sync-protocol.md#sign-in-throttling; [`Limits::default`] is the code side of it.
//!
//! ## Buckets
//! Buckets are kept in a [`crate::storage::BucketStore`] (in the database in production, so
//! a limit holds across server processes: the server is stateless and may be scaled out);
//! every backend takes attempts by [`crate::storage::buckets::step`], the generic cell rate
//! algorithm: a bucket stores `tat`, the time at which it will be empty again. Taking one
//! attempt is allowed while `tat <= now + (burst - 1) * every`, and moves `tat` to
//! `max(tat, now) + every`, atomically, so parallel requests can never take more than the
//! bucket holds: the attempt is reserved *before* the password is checked.
//!
//! Buckets count *failures*: an attempt is reserved in every bucket it touches before the
//! check, and a successful sign-in gives its reservations back.
//!
//! ## Keys
//! - `p|<name>|<source>`: one account from one source (tight);
//! - `s|<source>`: one source, all accounts, sign-ups included (looser);
//! - `a|<name>`: one account from sources that have not signed in to it recently (looser
//!   still; it stops a distributed attack on one account). A source that signed in to the
//!   account within [`Limits::known_for`] is *known* (`k|<name>|<source>`) and skips it,
//!   so the owner's usual device gets in while an attacker elsewhere keeps failing.
//!
//! `<name>` is the normalised username whether or not such an account exists, so unknown
//! names are throttled, and answered, exactly like real ones. `<source>` is the client's
//! IPv4 address, or the /64 prefix of its IPv6 address (one host usually has a whole /64).

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::storage::StoreError;
pub use crate::storage::{Rate, Refused};

/// The throttling limits (the numbers are explained in docs/sync-protocol.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Failed sign-ins to one account from one source.
    pub per_pair: Rate,
    /// Failed sign-ins and all sign-ups from one source.
    pub per_source: Rate,
    /// Failed sign-ins to one account from sources not known to it.
    pub per_account: Rate,
    /// How long a source that signed in successfully stays known to the account.
    pub known_for: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_pair: Rate {
                burst: 5,
                every: Duration::from_secs(120),
            },
            per_source: Rate {
                burst: 50,
                every: Duration::from_secs(10),
            },
            per_account: Rate {
                burst: 20,
                every: Duration::from_secs(60),
            },
            known_for: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// Where a request comes from, as a throttling key: an IPv4 address or an IPv6 /64.
pub fn source_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// The source of a request whose client-address header names no address: `h|` and the
/// first 16 hex digits of the SHA-256 of the header's last element (bounded, and what the
/// proxy wrote, so distinct values such as RFC 7239 obfuscated identifiers stay distinct).
pub fn unparsed_source_key(element: &str) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(element.as_bytes());
    let hex: String = d.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("h|{hex}")
}

/// The bound on concurrent password hashes (argon2id, 19 MiB each).
///
/// At most `running` hashes run at once, on the blocking pool, each in a buffer the gate
/// keeps and reuses (allocating 19 MiB per hash would leave freed buffers in the
/// allocator's per-thread arenas: 274 MiB peak in a measured run); up to `waiting` more
/// requests wait for a turn (an async wait: a few hundred bytes each); any request beyond
/// that is refused at once (`503` with `Retry-After`), so memory stays bounded and nothing
/// queues without limit.
pub struct HashGate {
    size: usize,
    /// One argon2 buffer per running hash, kept and reused.
    memory: std::sync::Mutex<Vec<Vec<argon2::Block>>>,
    running: Arc<Semaphore>,
    admitted: Arc<Semaphore>,
    now: AtomicUsize,
    peak: AtomicUsize,
    total: AtomicU64,
}

impl std::fmt::Debug for HashGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashGate")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// A request's place in the hash queue; [`HashGate::run`] hashes under it.
pub struct Admission(#[allow(dead_code)] OwnedSemaphorePermit);

impl std::fmt::Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Admission")
    }
}

/// What a [`HashGate`] saw (a test hook, also useful in logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashStats {
    /// Hashes computed or verified so far.
    pub total: u64,
    /// Most hashes that ran at the same time.
    pub peak: usize,
    /// The bound on `peak`.
    pub limit: usize,
}

/// Requests that may wait for a hash, per hash that may run.
pub const WAITING_PER_RUNNING: usize = 16;

impl HashGate {
    /// A gate letting `running` hashes run at once and `waiting` more wait.
    pub fn new(running: usize, waiting: usize) -> Self {
        let running = running.max(1);
        Self {
            size: running,
            memory: std::sync::Mutex::new(Vec::new()),
            running: Arc::new(Semaphore::new(running)),
            admitted: Arc::new(Semaphore::new(running + waiting)),
            now: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            total: AtomicU64::new(0),
        }
    }

    /// One hash per available CPU (`std::thread::available_parallelism`), and
    /// [`WAITING_PER_RUNNING`] times as many waiting.
    pub fn for_this_machine() -> Self {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::new(n, n * WAITING_PER_RUNNING)
    }

    /// A place in the queue, or `None` when the queue is full.
    pub fn admit(&self) -> Option<Admission> {
        self.admitted
            .clone()
            .try_acquire_owned()
            .ok()
            .map(Admission)
    }

    /// Runs `f` on the blocking pool once a hash slot is free, with that slot's memory.
    pub async fn run<T: Send + 'static>(
        &self,
        _admission: &Admission,
        f: impl FnOnce(&mut Vec<argon2::Block>) -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        let _slot = self
            .running
            .acquire()
            .await
            .map_err(|e| StoreError::Internal(e.to_string()))?;
        let mut memory = self.buffers().pop().unwrap_or_default();
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        self.total.fetch_add(1, Ordering::SeqCst);
        let r = tokio::task::spawn_blocking(move || (f(&mut memory), memory)).await;
        self.now.fetch_sub(1, Ordering::SeqCst);
        let (t, memory) = r.map_err(|e| StoreError::Internal(e.to_string()))?;
        self.buffers().push(memory);
        Ok(t)
    }

    fn buffers(&self) -> std::sync::MutexGuard<'_, Vec<Vec<argon2::Block>>> {
        // A panic while holding the lock cannot leave the list inconsistent.
        self.memory.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What the gate saw so far.
    pub fn stats(&self) -> HashStats {
        HashStats {
            total: self.total.load(Ordering::SeqCst),
            peak: self.peak.load(Ordering::SeqCst),
            limit: self.size,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_addresses_or_ipv6_prefixes() {
        assert_eq!(source_key("203.0.113.9".parse().unwrap()), "203.0.113.9");
        assert_eq!(
            source_key("2001:db8:1:2:3:4:5:6".parse().unwrap()),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            source_key("2001:db8:1:2:ffff::1".parse().unwrap()),
            "2001:db8:1:2::/64",
            "one /64 is one source"
        );
        assert_eq!(
            source_key("::ffff:198.51.100.7".parse().unwrap()),
            "198.51.100.7"
        );
    }

    #[test]
    fn a_refusal_waits_whole_seconds() {
        assert_eq!(Refused(Duration::from_millis(1)).secs(), 1);
        assert_eq!(Refused(Duration::from_millis(1001)).secs(), 2);
        assert_eq!(Refused(Duration::ZERO).secs(), 1);
    }

    #[tokio::test]
    async fn the_gate_bounds_running_hashes_and_refuses_past_its_queue() {
        let gate = Arc::new(HashGate::new(2, 3));
        let held: Vec<_> = (0..5).map(|_| gate.admit().expect("room")).collect();
        assert!(
            gate.admit().is_none(),
            "2 running + 3 waiting, then refused"
        );
        drop(held);
        let mut tasks = Vec::new();
        for _ in 0..5 {
            let g = gate.clone();
            tasks.push(tokio::spawn(async move {
                let a = g.admit().expect("room");
                g.run(&a, |_| std::thread::sleep(Duration::from_millis(20)))
                    .await
                    .unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let s = gate.stats();
        assert_eq!(s.total, 5);
        assert!(s.peak <= 2, "{s:?}");
        assert_eq!(s.limit, 2);
    }
}
