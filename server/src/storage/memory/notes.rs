//! [`SyncStore`] in memory: [`MemoryStore`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use sync_core::protocol::{Change, Revision};
use sync_core::push::{self, NoteRecord, Prepared};
use sync_core::{NoteId, limits};
use tokio::sync::broadcast;

use super::feed::follow;
use crate::storage::error::{BoxFuture, BoxStream, StoreError};
use crate::storage::feed::HeadEvent;
use crate::storage::notes::distinct;
use crate::storage::notes::{Conflicts, Page, Pushed, SyncStore, UserId};

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
pub struct MemoryStore {
    conflicts: Conflicts,
    users: Mutex<HashMap<String, UserNotes>>,
    /// Deleted accounts (MongoDB's `gone` counters): their pushes write nothing.
    gone: Mutex<HashSet<String>>,
    /// The heads feed: sent to under `users`' lock, so in commit order.
    heads: broadcast::Sender<HeadEvent>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            conflicts: Conflicts::default(),
            users: Mutex::default(),
            gone: Mutex::default(),
            heads: broadcast::Sender::new(super::feed::BACKLOG),
        }
    }
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
        // No follower is no error.
        let _ = self.heads.send(HeadEvent::Moved {
            user: user.to_owned(),
            head: u.head,
        });
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
            for (user, u) in users.iter_mut() {
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
                    n.fields = Default::default();
                    rec.note.text_version = u.head;
                    rec.unseen.clear();
                    u.revisions.remove(&id);
                    purged += 1;
                    let _ = self.heads.send(HeadEvent::Moved {
                        user: user.clone(),
                        head: u.head,
                    });
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

    fn heads(&self) -> BoxStream<'static, HeadEvent> {
        follow(self.heads.subscribe(), HeadEvent::Reopened)
    }
}
