//! [`AccountStore`] on MongoDB: [`MongoAccounts`], collections `users` and `sessions`
//! ([`super::documents`]).

use std::time::Duration;

use mongodb::bson::{Bson, DateTime, Document, doc};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};

use super::documents::{SessionDoc, UserDoc, named};
use crate::storage::accounts::{AccountStore, MAX_SESSIONS_LISTED, StoredSession, StoredUser};
use crate::storage::error::{BoxFuture, BoxStream, StoreError};
use crate::storage::feed::SessionEvent;

/// [`AccountStore`] in MongoDB: collections `users` and `sessions` ([`super::documents`]).
#[derive(Clone)]
pub struct MongoAccounts {
    db: Database,
}

impl std::fmt::Debug for MongoAccounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MongoAccounts").finish_non_exhaustive()
    }
}

impl MongoAccounts {
    /// Accounts in `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    fn users(&self) -> Collection<UserDoc> {
        self.db.collection("users")
    }
    fn sessions(&self) -> Collection<SessionDoc> {
        self.db.collection("sessions")
    }
}

impl AccountStore for MongoAccounts {
    fn ensure_indexes(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async {
            self.users()
                .create_index(
                    IndexModel::builder()
                        .keys(doc! {"name": 1})
                        .options(IndexOptions::builder().unique(true).build())
                        .build(),
                )
                .await?;
            self.sessions()
                .create_index(
                    IndexModel::builder()
                        .keys(doc! {"exp": 1})
                        .options(IndexOptions::builder().expire_after(Duration::ZERO).build())
                        .build(),
                )
                .await?;
            // An account's sessions: the session list, "sign out everywhere".
            self.sessions()
                .create_index(IndexModel::builder().keys(doc! {"u": 1}).build())
                .await?;
            Ok(())
        })
    }

    fn insert_user<'a>(&'a self, user: &'a StoredUser) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let doc = UserDoc {
                id: user.id.clone(),
                name: user.name.clone(),
                hash: user.hash.clone(),
                epoch: user.epoch,
            };
            match self.users().insert_one(doc).await {
                Ok(_) => Ok(true),
                Err(e) => match &*e.kind {
                    ErrorKind::Write(WriteFailure::WriteError(w)) if w.code == 11000 => Ok(false),
                    _ => Err(e.into()),
                },
            }
        })
    }

    fn user_by_name<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredUser>, StoreError>> {
        Box::pin(async move {
            let u = self
                .users()
                .find_one(doc! {"name": name})
                .await
                .map_err(|e| named("users", name, e))?;
            Ok(u.map(UserDoc::into_stored))
        })
    }

    fn user_by_id<'a>(
        &'a self,
        user_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredUser>, StoreError>> {
        Box::pin(async move {
            let u = self
                .users()
                .find_one(doc! {"_id": user_id})
                .await
                .map_err(|e| named("users", user_id, e))?;
            Ok(u.map(UserDoc::into_stored))
        })
    }

    fn insert_session<'a>(&'a self, s: &'a StoredSession) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.sessions()
                .insert_one(SessionDoc {
                    key: s.key.clone(),
                    user: s.user_id.clone(),
                    name: s.name.clone(),
                    exp: DateTime::from_millis(s.expires_ms),
                    created: s.created_ms.map(DateTime::from_millis),
                    seen: s.last_used_ms.map(DateTime::from_millis),
                    device: s.device.clone(),
                    epoch: s.epoch,
                })
                .await?;
            Ok(())
        })
    }

    fn session<'a>(
        &'a self,
        key: &'a str,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>> {
        Box::pin(async move {
            let d = self
                .sessions()
                .find_one(doc! {"_id": key, "exp": {"$gt": DateTime::from_millis(now_ms)}})
                .await
                .map_err(|e| named("sessions", "(by token)", e))?;
            Ok(d.map(SessionDoc::into_stored))
        })
    }

    fn session_and_epoch<'a>(
        &'a self,
        key: &'a str,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<Option<(StoredSession, Option<i64>)>, StoreError>> {
        Box::pin(async move {
            // One round trip for the session and its account (read on every signed-in
            // request): the account joined by `$lookup` on its `_id` index.
            let pipeline = [
                doc! {"$match": {"_id": key, "exp": {"$gt": DateTime::from_millis(now_ms)}}},
                doc! {"$limit": 1},
                doc! {"$lookup": {"from": "users", "localField": "u", "foreignField": "_id", "as": "user"}},
            ];
            let mut cur = self
                .sessions()
                .clone_with_type::<Document>()
                .aggregate(pipeline)
                .await?;
            let Some(mut d) = futures::TryStreamExt::try_next(&mut cur).await? else {
                return Ok(None);
            };
            let user = match d.remove("user") {
                Some(Bson::Array(users)) => users.into_iter().next(),
                _ => None,
            };
            let epoch = match user {
                Some(Bson::Document(u)) => Some(
                    mongodb::bson::from_document::<UserDoc>(u)
                        .map_err(|e| named("users", "(by session)", e.into()))?
                        .epoch,
                ),
                _ => None,
            };
            let s: SessionDoc = mongodb::bson::from_document(d)
                .map_err(|e| named("sessions", "(by token)", e.into()))?;
            Ok(Some((s.into_stored(), epoch)))
        })
    }

    fn delete_session<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.sessions().delete_one(doc! {"_id": key}).await?;
            Ok(())
        })
    }

    fn sessions_of<'a>(
        &'a self,
        user_id: &'a str,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<Vec<StoredSession>, StoreError>> {
        Box::pin(async move {
            // Bounded: an account has at most one session per sign-in in 30 days.
            let docs: Vec<SessionDoc> = futures::TryStreamExt::try_collect(
                self.sessions()
                    .find(doc! {"u": user_id, "exp": {"$gt": DateTime::from_millis(now_ms)}})
                    .limit(MAX_SESSIONS_LISTED as i64)
                    .await?,
            )
            .await
            .map_err(|e| named("sessions", user_id, e))?;
            Ok(docs.into_iter().map(SessionDoc::into_stored).collect())
        })
    }

    fn delete_sessions_of<'a>(
        &'a self,
        user_id: &'a str,
        keep: Option<&'a str>,
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let filter = match keep {
                Some(k) => doc! {"u": user_id, "_id": {"$ne": k}},
                None => doc! {"u": user_id},
            };
            Ok(self.sessions().delete_many(filter).await?.deleted_count)
        })
    }

    fn touch_session<'a>(
        &'a self,
        key: &'a str,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.sessions()
                .update_one(
                    doc! {"_id": key},
                    doc! {"$set": {"seen": DateTime::from_millis(now_ms)}},
                )
                .await?;
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
            self.users()
                .update_one(
                    doc! {"_id": user_id},
                    doc! {"$set": {"hash": hash}, "$max": {"ep": epoch}},
                )
                .await?;
            Ok(())
        })
    }

    fn set_session_epoch<'a>(
        &'a self,
        key: &'a str,
        epoch: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.sessions()
                .update_one(doc! {"_id": key}, doc! {"$set": {"ep": epoch}})
                .await?;
            Ok(())
        })
    }

    fn delete_user<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            // Sessions first: a user document without sessions is harmless if the second
            // step fails (the owner signs in and deletes again); sessions of a deleted user
            // would still authenticate.
            self.sessions().delete_many(doc! {"u": user_id}).await?;
            self.users().delete_one(doc! {"_id": user_id}).await?;
            Ok(())
        })
    }

    fn ended_sessions(&self) -> BoxStream<'static, SessionEvent> {
        super::feed::ended_sessions(self.db.clone())
    }
}
