//! [`AccountStore`] in memory: [`MemoryAccounts`].

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::broadcast;

use super::feed::follow;
use crate::storage::accounts::{AccountStore, MAX_SESSIONS_LISTED, StoredSession, StoredUser};
use crate::storage::error::{BoxFuture, BoxStream, StoreError};
use crate::storage::feed::SessionEvent;

/// [`AccountStore`] in memory.
pub struct MemoryAccounts {
    state: Mutex<AccountsState>,
    /// The ended-sessions feed: sent to under `state`'s lock.
    ended: broadcast::Sender<SessionEvent>,
}

impl Default for MemoryAccounts {
    fn default() -> Self {
        Self {
            state: Mutex::default(),
            ended: broadcast::Sender::new(super::feed::BACKLOG),
        }
    }
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

    /// Removes the sessions `keep` does not keep, and says so on the feed; returns how many.
    fn remove_sessions(
        &self,
        st: &mut AccountsState,
        mut keep: impl FnMut(&str, &StoredSession) -> bool,
    ) -> u64 {
        let mut ended = 0;
        st.sessions.retain(|k, s| {
            let kept = keep(k, s);
            if !kept {
                ended += 1;
                // No follower is no error.
                let _ = self.ended.send(SessionEvent::Ended { key: k.clone() });
            }
            kept
        });
        ended
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
            let mut st = self.state.lock().expect("not poisoned");
            self.remove_sessions(&mut st, |k, _| k != key);
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
                .take(MAX_SESSIONS_LISTED)
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
            Ok(self.remove_sessions(&mut st, |k, s| s.user_id != user_id || Some(k) == keep))
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
            self.remove_sessions(&mut st, |_, s| s.user_id != user_id);
            st.users.retain(|_, u| u.id != user_id);
            Ok(())
        })
    }

    fn ended_sessions(&self) -> BoxStream<'static, SessionEvent> {
        follow(self.ended.subscribe(), SessionEvent::Reopened)
    }
}
