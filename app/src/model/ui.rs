//! The page's view state that is not about notes: which screen a phone shows, the preview,
//! the open overlays, the settings view and its tab, the sidebar's drawer, the trash, the sign-in form, what the browser said about persistent storage, and the sync
//! activity log. Provided as context by the `App` next to [`super::PageState`].

use leptos::prelude::*;

use super::activity::ActivityLog;

/// What a narrow screen (a phone) shows: the list or the editor. Wide screens show both
/// side by side and ignore it (the CSS decides, `main[data-pane]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Pane {
    /// The notes.
    #[default]
    List,
    /// The open note.
    Editor,
}

impl Pane {
    /// The `data-pane` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::List => "list",
            Self::Editor => "editor",
        }
    }
}

/// A section of the settings view.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SettingsTab {
    /// Who is signed in, devices, password, account deletion (or "Sign in").
    #[default]
    Account,
    /// The sync activity log.
    Activity,
    /// Export and import.
    Export,
}

impl SettingsTab {
    /// Every tab, in order.
    pub const ALL: [SettingsTab; 3] = [Self::Account, Self::Activity, Self::Export];

    /// The tab's label (its button's name).
    pub fn label(self) -> &'static str {
        match self {
            Self::Account => "Account",
            Self::Activity => "Sync activity",
            Self::Export => "Export / import",
        }
    }

    /// The `data-tab` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Account => "account",
            Self::Activity => "activity",
            Self::Export => "export",
        }
    }
}

/// The page's view state. `Copy`: signals are handles.
#[derive(Clone, Copy)]
pub struct Ui {
    /// The screen a phone shows.
    pub pane: RwSignal<Pane>,
    /// The editor shows the rendered Markdown instead of the text field.
    pub preview: RwSignal<bool>,
    /// The keyboard shortcuts overlay is open.
    pub help: RwSignal<bool>,
    /// The settings view is open, on this tab.
    pub settings: RwSignal<Option<SettingsTab>>,
    /// The sidebar's drawer is open (narrow screens; wide ones show the sidebar always).
    pub drawer: RwSignal<bool>,
    /// The trash is shown.
    pub trash: RwSignal<bool>,
    /// Recent sync runs of this page.
    pub activity: RwSignal<ActivityLog>,
    /// `Some(false)`: the browser refused persistent storage; `None`: granted or unknown.
    pub persisted: RwSignal<Option<bool>>,
    /// The sign-in form is open (signed out, the page shows the notes and one "Sign in"
    /// button until the user asks for the form).
    pub signin: RwSignal<bool>,
}

impl std::fmt::Debug for Ui {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ui").finish_non_exhaustive()
    }
}

impl Ui {
    /// A fresh state: the list, no overlay, nothing logged.
    pub fn new() -> Self {
        Self {
            pane: RwSignal::new(Pane::List),
            preview: RwSignal::new(false),
            help: RwSignal::new(false),
            settings: RwSignal::new(None),
            drawer: RwSignal::new(false),
            trash: RwSignal::new(false),
            activity: RwSignal::new(ActivityLog::default()),
            persisted: RwSignal::new(None),
            signin: RwSignal::new(false),
        }
    }

    /// Opens the settings view on `tab`, or closes it if it shows `tab` already.
    pub fn toggle_settings(self, tab: SettingsTab) {
        self.settings
            .update(|s| *s = if *s == Some(tab) { None } else { Some(tab) });
    }

    /// The state provided by the `App`.
    pub fn get() -> Self {
        expect_context::<Self>()
    }
}

impl Default for Ui {
    fn default() -> Self {
        Self::new()
    }
}
