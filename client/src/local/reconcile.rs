//! The pure rules that fold a sync response into a device's notes ([`reconcile`]).

use sync_core::protocol::{Change, ChangeOutcome, ChangeResult, SyncResponse};
use sync_core::{Conflict, NoteId, NoteState, Text};

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
                if n.deleted {
                    n.conflict = None;
                    n.local_conflict = false;
                }
            }
            ChangeOutcome::Applied {
                version,
                current: None,
            } => {
                // The server stored exactly what was sent; the newer local edit builds on it.
                if let Some(c) = sent.filter(|c| c.change_id == r.change_id) {
                    n.base_version = Some(*version);
                    n.base = Some(Text {
                        title: c.title.clone(),
                        content: c.content.clone(),
                    });
                }
            }
            // Merged or superseded while a newer edit was made here: keep the old base, so
            // the newer edit reaches the server as concurrent and is merged, not overwritten.
            ChangeOutcome::Applied {
                current: Some(_), ..
            } => {}
            ChangeOutcome::Superseded { current } if answers_pending => {
                *n = LocalNote::from_remote(current);
            }
            ChangeOutcome::Superseded { .. } => {}
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
        match note.as_ref() {
            None => note = Some(LocalNote::from_remote(p)),
            Some(n) if n.pending.is_some() => {}
            Some(n) if n.base_version.is_none_or(|v| p.version >= v) => {
                note = Some(LocalNote::from_remote(p));
            }
            Some(_) => {}
        }
    }
    // Versions only this device has (`local_conflict`) outlive a state from the server.
    if let (Some(c), Some(n)) = (current, note.as_mut())
        && c.local_conflict
        && !n.local_conflict
        && let Some(kept) = &c.conflict
    {
        let conflict = n.conflict.get_or_insert_with(|| Conflict {
            versions: Vec::new(),
            proposal: None,
        });
        for v in &kept.versions {
            if !conflict.versions.contains(v) {
                conflict.versions.push(v.clone());
            }
        }
        n.local_conflict = true;
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
