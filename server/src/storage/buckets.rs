//! Sign-in throttling's buckets: the [`BucketStore`] trait and the rule both backends take
//! attempts by ([`step`], the generic cell rate algorithm; see `auth::throttle`).

use std::time::Duration;

use super::error::{BoxFuture, StoreError};

/// One leaky bucket: `burst` attempts at once, then one more every `every`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Attempts available when the bucket is empty.
    pub burst: u32,
    /// Time for one attempt to leak out.
    pub every: Duration,
}

impl Rate {
    /// [`Rate::every`] in milliseconds.
    pub fn every_ms(&self) -> i64 {
        self.every.as_millis() as i64
    }
}

/// A bucket that refused: wait this long before the next attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused(pub Duration);

impl Refused {
    /// Whole seconds to wait, at least 1 (for `Retry-After`).
    pub fn secs(self) -> u64 {
        self.0.as_millis().div_ceil(1000).max(1) as u64
    }
}

/// Where the buckets are kept. Every operation is atomic per key: parallel takes of one
/// bucket never take more than it holds.
pub trait BucketStore: Send + Sync {
    /// Prepares the storage (expiry of empty buckets); idempotent.
    fn ensure_indexes(&self) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Takes one attempt from bucket `key`, atomically.
    fn take<'a>(
        &'a self,
        key: &'a str,
        rate: Rate,
    ) -> BoxFuture<'a, Result<Result<(), Refused>, StoreError>>;
    /// Gives back one attempt taken from `key` (the attempt succeeded or never happened).
    fn give_back<'a>(&'a self, key: &'a str, rate: Rate) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Empties bucket `key`.
    fn forget<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Whether `key` is a mark set by [`BucketStore::mark`] that has not expired.
    fn is_marked<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// Sets the mark `key` for `ttl`.
    fn mark<'a>(&'a self, key: &'a str, ttl: Duration) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Removes every bucket and mark keyed by account `name` (`p|name|…`, `a|name`,
    /// `k|name|…`): the account is deleted.
    fn forget_account<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
}

/// The bucket keys of account `name`: the ranges `[p|name|, p|name})` and
/// `[k|name|, k|name})` (`}` follows `|`), and the key `a|name`.
pub fn account_keys(name: &str) -> ([(String, String); 2], String) {
    (
        [
            (format!("p|{name}|"), format!("p|{name}}}")),
            (format!("k|{name}|"), format!("k|{name}}}")),
        ],
        format!("a|{name}"),
    )
}

/// What taking one attempt from a bucket means, by the generic cell rate algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// No bucket yet: create it, ending at `now + every`.
    Start,
    /// Empty (`tat < now`): start again from now.
    Restart,
    /// Room left (`now <= tat <= cap`): move the end by `every`.
    Add,
    /// Full: refused for this long.
    Refuse(Refused),
}

/// The step for a bucket ending at `tat` (`None`: no bucket) at time `now` (ms), and the
/// last end time at which it still takes one more (`cap`).
pub fn step(tat: Option<i64>, now: i64, rate: Rate) -> (Step, i64) {
    let cap = now + (i64::from(rate.burst) - 1) * rate.every_ms();
    let step = match tat {
        None => Step::Start,
        Some(t) if t < now => Step::Restart,
        Some(t) if t <= cap => Step::Add,
        Some(t) => Step::Refuse(Refused(Duration::from_millis((t - cap) as u64))),
    };
    (step, cap)
}

/// When a bucket taken at `now` expires: once everything in it has leaked out.
pub fn bucket_expiry(now: i64, rate: Rate) -> i64 {
    now + i64::from(rate.burst) * rate.every_ms()
}
