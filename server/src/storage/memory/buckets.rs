//! [`BucketStore`] in memory: [`MemoryBuckets`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::clock::now_ms;
use crate::storage::buckets::{BucketStore, Rate, Refused};
use crate::storage::buckets::{Step, account_keys, bucket_expiry, step};
use crate::storage::error::{BoxFuture, StoreError};

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
            let now = now_ms() as i64;
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
            Ok(b.get(key).is_some_and(|(_, exp)| *exp > now_ms() as i64))
        })
    }

    fn forget_account<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let (ranges, account) = account_keys(name);
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
            let exp = now_ms() as i64 + ttl.as_millis() as i64;
            b.entry(key.to_owned())
                .and_modify(|e| e.1 = exp)
                .or_insert((None, exp));
            Ok(())
        })
    }
}
