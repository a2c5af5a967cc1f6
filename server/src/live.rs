//! Live updates: `GET /live` tells a user's open devices, within milliseconds of a commit,
//! that their notes changed, so that they sync at once instead of at the next poll.
//!
//! ## Shape
//! - **Data-less pokes.** An event says only "sync now" (and the cursor the user's head
//!   stands at, so a device already there can skip the round). The notes themselves still
//!   come through `POST /sync`: one code path for data, with all its checks and limits.
//! - **From the storage, not from memory.** Each server process follows the store's feed of
//!   heads ([`crate::storage::SyncStore::heads`], [`follow_heads`]): on MongoDB one change
//!   stream on the `counters` collection, which every push writes in its transaction, so a
//!   commit made by *any* process sharing the database reaches the devices connected to
//!   *every* process; in memory, every `AppState` sharing the store. One feed per process,
//!   not per connection: the database's work does not grow with open devices.
//! - **Nothing missed after a gap.** A device syncs when it connects (the first event is a
//!   poke). When the feed (re)opens (database restart, failover, history lost), every
//!   connected device is poked once ([`Hub::gap`]): whatever happened during the gap is
//!   pulled.
//! - **Server-Sent Events**, not WebSocket: the channel is one-way (server to device), SSE
//!   is plain HTTP (the session cookie, the CSRF rules and proxies work as for `/sync`),
//!   browsers reconnect `EventSource` by themselves, and it needs no extra protocol code.
//! - **Bounded.** Connections per user and in total are limited ([`LiveLimits`]); past either
//!   the request is answered `503 unavailable` with `Retry-After` and the device falls back
//!   to polling. A connection lasts at most [`LiveLimits::max_age`] (the device reconnects,
//!   and its session is checked again). A heartbeat event every [`HEARTBEAT`] keeps proxies
//!   from closing an idle connection and lets a device notice one that died silently. Server shutdown ends every live connection
//!   ([`Hub::close_all`]), so a graceful shutdown does not wait on them.
//! - **No longer than its session.** Each connection is registered with the key of the
//!   session that opened it. When sessions end (sign-out, sign out everywhere, a password
//!   change, account deletion) the API ends their connections at once ([`Hub::end`]); and
//!   every process follows the feed of ended sessions ([`follow_sessions`]), so a session
//!   ended through another process (or expired) ends its connections here too.
//!
//! What a poke says is [`sync_core::protocol::Poke`], the type clients read it with.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use sync_core::protocol::Poke;
use tokio::sync::watch;

use crate::storage::{BoxStream, HeadEvent, SessionEvent};

/// Interval of the heartbeat comment on an idle live connection.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// Limits of the live channel.
#[derive(Clone, Copy, Debug)]
pub struct LiveLimits {
    /// Open live connections per user (`TERN_LIVE_PER_USER`, default 16): one per open
    /// device (tabs of one browser share one).
    pub per_user: usize,
    /// Open live connections of this server process (`TERN_LIVE_MAX`, default 10,000).
    pub total: usize,
    /// Longest life of one connection; the device reconnects (default 10 minutes).
    pub max_age: Duration,
}

impl Default for LiveLimits {
    fn default() -> Self {
        Self {
            per_user: 16,
            total: 10_000,
            max_age: Duration::from_secs(600),
        }
    }
}

/// Why a live connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LiveRefused {
    /// The user has [`LiveLimits::per_user`] connections open.
    #[error("too many live connections for this account")]
    PerUser,
    /// The process has [`LiveLimits::total`] connections open.
    #[error("too many live connections on this server")]
    Total,
    /// The server is shutting down.
    #[error("the server is shutting down")]
    Closing,
}

/// The live connections of one server process and what they wait for.
pub struct Hub {
    limits: Mutex<LiveLimits>,
    /// Per connected user: the newest head seen, and the connections that wait on it.
    users: Mutex<HashMap<String, UserLive>>,
    /// The id of the next connection.
    next_id: std::sync::atomic::AtomicU64,
    total: AtomicUsize,
    /// Bumped after a gap in the feed: every connection pokes its device.
    epoch: watch::Sender<u64>,
    /// Set when the server shuts down: every connection ends.
    closing: watch::Sender<bool>,
    /// The metrics' gauge of open connections (`tern_live_connections`).
    gauge: Option<prometheus_client::metrics::gauge::Gauge>,
}

/// One user's live connections.
struct UserLive {
    /// The user's newest head seen.
    head: watch::Sender<u64>,
    /// Each connection, by id: the key of its session, and what ends it.
    conns: HashMap<u64, (String, watch::Sender<bool>)>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").finish_non_exhaustive()
    }
}

impl Hub {
    /// A hub with these limits.
    pub fn new(limits: LiveLimits) -> Self {
        Self {
            limits: Mutex::new(limits),
            users: Mutex::default(),
            next_id: std::sync::atomic::AtomicU64::new(0),
            total: AtomicUsize::new(0),
            epoch: watch::Sender::new(0),
            closing: watch::Sender::new(false),
            gauge: None,
        }
    }

    /// Keeps `gauge` at the number of open connections.
    pub fn counted_by(mut self, gauge: prometheus_client::metrics::gauge::Gauge) -> Self {
        self.gauge = Some(gauge);
        self
    }

    /// The limits.
    pub fn limits(&self) -> LiveLimits {
        *self.limits.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the limits (for connections opened from now on).
    pub fn set_limits(&self, limits: LiveLimits) {
        *self.limits.lock().unwrap_or_else(|e| e.into_inner()) = limits;
    }

    /// Open live connections of this process.
    pub fn open(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    /// Registers a live connection of `user`, opened with the session stored under `session`
    /// (its key: [`crate::auth::SignedInSession::key`]).
    pub fn subscribe(
        self: &Arc<Self>,
        user: &str,
        session: &str,
    ) -> Result<Subscription, LiveRefused> {
        if *self.closing.borrow() {
            return Err(LiveRefused::Closing);
        }
        let limits = self.limits();
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        if self.total.load(Ordering::Relaxed) >= limits.total {
            return Err(LiveRefused::Total);
        }
        let u = users.entry(user.to_owned()).or_insert_with(|| UserLive {
            head: watch::Sender::new(0),
            conns: HashMap::new(),
        });
        if u.conns.len() >= limits.per_user {
            if u.conns.is_empty() {
                users.remove(user);
            }
            return Err(LiveRefused::PerUser);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let ended = watch::Sender::new(false);
        let sub_ended = ended.subscribe();
        u.conns.insert(id, (session.to_owned(), ended));
        self.total.fetch_add(1, Ordering::Relaxed);
        if let Some(g) = &self.gauge {
            g.inc();
        }
        Ok(Subscription {
            head: u.head.subscribe(),
            epoch: self.epoch.subscribe(),
            closing: self.closing.subscribe(),
            ended: sub_ended,
            hub: self.clone(),
            user: user.to_owned(),
            id,
        })
    }

    /// Ends the live connections of `user` whose session key `which` picks (their
    /// sessions ended); returns how many.
    pub fn end(&self, user: &str, which: impl Fn(&str) -> bool) -> usize {
        let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let Some(u) = users.get(user) else { return 0 };
        let mut n = 0;
        for (key, ended) in u.conns.values() {
            if which(key) {
                ended.send_replace(true);
                n += 1;
            }
        }
        n
    }

    /// Ends the live connections of the session stored under `key`, whoever's it is (a
    /// session deleted through another process: only its key is known).
    pub fn end_session(&self, key: &str) -> usize {
        let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let mut n = 0;
        for (k, ended) in users.values().flat_map(|u| u.conns.values()) {
            if k == key {
                ended.send_replace(true);
                n += 1;
            }
        }
        n
    }

    /// `user`'s head is now `seq` (from the feed): their connections poke their devices.
    pub fn notify(&self, user: &str, seq: u64) {
        let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(u) = users.get(user) {
            u.head.send_if_modified(|h| {
                let newer = seq > *h;
                if newer {
                    *h = seq;
                }
                newer
            });
        }
    }

    /// The feed may have missed commits: every connection pokes its device once.
    pub fn gap(&self) {
        self.epoch.send_modify(|e| *e += 1);
    }

    /// Ends every live connection and refuses new ones (server shutdown).
    pub fn close_all(&self) {
        self.closing.send_replace(true);
    }

    fn leave(&self, user: &str, id: u64) {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(u) = users.get_mut(user) {
            u.conns.remove(&id);
            if u.conns.is_empty() {
                users.remove(user);
            }
        }
        self.total.fetch_sub(1, Ordering::Relaxed);
        if let Some(g) = &self.gauge {
            g.dec();
        }
    }
}

/// One open live connection; leaves the hub when dropped.
pub struct Subscription {
    head: watch::Receiver<u64>,
    epoch: watch::Receiver<u64>,
    closing: watch::Receiver<bool>,
    /// Set when the connection's session ended.
    ended: watch::Receiver<bool>,
    hub: Arc<Hub>,
    user: String,
    id: u64,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.leave(&self.user, self.id);
    }
}

/// The `poke` event of `poke`.
fn event(poke: &Poke) -> Event {
    let data = serde_json::to_string(poke).expect("a poke serializes");
    Event::default().event("poke").data(data)
}

impl Subscription {
    /// The next poke for the device, or `None` when the connection should end (its session
    /// ended, server shutdown, or the connection reached `max_age` at `deadline`).
    async fn next(&mut self, deadline: tokio::time::Instant) -> Option<Poke> {
        tokio::select! {
            // First: a poke must never reach a device whose session has ended.
            biased;
            _ = self.ended.wait_for(|e| *e) => None,
            changed = self.head.changed() => {
                changed.ok()?;
                let seq = *self.head.borrow_and_update();
                Some(Poke { cursor: Some(crate::cursor::encode(seq)) })
            }
            changed = self.epoch.changed() => {
                changed.ok()?;
                self.epoch.borrow_and_update();
                Some(Poke::default())
            }
            _ = self.closing.wait_for(|c| *c) => None,
            () = tokio::time::sleep_until(deadline) => None,
        }
    }
}

/// The event stream of one live connection: a poke at once (the device syncs whatever it
/// missed while not connected), then one per change of the user's notes.
pub fn sse(sub: Subscription) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let deadline = tokio::time::Instant::now() + sub.hub.limits().max_age;
    let first = futures::stream::once(async { Ok(event(&Poke::default())) });
    let rest = futures::stream::unfold(sub, move |mut sub| async move {
        let poke = sub.next(deadline).await?;
        Some((Ok(event(&poke)), sub))
    });
    // The heartbeat is an event, not a comment: browsers hide comments from scripts, and a
    // device must see heartbeats to notice a connection that died without a word.
    let heartbeat = Event::default().event("hb").data("{}");
    Sse::new(first.chain(rest)).keep_alive(KeepAlive::new().interval(HEARTBEAT).event(heartbeat))
}

/// Follows the store's feed of heads ([`crate::storage::SyncStore::heads`]) into `hub`
/// until the feed ends: a moved head pokes that user's devices, a reopened feed pokes every
/// device once.
pub async fn follow_heads(mut feed: BoxStream<'static, HeadEvent>, hub: Arc<Hub>) {
    while let Some(event) = feed.next().await {
        match event {
            HeadEvent::Moved { user, head } => hub.notify(&user, head),
            HeadEvent::Reopened => hub.gap(),
        }
    }
}

/// Follows the feed of ended sessions ([`crate::storage::AccountStore::ended_sessions`])
/// into `hub` until the feed ends: an ended session's live connections end.
pub async fn follow_sessions(mut feed: BoxStream<'static, SessionEvent>, hub: Arc<Hub>) {
    while let Some(event) = feed.next().await {
        if let SessionEvent::Ended { key } = event {
            hub.end_session(&key);
        }
    }
}
