//! The sessions a process has recently checked ([`SessionCache`]): a signed-in request
//! whose session was checked against the database less than [`SESSION_CACHE_TTL`] ago is
//! not checked again.
//!
//! Every signed-in request used to cost a database round trip before its own work (the
//! session and its account); under load that was most of a one-change sync's commands.
//!
//! What revocation costs (docs/security.md, *Sessions*):
//! - Ended through this process (sign-out, the session list, sign-out everywhere, a
//!   password change, an account deletion): the entries go once the database has the
//!   change, so the very next request is checked again and refused.
//! - Ended through another process, or in the database itself: the feed of ended sessions
//!   ([`crate::storage::AccountStore::ended_sessions`], which `GET /live` follows too)
//!   drops the entry as soon as it tells; whatever it does, a session is checked again at
//!   most [`SESSION_CACHE_TTL`] after it was last read, so a stolen session revoked
//!   anywhere stops working at most that long after the revocation was written.
//! - An entry never outlives the session's own expiry.
//!
//! A lookup that read the database before an eviction of this process is not cached (a
//! generation count), so it cannot put back what the eviction removed. Only sessions that
//! are valid are kept: an unknown token costs a lookup each time, as before.
//!
//! Bounded: at most [`SESSION_CACHE_MAX`] entries (about 200 bytes each); a full cache
//! drops its stale entries, and when none are stale it caches nothing more until some are.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::session::SignedInSession;

/// Longest time a session checked against the database is taken as valid without a new
/// check: the bound on how long a session revoked through another process (or in the
/// database) may still be used here.
pub const SESSION_CACHE_TTL: Duration = Duration::from_secs(2);
/// Most sessions one process keeps.
pub const SESSION_CACHE_MAX: usize = 65_536;

/// A valid session as it was read.
#[derive(Clone, Debug)]
pub(super) struct Cached {
    /// The user's id.
    pub user_id: String,
    /// The user's name.
    pub name: String,
    /// The session's credential epoch.
    pub epoch: i64,
    /// When the session expires, ms since the Unix epoch.
    pub expires_ms: i64,
    /// When its use was last recorded (`StoredSession::last_used_ms`).
    pub touched_ms: Option<i64>,
}

impl Cached {
    /// The signed-in session of `token`.
    pub fn session(&self, token: &str) -> SignedInSession {
        SignedInSession {
            user_id: self.user_id.clone(),
            name: self.name.clone(),
            token: token.to_owned(),
            epoch: self.epoch,
        }
    }
}

/// The lookup of one session, started before its database read: [`SessionCache::keep`]
/// keeps its result only if nothing was evicted since.
#[derive(Clone, Copy, Debug)]
pub(super) struct Lookup {
    generation: u64,
    started: Instant,
}

/// Recently checked sessions, by session key (see the module's doc).
#[derive(Debug)]
pub struct SessionCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Cached, Instant)>>,
    /// Moved on by every eviction.
    generation: AtomicU64,
}

impl Default for SessionCache {
    fn default() -> Self {
        Self::new(SESSION_CACHE_TTL)
    }
}

impl SessionCache {
    /// A cache whose entries are taken as valid for `ttl` after their read (zero: nothing
    /// is cached).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::default(),
            generation: AtomicU64::new(0),
        }
    }

    /// The session under `key`, if it was read less than the time to live ago and has not
    /// expired by `now_ms`.
    pub(super) fn get(&self, key: &str, now_ms: i64) -> Option<Cached> {
        let entries = self.entries.lock().expect("not poisoned");
        let (c, read) = entries.get(key)?;
        (read.elapsed() < self.ttl && now_ms < c.expires_ms).then(|| c.clone())
    }

    /// Marks the start of a lookup (before its database read).
    pub(super) fn start(&self) -> Lookup {
        Lookup {
            generation: self.generation.load(Ordering::SeqCst),
            started: Instant::now(),
        }
    }

    /// Keeps `c` under `key` as read by `lookup`, unless something was evicted since the
    /// lookup started (what it read may be what the eviction removed).
    pub(super) fn keep(&self, key: &str, c: Cached, lookup: Lookup) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().expect("not poisoned");
        // Read under the lock that evictions take: an eviction either happened before
        // (the generation moved) or runs after this insert (and removes it).
        if self.generation.load(Ordering::SeqCst) != lookup.generation {
            return;
        }
        if entries.len() >= SESSION_CACHE_MAX && !entries.contains_key(key) {
            entries.retain(|_, (_, read)| read.elapsed() < self.ttl);
            if entries.len() >= SESSION_CACHE_MAX {
                return;
            }
        }
        entries.insert(key.to_owned(), (c, lookup.started));
    }

    /// Records that the session under `key` had its use written at `now_ms`.
    pub(super) fn touched(&self, key: &str, now_ms: i64) {
        if let Some((c, _)) = self.entries.lock().expect("not poisoned").get_mut(key) {
            c.touched_ms = Some(now_ms);
        }
    }

    /// Drops the session under `key`. Call once the database has its end.
    pub fn forget(&self, key: &str) {
        let mut entries = self.entries.lock().expect("not poisoned");
        self.generation.fetch_add(1, Ordering::SeqCst);
        entries.remove(key);
    }

    /// Drops every session of `user_id`. Call once the database has the change.
    pub fn forget_user(&self, user_id: &str) {
        let mut entries = self.entries.lock().expect("not poisoned");
        self.generation.fetch_add(1, Ordering::SeqCst);
        entries.retain(|_, (c, _)| c.user_id != user_id);
    }

    /// Drops every session (the feed of ended sessions may have missed some).
    pub fn forget_all(&self) {
        let mut entries = self.entries.lock().expect("not poisoned");
        self.generation.fetch_add(1, Ordering::SeqCst);
        entries.clear();
    }

    /// How many sessions are kept.
    pub fn len(&self) -> usize {
        self.entries.lock().expect("not poisoned").len()
    }

    /// Whether no session is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cached(user: &str) -> Cached {
        Cached {
            user_id: user.into(),
            name: user.into(),
            epoch: 0,
            expires_ms: i64::MAX,
            touched_ms: None,
        }
    }

    #[test]
    fn a_lookup_that_read_before_an_eviction_is_not_kept() {
        let cache = SessionCache::default();
        let lookup = cache.start();
        // The session is ended (and evicted) while the lookup's read is on its way back.
        cache.forget("k");
        cache.keep("k", cached("u"), lookup);
        assert!(cache.get("k", 0).is_none());
        // A lookup started after the eviction is kept.
        let lookup = cache.start();
        cache.keep("k", cached("u"), lookup);
        assert!(cache.get("k", 0).is_some());
    }

    #[test]
    fn an_entry_lives_for_its_time_to_live_and_never_past_the_sessions_expiry() {
        let cache = SessionCache::new(Duration::from_secs(3600));
        let mut c = cached("u");
        c.expires_ms = 1_000;
        cache.keep("k", c, cache.start());
        assert!(cache.get("k", 999).is_some());
        assert!(cache.get("k", 1_000).is_none(), "expired");
        let short = SessionCache::new(Duration::from_millis(1));
        short.keep("k", cached("u"), short.start());
        std::thread::sleep(Duration::from_millis(5));
        assert!(short.get("k", 0).is_none(), "read too long ago");
    }

    #[test]
    fn forgetting_a_user_drops_every_session_of_theirs_only() {
        let cache = SessionCache::default();
        cache.keep("a1", cached("a"), cache.start());
        cache.keep("a2", cached("a"), cache.start());
        cache.keep("b1", cached("b"), cache.start());
        cache.forget_user("a");
        assert!(cache.get("a1", 0).is_none() && cache.get("a2", 0).is_none());
        assert!(cache.get("b1", 0).is_some());
        cache.forget_all();
        assert!(cache.is_empty());
    }

    #[test]
    fn a_full_cache_drops_its_stale_entries_and_else_keeps_nothing_more() {
        let cache = SessionCache::new(Duration::from_secs(3600));
        for i in 0..SESSION_CACHE_MAX {
            cache.keep(&format!("k{i}"), cached("u"), cache.start());
        }
        cache.keep("one more", cached("u"), cache.start());
        assert_eq!(cache.len(), SESSION_CACHE_MAX);
        assert!(cache.get("one more", 0).is_none());
        // Entries read long ago make room.
        let stale = SessionCache::new(Duration::from_millis(1));
        for i in 0..SESSION_CACHE_MAX {
            stale.keep(&format!("k{i}"), cached("u"), stale.start());
        }
        std::thread::sleep(Duration::from_millis(5));
        stale.keep("one more", cached("u"), stale.start());
        assert!(stale.len() < SESSION_CACHE_MAX);
        assert!(stale.entries.lock().unwrap().contains_key("one more"));
    }

    #[test]
    fn a_zero_time_to_live_caches_nothing() {
        let cache = SessionCache::new(Duration::ZERO);
        cache.keep("k", cached("u"), cache.start());
        assert!(cache.is_empty());
    }
}
