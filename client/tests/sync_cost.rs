//! A sync costs what changed, not how many notes the device has: counted on a store that
//! counts every note record it hands out or touches.

use std::cell::{Cell, RefCell};

use client::api::ApiError;
use client::engine::{Transport, sync};
use client::local::{LocalNote, LocalStore, Notes, StoreError};
use client::memory::MemoryStore;
use futures::executor::block_on;
use sync_core::protocol::{
    Change, ChangeOutcome, ChangeResult, Cursor, PROTOCOL_VERSION, SyncRequest, SyncResponse,
};
use sync_core::{Hlc, NoteId, NoteState};

/// A [`MemoryStore`] that counts the note records read: returned by any read, or touched by
/// a sync commit (the notes the response names).
struct Counting {
    inner: MemoryStore,
    reads: Cell<usize>,
}

impl Counting {
    fn take(&self) -> usize {
        self.reads.replace(0)
    }
    fn saw(&self, n: usize) {
        self.reads.set(self.reads.get() + n);
    }
}

impl LocalStore for Counting {
    async fn get(&self, id: &NoteId) -> Result<Option<LocalNote>, StoreError> {
        let n = self.inner.get(id).await?;
        self.saw(usize::from(n.is_some()));
        Ok(n)
    }
    async fn put(&self, note: &LocalNote) -> Result<(), StoreError> {
        self.inner.put(note).await
    }
    async fn list(&self) -> Result<Vec<LocalNote>, StoreError> {
        let v = self.inner.list().await?;
        self.saw(v.len());
        Ok(v)
    }
    async fn pending(&self) -> Result<Vec<LocalNote>, StoreError> {
        let v = self.inner.pending().await?;
        self.saw(v.len());
        Ok(v)
    }
    async fn pending_count(&self) -> Result<usize, StoreError> {
        self.inner.pending_count().await
    }
    async fn page(&self, before: Option<&Hlc>, limit: usize) -> Result<Vec<LocalNote>, StoreError> {
        let v = self.inner.page(before, limit).await?;
        self.saw(v.len());
        Ok(v)
    }
    async fn live_count(&self) -> Result<usize, StoreError> {
        self.inner.live_count().await
    }
    async fn change_seq(&self) -> Result<u64, StoreError> {
        self.inner.change_seq().await
    }
    async fn changed_since(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, LocalNote)>, StoreError> {
        let v = self.inner.changed_since(after, limit).await?;
        self.saw(v.len());
        Ok(v)
    }
    async fn update_note(
        &self,
        id: &NoteId,
        f: &mut dyn FnMut(&mut LocalNote) -> bool,
    ) -> Result<Option<LocalNote>, StoreError> {
        let n = self.inner.update_note(id, f).await?;
        self.saw(usize::from(n.is_some()));
        Ok(n)
    }
    async fn get_meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.inner.get_meta(key).await
    }
    async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.inner.set_meta(key, value).await
    }
    async fn cursor(&self) -> Result<Option<Cursor>, StoreError> {
        self.inner.cursor().await
    }
    async fn commit_sync(&self, sent: &[Change], r: &SyncResponse) -> Result<(), StoreError> {
        self.saw(client::local::affected_ids(r).len());
        self.inner.commit_sync(sent, r).await
    }
}

/// A server that accepts every change and sends the remote notes queued for the next
/// request, recording what it was sent.
#[derive(Default)]
struct Server {
    version: Cell<u64>,
    to_pull: RefCell<Vec<NoteState>>,
    pushed: RefCell<Vec<Change>>,
}

impl Transport for Server {
    async fn sync(&self, req: &SyncRequest) -> Result<SyncResponse, ApiError> {
        let results = req
            .changes
            .iter()
            .map(|c| {
                self.version.set(self.version.get() + 1);
                ChangeResult {
                    change_id: c.change_id.clone(),
                    note_id: c.note_id.clone(),
                    outcome: ChangeOutcome::Applied {
                        version: self.version.get(),
                        current: None,
                    },
                    fields_refused: None,
                }
            })
            .collect();
        self.pushed.borrow_mut().extend(req.changes.iter().cloned());
        Ok(SyncResponse {
            protocol: PROTOCOL_VERSION,
            results,
            changes: self.to_pull.take(),
            cursor: Cursor(format!("v1.{}", self.version.get())),
            has_more: false,
            server_time_ms: client::platform::now_ms(),
        })
    }
}

fn remote(id: &str, version: u64) -> NoteState {
    NoteState {
        id: id.into(),
        title: format!("remote {id}"),
        content: String::new(),
        deleted: false,
        hlc: Hlc {
            wall_ms: 1_000 + version,
            counter: 0,
            node: "other".into(),
        },
        version,
        strategy: Default::default(),
        conflict: None,
        purged: false,
        fields: Default::default(),
    }
}

#[test]
fn a_sync_reads_only_what_changed_and_an_idle_sync_reads_no_note() {
    block_on(async {
        let store = Counting {
            inner: MemoryStore::new(),
            reads: Cell::new(0),
        };
        let notes = Notes::open(store).await.unwrap();
        let server = Server::default();
        // 2,000 notes, all synced.
        for i in 0..2_000 {
            notes.create(&format!("note {i}"), "text").await.unwrap();
        }
        sync(notes.store(), &server).await.unwrap();
        assert_eq!(server.pushed.borrow().len(), 2_000);
        notes.store().take();

        // Nothing to push, nothing new: no note record is read.
        let report = sync(notes.store(), &server).await.unwrap();
        assert_eq!((report.pushed, report.pulled), (0, 0));
        assert_eq!(notes.store().take(), 0, "an idle sync reads no note");

        // Two local edits and three remote notes: the sync reads those, and nothing else.
        let page = notes.page(None, 2).await.unwrap();
        for n in &page {
            notes.edit(&n.id, "edited", "").await.unwrap();
        }
        notes.store().take(); // the edits' own reads
        *server.to_pull.borrow_mut() = vec![
            remote("r1", 9_001),
            remote("r2", 9_002),
            remote("r3", 9_003),
        ];
        let report = sync(notes.store(), &server).await.unwrap();
        assert_eq!((report.pushed, report.pulled), (2, 3));
        // 2 outbox records, then the response's 5 notes (2 answered, 3 pulled).
        assert_eq!(notes.store().take(), 2 + 5);
        assert_eq!(notes.unsynced_count().await.unwrap(), 0);

        // And idle again.
        sync(notes.store(), &server).await.unwrap();
        assert_eq!(notes.store().take(), 0);
        assert_eq!(notes.count().await.unwrap(), 2_003);
    });
}

/// A server holding `total` notes, sent `page` at a time; the request numbered `fail_at`
/// (from 1) fails as if the connection dropped.
struct Paged {
    total: u64,
    page: u64,
    requests: Cell<u64>,
    fail_at: Cell<Option<u64>>,
    cursors: RefCell<Vec<Option<Cursor>>>,
}

impl Transport for Paged {
    async fn sync(&self, req: &SyncRequest) -> Result<SyncResponse, ApiError> {
        let n = self.requests.get() + 1;
        self.requests.set(n);
        self.cursors.borrow_mut().push(req.cursor.clone());
        if self.fail_at.get() == Some(n) {
            return Err(ApiError::Offline("connection reset".into()));
        }
        let from: u64 = req
            .cursor
            .as_ref()
            .map_or(0, |c| c.0.trim_start_matches("v1.").parse().unwrap());
        let to = (from + self.page).min(self.total);
        Ok(SyncResponse {
            protocol: PROTOCOL_VERSION,
            results: Vec::new(),
            changes: (from..to)
                .map(|i| remote(&format!("n{i:05}"), i + 1))
                .collect(),
            cursor: Cursor(format!("v1.{to}")),
            has_more: to < self.total,
            server_time_ms: client::platform::now_ms(),
        })
    }
}

#[test]
fn an_interrupted_first_sync_keeps_its_pages_and_resumes_where_it_stopped() {
    block_on(async {
        let notes = Notes::open(MemoryStore::new()).await.unwrap();
        let server = Paged {
            total: 2_500,
            page: 1_000,
            requests: Cell::new(0),
            fail_at: Cell::new(Some(3)),
            cursors: RefCell::new(Vec::new()),
        };
        let mut seen = Vec::new();
        let failed = client::engine::sync_observed(
            notes.store(),
            &server,
            Default::default(),
            &client::platform::now_ms,
            &mut |r| seen.push((r.pulled, r.changed.len())),
        )
        .await;
        assert!(failed.is_err());
        // Each page was committed (and reported) as it came: the first 2,000 are here.
        assert_eq!(seen, [(1_000, 1_000), (2_000, 2_000)]);
        assert_eq!(notes.count().await.unwrap(), 2_000);
        let first = notes.page(None, 1).await.unwrap();
        assert_eq!(first[0].title, "remote n01999");

        // The next run asks from where it stopped, and gets the rest.
        server.fail_at.set(None);
        let report = sync(notes.store(), &server).await.unwrap();
        assert_eq!(report.pulled, 500);
        assert_eq!(server.cursors.borrow()[3], Some(Cursor("v1.2000".into())));
        assert_eq!(notes.count().await.unwrap(), 2_500);
    });
}

/// [`Paged`], noting how many notes the device held when each request was sent.
struct Watching<'a> {
    server: Paged,
    store: &'a MemoryStore,
    held: RefCell<Vec<usize>>,
}

impl Transport for Watching<'_> {
    async fn sync(&self, req: &SyncRequest) -> Result<SyncResponse, ApiError> {
        let held = self.store.live_count().await.unwrap();
        self.held.borrow_mut().push(held);
        self.server.sync(req).await
    }
}

#[test]
fn a_long_pull_asks_for_the_next_page_while_it_writes_one() {
    block_on(async {
        let notes = Notes::open(MemoryStore::new()).await.unwrap();
        let server = Watching {
            server: Paged {
                total: 3_500,
                page: 1_000,
                requests: Cell::new(0),
                fail_at: Cell::new(None),
                cursors: RefCell::new(Vec::new()),
            },
            store: notes.store(),
            held: RefCell::new(Vec::new()),
        };
        let report = sync(notes.store(), &server).await.unwrap();
        assert_eq!((report.rounds, report.pulled), (4, 3_500));
        // Each next page was asked for before the page before it was written, with that
        // page's cursor.
        assert_eq!(*server.held.borrow(), [0, 0, 1_000, 2_000]);
        let cursors: Vec<_> = server
            .server
            .cursors
            .borrow()
            .iter()
            .map(|c| c.clone().map(|c| c.0))
            .collect();
        assert_eq!(
            cursors,
            [
                None,
                Some("v1.1000".into()),
                Some("v1.2000".into()),
                Some("v1.3000".into())
            ]
        );
        assert_eq!(notes.count().await.unwrap(), 3_500);
        assert_eq!(
            notes.store().cursor().await.unwrap(),
            Some(Cursor("v1.3500".into()))
        );
    });
}
