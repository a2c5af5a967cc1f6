//! The pure rules that fold a sync response into a device's notes ([`reconcile`]).

use sync_core::fields::{EditClock, EditClocks, FieldEdit};
use sync_core::protocol::{Change, ChangeOutcome, ChangeResult, SyncResponse};
use sync_core::text::{Merge3, merge3};
use sync_core::{Conflict, Hlc, NoteId, NoteState, Strategy, Text};

use super::{LocalNote, SyncState, Trashed};

/// The note ids a response touches, each once.
pub fn affected_ids(response: &SyncResponse) -> Vec<NoteId> {
    let mut ids: Vec<NoteId> = response
        .results
        .iter()
        .map(|r| r.note_id.clone())
        .chain(response.changes.iter().map(|n| n.id.clone()))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Takes in the answer to `sent` (a change with field edits the server applied) while a
/// newer local edit is pending: the server's fields (`stored`, or the sent edits), and the
/// pending field edits minus those `sent` carried unchanged since, so a field edit is not
/// sent again with a later clock (which could win over another device's newer edit).
///
/// The edits of fields the server refused (`refused`, [`ChangeResult::fields_refused`]) stay
/// pending, at the clocks they were made: sent again with the newer edit, they are refused
/// again, and that answer marks the note failed with the reason.
fn settle_fields(n: &mut LocalNote, sent: &Change, stored: Option<&NoteState>, refused: &[String]) {
    match stored {
        Some(s) => n.fields.merge(&s.fields),
        None => n.fields.apply_change(sent),
    }
    for (name, was) in &sent.fields {
        if refused.contains(name) {
            continue;
        }
        // An edit is settled when it is the very one sent: the same value made at the same
        // clock. The same value made again since (undone and redone while the change was
        // on its way) is a newer edit, still to send.
        let (sent_clocks, sent_hlc) = (&sent.edit_clocks, &sent.hlc);
        let (my_clocks, my_hlc) = (&n.edit_clocks, &n.hlc);
        let same = |v: Option<&String>| {
            edit_clock(sent_clocks, sent_hlc, name, v) == edit_clock(my_clocks, my_hlc, name, v)
        };
        let Some(now) = n.field_edits.get(name) else {
            continue;
        };
        match (now, was) {
            (FieldEdit::Set(now), FieldEdit::Set(was)) => {
                let mut left = now.clone();
                left.add.retain(|v| !(was.add.contains(v) && same(Some(v))));
                left.remove
                    .retain(|v| !(was.remove.contains(v) && same(Some(v))));
                n.field_edits.insert(name.clone(), FieldEdit::Set(left));
            }
            (now, was) if now == was && same(None) => {
                n.field_edits.remove(name);
                continue;
            }
            _ => continue,
        }
        if matches!(n.field_edits.get(name), Some(FieldEdit::Set(e)) if e.is_empty()) {
            n.field_edits.remove(name);
        }
    }
    n.tidy_edit_clocks();
}

/// The clock of the edit of field `name` (a set's `element`) in a change or a note's
/// pending edits: its own in `clocks`, else `hlc` (the change's or the note's).
fn edit_clock<'a>(
    clocks: &'a EditClocks,
    hlc: &'a Hlc,
    name: &str,
    element: Option<&String>,
) -> &'a Hlc {
    match (clocks.get(name), element) {
        (Some(EditClock::Register(h)), None) => h,
        (Some(EditClock::Set(hs)), Some(v)) => hs.get(v).unwrap_or(hlc),
        _ => hlc,
    }
}

/// Moves the newer local edit `n`, made on top of `sent` while `sent` was on its way, onto
/// `stored`, the server's merge of `sent` with edits made elsewhere: the typing done since
/// `sent` is merged three ways into `stored` (base = `sent`), and `stored` becomes the edit's
/// base. The user sees the other edits at once, and the server takes the edit as sequential.
///
/// Left as it was, the edit kept the base `sent` started from, and the server merged it as
/// concurrent with a state that already held `sent`: `sent`'s own changes were on both sides,
/// a conflict as soon as the user went on typing where `sent` ended (one device typing at the
/// end of a note while another edits its start; found by the live test under load).
///
/// Nothing moves (the server merges, or keeps both, as before) when `stored` does not hold
/// `sent`'s own edits (under last-write-wins a change that lost but carried field edits is
/// answered `Applied` with the winner's text: taking `sent` as the base would undo its
/// typing), when the typing since overlaps the other edits, when a title was changed on both
/// sides, when a delete, a conflict or a resolution is involved, or when the note's strategy
/// is not to merge (last-write-wins, or the user's choice: the server decides those).
fn rebase(n: &mut LocalNote, sent: &Change, stored: &NoteState) {
    if n.deleted
        || sent.deleted
        || stored.deleted
        || stored.conflict.is_some()
        || n.conflict.is_some()
        || n.resolving
        || sent.resolve
        || [n.strategy, stored.strategy]
            .iter()
            .any(|s| matches!(s, Strategy::Lww | Strategy::Manual))
        || !holds(sent, stored)
    {
        return;
    }
    let title = if n.title == sent.title || n.title == stored.title {
        stored.title.clone()
    } else if stored.title == sent.title {
        n.title.clone()
    } else {
        return;
    };
    let Merge3::Clean(content) = merge3(&sent.content, &n.content, &stored.content) else {
        return;
    };
    n.title = title;
    n.content = content;
    n.base_version = Some(stored.version);
    n.base = Some(Text {
        title: stored.title.clone(),
        content: stored.content.clone(),
    });
    n.typed_on = None;
}

/// True when `sent` carried typing made on an earlier text than the note's base
/// ([`LocalNote::typed_on`]: its base text is not the base's).
fn typed_on_sent(n: &LocalNote, sent: &Change) -> bool {
    let (Some(title), Some(content)) = (&sent.base_title, &sent.base_content) else {
        return false;
    };
    n.base
        .as_ref()
        .is_some_and(|b| b.title != *title || b.content != *content)
}

/// Moves the newer local edit `n`, made while `sent` (typing on an earlier text, sent as
/// concurrent: [`LocalNote::typed_on`]) was on its way, onto the server's answer `stored`
/// (its conflict of `sent` with the text `sent` overlapped, or their merge): the newer edit
/// was made on `sent`'s text, so that is its typed-on text, on the answer's version; the note
/// shows the server's conflict (the text kept beside the typing was the server's to decide).
/// Left on the old base, the next push was concurrent again and the server kept `sent`'s
/// own, outdated text as one more version of the conflict: the device conflicted with itself.
///
/// A delete made meanwhile is made on the answer (the user deleted with the conflict in
/// view: it deletes the note, as any delete of the latest text). A resolution made meanwhile
/// is moved only when the answer holds no text but `sent`'s and the one it overlapped, the
/// two the user chose between; else it stays on the old base and the server keeps the
/// conflict, with what came since, for the user to see.
fn onto_answer(n: &mut LocalNote, sent: &Change, stored: &NoteState) {
    let sent_text = Text {
        title: sent.title.clone(),
        content: sent.content.clone(),
    };
    if n.resolving {
        let known = |title: &str, content: &str, deleted: bool| {
            !deleted
                && ((title, content) == (sent.title.as_str(), sent.content.as_str())
                    || n.base.as_ref().is_some_and(|b| {
                        (title, content) == (b.title.as_str(), b.content.as_str())
                    }))
        };
        let only_known = known(&stored.title, &stored.content, stored.deleted)
            && stored.conflict.as_ref().is_none_or(|c| {
                c.versions
                    .iter()
                    .all(|v| known(&v.title, &v.content, v.deleted))
            });
        if !only_known {
            return;
        }
    }
    n.base_version = Some(stored.version);
    n.base = Some(Text {
        title: stored.title.clone(),
        content: stored.content.clone(),
    });
    let made_on_sent = !n.deleted && !n.resolving && sent_text != *n.base.as_ref().unwrap();
    n.typed_on = made_on_sent.then_some(sent_text);
    if !n.local_conflict && !n.resolving {
        n.conflict = stored.conflict.clone();
    }
}

/// True when `stored` holds `sent`'s edits: its title when `sent` changed the title, and its
/// content edits (merged into `stored` again, they change nothing). `false` without `sent`'s
/// base, which says what it changed.
fn holds(sent: &Change, stored: &NoteState) -> bool {
    let (Some(base_title), Some(base_content)) = (&sent.base_title, &sent.base_content) else {
        return false;
    };
    (sent.title == *base_title || sent.title == stored.title)
        && merge3(base_content, &sent.content, &stored.content)
            == Merge3::Clean(stored.content.clone())
}

/// The new local state of one note after a sync response. `sent` is the change this
/// device pushed for the note in the request (if any) and `result` the server's answer to
/// it; `pulled` is the note's state in the response's remote changes (if present). Returns
/// `None` when the note should stay as it is.
///
/// The rules: an answer only settles the exact change it answers (a newer local edit made
/// while the request was in flight stays pending, now based on what the server stored); a
/// pulled state never replaces a pending local edit; a rejected edit stays local, marked
/// failed with the reason; a merged or conflicting outcome brings the server's state (the
/// edit is part of it, or kept in the note's conflict and history).
pub fn reconcile(
    current: Option<&LocalNote>,
    sent: Option<&Change>,
    result: Option<&ChangeResult>,
    pulled: Option<&NoteState>,
) -> Option<LocalNote> {
    let mut note = current.cloned();
    if let (Some(n), Some(r)) = (note.as_mut(), result) {
        let answers_pending = n.pending.as_ref() == Some(&r.change_id);
        let refused: &[String] = r.fields_refused.as_ref().map_or(&[], |f| &f.fields);
        match &r.outcome {
            ChangeOutcome::Applied {
                current: Some(stored),
                ..
            } if answers_pending => {
                *n = LocalNote::from_remote(stored);
            }
            ChangeOutcome::Applied {
                version,
                current: None,
            } if answers_pending => {
                n.pending = None;
                n.sync = SyncState::Synced;
                n.base_version = Some(*version);
                n.base = Some(Text {
                    title: n.title.clone(),
                    content: n.content.clone(),
                });
                n.strategy_changed = false;
                n.resolving = false;
                n.purge = false;
                n.typed_on = None;
                // The change carried every field edit (a change with field edits gets the
                // stored state back, the arm above; this is for safety).
                if let Some(c) = sent.filter(|c| c.change_id == r.change_id) {
                    n.fields.apply_change(c);
                }
                n.field_edits.clear();
                n.edit_clocks.clear();
                // An answer without the state says the server's note has no conflict
                // (`stored_as_sent`): only versions this device alone has stay (the server's
                // text kept beside typing sent as concurrent, `typed_on`, was its to decide).
                if n.deleted || !n.local_conflict {
                    n.conflict = None;
                    n.local_conflict = false;
                }
            }
            ChangeOutcome::Applied {
                version,
                current: None,
            } => {
                // The server stored exactly what was sent; the newer local edit builds on it.
                // Typing sent on an earlier text (`typed_on`) is what it built on now; typing
                // kept beside the server's text while another change was on its way (a
                // strategy change, say) is still concurrent with it.
                if let Some(c) = sent.filter(|c| c.change_id == r.change_id) {
                    if typed_on_sent(n, c) {
                        n.typed_on = None;
                    }
                    n.base_version = Some(*version);
                    n.base = Some(Text {
                        title: c.title.clone(),
                        content: c.content.clone(),
                    });
                    settle_fields(n, c, None, refused);
                }
            }
            // Merged while a newer edit was made here: the newer edit moves onto the merge
            // ([`rebase`]) or, if it cannot, keeps the old base, so it reaches the server as
            // concurrent and is merged, not overwritten. The fields merge by their own
            // rules: the server's state is taken in, and the field edits it holds now are no
            // longer pending.
            ChangeOutcome::Applied {
                current: Some(stored),
                ..
            } => {
                if let Some(c) = sent.filter(|c| c.change_id == r.change_id) {
                    settle_fields(n, c, Some(stored), refused);
                    if typed_on_sent(n, c) {
                        onto_answer(n, c, stored);
                    } else {
                        rebase(n, c, stored);
                    }
                }
            }
            ChangeOutcome::Superseded { current } if answers_pending => {
                *n = LocalNote::from_remote(current);
            }
            // Superseded while a newer edit was made here: the server weighed the field
            // edits it carried against its own by their clocks (`current` holds the
            // outcome). They are settled, not sent again with the newer edit's later clock,
            // which would win over the other device's edit that superseded them.
            ChangeOutcome::Superseded { current } => {
                if let Some(c) = sent.filter(|c| c.change_id == r.change_id) {
                    settle_fields(n, c, Some(current), refused);
                }
            }
            ChangeOutcome::Rejected { code, message } if answers_pending => {
                n.sync = SyncState::Failed {
                    code: code.as_str().to_owned(),
                    message: message.clone(),
                };
            }
            ChangeOutcome::Rejected { .. } => {}
        }
    }
    if let Some(p) = pulled {
        match note.as_mut() {
            None => note = Some(LocalNote::from_remote(p)),
            // The pending text edit stays; the fields merge (order-free).
            Some(n) if n.pending.is_some() => n.fields.merge(&p.fields),
            Some(n) if n.base_version.is_none_or(|v| p.version >= v) => {
                note = Some(LocalNote::from_remote(p));
            }
            Some(_) => {}
        }
    }
    // The rest of the pending change was applied, but not these field edits (a set past
    // its size by edits made elsewhere meanwhile): the note says so, with the reason, so
    // nothing is lost silently. The refused edits are gone with the server's state.
    let refusal = result
        .filter(|r| current.is_some_and(|c| c.pending.as_ref() == Some(&r.change_id)))
        .and_then(|r| r.fields_refused.as_ref());
    if let (Some(f), Some(n)) = (refusal, note.as_mut())
        && n.pending.is_none()
    {
        n.sync = SyncState::Failed {
            code: f.code.as_str().to_owned(),
            message: f.message.clone(),
        };
    }
    // Versions only this device has (`local_conflict`) outlive a state from the server,
    // unless the server holds their text now (its conflict of the edit sent concurrently,
    // `LocalNote::typed_on`): then the conflict is the server's, on every device.
    if let (Some(c), Some(n)) = (current, note.as_mut())
        && c.local_conflict
        && !n.local_conflict
        && let Some(kept) = &c.conflict
    {
        let shown = |v: &sync_core::Version| {
            (v.deleted, &v.title, &v.content) == (n.deleted, &n.title, &n.content)
        };
        let missing: Vec<_> = kept
            .versions
            .iter()
            .filter(|v| {
                !shown(v)
                    && !n
                        .conflict
                        .as_ref()
                        .is_some_and(|s| s.versions.iter().any(|w| w.says_same(v)))
            })
            .cloned()
            .collect();
        if !missing.is_empty() {
            let conflict = n.conflict.get_or_insert_with(|| Conflict {
                versions: Vec::new(),
                proposal: None,
            });
            conflict.versions.extend(missing);
            n.local_conflict = true;
        }
    }
    // A delete that arrived from the server keeps the text this device had, for its trash;
    // a purge (deleted forever, here or elsewhere) drops it.
    let purged = pulled.is_some_and(|p| p.purged)
        || result.is_some_and(
            |r| matches!(&r.outcome, ChangeOutcome::Applied { current: Some(s), .. } if s.purged),
        );
    if let Some(n) = note.as_mut()
        && n.deleted
    {
        if purged {
            n.trash = None;
        } else if n.trash.is_none()
            && let Some(c) = current
        {
            n.trash = c.trash.clone().or_else(|| {
                (!c.deleted && (!c.title.is_empty() || !c.content.is_empty())).then(|| Trashed {
                    title: c.title.clone(),
                    content: c.content.clone(),
                    deleted_ms: n.hlc.wall_ms,
                })
            });
        }
    }
    match (current, note) {
        (Some(c), Some(n)) if *c == n => None,
        (_, n) => n,
    }
}
