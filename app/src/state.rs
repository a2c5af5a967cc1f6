//! The app's shared state: one [`AppState`] of signals, provided as context by [`crate::App`]
//! and read by every component, with the few actions several components need.

use leptos::prelude::*;
use leptos::task::spawn_local;
use sync_core::Text;

use crate::browser::{self, Account, RevisionView, Snapshot, View};
use crate::editor::EditorState;
use crate::sync::{SyncLoop, SyncStatus};

/// Everything the components share. `Copy`: signals are handles.
#[derive(Clone, Copy)]
pub struct AppState {
    /// The local store as last read.
    pub snap: RwSignal<Snapshot>,
    /// True once hydrated and the local store was read (tests wait for it).
    pub ready: RwSignal<bool>,
    /// The search box's text (empty: the list of every note).
    pub query: RwSignal<String>,
    /// How many notes the list shows (grows by [`crate::LIST_PAGE`] with "Show more").
    pub limit: RwSignal<usize>,
    /// The sync status line.
    pub sync: RwSignal<SyncStatus>,
    /// A message for the user (sync notices, account messages); empty for none.
    pub notice: RwSignal<String>,
    /// The account signed in on this browser (its notes are the ones shown).
    pub user: RwSignal<Option<Account>>,
    /// The local database shown (one per account; `tern` for nobody's notes).
    pub store: RwSignal<String>,
    /// The open note's editor.
    pub editor: EditorState,
    /// The open note's history: `None` = closed.
    pub history: RwSignal<Option<Result<Vec<RevisionView>, String>>>,
    /// The last deleted note, for "Undo".
    pub undo: RwSignal<Option<(String, Text)>>,
    /// Notes written before any sign-in wait for the user's consent to join the account.
    pub join_offer: RwSignal<Option<usize>>,
    /// The page's sync loop.
    pub syncer: SyncLoop,
    /// Counts snapshot reads, so an older read never overwrites a newer one.
    reads: StoredValue<u64>,
    /// The editor's save generation when the read shown began (see
    /// [`AppState::list_read_at`]).
    list_read: StoredValue<u64>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl AppState {
    /// A fresh state (nothing read yet).
    pub fn new() -> Self {
        Self {
            snap: RwSignal::new(Snapshot::default()),
            query: RwSignal::new(String::new()),
            limit: RwSignal::new(crate::LIST_PAGE),
            ready: RwSignal::new(false),
            sync: RwSignal::new(SyncStatus::default()),
            notice: RwSignal::new(String::new()),
            user: RwSignal::new(None),
            store: RwSignal::new(browser::store_name()),
            editor: EditorState::new(),
            history: RwSignal::new(None),
            undo: RwSignal::new(None),
            join_offer: RwSignal::new(None),
            syncer: SyncLoop::new(),
            reads: StoredValue::new(0),
            list_read: StoredValue::new(0),
        }
    }

    /// The app state provided by [`crate::App`].
    pub fn get() -> Self {
        expect_context::<Self>()
    }

    /// What the page shows now: the search, how many notes, the open note.
    pub fn view(self) -> View {
        View {
            query: self.query.get_untracked(),
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
            let result = browser::snapshot(&view).await;
            if self.reads.get_value() != n {
                return; // a newer read is under way
            }
            match result {
                Ok(s) => {
                    // A search while the index is still being built: read again shortly.
                    let again = s.indexing && !view.query.trim().is_empty();
                    self.list_read.set_value(writes);
                    self.snap.set(s);
                    if again {
                        spawn_local(async move {
                            browser::sleep_ms(300).await;
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

    /// [`crate::editor::EditorState::writes`] when the read the list shows began: a note
    /// the editor saved after that is newer than the list's copy.
    pub fn list_read_at(self) -> u64 {
        self.list_read.get_value()
    }

    /// After a local change that should reach the server soon: other tabs hear of it,
    /// the page re-reads the store and a push is scheduled.
    pub fn changed(self) {
        browser::announce_change();
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
                browser::sleep_ms(250).await;
            }
            self.notice.set(String::new());
        }
        self.history.set(None);
        self.undo.set(None);
        browser::switch_account(account.as_ref());
        let signed_in = account.is_some();
        self.user.set(account);
        self.store.set(browser::store_name());
        self.snap.set(Snapshot::default());
        self.refresh();
        self.syncer.attach(self, signed_in).await;
    }
}

impl Default for AppState {
    fn default() -> Self {
        Self::new()
    }
}
