//! The accounts service ([`Accounts`]): sign-up, sign-in, sessions, password changes and
//! account deletion, over an [`AccountStore`] and a [`BucketStore`] (any backend).

use std::sync::Arc;

use sync_core::protocol::SessionInfo;

use super::cache::{Cached, SessionCache};
use super::error::AuthError;
use super::password::{DUMMY_HASH, check_credentials, hash_password, verify_password};
use super::session::{SESSION_TTL, SignedInSession, random_token, token_key};
use super::throttle::{HashGate, HashStats, Limits};
use crate::clock::now_ms;
use crate::storage::{
    AccountStore, BucketStore, Rate, StoreError, StoredSession, StoredUser, Stores, TOUCH_EVERY,
};

/// Accounts and sessions: the rules, over an [`AccountStore`] and a [`BucketStore`].
#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn AccountStore>,
    buckets: Arc<dyn BucketStore>,
    limits: Limits,
    gate: Arc<HashGate>,
    /// Sessions checked recently ([`super::cache`]).
    cache: Arc<SessionCache>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts").finish_non_exhaustive()
    }
}

/// The attempts one sign-in has reserved, to give back when it succeeds or never ran.
struct Reserved<'a> {
    buckets: &'a dyn BucketStore,
    taken: Vec<(String, Rate)>,
}

impl Reserved<'_> {
    /// Takes one attempt from `key`; when refused, gives back what was taken so far.
    async fn take(&mut self, key: String, rate: Rate) -> Result<(), AuthError> {
        match self.buckets.take(&key, rate).await? {
            Ok(()) => {
                self.taken.push((key, rate));
                Ok(())
            }
            Err(refused) => {
                self.give_back().await?;
                Err(AuthError::TooManyAttempts(refused.secs()))
            }
        }
    }

    async fn give_back(&mut self) -> Result<(), AuthError> {
        for (key, rate) in self.taken.drain(..) {
            self.buckets.give_back(&key, rate).await?;
        }
        Ok(())
    }
}

impl Accounts {
    /// Accounts kept in `stores`' account store, throttled in its buckets, by the default
    /// [`Limits`], hashing at most one password per available CPU at a time.
    pub fn new(stores: &Stores) -> Self {
        Self::with_stores(stores.accounts.clone(), stores.buckets.clone())
    }

    /// Accounts kept in `store`, throttled in `buckets` (default limits and hash bound).
    pub fn with_stores(store: Arc<dyn AccountStore>, buckets: Arc<dyn BucketStore>) -> Self {
        Self {
            store,
            buckets,
            limits: Limits::default(),
            gate: Arc::new(HashGate::for_this_machine()),
            cache: Arc::default(),
        }
    }

    /// The same accounts, taking a session checked against the database as valid for
    /// `ttl` after that check ([`super::cache::SESSION_CACHE_TTL`] unless set; zero: every
    /// request is checked).
    pub fn with_session_cache(mut self, ttl: std::time::Duration) -> Self {
        self.cache = Arc::new(SessionCache::new(ttl));
        self
    }

    /// The sessions this process keeps as checked ([`super::cache`]).
    pub fn session_cache(&self) -> &SessionCache {
        &self.cache
    }

    /// The same accounts with other throttling limits (tests use long periods so that
    /// nothing leaks out of a bucket while they run).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The same accounts with another bound on concurrent hashes.
    pub fn with_gate(mut self, gate: HashGate) -> Self {
        self.gate = Arc::new(gate);
        self
    }

    /// Hashes run so far and the most that ran at once (a test hook).
    pub fn hash_stats(&self) -> HashStats {
        self.gate.stats()
    }

    /// Creates the indexes (idempotent).
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        self.store.ensure_indexes().await?;
        self.buckets.ensure_indexes().await
    }

    /// Creates an account and signs it in. `source` is the client ([`source_key`]).
    ///
    /// [`source_key`]: super::throttle::source_key
    pub async fn sign_up(
        &self,
        name: &str,
        password: &str,
        source: &str,
    ) -> Result<SignedInSession, AuthError> {
        self.sign_up_on(name, password, source, "API client").await
    }

    /// [`Accounts::sign_up`] from `device` ([`super::session::device_label`]).
    pub async fn sign_up_on(
        &self,
        name: &str,
        password: &str,
        source: &str,
        device: &str,
    ) -> Result<SignedInSession, AuthError> {
        let name = check_credentials(name, password)?;
        // Every sign-up costs a hash, so each one counts against its source, success or not.
        let mut reserved = self.reserve();
        reserved
            .take(format!("s|{source}"), self.limits.per_source)
            .await?;
        let Some(admission) = self.gate.admit() else {
            reserved.give_back().await?;
            return Err(AuthError::Busy);
        };
        let password = password.to_owned();
        let hash = self
            .gate
            .run(&admission, move |memory| hash_password(&password, memory))
            .await??;
        let user_id = random_token()[..22].to_owned();
        let user = StoredUser {
            id: user_id.clone(),
            name: name.clone(),
            hash,
            epoch: 0,
        };
        if !self.store.insert_user(&user).await? {
            return Err(AuthError::NameTaken);
        }
        self.buckets
            .mark(&format!("k|{name}|{source}"), self.limits.known_for)
            .await?;
        self.new_session(user_id, name, 0, device).await
    }

    fn reserve(&self) -> Reserved<'_> {
        Reserved {
            buckets: &*self.buckets,
            taken: Vec::new(),
        }
    }

    /// Signs in with a name and password, from `source` ([`source_key`]).
    ///
    /// The attempt is reserved in its buckets before the password is checked, so parallel
    /// guesses can never exceed them; a success gives the reservations back (buckets count
    /// failures). An unknown name takes the same steps: the same buckets (keyed by the
    /// name), one lookup, one verification (against a dummy hash), the same answers.
    ///
    /// [`source_key`]: super::throttle::source_key
    pub async fn sign_in(
        &self,
        name: &str,
        password: &str,
        source: &str,
    ) -> Result<SignedInSession, AuthError> {
        self.sign_in_on(name, password, source, "API client").await
    }

    /// [`Accounts::sign_in`] from `device` ([`super::session::device_label`]), shown in the account's
    /// session list.
    pub async fn sign_in_on(
        &self,
        name: &str,
        password: &str,
        source: &str,
        device: &str,
    ) -> Result<SignedInSession, AuthError> {
        // The epoch read with the hash goes into the session: if the password changes (or
        // the account goes) while this sign-in hashes, the session it inserts is dead.
        let user = self.verify(name, password, source).await?;
        self.new_session(user.id, user.name, user.epoch, device)
            .await
    }

    /// Checks `name`'s password, throttled as a sign-in ([`Accounts::sign_in`]): the same
    /// buckets, the same work for an unknown name. Returns the account.
    async fn verify(
        &self,
        name: &str,
        password: &str,
        source: &str,
    ) -> Result<StoredUser, AuthError> {
        let name = name.trim().to_lowercase();
        if check_credentials(&name, password).is_err() {
            // No account has such a name or password; nothing to look up or hash.
            return Err(AuthError::InvalidCredentials);
        }
        let l = self.limits;
        let pair = format!("p|{name}|{source}");
        let known = format!("k|{name}|{source}");
        let mut reserved = self.reserve();
        reserved.take(pair.clone(), l.per_pair).await?;
        reserved.take(format!("s|{source}"), l.per_source).await?;
        if !self.buckets.is_marked(&known).await? {
            reserved.take(format!("a|{name}"), l.per_account).await?;
        }
        let Some(admission) = self.gate.admit() else {
            reserved.give_back().await?;
            return Err(AuthError::Busy);
        };
        let user = self.store.user_by_name(&name).await?;
        let hash = user
            .as_ref()
            .map_or(DUMMY_HASH, |u| u.hash.as_str())
            .to_owned();
        let password = password.to_owned();
        let verified = self
            .gate
            .run(&admission, move |memory| {
                verify_password(&password, &hash, memory)
            })
            .await?;
        let Some(user) = user.filter(|_| verified) else {
            return Err(AuthError::InvalidCredentials);
        };
        // The owner from this source: its earlier failures were most likely the owner's.
        reserved.taken.retain(|(k, _)| *k != pair);
        reserved.give_back().await?;
        self.buckets.forget(&pair).await?;
        self.buckets.mark(&known, l.known_for).await?;
        Ok(user)
    }

    async fn new_session(
        &self,
        user_id: String,
        name: String,
        epoch: i64,
        device: &str,
    ) -> Result<SignedInSession, AuthError> {
        let token = random_token();
        let now = now_ms() as i64;
        self.store
            .insert_session(&StoredSession {
                key: token_key(&token),
                user_id: user_id.clone(),
                name: name.clone(),
                expires_ms: now + SESSION_TTL.as_millis() as i64,
                created_ms: Some(now),
                last_used_ms: Some(now),
                device: Some(device.chars().take(64).collect()),
                epoch,
            })
            .await?;
        Ok(SignedInSession {
            user_id,
            name,
            token,
            epoch,
        })
    }

    /// The session of a token, if it exists, has not expired, its account still exists and
    /// its credentials are the account's current ones (its epoch is not older). Records its
    /// use, at most once per [`TOUCH_EVERY`], without making the request wait for that
    /// write.
    ///
    /// A session found valid is not read again for [`super::cache::SESSION_CACHE_TTL`]
    /// (see [`super::cache`] for what that means for revocation).
    pub async fn session(&self, token: &str) -> Result<Option<SignedInSession>, StoreError> {
        let now = now_ms() as i64;
        let key = token_key(token);
        let c = match self.cache.get(&key, now) {
            Some(c) => c,
            None => {
                let lookup = self.cache.start();
                let Some(c) = self.read_session(&key, now).await? else {
                    return Ok(None);
                };
                self.cache.keep(&key, c.clone(), lookup);
                c
            }
        };
        if c.touched_ms
            .is_none_or(|t| now - t >= TOUCH_EVERY.as_millis() as i64)
        {
            self.cache.touched(&key, now);
            let store = self.store.clone();
            tokio::spawn(async move {
                if let Err(e) = store.touch_session(&key, now).await {
                    tracing::debug!("session use not recorded: {e}");
                }
            });
        }
        Ok(Some(c.session(token)))
    }

    /// The session of a token read from the database, never from the cache: for what must
    /// not act on a session ended or outdated up to [`super::cache::SESSION_CACHE_TTL`] ago
    /// on another process (changing the password computes the next credential epoch from
    /// the session's; deleting the account). `None`: no such valid session.
    pub async fn fresh_session(
        &self,
        me: &SignedInSession,
    ) -> Result<Option<SignedInSession>, StoreError> {
        let now = now_ms() as i64;
        let key = token_key(&me.token);
        Ok(self
            .read_session(&key, now)
            .await?
            .map(|c| c.session(&me.token)))
    }

    /// The session under `key` as stored, if it is valid now.
    async fn read_session(&self, key: &str, now: i64) -> Result<Option<Cached>, StoreError> {
        let Some((s, epoch)) = self.store.session_and_epoch(key, now).await? else {
            return Ok(None);
        };
        // Its account is gone, or its credentials are older than the account's.
        if epoch.is_none_or(|epoch| s.epoch < epoch) {
            return Ok(None);
        }
        Ok(Some(Cached {
            user_id: s.user_id,
            name: s.name,
            epoch: s.epoch,
            expires_ms: s.expires_ms,
            touched_ms: s.last_used_ms,
        }))
    }

    /// Drops what the feed of ended sessions says has ended from the sessions kept as
    /// checked (all of them when the feed reopens: it may have missed some).
    pub fn session_ended(&self, event: &crate::storage::SessionEvent) {
        match event {
            crate::storage::SessionEvent::Ended { key } => self.cache.forget(key),
            crate::storage::SessionEvent::Reopened => self.cache.forget_all(),
        }
    }

    /// Ends a session.
    pub async fn sign_out(&self, token: &str) -> Result<(), StoreError> {
        let key = token_key(token);
        self.store.delete_session(&key).await?;
        self.cache.forget(&key);
        Ok(())
    }

    /// The sessions of the signed-in user, most recently used first; `current` marks the
    /// session of `me`.
    pub async fn sessions(&self, me: &SignedInSession) -> Result<Vec<SessionInfo>, StoreError> {
        let mine = token_key(&me.token);
        let mut list = self.store.sessions_of(&me.user_id, now_ms() as i64).await?;
        list.sort_by_key(|s| std::cmp::Reverse(s.last_used_ms.or(s.created_ms)));
        let ms = |t: Option<i64>| t.map(|t| t.max(0) as u64);
        Ok(list
            .into_iter()
            .map(|s| SessionInfo {
                current: s.key == mine,
                device: s.device.unwrap_or_else(|| "Unknown device".into()),
                created_ms: ms(s.created_ms),
                last_used_ms: ms(s.last_used_ms),
                expires_ms: s.expires_ms.max(0) as u64,
                id: s.key,
            })
            .collect())
    }

    /// Ends session `id` (a [`SessionInfo::id`]) if it is one of
    /// `me`'s user; another user's session id ends nothing.
    pub async fn end_session(&self, me: &SignedInSession, id: &str) -> Result<(), StoreError> {
        let theirs = self.store.session(id, now_ms() as i64).await?;
        if theirs.is_some_and(|s| s.user_id == me.user_id) {
            self.store.delete_session(id).await?;
            self.cache.forget(id);
        }
        Ok(())
    }

    /// Ends every session of `me`'s user, this one included. Returns how many.
    pub async fn end_all_sessions(&self, me: &SignedInSession) -> Result<u64, StoreError> {
        let ended = self.store.delete_sessions_of(&me.user_id, None).await?;
        self.cache.forget_user(&me.user_id);
        Ok(ended)
    }

    /// Changes `me`'s password: the current one is checked (throttled like a sign-in, from
    /// `source`), the new one must meet the rules; then every other session ends. Returns
    /// how many sessions ended.
    ///
    /// The account's credential epoch moves on: `me` is moved to the new epoch first (it
    /// stays valid throughout), then the hash and the epoch are written together, so any
    /// session made with the old password, even one a sign-in in flight inserts later, is
    /// dead; the other sessions are then deleted as well.
    pub async fn change_password(
        &self,
        me: &SignedInSession,
        current: &str,
        new: &str,
        source: &str,
    ) -> Result<u64, AuthError> {
        check_credentials(&me.name, new)?;
        self.check_password(me, current, source).await?;
        let Some(admission) = self.gate.admit() else {
            return Err(AuthError::Busy);
        };
        let new = new.to_owned();
        let hash = self
            .gate
            .run(&admission, move |memory| hash_password(&new, memory))
            .await??;
        let epoch = me.epoch + 1;
        self.store.set_session_epoch(&me.key(), epoch).await?;
        self.store.set_hash(&me.user_id, &hash, epoch).await?;
        // The sessions of the old epoch are dead from here; the cache forgets them (and
        // `me`'s old epoch) once they are deleted too.
        let ended = self
            .store
            .delete_sessions_of(&me.user_id, Some(&token_key(&me.token)))
            .await;
        self.cache.forget_user(&me.user_id);
        Ok(ended?)
    }

    /// Checks `me`'s password again (throttled like a sign-in): [`AuthError::WrongPassword`]
    /// when it is wrong.
    pub async fn check_password(
        &self,
        me: &SignedInSession,
        password: &str,
        source: &str,
    ) -> Result<(), AuthError> {
        match self.verify(&me.name, password, source).await {
            Ok(u) if u.id == me.user_id => Ok(()),
            Ok(_) | Err(AuthError::InvalidCredentials) => Err(AuthError::WrongPassword),
            Err(e) => Err(e),
        }
    }

    /// Removes `me`'s account, every session of it and its throttling records (keyed by
    /// its name; the notes are the sync store's: see `api::delete_account`). The password
    /// must have been checked.
    pub async fn delete_user(&self, me: &SignedInSession) -> Result<(), StoreError> {
        self.store.delete_user(&me.user_id).await?;
        self.cache.forget_user(&me.user_id);
        self.buckets.forget_account(&me.name).await
    }
}

impl Accounts {
    /// The feed of ended sessions of the account store ([`AccountStore::ended_sessions`]).
    pub fn ended_sessions(
        &self,
    ) -> crate::storage::BoxStream<'static, crate::storage::SessionEvent> {
        self.store.ended_sessions()
    }
}
