//! Browser-only operations behind plain async functions. With the `hydrate` feature they
//! use IndexedDB (through `tern-client`) and fetch; on the server they do nothing, because
//! the server never runs effects or event handlers.
//!
//! ## Accounts on one browser
//! Each account's notes, cursor and outbox live in an IndexedDB database of their own,
//! `tern-<account id>`; notes written while nobody is signed in live in `tern` (the
//! database of earlier builds, so their notes are found there). The page shows and syncs
//! exactly one of them: the account's while one is signed in on this browser, else `tern`.
//! Which one that is, and whether a sign-out still has to reach the server, is written in
//! `tern`'s meta (the service worker reads it too: it has no `localStorage`). Every session
//! change (sign-in, sign-out) happens while holding the sync lock, so no sync (page, other
//! tab or worker) ever runs across it and pushes one account's notes with another's cookie.

use sync_core::Strategy;
use sync_core::Text;
use sync_core::protocol::RevisionReason;

/// How a note stands with the server, as the list shows it (typed; `as_str` gives the
/// `data-sync` label).
pub use client::local::NoteStatus as NoteSync;

pub use client::engine::{FailureKind, SyncReport};
pub use client::runner::{SyncStatus, Trigger};

/// What to tell the user after a sync run, if anything: edits that lost, deletes undone,
/// conflicts, notes refused on the device.
pub fn notice(r: &SyncReport) -> String {
    let mut notice = Vec::new();
    if r.superseded > 0 {
        notice.push(format!(
            "{} of your edits lost to newer edits from another device; open the note's \
             History to bring them back.",
            r.superseded
        ));
    }
    if r.deletes_undone > 0 {
        notice.push(format!(
            "{} note(s) you deleted were edited on another device meanwhile, so they were kept.",
            r.deletes_undone
        ));
    }
    if r.conflicts > 0 {
        notice.push(format!(
            "{} note(s) were edited on two devices at once: choose a version.",
            r.conflicts
        ));
    }
    if r.refused > 0 {
        notice.push(format!(
            "{} note(s) are over a size limit and stay on this device: see the note.",
            r.refused
        ));
    }
    notice.join(" ")
}

/// A note as the list shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteView {
    /// Note id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Body.
    pub content: String,
    /// Sync state.
    pub sync: NoteSync,
    /// Why the last edit was refused (failed notes only).
    pub reason: String,
    /// The note's conflict strategy.
    pub strategy: Strategy,
    /// The concurrent versions waiting for the user, if any.
    pub conflict: Option<ConflictView>,
}

/// Most characters of a note's body the list shows.
pub const SNIPPET_CHARS: usize = 200;
/// Most lines of a note's body the list shows.
pub const SNIPPET_LINES: usize = 3;

impl NoteView {
    /// The note's text.
    pub fn text(&self) -> Text {
        Text {
            title: self.title.clone(),
            content: self.content.clone(),
        }
    }

    /// The start of the body as the list shows it: at most [`SNIPPET_LINES`] lines and
    /// [`SNIPPET_CHARS`] characters, so a row costs the same for a line as for a book.
    pub fn snippet(&self) -> &str {
        snippet(&self.content)
    }
}

/// See [`NoteView::snippet`].
pub fn snippet(content: &str) -> &str {
    let mut lines = 1;
    for (n, (i, c)) in content.char_indices().enumerate() {
        if n == SNIPPET_CHARS {
            return &content[..i];
        }
        if c == '\n' {
            if lines == SNIPPET_LINES {
                return &content[..i];
            }
            lines += 1;
        }
    }
    content
}

#[cfg(test)]
mod snippet_tests {
    use super::*;

    #[test]
    fn a_snippet_is_the_first_lines_and_characters() {
        assert_eq!(snippet(""), "");
        assert_eq!(snippet("one\ntwo\nthree\nfour"), "one\ntwo\nthree");
        assert_eq!(snippet("one\ntwo"), "one\ntwo");
        let long = "é".repeat(SNIPPET_CHARS + 5);
        assert_eq!(snippet(&long).chars().count(), SNIPPET_CHARS);
        assert_eq!(snippet(&"x".repeat(SNIPPET_CHARS)).len(), SNIPPET_CHARS);
    }
}

/// One version of a note's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextView {
    /// Title.
    pub title: String,
    /// Body.
    pub content: String,
    /// True for a delete.
    pub deleted: bool,
}

/// An unresolved conflict, as the conflict screen shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConflictView {
    /// The other versions (the note's own text is the first choice).
    pub versions: Vec<TextView>,
    /// The server's merge proposal, if it could make one.
    pub proposal: Option<TextView>,
}

/// One entry of a note's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevisionView {
    /// The text.
    pub text: TextView,
    /// Why it was kept.
    pub reason: RevisionReason,
    /// When, in local time.
    pub saved: String,
}

/// What the page shows of the local store: one screen of it, never every note.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// The notes listed: the first live notes, newest first (as many as the list shows),
    /// or the first results of the search, best first.
    pub notes: Vec<NoteView>,
    /// How many notes there are (live ones), or how many match the search.
    pub total: usize,
    /// The open note as stored (it may be neither on the page nor among the results).
    pub open: Option<NoteView>,
    /// The id of the note read as `open` (`open` is `None` if it is deleted).
    pub open_id: Option<String>,
    /// Notes (deletes included) with an edit the server has not accepted yet.
    pub unsynced: usize,
    /// The search index is still being built (results may be incomplete).
    pub indexing: bool,
}

impl Snapshot {
    /// The note `id` as read, if it is on the page or open.
    pub fn find(&self, id: &str) -> Option<&NoteView> {
        self.open
            .as_ref()
            .filter(|n| n.id == id)
            .or_else(|| self.notes.iter().find(|n| n.id == id))
    }

    /// The note `id` as this read knows it: `Some(None)` if it read it as deleted, `None`
    /// if it did not read it (it was opened after the read began).
    pub fn stored(&self, id: &str) -> Option<Option<&NoteView>> {
        match self.find(id) {
            Some(n) => Some(Some(n)),
            None if self.open_id.as_deref() == Some(id) => Some(None),
            None => None,
        }
    }
}

/// What [`snapshot`] reads: the search (empty for none), how many notes to list, the open
/// note.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct View {
    /// The search box's text.
    pub query: String,
    /// Notes to list (pages of [`crate::LIST_PAGE`]).
    pub limit: usize,
    /// The open note's id.
    pub open: Option<String>,
}

/// A signed-in account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The account's id (names its database).
    pub id: String,
    /// The username.
    pub name: String,
}

/// The session as the server sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Session {
    /// Signed in.
    SignedIn(Account),
    /// No valid session.
    SignedOut,
    /// The server could not be asked (offline).
    Unknown,
}

/// What the page starts with, from this browser's own records (no network).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Start {
    /// The account whose notes this browser shows (signed in here last, not signed out).
    pub account: Option<Account>,
    /// A sign-out the server has not heard of yet: the session cookie must not sign the
    /// user back in.
    pub signed_out: bool,
}

/// What became of the notes written before any sign-in, when an account signs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Joining {
    /// There were none.
    Nothing,
    /// They joined the account (this browser was never used by another account).
    Joined(usize),
    /// This browser was used by other accounts too: the user is asked first.
    Ask(usize),
}

/// What the service worker syncs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkerTarget {
    /// This database (the signed-in account's).
    Sync(String),
    /// Nobody is signed in: nothing to sync.
    Nobody,
    /// A sign-out still had to reach the server (`ended`: it has now).
    SignOut {
        /// The server session is ended.
        ended: bool,
    },
}

/// What a save did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Saved {
    /// Written (or nothing to write). `stored` is what the store holds now: the editor's
    /// text, or the editor's text merged with what arrived meanwhile.
    Written {
        /// The note's id (new for a created note).
        id: String,
        /// The stored text.
        stored: Text,
    },
    /// The editor's text overlapped a version that arrived meanwhile: both are kept, the
    /// editor's as the note's text and the other as a conflict version.
    Conflict {
        /// The note's id.
        id: String,
        /// The stored text (the editor's).
        stored: Text,
    },
    /// The note was deleted meanwhile; nothing was written.
    Deleted,
}

/// The database of notes written while nobody is signed in, and of this browser's account
/// records.
pub const GUEST_DB: &str = "tern";

/// The database of `account`'s notes (`None`: nobody's).
pub fn db_of(account: Option<&Account>) -> String {
    match account {
        Some(a) => format!("tern-{}", a.id),
        None => GUEST_DB.to_owned(),
    }
}

#[cfg(feature = "hydrate")]
pub use imp::trash_days;
#[cfg(feature = "hydrate")]
pub(crate) use imp::{GuardRead, guard_for, notes, records, worker_target};
pub use imp::{
    account, adopt, announce_change, delete_note, end_pending_sign_out, history, is_online,
    join_guest_notes, list_shown, local_change, on_change, on_search_ready, on_store_closed,
    records_now, resolve_note, restore_note, save_draft, set_strategy, sign_out, sleep_ms,
    snapshot, start, start_sync, store_name, switch_account, time_label, trigger, whoami,
};

#[cfg(feature = "hydrate")]
mod imp {
    use std::cell::RefCell;
    use std::rc::Rc;

    use client::http::FetchTransport;
    use client::idb::IdbStore;
    use client::local::EditorSave;
    use client::local::{LocalStore, Notes, SyncState};
    use client::runner::{Guard, Runner, RunnerConfig, SyncStatus, Trigger};
    use gloo_net::http::Request;
    use sync_core::protocol::{Credentials, ErrorBody, SignedIn};
    use sync_core::{ChangeId, NoteId, Text};

    use super::{
        Account, ConflictView, Joining, NoteView, RevisionView, Saved, Session, Snapshot, Start,
        TextView, View, WorkerTarget,
    };

    use super::{GUEST_DB, db_of};

    /// Meta key (in `tern`): the account shown here, `{"id":…,"name":…}`.
    const META_ACCOUNT: &str = "account";
    /// Meta key (in `tern`): "1" while a sign-out has not reached the server.
    const META_SIGNED_OUT: &str = "signed_out";
    /// Meta key (in `tern`): ids of every account that signed in on this browser.
    const META_SEEN: &str = "accounts_seen";

    pub(crate) type PageNotes = Notes<Rc<IdbStore>>;
    type PageRunner = Runner<IdbStore, FetchTransport>;

    struct Open {
        name: String,
        notes: Rc<PageNotes>,
    }

    thread_local! {
        static CURRENT: RefCell<Option<Open>> = const { RefCell::new(None) };
        static RUNNER: RefCell<Option<PageRunner>> = const { RefCell::new(None) };
        static WANTED: RefCell<String> = RefCell::new(GUEST_DB.to_owned());
        static GUEST: RefCell<Option<Rc<IdbStore>>> = const { RefCell::new(None) };
    }

    /// The database the page shows now.
    pub fn store_name() -> String {
        WANTED.with(|w| w.borrow().clone())
    }

    /// The notes of the database the page shows (opened once).
    pub(crate) async fn notes() -> Result<Rc<PageNotes>, String> {
        let wanted = store_name();
        if let Some(n) = CURRENT.with(|c| {
            c.borrow()
                .as_ref()
                .filter(|o| o.name == wanted)
                .map(|o| o.notes.clone())
        }) {
            return Ok(n);
        }
        let store = IdbStore::open(&wanted).await.map_err(|e| e.to_string())?;
        let n = Rc::new(
            Notes::open(Rc::new(store))
                .await
                .map_err(|e| e.to_string())?,
        );
        if store_name() != wanted {
            return Err("the account changed".into());
        }
        // Another task may have opened it meanwhile: keep the first.
        Ok(CURRENT.with(|c| {
            let mut c = c.borrow_mut();
            match c.as_ref().filter(|o| o.name == wanted) {
                Some(o) => o.notes.clone(),
                None => {
                    *c = Some(Open {
                        name: wanted,
                        notes: n.clone(),
                    });
                    n
                }
            }
        }))
    }

    /// The meta key (in `tern`) of the server's trash period.
    const META_TRASH_DAYS: &str = "trash_days";

    async fn guest() -> Result<Rc<IdbStore>, String> {
        if let Some(g) = GUEST.with(|g| g.borrow().clone()) {
            return Ok(g);
        }
        let g = Rc::new(IdbStore::open(GUEST_DB).await.map_err(|e| e.to_string())?);
        GUEST.with(|slot| *slot.borrow_mut() = Some(g.clone()));
        Ok(g)
    }

    fn parse_account(json: &str) -> Option<Account> {
        let v: serde_json::Value = serde_json::from_str(json).ok()?;
        Some(Account {
            id: v.get("id")?.as_str()?.to_owned(),
            name: v.get("name")?.as_str()?.to_owned(),
        })
    }

    /// The account records of this browser (in `tern`'s meta), as the page and the worker
    /// read them.
    pub(crate) async fn records(store: &IdbStore) -> Result<Start, String> {
        let meta = |k| async move { store.get_meta(k).await.map_err(|e| e.to_string()) };
        let signed_out = meta(META_SIGNED_OUT).await?.as_deref() == Some("1");
        let account = meta(META_ACCOUNT).await?.as_deref().and_then(parse_account);
        Ok(Start {
            account: account.filter(|_| !signed_out),
            signed_out,
        })
    }

    /// This browser's account records now (another tab may have changed them).
    pub async fn records_now() -> Start {
        match guest().await {
            Ok(g) => records(&g).await.unwrap_or_default(),
            Err(_) => Start::default(),
        }
    }

    /// Reads this browser's account records and shows the database they name.
    pub async fn start() -> Start {
        let start = records_now().await;
        WANTED.with(|w| *w.borrow_mut() = db_of(start.account.as_ref()));
        start
    }

    /// Shows (and syncs) this account's notes, or the notes of nobody's (`None`).
    pub fn switch_account(account: Option<&Account>) {
        let name = db_of(account);
        WANTED.with(|w| *w.borrow_mut() = name.clone());
        // The old connection closes; a sync still running on it finishes on its own store.
        CURRENT.with(|c| {
            if c.borrow().as_ref().is_some_and(|o| o.name != name) {
                *c.borrow_mut() = None;
            }
        });
    }

    /// Records `account` as the one signed in on this browser (and no sign-out pending),
    /// and says what becomes of the notes written before any sign-in. The page then shows
    /// the account's notes ([`switch_account`]).
    pub async fn adopt(account: &Account) -> Result<Joining, String> {
        let g = guest().await?;
        let set = |k: &'static str, v: String| {
            let g = g.clone();
            async move { g.set_meta(k, &v).await.map_err(|e| e.to_string()) }
        };
        let json = serde_json::json!({"id": account.id, "name": account.name}).to_string();
        set(META_ACCOUNT, json).await?;
        set(META_SIGNED_OUT, String::new()).await?;
        let mut seen: Vec<String> = g
            .get_meta(META_SEEN)
            .await
            .ok()
            .flatten()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default();
        let others = seen.iter().any(|s| *s != account.id);
        if !seen.contains(&account.id) {
            seen.push(account.id.clone());
            set(META_SEEN, serde_json::to_string(&seen).unwrap_or_default()).await?;
        }
        let waiting = guest_notes(&g).await?.len();
        if waiting == 0 {
            return Ok(Joining::Nothing);
        }
        // Synced under some account by an earlier build: whose is not known here.
        let synced_before = g.cursor().await.map_err(|e| e.to_string())?.is_some();
        if others || synced_before {
            return Ok(Joining::Ask(waiting));
        }
        join_guest_notes(account).await.map(Joining::Joined)
    }

    /// The live notes of `tern` (written before any sign-in).
    async fn guest_notes(g: &IdbStore) -> Result<Vec<client::local::LocalNote>, String> {
        Ok(g.list()
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|n| !n.deleted)
            .collect())
    }

    /// Moves the notes written before any sign-in into `account`, as new edits of
    /// it (each pushed like a note written there). Returns how many moved.
    pub async fn join_guest_notes(account: &Account) -> Result<usize, String> {
        let g = guest().await?;
        let target = IdbStore::open(&db_of(Some(account)))
            .await
            .map_err(|e| e.to_string())?;
        let moved = move_notes(&g, &target).await;
        target.close();
        moved
    }

    async fn move_notes(g: &IdbStore, target: &IdbStore) -> Result<usize, String> {
        let moving = guest_notes(g).await?;
        for n in &moving {
            if target
                .get(&n.id)
                .await
                .map_err(|e| e.to_string())?
                .is_some()
            {
                continue; // already there (joined from another tab)
            }
            let mut joined = n.clone();
            // New to this account: the server never had it under this account.
            joined.base_version = None;
            joined.base = None;
            joined.conflict = None;
            joined.resolving = false;
            joined.pending = Some(ChangeId(client::platform::random_id()));
            joined.sync = SyncState::Pending;
            target.put(&joined).await.map_err(|e| e.to_string())?;
        }
        let all: Vec<NoteId> = g
            .list()
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|n| n.id)
            .collect();
        g.remove(&all).await.map_err(|e| e.to_string())?;
        Ok(moving.len())
    }

    /// What the page shows (see [`View`]): one page of notes by the list index, or the
    /// search's results through the search index, which first catches up with what was
    /// written since it last looked; the counts from counters (no note read).
    pub async fn snapshot(view: &View) -> Result<Snapshot, String> {
        let notes = notes().await?;
        let db = store_name();
        let err = |e: client::local::StoreError| e.to_string();
        let store = notes.store();
        // Independent reads run at once (each is an IndexedDB transaction and a round
        // trip to the browser's storage): what the index must catch up with, the open
        // note, the outbox's count and, with no search, the page and the note count.
        let searching = client::search::words(&view.query).next().is_some();
        let open_note = async {
            match &view.open {
                Some(id) => store.get(&NoteId(id.clone())).await.map(Some),
                None => Ok(None),
            }
        };
        let page = async {
            if searching {
                return Ok(None);
            }
            let (page, count) = futures::join!(notes.page(None, view.limit), notes.count());
            Ok::<_, client::local::StoreError>(Some((page?, count?)))
        };
        let ((), open, unsynced, page) = futures::join!(
            search::ensure(&db, &notes),
            open_note,
            notes.unsynced_count(),
            page
        );
        let (open, unsynced, page) = (
            open.map_err(err)?,
            unsynced.map_err(err)?,
            page.map_err(err)?,
        );
        let found = search::find(&db, &view.query, view.limit);
        let (list, total) = match (&found, page) {
            (Some(f), _) => {
                let mut got = store.get_many(&f.ids).await.map_err(err)?;
                got.retain(|n| !n.deleted);
                // Gone since it was indexed (moved to an account's database): forgotten.
                let gone: Vec<NoteId> = f
                    .ids
                    .iter()
                    .filter(|id| !got.iter().any(|n| n.id == **id))
                    .cloned()
                    .collect();
                search::forget(&db, &gone);
                (got, f.total - gone.len())
            }
            (None, Some(page)) => page,
            (None, None) => (Vec::new(), 0), // (a query of no word is no search)
        };
        let open = open.flatten().filter(|n| !n.deleted).map(note_view);
        Ok(Snapshot {
            notes: list.into_iter().map(note_view).collect(),
            total,
            open,
            open_id: view.open.clone(),
            unsynced,
            indexing: search::indexing(&db),
        })
    }

    fn note_view(n: client::local::LocalNote) -> NoteView {
        let reason = match &n.sync {
            SyncState::Failed { message, .. } => message.clone(),
            _ => String::new(),
        };
        let text = |title: &str, content: &str, deleted| TextView {
            title: title.to_owned(),
            content: content.to_owned(),
            deleted,
        };
        let sync = n.status();
        NoteView {
            sync,
            strategy: n.strategy,
            conflict: n.conflict.as_ref().map(|c| ConflictView {
                versions: c
                    .versions
                    .iter()
                    .map(|v| text(&v.title, &v.content, v.deleted))
                    .collect(),
                proposal: c
                    .proposal
                    .as_ref()
                    .map(|p| text(&p.title, &p.content, false)),
            }),
            id: n.id.0,
            title: n.title,
            content: n.content,
            reason,
        }
    }

    /// The search index of the notes shown, in memory (see [`client::search`]), kept
    /// with the store's change sequence number it is up to date with. At the first read
    /// of a database it is loaded from where it was saved (the store's `search` object
    /// store) and catches up with the notes written since; without a saved one it is built
    /// from every note, in chunks, in the background. Every read of the page then catches
    /// it up first ([`ensure`]): it reads only the notes written since (by this page, a
    /// sync, another tab or the service worker), so a note is found as soon as it is
    /// saved. It is saved again a while after it changed, in a transaction of its own.
    mod search {
        use std::cell::RefCell;
        use std::rc::Rc;

        use client::local::LocalStore;
        use client::search::{Found, SearchIndex};
        use sync_core::NoteId;

        use super::PageNotes;

        /// Notes read per transaction while building or catching up (the page handles
        /// input between them).
        const CHUNK: usize = 2_000;
        /// The index is saved this long after it changed (changes meanwhile are saved
        /// with it): a few MB written at most this often while the user types...
        const SAVE_AFTER_MS: i32 = 20_000;
        /// ... or, checked every second, as soon as this many notes changed since it was
        /// last saved (a large sync, a build from every note), so a reload soon after does
        /// not read them all again...
        const SAVE_BACKLOG: usize = 5_000;
        /// ... or once at least [`SAVE_QUIET_BACKLOG`] notes changed and nothing changed
        /// for this long (a sync that ended).
        const SAVE_QUIET_MS: f64 = 2_000.0;
        const SAVE_QUIET_BACKLOG: usize = 500;
        const SAVE_POLL_MS: i32 = 1_000;
        /// The index starts loading once the page has shown its first list (see
        /// [`super::list_shown`]) and painted it: loading and catching up decode on the
        /// page's thread, and the first page of the list comes first. At most this many
        /// waits of 50 ms for it.
        const START_WAITS: u32 = 60;

        struct Index {
            db: String,
            ix: SearchIndex,
            /// Up to date with the change sequence up to here; `None` while building.
            seq: Option<u64>,
            /// A catch-up is reading (one at a time: an older read never lands last).
            busy: bool,
            /// Changed since last saved (a save is scheduled).
            unsaved: bool,
            /// Notes taken in since last saved.
            backlog: usize,
            /// When notes were last taken in (ms since the epoch).
            changed_at: f64,
            /// Bumped when a build starts: work for an older one stops.
            generation: u64,
        }

        thread_local! {
            static INDEX: RefCell<Option<Index>> = const { RefCell::new(None) };
            /// Told when an index becomes ready ([`super::on_search_ready`]).
            pub(super) static READY: RefCell<Option<Box<dyn Fn()>>> = const { RefCell::new(None) };
        }

        fn ready() {
            READY.with(|r| {
                if let Some(f) = r.borrow().as_ref() {
                    f();
                }
            });
        }

        fn with<R>(db: &str, f: impl FnOnce(&mut Index) -> R) -> Option<R> {
            INDEX.with(|i| i.borrow_mut().as_mut().filter(|i| i.db == db).map(f))
        }

        /// The search's results (`None`: no search), from the index as built so far.
        pub fn find(db: &str, query: &str, limit: usize) -> Option<Found> {
            client::search::words(query).next()?;
            Some(
                with(db, |i| i.ix.search(query, limit))
                    .flatten()
                    .unwrap_or_default(),
            )
        }

        /// These notes are gone.
        pub fn forget(db: &str, ids: &[NoteId]) {
            with(db, |i| ids.iter().for_each(|id| i.ix.remove(id)));
        }

        /// True while the index of `db` is being built.
        pub fn indexing(db: &str) -> bool {
            with(db, |i| i.seq.is_none()).unwrap_or(true)
        }

        /// Starts the index of `db` if it has none; else catches it up with the notes
        /// written since it last looked (none, most of the time: one empty read).
        pub async fn ensure(db: &str, notes: &Rc<PageNotes>) {
            match with(db, |i| i.seq.is_some()) {
                None => start(db, notes.clone()),
                Some(false) => {}
                Some(true) => catch_up(db, notes).await,
            }
        }

        async fn catch_up(db: &str, notes: &Rc<PageNotes>) {
            // One at a time.
            let generation = loop {
                match with(db, |i| {
                    (!i.busy).then(|| {
                        i.busy = true;
                        i.generation
                    })
                }) {
                    None => return,
                    Some(None) => super::sleep_ms(5).await,
                    Some(Some(g)) => break g,
                }
            };
            let mut changed = false;
            while let Some(Some(after)) = with(db, |i| i.seq) {
                let Ok(batch) = notes.store().changed_since(after, CHUNK).await else {
                    break;
                };
                let applied = with(db, |i| {
                    if i.generation != generation {
                        return false;
                    }
                    for (seq, n) in &batch {
                        i.ix.upsert(n);
                        i.seq = i.seq.max(Some(*seq));
                    }
                    i.backlog += batch.len();
                    if !batch.is_empty() {
                        i.changed_at = js_sys::Date::now();
                    }
                    true
                });
                changed |= !batch.is_empty();
                if applied != Some(true) || batch.len() < CHUNK {
                    break;
                }
                super::sleep_ms(0).await;
            }
            with(db, |i| {
                if i.generation == generation {
                    i.busy = false;
                }
            });
            if changed {
                save_later(db, notes);
            }
        }

        /// Saves the index [`SAVE_AFTER_MS`] from now, or once [`SAVE_BACKLOG`] notes
        /// changed, unless a save is scheduled already.
        fn save_later(db: &str, notes: &Rc<PageNotes>) {
            let Some(generation) = with(db, |i| {
                (!i.unsaved).then(|| {
                    i.unsaved = true;
                    i.generation
                })
            })
            .flatten() else {
                return;
            };
            let (db, notes) = (db.to_owned(), notes.clone());
            leptos::task::spawn_local(async move {
                let mut waited = 0;
                let wait = |i: &mut Index| {
                    let quiet = js_sys::Date::now() - i.changed_at >= SAVE_QUIET_MS;
                    i.backlog < SAVE_BACKLOG && !(quiet && i.backlog >= SAVE_QUIET_BACKLOG)
                };
                while waited < SAVE_AFTER_MS && with(&db, wait) == Some(true) {
                    super::sleep_ms(SAVE_POLL_MS).await;
                    waited += SAVE_POLL_MS;
                }
                let bytes = with(&db, |i| {
                    if i.generation != generation {
                        return None;
                    }
                    i.unsaved = false;
                    i.backlog = 0;
                    Some(i.ix.encode(i.seq?))
                })
                .flatten();
                if let Some(bytes) = bytes {
                    let _ = notes.store().save_search(&bytes).await;
                }
            });
        }

        fn start(db: &str, notes: Rc<PageNotes>) {
            let generation = INDEX.with(|i| {
                let mut i = i.borrow_mut();
                let generation = i.as_ref().map_or(0, |i| i.generation + 1);
                *i = Some(Index {
                    db: db.to_owned(),
                    ix: SearchIndex::new(),
                    seq: None,
                    busy: false,
                    unsaved: false,
                    backlog: 0,
                    changed_at: 0.0,
                    generation,
                });
                generation
            });
            let db = db.to_owned();
            leptos::task::spawn_local(async move {
                for _ in 0..START_WAITS {
                    if super::SHOWN.with(std::cell::Cell::get) {
                        break;
                    }
                    super::sleep_ms(50).await;
                }
                super::next_frame().await;
                super::next_frame().await;
                let current = |i: &Index| i.generation == generation;
                // The saved index, then what was written since.
                let saved = match notes.store().load_search().await {
                    Ok(Some(bytes)) => SearchIndex::decode(&bytes),
                    _ => None,
                };
                if let Some((ix, seq)) = saved {
                    let loaded = with(&db, |i| {
                        if current(i) {
                            i.ix = ix;
                            i.seq = Some(seq);
                        }
                        current(i)
                    });
                    if loaded == Some(true) {
                        catch_up(&db, &notes).await;
                        ready();
                    }
                    return;
                }
                // None saved (or of another format): every note, in chunks by id; the
                // notes written meanwhile are caught up with after.
                let Ok(from) = notes.store().change_seq().await else {
                    return;
                };
                let mut after: Option<NoteId> = None;
                loop {
                    // Let the page paint and handle input between chunks.
                    super::sleep_ms(0).await;
                    let chunk = match notes.store().chunk(after.as_ref(), CHUNK).await {
                        Ok(c) => c,
                        Err(_) => return,
                    };
                    let taken = with(&db, |i| {
                        if current(i) {
                            chunk.iter().for_each(|n| i.ix.upsert(n));
                        }
                        current(i)
                    });
                    if taken != Some(true) {
                        return; // another build or another database
                    }
                    match chunk.last() {
                        Some(n) if chunk.len() == CHUNK => after = Some(n.id.clone()),
                        _ => break,
                    }
                }
                if with(&db, |i| {
                    if current(i) {
                        i.seq = Some(from);
                        i.backlog = SAVE_BACKLOG; // saved soon: this was the costly part
                    }
                    current(i)
                }) == Some(true)
                {
                    catch_up(&db, &notes).await;
                    ready();
                    save_later(&db, &notes);
                }
            });
        }
    }

    /// Saves the editor's text: `id` (`None` creates the note), `base` the text the editor
    /// last loaded or saved, `text` what it shows. Whatever reached the store since the
    /// editor last looked is merged, never overwritten (see [`client::editor::plan_save`]).
    /// Durable in IndexedDB when this returns (the search index takes it in at the page's
    /// next read).
    /// `revive`: bring the note back with `text` if it is deleted (see
    /// [`client::editor::Save::revive`]).
    pub async fn save_draft(
        id: Option<String>,
        base: &Text,
        text: &Text,
        revive: bool,
    ) -> Result<Saved, String> {
        let _saving = crate::pwa::SaveGuard::new(); // an update reloads only after this
        let notes = notes().await?;
        let storage =
            |e: client::local::StoreError| crate::pwa::describe_storage_error(&e.to_string());
        let Some(id) = id else {
            let n = notes
                .create(&text.title, &text.content)
                .await
                .map_err(storage)?;
            return Ok(Saved::Written {
                id: n.id.0,
                stored: text.clone(),
            });
        };
        // One compare-and-swap: the plan is made on the note as it is when written, so a
        // sync landing between a read and the write can never be written over.
        let id_ = NoteId(id.clone());
        let saved = if revive {
            notes.revive_editor(&id_, base, text).await
        } else {
            notes.save_editor(&id_, base, text).await
        };
        match saved {
            Ok(EditorSave::Written(stored)) => Ok(Saved::Written { id, stored }),
            Ok(EditorSave::Conflict(stored)) => Ok(Saved::Conflict { id, stored }),
            Ok(EditorSave::Deleted) => Ok(Saved::Deleted),
            Err(e) => Err(storage(e)),
        }
    }

    /// Deletes a note (a pending tombstone until synced).
    pub async fn delete_note(id: &str) -> Result<(), String> {
        notes()
            .await?
            .delete(&NoteId(id.into()))
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// Brings a note back with this text (undo of a delete, restore of a revision, or of a
    /// note deleted on another device).
    pub async fn restore_note(id: &str, text: &Text) -> Result<(), String> {
        notes()
            .await?
            .edit(&NoteId(id.into()), &text.title, &text.content)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// Resolves the note's conflict with this version.
    pub async fn resolve_note(id: &str, text: &Text, deleted: bool) -> Result<(), String> {
        notes()
            .await?
            .resolve(&NoteId(id.into()), &text.title, &text.content, deleted)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// Sets the note's conflict strategy.
    pub async fn set_strategy(id: &str, strategy: sync_core::Strategy) -> Result<(), String> {
        notes()
            .await?
            .set_strategy(&NoteId(id.into()), strategy)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// The note's history from the server, newest first.
    pub async fn history(id: &str) -> Result<Vec<RevisionView>, String> {
        let resp = Request::get(&format!("/notes/{id}/history"))
            .send()
            .await
            .map_err(|_| "History needs a connection to the server.".to_owned())?;
        if resp.status() == 401 {
            return Err("Sign in to see the note's history.".into());
        }
        if !resp.ok() {
            return Err(format!("The server answered {}.", resp.status()));
        }
        let h: sync_core::protocol::HistoryResponse =
            resp.json().await.map_err(|e| e.to_string())?;
        Ok(h.revisions
            .into_iter()
            .map(|r| RevisionView {
                text: TextView {
                    title: r.version.title,
                    content: r.version.content,
                    deleted: r.version.deleted,
                },
                reason: r.reason,
                saved: js_sys::Date::new(&(r.saved_at_ms as f64).into())
                    .to_locale_string("default", &js_sys::Object::new())
                    .into(),
            })
            .collect())
    }

    /// `navigator.onLine`.
    pub fn is_online() -> bool {
        client::platform::is_online()
    }

    thread_local! {
        /// The page has shown its first list ([`list_shown`]).
        static SHOWN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    /// The page has shown its first list: background work (the search index) may start.
    pub fn list_shown() {
        SHOWN.with(|s| s.set(true));
    }

    /// Waits for the next animation frame (at once where there are none).
    async fn next_frame() {
        let p = js_sys::Promise::new(&mut |resolve, _| match web_sys::window() {
            Some(w) => {
                if w.request_animation_frame(&resolve).is_err() {
                    let _ = resolve.call0(&wasm_bindgen::JsValue::NULL);
                }
            }
            None => {
                let _ = resolve.call0(&wasm_bindgen::JsValue::NULL);
            }
        });
        let _ = wasm_bindgen_futures::JsFuture::from(p).await;
    }

    /// Waits `ms` milliseconds.
    pub async fn sleep_ms(ms: i32) {
        let p = js_sys::Promise::new(&mut |resolve, _| {
            if let Some(w) = web_sys::window() {
                let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
            }
        });
        let _ = wasm_bindgen_futures::JsFuture::from(p).await;
    }

    /// Calls `f` with what to tell the user when a newer build (another tab) upgrades the
    /// local database and this page's store closes.
    pub fn on_store_closed(f: impl Fn(String) + 'static) {
        let handle =
            leptos::prelude::window_event_listener_untyped(client::idb::CLOSED_EVENT, move |_| {
                f(client::idb::CLOSED_FOR_UPGRADE.to_owned())
            });
        // Never dropped: the listener lives as long as the page.
        #[allow(clippy::mem_forget)]
        std::mem::forget(handle);
    }

    /// Tells other tabs the local store changed.
    pub fn announce_change() {
        client::tabs::announce_change();
    }

    /// Calls `f` when another tab changed the local store (or the account).
    pub fn on_change(f: impl Fn() + 'static) {
        client::tabs::on_change(f);
    }

    /// Calls `f` whenever the search index of the store shown becomes ready (loaded or
    /// built), so the page can stop saying it is still indexing.
    pub fn on_search_ready(f: impl Fn() + 'static) {
        search::READY.with(|r| *r.borrow_mut() = Some(Box::new(f)));
    }

    /// A time (ms since the epoch) as local time, for "last synced".
    pub fn time_label(ms: u64) -> String {
        js_sys::Date::new(&(ms as f64).into())
            .to_locale_time_string("default")
            .into()
    }

    /// The sync lock of the account signed in on this browser (a session change waits for
    /// it: no sync runs while the cookie changes).
    async fn signed_in_lock() -> String {
        let records = records_now().await;
        let account = records.account.filter(|_| !records.signed_out);
        client::tabs::names_for(&db_of(account.as_ref())).0
    }

    /// Reads this browser's records, for a [`guard_for`].
    pub(crate) type GuardRead =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<Start, String>>>>;

    /// "This browser's records still name `db`'s account", checked by a runner under its
    /// lock before each run (`read` reads the records).
    pub(crate) fn guard_for(db: String, read: fn() -> GuardRead) -> Guard {
        Rc::new(move || {
            let db = db.clone();
            Box::pin(async move {
                match read().await {
                    Ok(r) => !r.signed_out && db_of(r.account.as_ref()) == db,
                    Err(_) => false,
                }
            })
        })
    }

    fn page_records() -> GuardRead {
        Box::pin(async { records(&*guest().await?).await })
    }

    /// Syncs the shown account's notes with the sync runner (`client::runner`), replacing
    /// the runner of the account shown before; none while nobody's notes are shown.
    /// `on_status` gets every status, `on_changed` is called when a sync or another tab
    /// changed the store.
    pub async fn start_sync(
        signed_in: bool,
        on_status: impl Fn(SyncStatus) + 'static,
        on_changed: impl Fn() + 'static,
    ) -> Result<(), String> {
        if let Some(old) = RUNNER.with(|r| r.borrow_mut().take()) {
            old.stop();
        }
        let db = store_name();
        if db == GUEST_DB {
            return Ok(());
        }
        let notes = notes().await?;
        if store_name() != db {
            return Ok(()); // switched again meanwhile; that switch starts its own
        }
        let r = Runner::new(
            notes.store().clone(),
            FetchTransport::same_origin(),
            RunnerConfig {
                db: db.clone(),
                signed_in,
                // The worker retries when back online.
                on_network_failure: Some(Rc::new(crate::pwa::request_background_sync)),
                guard: Some(guard_for(db.clone(), page_records)),
                // The server pokes this browser when the account's notes change.
                live_url: Some("/live".into()),
            },
        );
        r.subscribe(move |s| on_status(s.clone()));
        // The page re-reads (and its search index catches up with what the sync wrote).
        r.on_store_changed(move |_| on_changed());
        if let Some(old) = RUNNER.with(|slot| slot.borrow_mut().replace(r.clone())) {
            old.stop();
        }
        r.start();
        Ok(())
    }

    /// Asks the runner to sync ("sync now"), or tells it about the session.
    pub fn trigger(t: Trigger) {
        if let Some(r) = RUNNER.with(|r| r.borrow().clone()) {
            r.trigger(t);
        }
    }

    /// After a local edit is saved: other tabs re-read it, and it is pushed shortly.
    pub fn local_change() {
        client::tabs::announce_change();
        if let Some(r) = RUNNER.with(|r| r.borrow().clone()) {
            r.local_change();
        }
    }

    fn account_of(s: SignedIn) -> Account {
        Account {
            // Servers before account ids: the name (unique) names the database.
            id: s.id.unwrap_or_else(|| format!("user-{}", s.user)),
            name: s.user,
        }
    }

    /// `POST /auth/{action}` (`signin` or `signup`), under the sync lock (no sync runs with
    /// a session changing under it); then the account is this browser's (see [`adopt`]).
    pub async fn account(
        action: &str,
        username: &str,
        password: &str,
    ) -> Result<(Account, Joining), String> {
        let body = Credentials {
            username: username.to_owned(),
            password: password.to_owned(),
        };
        let lock = signed_in_lock().await;
        crate::lock::with_lock_wait(&lock, async {
            let resp = Request::post(&format!("/auth/{action}"))
                .json(&body)
                .map_err(|e| e.to_string())?
                .send()
                .await
                .map_err(|e| format!("cannot reach the server: {e}"))?;
            if resp.ok() {
                let s: SignedIn = resp.json().await.map_err(|e| e.to_string())?;
                keep_trash_days(&s).await;
                let a = account_of(s);
                let joining = adopt(&a).await?;
                Ok((a, joining))
            } else {
                Err(match resp.json::<ErrorBody>().await {
                    Ok(e) => e.message,
                    Err(_) => format!("the server answered {}", resp.status()),
                })
            }
        })
        .await
    }

    /// Who the session cookie signs in.
    pub async fn whoami() -> Session {
        let Ok(resp) = Request::get("/auth/me").send().await else {
            return Session::Unknown;
        };
        if resp.status() == 401 {
            return Session::SignedOut;
        }
        if !resp.ok() {
            return Session::Unknown;
        }
        match resp.json::<SignedIn>().await {
            Ok(s) => {
                keep_trash_days(&s).await;
                Session::SignedIn(account_of(s))
            }
            Err(_) => Session::Unknown,
        }
    }

    /// Keeps the server's trash period from a sign-in's or `/auth/me`'s answer, for the
    /// trash view (kept in `tern`'s meta: it works offline).
    async fn keep_trash_days(s: &SignedIn) {
        if let Some(days) = s.trash_days.filter(|d| *d >= 1)
            && let Ok(g) = guest().await
        {
            let _ = g.set_meta(META_TRASH_DAYS, &days.to_string()).await;
        }
    }

    /// The trash period in days: the server's, as it last told it, else
    /// [`client::local::TRASH_DAYS`].
    pub async fn trash_days() -> u32 {
        match guest().await {
            Ok(g) => g
                .get_meta(META_TRASH_DAYS)
                .await
                .ok()
                .flatten()
                .and_then(|d| d.parse().ok())
                .filter(|d| *d >= 1)
                .unwrap_or(client::local::TRASH_DAYS),
            Err(_) => client::local::TRASH_DAYS,
        }
    }

    /// Signs out on this browser at once: this browser forgets the account (its notes stay
    /// in its own database for its next sign-in; the page then shows nobody's notes); the
    /// server session is ended now if the server answers, else by [`end_pending_sign_out`]
    /// later (until then the marker wins over the cookie).
    pub async fn sign_out() -> Result<(), String> {
        let lock = signed_in_lock().await;
        crate::lock::with_lock_wait(&lock, async {
            let g = guest().await?;
            g.set_meta(META_SIGNED_OUT, "1")
                .await
                .map_err(|e| e.to_string())?;
            g.set_meta(META_ACCOUNT, "")
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(())
        })
        .await?;
        client::tabs::announce_change();
        end_pending_sign_out().await;
        Ok(())
    }

    /// What the service worker should sync: it reads this browser's account records
    /// (closing the connection at once, so it never holds up an upgrade by a newer build).
    pub async fn worker_target() -> Result<WorkerTarget, String> {
        let g = IdbStore::open(GUEST_DB).await.map_err(|e| e.to_string())?;
        let records = records(&g).await;
        let target = match records {
            Ok(r) if r.signed_out => {
                // A sign-out made offline: end the session now (under the lock a sign-in
                // takes, so a new session is never the one ended), and sync nobody's notes.
                let lock = client::tabs::names_for(GUEST_DB).0;
                let ended = crate::lock::with_lock_wait(&lock, end_sign_out_on(&g)).await;
                Ok(WorkerTarget::SignOut { ended })
            }
            Ok(Start {
                account: Some(a), ..
            }) => Ok(WorkerTarget::Sync(db_of(Some(&a)))),
            Ok(_) => Ok(WorkerTarget::Nobody),
            Err(e) => Err(e),
        };
        g.close();
        target
    }

    /// Ends the server session of a sign-out made while offline; true once it is ended
    /// (or there was none to end).
    pub async fn end_pending_sign_out() -> bool {
        let Ok(g) = guest().await else { return false };
        // Under a lock a sign-in also takes (nobody is signed in: the lock of `tern`), so a
        // sign-in made meanwhile (which clears the mark) is not ended.
        let lock = client::tabs::names_for(GUEST_DB).0;
        crate::lock::with_lock_wait(&lock, end_sign_out_on(&g)).await
    }

    async fn end_sign_out_on(g: &IdbStore) -> bool {
        if g.get_meta(META_SIGNED_OUT).await.ok().flatten().as_deref() != Some("1") {
            return true;
        }
        let Ok(req) = Request::post("/auth/signout")
            .header("content-type", "application/json")
            .build()
        else {
            return false;
        };
        match req.send().await {
            // 401: that session is over already.
            Ok(r) if r.ok() || r.status() == 401 => {
                let _ = g.set_meta(META_SIGNED_OUT, "").await;
                true
            }
            _ => false,
        }
    }
}

#[cfg(not(feature = "hydrate"))]
mod imp {
    //! Server side: the renderer has no local store, and never runs handlers or effects.

    use super::{Account, Joining, Saved, Session, Snapshot, Start, SyncStatus, Trigger};
    use sync_core::Text;

    const NOT_HERE: &str = "this runs in the browser";

    pub async fn snapshot(_: &super::View) -> Result<Snapshot, String> {
        Ok(Snapshot::default())
    }
    pub fn store_name() -> String {
        "tern".into()
    }
    pub async fn start() -> Start {
        Start::default()
    }
    pub async fn records_now() -> Start {
        Start::default()
    }
    pub fn switch_account(_: Option<&Account>) {}
    pub async fn adopt(_: &Account) -> Result<Joining, String> {
        Err(NOT_HERE.into())
    }
    pub async fn join_guest_notes(_: &Account) -> Result<usize, String> {
        Err(NOT_HERE.into())
    }
    pub async fn save_draft(
        _: Option<String>,
        _: &Text,
        _: &Text,
        _: bool,
    ) -> Result<Saved, String> {
        Err(NOT_HERE.into())
    }
    pub async fn delete_note(_: &str) -> Result<(), String> {
        Err(NOT_HERE.into())
    }
    pub async fn restore_note(_: &str, _: &Text) -> Result<(), String> {
        Err(NOT_HERE.into())
    }
    pub async fn resolve_note(_: &str, _: &Text, _: bool) -> Result<(), String> {
        Err(NOT_HERE.into())
    }
    pub async fn set_strategy(_: &str, _: sync_core::Strategy) -> Result<(), String> {
        Err(NOT_HERE.into())
    }
    pub async fn history(_: &str) -> Result<Vec<super::RevisionView>, String> {
        Err(NOT_HERE.into())
    }
    pub fn is_online() -> bool {
        true
    }
    pub async fn sleep_ms(_: i32) {}
    pub fn list_shown() {}
    pub fn on_store_closed(_: impl Fn(String) + 'static) {}
    pub fn announce_change() {}
    pub fn on_change(_: impl Fn() + 'static) {}
    pub fn on_search_ready(_: impl Fn() + 'static) {}
    pub fn time_label(_: u64) -> String {
        String::new()
    }
    pub async fn start_sync(
        _: bool,
        _: impl Fn(SyncStatus) + 'static,
        _: impl Fn() + 'static,
    ) -> Result<(), String> {
        Ok(())
    }
    pub fn trigger(_: Trigger) {}
    pub fn local_change() {}
    pub async fn account(_: &str, _: &str, _: &str) -> Result<(Account, Joining), String> {
        Err(NOT_HERE.into())
    }
    pub async fn whoami() -> Session {
        Session::Unknown
    }
    pub async fn sign_out() -> Result<(), String> {
        Ok(())
    }
    pub async fn end_pending_sign_out() -> bool {
        true
    }
}
