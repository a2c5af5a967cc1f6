//! The store conformance suite on the in-memory backend.

use client::conformance as suite;
use client::memory::MemoryStore;
use futures::executor::block_on;

#[test]
fn edits_are_stored_and_pending() {
    block_on(suite::edits_are_stored_and_pending(MemoryStore::new()));
}

#[test]
fn the_node_id_is_stable() {
    block_on(suite::the_node_id_is_stable(MemoryStore::new()));
}

#[test]
fn commit_sync_applies_data_and_cursor() {
    block_on(suite::commit_sync_applies_data_and_cursor(
        MemoryStore::new(),
    ));
}

#[test]
fn outbox_and_atomic_updates() {
    block_on(suite::outbox_and_atomic_updates(MemoryStore::new()));
}

#[test]
fn indexes_follow_every_write() {
    block_on(suite::indexes_follow_every_write(MemoryStore::new()));
}

#[test]
fn the_trash_keeps_deleted_text() {
    block_on(suite::the_trash_keeps_deleted_text(MemoryStore::new()));
}

#[test]
fn the_trash_is_read_alone() {
    block_on(suite::the_trash_is_read_alone(MemoryStore::new()));
}

#[test]
fn records_stay_out_of_the_notes_list() {
    block_on(suite::records_stay_out_of_the_notes_list(MemoryStore::new()));
}

#[test]
fn an_import_never_overwrites() {
    block_on(suite::an_import_never_overwrites(MemoryStore::new()));
}

#[test]
fn a_long_pull_keeps_the_edits_made_between_its_pages() {
    block_on(suite::a_long_pull_keeps_the_edits_made_between_its_pages(
        MemoryStore::new(),
    ));
}

#[test]
fn a_page_is_the_lists_first_notes() {
    block_on(suite::a_page_is_the_lists_first_notes(MemoryStore::new()));
}
