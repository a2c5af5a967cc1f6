//! The page's state: one [`PageState`] of signals (the notes as last read, the search, the
//! open note's editor, who is signed in, the sync status line, the message, the notebooks
//! and tags, the list's order and selection), provided as
//! context by the `App` and read by every component, with the few actions several
//! components need.

use leptos::prelude::*;
use leptos::task::spawn_local;
use sync_core::Text;

use super::editor::{EditorHost, EditorState};
use super::organize::{Organize, Selection};
use super::sync::{SyncLine, SyncLoop};
use super::views::{LIST_PAGE, Snapshot};
use crate::io::{self, Account, Query, Sort};

/// Everything the components share about the notes shown. `Copy`: signals are handles.
#[derive(Clone, Copy)]
pub struct PageState {
    /// The local store as last read.
    pub snap: RwSignal<Snapshot>,
    /// True once hydrated and the local store was read (tests wait for it).
    pub ready: RwSignal<bool>,
    /// The search box's text (empty: the list of every note): words and filters
    /// (`tag:NAME`, `notebook:"Path/Of/Notebook"`, `is:pinned`; see
    /// `client::search::query`). The sidebar selects a filter by setting it.
    pub query: RwSignal<String>,
    /// The list's order (the sort menu); change it with [`PageState::set_sort`].
    pub sort: RwSignal<Sort>,
    /// How many notes the list shows (grows by [`LIST_PAGE`] with "Show more").
    pub limit: RwSignal<usize>,
    /// The sync status line.
    pub sync: RwSignal<SyncLine>,
    /// A message for the user (sync notices, account messages); empty for none.
    pub notice: RwSignal<String>,
    /// The account signed in on this browser (its notes are the ones shown).
    pub user: RwSignal<Option<Account>>,
    /// The local database shown (one per account; `tern` for nobody's notes).
    pub store: RwSignal<String>,
    /// The open note's editor.
    pub editor: EditorState,
    /// The note whose history is shown: `None` = closed.
    pub history: RwSignal<Option<String>>,
    /// The notes of the last delete (one, or several selected), for "Undo"; empty for none.
    pub undo: RwSignal<Vec<(String, Text)>>,
    /// The notebooks and tags, as last read ([`PageState::refresh_records`]).
    pub organize: RwSignal<Organize>,
    /// The notes selected in the list.
    pub selection: RwSignal<Selection>,
    /// Notes written before any sign-in wait for the user's consent to join the account.
    pub join_offer: RwSignal<Option<usize>>,
    /// The page's sync loop.
    pub syncer: SyncLoop,
    /// A read of the notebooks and tags is under way, and another was asked for meanwhile.
    records_read: StoredValue<(bool, bool)>,
    /// Counts snapshot reads, so an older read never overwrites a newer one.
    reads: StoredValue<u64>,
    /// The editor's save generation when the read shown began (see
    /// [`PageState::list_read_at`]).
    list_read: StoredValue<u64>,
}

impl std::fmt::Debug for PageState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageState").finish_non_exhaustive()
    }
}

impl PageState {
    /// A fresh state (nothing read yet).
    pub fn new() -> Self {
        Self {
            snap: RwSignal::new(Snapshot::default()),
            query: RwSignal::new(String::new()),
            sort: RwSignal::new(Sort::default()),
            limit: RwSignal::new(LIST_PAGE),
            ready: RwSignal::new(false),
            sync: RwSignal::new(SyncLine::default()),
            notice: RwSignal::new(String::new()),
            user: RwSignal::new(None),
            store: RwSignal::new(io::accounts::store_name()),
            editor: EditorState::new(),
            history: RwSignal::new(None),
            undo: RwSignal::new(Vec::new()),
            organize: RwSignal::new(Organize::default()),
            selection: RwSignal::new(Selection::default()),
            join_offer: RwSignal::new(None),
            syncer: SyncLoop::new(),
            records_read: StoredValue::new((false, false)),
            reads: StoredValue::new(0),
            list_read: StoredValue::new(0),
        }
    }

    /// The page state provided by the `App`.
    pub fn get() -> Self {
        expect_context::<Self>()
    }

    /// What the page shows now: the search, how many notes, the open note.
    pub fn view(self) -> Query {
        Query {
            query: self.query.get_untracked(),
            sort: self.sort.get_untracked(),
            limit: self.limit.get_untracked(),
            open: self.editor.open.get_untracked(),
        }
    }

    /// Re-reads the local store: the list (one page, or the search's results), and the
    /// open note under the editor.
    pub fn refresh(self) {
        let n = self.reads.get_value() + 1;
        self.reads.set_value(n);
        let writes = self.editor.writes();
        let view = self.view();
        spawn_local(async move {
            let result = io::notes::read(&view).await;
            if self.reads.get_value() != n {
                return; // a newer read is under way
            }
            match result {
                Ok(read) => {
                    let s = Snapshot {
                        query: view.query.clone(),
                        ..Snapshot::from(read)
                    };
                    // A search, a filter or another order while the index is still being
                    // built: read again shortly.
                    let again = s.indexing
                        && (!view.query.trim().is_empty() || view.sort != Sort::Modified);
                    self.list_read.set_value(writes);
                    let listed: Vec<String> = s.notes.iter().map(|n| n.id.clone()).collect();
                    self.snap.set(s);
                    // A note deleted or gone from the results leaves the selection.
                    if self.selection.with_untracked(|sel| !sel.is_empty()) {
                        self.selection.update(|sel| sel.retain(&listed));
                    }
                    if again {
                        spawn_local(async move {
                            io::page::sleep_ms(300).await;
                            if self.reads.get_value() == n {
                                self.refresh();
                            }
                        });
                    }
                    // (The editor takes only a read that none of its saves overlapped.)
                    self.editor.fold_in(self, writes);
                }
                Err(e) => self.notice.set(format!("Local storage: {e}")),
            }
        });
    }

    /// Re-reads the notebooks and tags (at start, after another tab's change or a sync's,
    /// and after the user changed one; not at each keystroke: it reads every record). One
    /// read at a time: asked again while one runs, one more follows it (a burst of changes
    /// in another tab costs two reads, not one each).
    pub fn refresh_records(self) {
        if self.records_read.get_value().0 {
            self.records_read.set_value((true, true));
            return;
        }
        self.records_read.set_value((true, false));
        spawn_local(async move {
            loop {
                match io::notes::records().await {
                    Ok(r) => self.organize.set(Organize::of(r.notebooks, r.tags)),
                    Err(e) => self.notice.set(format!("Local storage: {e}")),
                }
                let Some((_, again)) = self.records_read.try_get_value() else {
                    return; // the page is gone
                };
                if !again {
                    self.records_read.set_value((false, false));
                    return;
                }
                self.records_read.set_value((true, false));
            }
        });
    }

    /// Orders the list by `sort`, from its first page.
    pub fn set_sort(self, sort: Sort) {
        if self.sort.get_untracked() == sort {
            return;
        }
        self.sort.set(sort);
        self.limit.set(LIST_PAGE);
        self.refresh();
    }

    /// [`EditorState::writes`] when the read the list shows began: a note
    /// the editor saved after that is newer than the list's copy.
    pub fn list_read_at(self) -> u64 {
        self.list_read.get_value()
    }

    /// After a local change that should reach the server soon: other tabs hear of it,
    /// the page re-reads the store and a push is scheduled.
    pub fn changed(self) {
        io::page::announce_change();
        self.refresh();
        self.syncer.soon();
    }

    /// Shows another account's notes (or nobody's), signed in, and syncs them. The editor
    /// closes first, once its last keystrokes are saved to the store it was editing.
    pub async fn show_account(self, account: Option<Account>) {
        self.editor.close(self).await;
        // Saves the store refused (a full disk) stay queued and are retried; they belong to
        // the store they were typed into, so the switch waits for them: a retry must never
        // write one account's text into another account's notes.
        if !self.editor.all_saved() {
            self.notice.set(
                "Your last edits are not saved on this device yet (storage refused them); \
                 Tern keeps trying and switches accounts once they are saved."
                    .into(),
            );
            while !self.editor.all_saved() {
                io::page::sleep_ms(250).await;
            }
            self.notice.set(String::new());
        }
        self.history.set(None);
        self.undo.set(Vec::new());
        self.selection.set(Selection::default());
        io::accounts::switch_account(account.as_ref());
        let signed_in = account.is_some();
        self.user.set(account);
        self.store.set(io::accounts::store_name());
        self.snap.set(Snapshot::default());
        self.organize.set(Organize::default());
        self.refresh();
        self.refresh_records();
        self.attach_sync(signed_in).await;
    }

    /// Starts syncing the shown account's notes (stopping the runner of the account shown
    /// before; none for nobody's notes). `signed_in`: the session is known to be valid.
    pub async fn attach_sync(self, signed_in: bool) {
        self.syncer.reset();
        let result = io::sync::start(
            signed_in,
            move |s| self.sync_status(s),
            move || self.refresh(),
        )
        .await;
        if let Err(e) = result {
            self.notice.set(format!("Local storage: {e}"));
        }
    }

    /// The runner's status changed.
    fn sync_status(self, s: client::runner::SyncStatus) {
        let news = self.syncer.take(self.sync, s);
        if let Some(notice) = news.notice {
            self.notice.set(notice);
        }
        if news.signed_out && self.user.get_untracked().is_some() {
            self.user.set(None);
            self.notice
                .set("Sign in to sync. Your notes stay on this device.".into());
        }
        if news.reread {
            self.refresh();
            self.refresh_records();
        }
    }
}

impl EditorHost for PageState {
    fn changed(self) {
        PageState::changed(self);
    }

    fn notice(self, message: String) {
        self.notice.set(message);
    }

    fn close_history(self) {
        self.history.set(None);
    }

    fn list_read_at(self) -> u64 {
        PageState::list_read_at(self)
    }

    fn stored(self, id: &str) -> Option<Option<Text>> {
        self.snap
            .with_untracked(|s| s.stored(id).map(|n| n.map(|n| n.text())))
    }
}

impl Default for PageState {
    fn default() -> Self {
        Self::new()
    }
}
