//! The change feeds on MongoDB: one change stream on `counters` (every push of a user
//! increments that user's counter in its transaction, so a commit made by *any* process
//! sharing the database is seen by every process) and one on `sessions`. One stream per
//! follower (one per server process), not per live connection: the database's work does
//! not grow with open devices.

use std::time::Duration;

use futures::StreamExt;
use mongodb::Database;
use mongodb::bson::{self as bson, Document};
use mongodb::change_stream::event::{ChangeStreamEvent, OperationType, ResumeToken};
use tokio::sync::mpsc;

use super::documents::{COUNTERS, CounterDoc};
use crate::storage::error::BoxStream;
use crate::storage::feed::{HeadEvent, SessionEvent};

/// Events a follower may fall behind by before the change stream waits for it.
const BACKLOG: usize = 1024;

/// The heads feed of `db` ([`crate::storage::SyncStore::heads`]): a task watches the
/// change stream for as long as the returned stream is held.
pub fn heads(db: Database) -> BoxStream<'static, HeadEvent> {
    let (tx, rx) = mpsc::channel(BACKLOG);
    tokio::spawn(watch_heads(db, tx));
    receive(rx)
}

/// The ended-sessions feed of `db` ([`crate::storage::AccountStore::ended_sessions`]).
pub fn ended_sessions(db: Database) -> BoxStream<'static, SessionEvent> {
    let (tx, rx) = mpsc::channel(BACKLOG);
    tokio::spawn(watch_sessions(db, tx));
    receive(rx)
}

fn receive<T: Send + 'static>(rx: mpsc::Receiver<T>) -> BoxStream<'static, T> {
    futures::stream::unfold(rx, |mut rx| async move { Some((rx.recv().await?, rx)) }).boxed()
}

/// Watches the `counters` collection of `db` and sends every user's new head to `tx`, until
/// `tx`'s receiver is gone. Reopens the change stream after any failure (from its resume
/// token when it has one), then says [`HeadEvent::Reopened`], so a gap never loses a change.
async fn watch_heads(db: Database, tx: mpsc::Sender<HeadEvent>) {
    let counters = db.collection::<Document>(COUNTERS);
    let mut token: Option<ResumeToken> = None;
    let mut pause = Duration::from_millis(100);
    loop {
        let opened = counters.watch().resume_after(token.clone()).await;
        let mut stream = match opened {
            Ok(s) => s,
            Err(e) if token.is_some() => {
                // The token may be gone from the database's history: start afresh.
                tracing::warn!("live feed: cannot resume ({e}); starting a new change stream");
                token = None;
                continue;
            }
            Err(e) => {
                tracing::warn!("live feed: cannot watch the database ({e}); retrying in {pause:?}");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        pause = Duration::from_millis(100);
        // Commits between the last event read (or this process's start) and now were not
        // seen: whoever follows catches up once. At start this covers devices that
        // connected before the stream was open.
        if tx.send(HeadEvent::Reopened).await.is_err() {
            return;
        }
        while let Some(event) = stream.next().await {
            match event {
                Ok(event) => {
                    let sent = match head_of(&event) {
                        Ok(Some((user, head))) => tx.send(HeadEvent::Moved { user, head }).await,
                        Ok(None) => Ok(()),
                        Err(e) => {
                            // Whose head moved is unknown: whoever follows catches up once.
                            tracing::error!(
                                "live feed: a change of `counters` does not decode ({e}); poking every device"
                            );
                            tx.send(HeadEvent::Reopened).await
                        }
                    };
                    if sent.is_err() {
                        return;
                    }
                    token = stream.resume_token();
                }
                Err(e) => {
                    tracing::warn!("live feed: change stream failed ({e}); reopening");
                    break;
                }
            }
        }
        tokio::time::sleep(pause).await;
    }
}

/// Watches the `sessions` collection of `db` and sends the key of every session deleted
/// (signed out, ended by a password change or an account deletion through any process, or
/// expired) to `tx`, until `tx`'s receiver is gone. Reopens the change stream after a
/// failure; a session deleted during such a gap keeps its live connections until their
/// `max_age` (their next reconnect is refused), which the log says.
async fn watch_sessions(db: Database, tx: mpsc::Sender<SessionEvent>) {
    let sessions = db.collection::<Document>("sessions");
    let mut token: Option<ResumeToken> = None;
    let mut pause = Duration::from_millis(100);
    loop {
        let mut stream = match sessions.watch().resume_after(token.clone()).await {
            Ok(s) => s,
            Err(e) => {
                if token.take().is_some() {
                    tracing::warn!(
                        "session feed: cannot resume ({e}); sessions ended meanwhile keep their live connections until they reconnect"
                    );
                } else {
                    tracing::warn!(
                        "session feed: cannot watch the database ({e}); retrying in {pause:?}"
                    );
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
                continue;
            }
        };
        pause = Duration::from_millis(100);
        if tx.send(SessionEvent::Reopened).await.is_err() {
            return;
        }
        while let Some(event) = stream.next().await {
            match event {
                Ok(event) => {
                    if matches!(event.operation_type, OperationType::Delete)
                        && let Some(key) = event
                            .document_key
                            .as_ref()
                            .and_then(|k| k.get_str("_id").ok())
                        && tx
                            .send(SessionEvent::Ended {
                                key: key.to_owned(),
                            })
                            .await
                            .is_err()
                    {
                        return;
                    }
                    token = stream.resume_token();
                }
                Err(e) => {
                    tracing::warn!("session feed: change stream failed ({e}); reopening");
                    break;
                }
            }
        }
        tokio::time::sleep(pause).await;
    }
}

/// The key of a `counters` document in a change event: the user.
#[derive(serde::Deserialize)]
struct CounterKey {
    #[serde(rename = "_id")]
    user: String,
}

/// The fields an update of a `counters` document set (`$inc` of `seq` sets it).
#[derive(serde::Deserialize)]
struct CounterUpdate {
    seq: Option<i64>,
}

/// The user and the new head of a change of one `counters` document ([`CounterDoc`]);
/// `Ok(None)` for an event that moves no head (a delete, a drop). Typed like every other
/// document the server reads: an event that does not decode is an error for the caller,
/// never taken as "nothing happened".
fn head_of(event: &ChangeStreamEvent<Document>) -> Result<Option<(String, u64)>, String> {
    let seq = match event.operation_type {
        OperationType::Insert | OperationType::Replace => {
            let doc = event
                .full_document
                .clone()
                .ok_or("an insert or replace without its document")?;
            let c: CounterDoc = bson::from_document(doc).map_err(|e| e.to_string())?;
            Some(c.seq)
        }
        OperationType::Update => {
            let fields = event
                .update_description
                .as_ref()
                .ok_or("an update without its description")?
                .updated_fields
                .clone();
            bson::from_document::<CounterUpdate>(fields)
                .map_err(|e| e.to_string())?
                .seq
        }
        _ => None,
    };
    let Some(seq) = seq else { return Ok(None) };
    let key = event
        .document_key
        .clone()
        .ok_or("a change without its document key")?;
    let CounterKey { user } = bson::from_document(key).map_err(|e| e.to_string())?;
    let seq = u64::try_from(seq).map_err(|_| format!("a negative head {seq}"))?;
    Ok(Some((user, seq)))
}
