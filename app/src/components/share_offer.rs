//! "Save as a new note?": the offer of text shared into Tern (see [`crate::model::share`]).

use leptos::prelude::*;
use leptos::task::spawn_local;
use sync_core::Text;

use crate::model::share::{Offer, Shared, save};
use crate::model::{PageState, Ui};

/// "Save as a new note?": the shared title and text, shown as text (never as markup), with
/// the choice to save or discard them.
#[component]
pub fn ShareOffer() -> impl IntoView {
    let app = PageState::get();
    let ui = Ui::get();
    let shared = expect_context::<Shared>();
    let text = move || match shared.0.get() {
        Some(Offer::Note(t) | Offer::TooLong(t)) => t,
        None => Text {
            title: String::new(),
            content: String::new(),
        },
    };
    let too_long = move || matches!(shared.0.get(), Some(Offer::TooLong(_)));
    let save_it = move |_| {
        if let Some(Offer::Note(note)) = shared.0.get_untracked() {
            shared.0.set(None);
            spawn_local(save(app, ui, note));
        }
    };
    view! {
        <Show when=move || shared.0.get().is_some()>
            <div class="offer share-offer" role="alertdialog" data-testid="share-offer"
                aria-label="Shared text">
                <p>{move || if too_long() {
                    "Something was shared with Tern, but it is longer than a note can be                      (shown cut short). It was not saved."
                } else {
                    "Something was shared with Tern. Save it as a new note?"
                }}</p>
                <p class="share-title" data-testid="share-title">{move || text().title}</p>
                <pre class="share-text" data-testid="share-text">{move || text().content}</pre>
                <Show when=move || !too_long()>
                    <button type="button" on:click=save_it>"Save as a new note"</button>
                </Show>
                <button type="button" on:click=move |_| shared.0.set(None)>"Discard"</button>
            </div>
        </Show>
    }
}
