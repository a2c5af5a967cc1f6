//! In-memory storage: every storage trait of the server, in one process's memory.
//!
//! For tests only (MongoDB is the only production backend): the HTTP API runs on it in
//! milliseconds with no database process, and `server/tests/backends.rs` runs one story
//! against it and against MongoDB, so the two keep answering alike. Pushes are planned by
//! `sync_core::push` exactly as on MongoDB; each store's state sits behind one mutex, so
//! every operation is atomic (as a MongoDB transaction or conditional update is).
//! Planning runs under that lock on the calling task: fine for tests, which is why this
//! store is not a production one.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use sync_core::protocol::{Change, Revision};
use sync_core::push::{self, NoteRecord, Prepared};
use sync_core::{NoteId, limits};

use crate::auth::{AccountStore, Accounts, StoredSession, StoredUser, now_ms};
use crate::store::{BoxFuture, Conflicts, Page, Pushed, StoreError, SyncStore, UserId, distinct};
use crate::throttle::{BucketStore, Rate, Refused, Step, bucket_expiry, step};

/// Accounts with their users, sessions and throttling buckets in memory.
pub fn accounts() -> Accounts {
    Accounts::with_stores(
        Arc::new(MemoryAccounts::new()),
        Arc::new(MemoryBuckets::new()),
    )
}

/// One user's notes.
#[derive(Default)]
struct UserNotes {
    /// The last version handed out.
    head: u64,
    notes: HashMap<NoteId, NoteRecord>,
    /// Revisions by note, by number.
    revisions: HashMap<NoteId, BTreeMap<u64, Revision>>,
}

/// [`SyncStore`] in memory.
#[derive(Default)]
pub struct MemoryStore {
    conflicts: Conflicts,
    users: Mutex<HashMap<String, UserNotes>>,
    /// Deleted accounts (MongoDB's `gone` counters): their pushes write nothing.
    gone: Mutex<std::collections::HashSet<String>>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// An empty store with the default conflict settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets how conflicts are resolved.
    pub fn with_conflicts(mut self, conflicts: Conflicts) -> Self {
        self.conflicts = conflicts;
        self
    }

    fn push_now(&self, user: &UserId, changes: &[Change], now_ms: u64) -> Pushed {
        let prepared = Prepared::new(changes, now_ms);
        let needed = prepared.versions_needed();
        if needed == 0 {
            return Pushed {
                results: prepared.into_results(changes),
                merges_over_budget: 0,
            };
        }
        let mut users = self.users.lock().expect("not poisoned");
        let u = users.entry(user.to_owned()).or_default();
        let stored = prepared
            .note_ids(changes)
            .into_iter()
            .filter_map(|id| Some((id.clone(), u.notes.get(id)?.clone())))
            .collect();
        let first = u.head + 1;
        u.head += needed;
        let plan = push::plan(
            changes,
            prepared,
            stored,
            first,
            self.conflicts.policy(),
            now_ms,
        );
        for rec in plan.notes {
            u.notes.insert(rec.note.note.id.clone(), rec);
        }
        for r in plan.revisions {
            u.revisions
                .entry(r.note_id)
                .or_default()
                .insert(r.n, r.revision);
        }
        for (id, upto) in plan.trims {
            if let Some(revs) = u.revisions.get_mut(&id) {
                revs.retain(|n, _| *n > upto);
            }
        }
        Pushed {
            results: plan.results,
            merges_over_budget: plan.merges_over_budget,
        }
    }

    fn pull_now(&self, user: &UserId, after: u64, limit: u32) -> Page {
        let limit = limit.clamp(1, limits::MAX_PULL_LIMIT) as usize;
        let users = self.users.lock().expect("not poisoned");
        let Some(u) = users.get(user) else {
            return Page {
                notes: vec![],
                last: after,
                has_more: false,
                head: 0,
            };
        };
        let mut newer: Vec<_> = u
            .notes
            .values()
            .map(|r| &r.note.note)
            .filter(|n| n.version > after && n.version <= u.head)
            .collect();
        newer.sort_by_key(|n| n.version);
        // The same page bounds as MongoDB's: at most `limit` notes and MAX_PULL_BYTES of
        // note JSON (a first note larger than that still goes alone).
        let mut notes = Vec::new();
        let mut bytes = 0;
        for n in &newer {
            let size = limits::json_len(n);
            if notes.len() == limit || (!notes.is_empty() && bytes + size > limits::MAX_PULL_BYTES)
            {
                break;
            }
            bytes += size;
            notes.push((*n).clone());
        }
        let has_more = notes.len() < newer.len();
        let last = if has_more {
            notes.last().map_or(after, |n| n.version)
        } else {
            u.head.max(after)
        };
        Page {
            notes,
            last,
            has_more,
            head: u.head,
        }
    }

    fn history_now(&self, user: &UserId, id: &NoteId) -> Vec<Revision> {
        let users = self.users.lock().expect("not poisoned");
        let revs = users
            .get(user)
            .and_then(|u| u.revisions.get(id))
            .map(|revs| {
                revs.values()
                    .rev()
                    .take(self.conflicts.history_limit as usize)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        distinct(revs)
    }
}

impl SyncStore for MemoryStore {
    fn push<'a>(
        &'a self,
        user: &'a UserId,
        changes: &'a [Change],
        now_ms: u64,
    ) -> BoxFuture<'a, Result<Pushed, StoreError>> {
        Box::pin(async move {
            let pushed = self.push_now(user, changes, now_ms);
            if self.gone.lock().expect("not poisoned").contains(user) {
                self.users.lock().expect("not poisoned").remove(user);
                return Err(StoreError::Gone);
            }
            Ok(pushed)
        })
    }

    fn pull<'a>(
        &'a self,
        user: &'a UserId,
        after: u64,
        limit: u32,
    ) -> BoxFuture<'a, Result<Page, StoreError>> {
        Box::pin(async move { Ok(self.pull_now(user, after, limit)) })
    }

    fn head<'a>(&'a self, user: &'a UserId) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let users = self.users.lock().expect("not poisoned");
            Ok(users.get(user).map_or(0, |u| u.head))
        })
    }

    fn history<'a>(
        &'a self,
        user: &'a UserId,
        id: &'a NoteId,
    ) -> BoxFuture<'a, Result<Vec<Revision>, StoreError>> {
        Box::pin(async move { Ok(self.history_now(user, id)) })
    }

    fn purge_expired(
        &self,
        deleted_before_ms: u64,
        limit: u32,
    ) -> BoxFuture<'_, Result<u32, StoreError>> {
        Box::pin(async move {
            let mut users = self.users.lock().expect("not poisoned");
            let mut purged = 0;
            for u in users.values_mut() {
                let expired: Vec<NoteId> = u
                    .notes
                    .values()
                    .map(|r| &r.note.note)
                    .filter(|n| n.deleted && !n.purged && n.hlc.wall_ms < deleted_before_ms)
                    .map(|n| n.id.clone())
                    .take((limit - purged) as usize)
                    .collect();
                for id in expired {
                    u.head += 1;
                    let rec = u.notes.get_mut(&id).expect("listed above");
                    let n = &mut rec.note.note;
                    n.version = u.head;
                    n.purged = true;
                    n.title.clear();
                    n.content.clear();
                    n.conflict = None;
                    rec.unseen.clear();
                    u.revisions.remove(&id);
                    purged += 1;
                }
                if purged == limit {
                    break;
                }
            }
            Ok(purged)
        })
    }

    fn delete_user_notes<'a>(&'a self, user: &'a UserId) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.gone
                .lock()
                .expect("not poisoned")
                .insert(user.to_owned());
            self.users.lock().expect("not poisoned").remove(user);
            Ok(())
        })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }

    fn ensure_indexes(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }
}

/// [`AccountStore`] in memory.
#[derive(Default)]
pub struct MemoryAccounts {
    state: Mutex<AccountsState>,
}

impl std::fmt::Debug for MemoryAccounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryAccounts").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct AccountsState {
    users: HashMap<String, StoredUser>,
    sessions: HashMap<String, StoredSession>,
}

impl MemoryAccounts {
    /// No accounts yet.
    pub fn new() -> Self {
        Self::default()
    }
}

impl AccountStore for MemoryAccounts {
    fn ensure_indexes(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }

    fn insert_user<'a>(&'a self, user: &'a StoredUser) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut st = self.state.lock().expect("not poisoned");
            if st.users.contains_key(&user.name) {
                return Ok(false);
            }
            st.users.insert(user.name.clone(), user.clone());
            Ok(true)
        })
    }

    fn user_by_name<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredUser>, StoreError>> {
        Box::pin(async move {
            let st = self.state.lock().expect("not poisoned");
            Ok(st.users.get(name).cloned())
        })
    }

    fn user_by_id<'a>(
        &'a self,
        user_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredUser>, StoreError>> {
        Box::pin(async move {
            let st = self.state.lock().expect("not poisoned");
            Ok(st.users.values().find(|u| u.id == user_id).cloned())
        })
    }

    fn insert_session<'a>(
        &'a self,
        session: &'a StoredSession,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut st = self.state.lock().expect("not poisoned");
            st.sessions.insert(session.key.clone(), session.clone());
            Ok(())
        })
    }

    fn session<'a>(
        &'a self,
        key: &'a str,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>> {
        Box::pin(async move {
            let st = self.state.lock().expect("not poisoned");
            Ok(st
                .sessions
                .get(key)
                .filter(|s| s.expires_ms > now_ms)
                .cloned())
        })
    }

    fn delete_session<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.state
                .lock()
                .expect("not poisoned")
                .sessions
                .remove(key);
            Ok(())
        })
    }

    fn sessions_of<'a>(
        &'a self,
        user_id: &'a str,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<Vec<StoredSession>, StoreError>> {
        Box::pin(async move {
            let st = self.state.lock().expect("not poisoned");
            Ok(st
                .sessions
                .values()
                .filter(|s| s.user_id == user_id && s.expires_ms > now_ms)
                .take(crate::auth::MAX_SESSIONS_LISTED)
                .cloned()
                .collect())
        })
    }

    fn delete_sessions_of<'a>(
        &'a self,
        user_id: &'a str,
        keep: Option<&'a str>,
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let mut st = self.state.lock().expect("not poisoned");
            let before = st.sessions.len();
            st.sessions
                .retain(|k, s| s.user_id != user_id || Some(k.as_str()) == keep);
            Ok((before - st.sessions.len()) as u64)
        })
    }

    fn touch_session<'a>(
        &'a self,
        key: &'a str,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            if let Some(s) = self
                .state
                .lock()
                .expect("not poisoned")
                .sessions
                .get_mut(key)
            {
                s.last_used_ms = Some(now_ms);
            }
            Ok(())
        })
    }

    fn set_hash<'a>(
        &'a self,
        user_id: &'a str,
        hash: &'a str,
        epoch: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut st = self.state.lock().expect("not poisoned");
            if let Some(u) = st.users.values_mut().find(|u| u.id == user_id) {
                u.hash = hash.to_owned();
                u.epoch = u.epoch.max(epoch);
            }
            Ok(())
        })
    }

    fn set_session_epoch<'a>(
        &'a self,
        key: &'a str,
        epoch: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            if let Some(s) = self
                .state
                .lock()
                .expect("not poisoned")
                .sessions
                .get_mut(key)
            {
                s.epoch = epoch;
            }
            Ok(())
        })
    }

    fn delete_user<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut st = self.state.lock().expect("not poisoned");
            st.sessions.retain(|_, s| s.user_id != user_id);
            st.users.retain(|_, u| u.id != user_id);
            Ok(())
        })
    }
}

/// [`BucketStore`] in memory.
#[derive(Default)]
pub struct MemoryBuckets {
    /// Key to (end time `tat` in ms, or none for a mark; expiry in ms).
    buckets: Mutex<HashMap<String, (Option<i64>, i64)>>,
}

impl std::fmt::Debug for MemoryBuckets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBuckets").finish_non_exhaustive()
    }
}

impl MemoryBuckets {
    /// No buckets yet.
    pub fn new() -> Self {
        Self::default()
    }
}

impl BucketStore for MemoryBuckets {
    fn ensure_indexes(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }

    fn take<'a>(
        &'a self,
        key: &'a str,
        rate: Rate,
    ) -> BoxFuture<'a, Result<Result<(), Refused>, StoreError>> {
        Box::pin(async move {
            let now = now_ms();
            let every = rate.every.as_millis() as i64;
            let exp = bucket_expiry(now, rate);
            let mut b = self.buckets.lock().expect("not poisoned");
            // An expired entry is gone, as MongoDB's TTL index removes it.
            let tat = b
                .get(key)
                .filter(|(_, e)| *e > now)
                .and_then(|(tat, _)| *tat);
            match step(tat, now, rate).0 {
                Step::Start | Step::Restart => {
                    b.insert(key.to_owned(), (Some(now + every), exp));
                }
                Step::Add => {
                    b.insert(key.to_owned(), (tat.map(|t| t + every), exp));
                }
                Step::Refuse(r) => return Ok(Err(r)),
            }
            Ok(Ok(()))
        })
    }

    fn give_back<'a>(&'a self, key: &'a str, rate: Rate) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut b = self.buckets.lock().expect("not poisoned");
            if let Some((Some(tat), _)) = b.get_mut(key) {
                *tat -= rate.every.as_millis() as i64;
            }
            Ok(())
        })
    }

    fn forget<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.buckets.lock().expect("not poisoned").remove(key);
            Ok(())
        })
    }

    fn is_marked<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let b = self.buckets.lock().expect("not poisoned");
            Ok(b.get(key).is_some_and(|(_, exp)| *exp > now_ms()))
        })
    }

    fn forget_account<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let (ranges, account) = crate::throttle::account_keys(name);
            self.buckets.lock().expect("not poisoned").retain(|k, _| {
                *k != account
                    && !ranges
                        .iter()
                        .any(|(from, to)| k.as_str() >= from.as_str() && k.as_str() < to.as_str())
            });
            Ok(())
        })
    }

    fn mark<'a>(&'a self, key: &'a str, ttl: Duration) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut b = self.buckets.lock().expect("not poisoned");
            let exp = now_ms() + ttl.as_millis() as i64;
            b.entry(key.to_owned())
                .and_modify(|e| e.1 = exp)
                .or_insert((None, exp));
            Ok(())
        })
    }
}
