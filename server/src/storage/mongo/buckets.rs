//! [`BucketStore`] on MongoDB: [`MongoBuckets`], collection `throttle`
//! ([`super::documents::BucketDoc`]).
//!
//! Each bucket is one document, so it holds across server processes (the server is
//! stateless and may be scaled out). Every step is one conditional update of that document
//! (`$inc` guarded by a range filter, or `$set` guarded by "already empty"), so parallel
//! requests can never take more than the bucket holds. A TTL index on `exp` removes buckets
//! once they are empty.

use std::time::Duration;

use mongodb::bson::{DateTime, doc};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};

use super::documents::{BucketDoc, named};
use crate::storage::buckets::{BucketStore, Rate, Refused};
use crate::storage::buckets::{Step, account_keys, bucket_expiry, step};
use crate::storage::error::{BoxFuture, StoreError};

/// The buckets in MongoDB collection `throttle` ([`BucketDoc`]).
#[derive(Clone)]
pub struct MongoBuckets {
    coll: Collection<BucketDoc>,
}

impl std::fmt::Debug for MongoBuckets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MongoBuckets").finish_non_exhaustive()
    }
}

/// How many times a take is retried when parallel takes of the same bucket race.
const RACE_RETRIES: usize = 8;

impl BucketStore for MongoBuckets {
    fn ensure_indexes(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(MongoBuckets::ensure_indexes(self))
    }
    fn take<'a>(
        &'a self,
        key: &'a str,
        rate: Rate,
    ) -> BoxFuture<'a, Result<Result<(), Refused>, StoreError>> {
        Box::pin(MongoBuckets::take(self, key, rate))
    }
    fn give_back<'a>(&'a self, key: &'a str, rate: Rate) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(MongoBuckets::give_back(self, key, rate))
    }
    fn forget<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(MongoBuckets::forget(self, key))
    }
    fn is_marked<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(MongoBuckets::is_marked(self, key))
    }
    fn mark<'a>(&'a self, key: &'a str, ttl: Duration) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(MongoBuckets::mark(self, key, ttl))
    }
    fn forget_account<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let (ranges, account) = account_keys(name);
            for (from, to) in ranges {
                self.coll
                    .delete_many(doc! {"_id": {"$gte": from, "$lt": to}})
                    .await?;
            }
            self.coll.delete_one(doc! {"_id": account}).await?;
            Ok(())
        })
    }
}

impl MongoBuckets {
    /// The buckets in `db`.
    pub fn new(db: &Database) -> Self {
        Self {
            coll: db.collection("throttle"),
        }
    }

    /// Creates the TTL index that removes empty buckets and forgotten sources.
    async fn ensure_indexes(&self) -> Result<(), StoreError> {
        self.coll
            .create_index(
                IndexModel::builder()
                    .keys(doc! {"exp": 1})
                    .options(IndexOptions::builder().expire_after(Duration::ZERO).build())
                    .build(),
            )
            .await?;
        Ok(())
    }

    async fn take(&self, key: &str, rate: Rate) -> Result<Result<(), Refused>, StoreError> {
        let every = rate.every_ms();
        for _ in 0..RACE_RETRIES {
            let now = DateTime::now().timestamp_millis();
            let exp = DateTime::from_millis(bucket_expiry(now, rate));
            let found = self
                .coll
                .find_one(doc! {"_id": key})
                .await
                .map_err(|e| named("throttle", key, e))?;
            let (step, cap) = step(found.and_then(|d| d.tat), now, rate);
            let taken = match step {
                Step::Start => match self
                    .coll
                    .insert_one(BucketDoc {
                        key: key.to_owned(),
                        tat: Some(now + every),
                        exp,
                    })
                    .await
                {
                    Ok(_) => true,
                    Err(e) if is_duplicate(&e) => false,
                    Err(e) => return Err(e.into()),
                },
                Step::Restart => {
                    // Empty: start again from now, unless a parallel take got there first.
                    self.coll
                        .update_one(
                            doc! {"_id": key, "tat": {"$lt": now}},
                            doc! {"$set": {"tat": now + every, "exp": exp}},
                        )
                        .await?
                        .matched_count
                        == 1
                }
                Step::Add => {
                    // Room left: the filter re-checks it, so parallel takes cannot overfill.
                    self.coll
                        .update_one(
                            doc! {"_id": key, "tat": {"$gte": now, "$lte": cap}},
                            doc! {"$inc": {"tat": every}, "$set": {"exp": exp}},
                        )
                        .await?
                        .matched_count
                        == 1
                }
                Step::Refuse(refused) => return Ok(Err(refused)),
            };
            if taken {
                return Ok(Ok(()));
            }
        }
        // Lost every race: the bucket is being hammered; refuse rather than overfill.
        Ok(Err(Refused(rate.every)))
    }

    /// Gives back one attempt taken from `key` (the attempt succeeded or never happened).
    async fn give_back(&self, key: &str, rate: Rate) -> Result<(), StoreError> {
        self.coll
            .update_one(doc! {"_id": key}, doc! {"$inc": {"tat": -rate.every_ms()}})
            .await?;
        Ok(())
    }

    /// Empties bucket `key`.
    async fn forget(&self, key: &str) -> Result<(), StoreError> {
        self.coll.delete_one(doc! {"_id": key}).await?;
        Ok(())
    }

    /// Whether `key` is a mark set by [`BucketStore::mark`] that has not expired.
    async fn is_marked(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self
            .coll
            .find_one(doc! {"_id": key, "exp": {"$gt": DateTime::now()}})
            .await?
            .is_some())
    }

    /// Sets the mark `key` for `ttl`.
    async fn mark(&self, key: &str, ttl: Duration) -> Result<(), StoreError> {
        let exp =
            DateTime::from_millis(DateTime::now().timestamp_millis() + ttl.as_millis() as i64);
        self.coll
            .update_one(doc! {"_id": key}, doc! {"$set": {"exp": exp}})
            .upsert(true)
            .await?;
        Ok(())
    }
}

fn is_duplicate(e: &mongodb::error::Error) -> bool {
    matches!(&*e.kind, ErrorKind::Write(WriteFailure::WriteError(w)) if w.code == 11000)
}
