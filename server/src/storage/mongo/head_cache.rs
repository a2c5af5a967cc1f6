//! The last head this process committed or read for each user ([`HeadCache`]), so that a
//! batch need not read the counters of users it has seen.
//!
//! A cached head is a guess, never trusted on its own: the batch writes such a user's
//! counter only where it still holds that head (`{_id, seq: head, gone: {$ne: true}}`), in
//! its transaction. Another process's push, a purge, or the account's deletion moves the
//! counter on; the write then matches nothing, the batch sees it in the command's count, and
//! runs again reading every counter (`commit::batch_in_txn`). A write that races such a
//! change after the batch's snapshot conflicts, as before.
//!
//! Bounded: at most [`HEAD_CACHE_MAX`] users (a few dozen bytes each); a full cache is
//! emptied, and the users' next batches read their counters again.

use std::collections::HashMap;
use std::sync::Mutex;

/// Most users whose head one process keeps.
pub const HEAD_CACHE_MAX: usize = 65_536;

/// Each user's head as this process last committed or read it.
#[derive(Debug, Default)]
pub struct HeadCache {
    heads: Mutex<HashMap<String, u64>>,
}

impl HeadCache {
    /// The head last seen for `user`, if any.
    pub fn get(&self, user: &str) -> Option<u64> {
        self.heads.lock().expect("not poisoned").get(user).copied()
    }

    /// Keeps `head` for each user, once what it says is committed.
    pub fn keep(&self, heads: impl IntoIterator<Item = (String, u64)>) {
        let mut map = self.heads.lock().expect("not poisoned");
        for (user, head) in heads {
            if map.len() >= HEAD_CACHE_MAX && !map.contains_key(&user) {
                map.clear();
            }
            map.insert(user, head);
        }
    }

    /// Forgets what is kept for `users` (it was found stale, or may be).
    pub fn forget<'a>(&self, users: impl IntoIterator<Item = &'a str>) {
        let mut map = self.heads.lock().expect("not poisoned");
        for u in users {
            map.remove(u);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_cache_is_emptied_rather_than_grown() {
        let c = HeadCache::default();
        c.keep((0..HEAD_CACHE_MAX).map(|i| (format!("u{i}"), 1)));
        assert_eq!(c.get("u0"), Some(1));
        c.keep([("u0".to_owned(), 2)]);
        assert_eq!(c.get("u0"), Some(2), "a kept user is updated in place");
        c.keep([("new".to_owned(), 3)]);
        assert_eq!(c.get("new"), Some(3));
        assert_eq!(c.get("u1"), None);
        assert!(c.heads.lock().unwrap().len() <= HEAD_CACHE_MAX);
    }
}
