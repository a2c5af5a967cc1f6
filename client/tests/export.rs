//! Export and import, without a browser: a JSON export imported into an empty device and
//! exported again compares equal (for any text, conflict and trash state proptest builds);
//! each Markdown file reads back as the note it was written from; a zip of them imports
//! the same notes; duplicates are detected by note id; the sliced JSON reader accepts
//! exactly the files a parse of the whole export accepts, mutated ones included.
//!
//! Native only (proptest); the browser side is `end2end/tests/export.test.mjs`.
#![cfg(not(target_arch = "wasm32"))]

use client::export::{
    self, Export, ExportedNote, ImportReport, JsonImport, ZipWriter, json_head, json_notes,
    json_tail, parse_file,
};
use client::local::Notes;
use client::memory::MemoryStore;
use futures::executor::block_on;
use proptest::prelude::*;
use std::collections::BTreeSet;
use sync_core::fields::Kind;
use sync_core::{Conflict, Hlc, NoteId, Strategy as ConflictStrategy, Text, Version};

/// A whole JSON export of `notes`, written chunk by chunk as the app does.
fn export_json(notes: &Notes<MemoryStore>) -> String {
    block_on(async {
        let mut out = json_head(1_800_000_000_000);
        let (mut after, mut first) = (None, true);
        loop {
            let (chunk, next) = notes.export_chunk(after.as_ref()).await.unwrap();
            out.push_str(&json_notes(&chunk, first));
            first &= chunk.is_empty();
            match next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        out.push_str(json_tail());
        out
    })
}

fn text() -> impl Strategy<Value = String> {
    // Quotes, newlines, front-matter fences, non-ASCII: everything a note may hold.
    prop::collection::vec(
        prop_oneof![
            "[a-z ]{0,8}",
            Just("\"".to_owned()),
            Just("\n---\n".to_owned()),
            Just("é🦀".to_owned()),
            Just("\\".to_owned()),
            Just("# ".to_owned()),
        ],
        0..6,
    )
    .prop_map(|v| v.concat())
}

/// A record id from a small set, so notes name records that exist (and some that do not).
fn record_id() -> impl Strategy<Value = NoteId> {
    "r-[a-c]".prop_map(NoteId)
}

/// The fields of a note or record, as the user sees them.
#[derive(Clone, Debug)]
struct Shown {
    kind: Kind,
    notebook: Option<NoteId>,
    parent: Option<NoteId>,
    tags: BTreeSet<NoteId>,
    pinned: bool,
    created_ms: Option<u64>,
}

fn shown() -> impl Strategy<Value = Shown> {
    (
        prop_oneof![Just(Kind::Note), Just(Kind::Notebook), Just(Kind::Tag)],
        prop::option::of(record_id()),
        prop::option::of(record_id()),
        prop::collection::btree_set(record_id(), 0..3),
        any::<bool>(),
        prop::option::of(0u64..4_000_000_000_000),
    )
        .prop_map(|(kind, notebook, parent, tags, pinned, created_ms)| Shown {
            kind,
            notebook,
            parent,
            tags,
            pinned,
            created_ms,
        })
}

fn note() -> impl Strategy<Value = ExportedNote> {
    (plain_note(), shown()).prop_map(|(n, f)| ExportedNote {
        kind: f.kind,
        notebook: f.notebook,
        parent: f.parent,
        tags: f.tags,
        pinned: f.pinned,
        created_ms: f.created_ms,
        ..n
    })
}

fn plain_note() -> impl Strategy<Value = ExportedNote> {
    (
        "[A-Za-z0-9_-]{1,20}",
        text(),
        text(),
        1_700_000_000_000u64..1_800_000_000_000,
        prop_oneof![
            Just(ConflictStrategy::Default),
            Just(ConflictStrategy::Lww),
            Just(ConflictStrategy::Manual)
        ],
        prop::option::of(text()),
        prop::option::of(1_700_000_000_000u64..1_800_000_000_000),
    )
        .prop_map(
            |(id, title, content, wall, strategy, other, deleted_ms)| ExportedNote {
                hlc: Some(Hlc {
                    wall_ms: wall,
                    counter: 3,
                    node: "dev".into(),
                }),
                strategy,
                conflict: other.filter(|_| deleted_ms.is_none()).map(|t| Conflict {
                    versions: vec![Version {
                        title: "theirs".into(),
                        content: t,
                        deleted: false,
                        hlc: Hlc {
                            wall_ms: wall - 1,
                            counter: 0,
                            node: "other".into(),
                        },
                    }],
                    proposal: Some(Text {
                        title: "merged".into(),
                        content: "both".into(),
                    }),
                }),
                deleted_ms,
                ..ExportedNote::new(NoteId(id), title, content)
            },
        )
}

/// What an import of `notes` into an empty device reports.
fn all_added(notes: &[ExportedNote]) -> ImportReport {
    let added = notes.iter().filter(|n| n.kind == Kind::Note).count();
    ImportReport {
        added,
        records: notes.len() - added,
        ..ImportReport::default()
    }
}

fn notes() -> impl Strategy<Value = Vec<ExportedNote>> {
    prop::collection::vec(note(), 0..12).prop_map(|mut v| {
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v.dedup_by(|a, b| a.id == b.id);
        v
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_json_export_imported_into_an_empty_device_exports_the_same(notes in notes()) {
        let a = block_on(Notes::open(MemoryStore::new())).unwrap();
        let r = block_on(a.import(notes.clone())).unwrap();
        prop_assert_eq!(r, all_added(&notes));
        let first = export_json(&a);
        let parsed = export::parse_json("a.json", first.as_bytes()).unwrap();
        prop_assert_eq!(&parsed, &notes);

        let b = block_on(Notes::open(MemoryStore::new())).unwrap();
        block_on(b.import(parsed)).unwrap();
        prop_assert_eq!(export_json(&b), first);
        // Imported again: every note is a duplicate, nothing changes.
        let again = block_on(b.import(notes.clone())).unwrap();
        prop_assert_eq!(again, ImportReport { duplicates: notes.len(), ..ImportReport::default() });
    }

    /// The reader, stepped `step` notes at a time, against the whole-file parse it
    /// replaced (the reference), on exports written in any member order and spacing and
    /// then mutated: cut short, a byte changed, inserted or removed, a comma inserted, a
    /// character after the end.
    #[test]
    fn the_sliced_reader_accepts_exactly_what_a_whole_parse_accepts(
        notes in notes(),
        layout in 0..4u8,
        step in 1..5usize,
        mutation in prop::option::of((0..6u8, any::<prop::sample::Index>(), any::<u8>())),
    ) {
        let body = json_notes(&notes, true);
        let mut doc = match layout {
            0 => format!("{}{}{}", json_head(7), body, json_tail()),
            1 => format!(r#"{{"notes":[{body}],"version":1,"format":"tern-export","exported_at_ms":7}}"#),
            2 => format!(
                " {{ \"format\" : \"tern-export\" ,\t\"x\":[{{\"]\":\"}}\"}}],\"version\":2,\r\n\"notes\" : [ {body} ] , \"exported_at_ms\" : 7 }} \n"
            ),
            _ => format!(r#"{{"format":"tern-export","version":1,"notes":[{body}]}}"#),
        }
        .into_bytes();
        if let Some((kind, at, byte)) = mutation {
            let i = at.index(doc.len());
            match kind {
                0 => doc.truncate(i),
                1 => doc[i] = byte,
                2 => doc.insert(i, byte),
                3 => drop(doc.remove(i)),
                4 => doc.insert(i, b','),
                _ => doc.push(byte),
            }
        }
        let reference = || -> Option<Vec<ExportedNote>> {
            let e: Export = serde_json::from_slice(&doc).ok()?;
            let ids_valid = e.notes.iter().all(|n| {
                std::iter::once(&n.id).chain(&n.notebook).chain(&n.parent).chain(&n.tags).all(NoteId::is_valid)
            });
            (e.format == export::FORMAT && export::READS.contains(&e.version) && ids_valid)
            .then_some(e.notes)
        };
        let sliced = || -> Option<Vec<ExportedNote>> {
            let mut r = JsonImport::new("a.json", &doc).ok()?;
            while !r.step(step).ok()? {}
            Some(r.into_notes())
        };
        let (want, got) = (reference(), sliced());
        prop_assert_eq!(&got, &want, "{}", String::from_utf8_lossy(&doc));
        if mutation.is_none() && layout != 3 {
            prop_assert_eq!(got, Some(notes));
        }
    }

    /// Everything but the records' ids: a note's notebook is its folder and its tags are
    /// names (`markdown_layout_round_trip` checks those through a device).
    #[test]
    fn each_markdown_file_reads_back_as_its_note(n in note()) {
        let n = ExportedNote { kind: Kind::Note, notebook: None, parent: None, tags: BTreeSet::new(), ..n };
        let md = export::to_markdown(&n);
        let mut back = export::from_text(&export::markdown_name(&n), &md).unwrap();
        let file = back.file.take().unwrap();
        prop_assert_eq!(back, n);
        prop_assert_eq!(*file, export::FromFile::default());
    }
}

#[test]
fn a_zip_of_markdown_imports_the_same_notes_and_a_folder_of_files_adds_new_ones() {
    let a = block_on(Notes::open(MemoryStore::new())).unwrap();
    block_on(a.create("Shopping", "eggs")).unwrap();
    let gone = block_on(a.create("Old plan", "never mind")).unwrap();
    block_on(a.delete(&gone.id)).unwrap();
    let (exported, _) = block_on(a.export_chunk(None)).unwrap();
    let mut z = ZipWriter::new();
    let mut zip = Vec::new();
    for n in &exported {
        zip.extend(z.add(&export::markdown_name(n), export::to_markdown(n).as_bytes()));
    }
    zip.extend(z.finish());

    let b = block_on(Notes::open(MemoryStore::new())).unwrap();
    let from_zip = parse_file("notes.zip", &zip).unwrap();
    assert_eq!(block_on(b.import(from_zip)).unwrap().added, 2);
    let listed: Vec<String> = block_on(b.list())
        .unwrap()
        .into_iter()
        .map(|n| n.title)
        .collect();
    assert_eq!(listed, ["Shopping"]);
    let trash = block_on(b.trash(client::platform::now_ms(), client::local::TRASH_DAYS)).unwrap();
    assert_eq!(trash[0].trash.as_ref().unwrap().content, "never mind");

    // A folder of plain files: new notes, pending, so they sync.
    let files = [
        ("Journal/2024-05-01.md", "# Rain\nIt rained."),
        ("Journal/todo.txt", "buy milk"),
    ];
    let mut added = 0;
    for (name, text) in files {
        added += block_on(b.import(parse_file(name, text.as_bytes()).unwrap()))
            .unwrap()
            .added;
    }
    assert_eq!(added, 2);
    let mut titles: Vec<String> = block_on(b.list())
        .unwrap()
        .into_iter()
        .map(|n| n.title)
        .collect();
    titles.sort();
    assert_eq!(titles, ["Rain", "Shopping", "todo"]);
    // Their folder is one notebook, made by the first file and reused by the second.
    let notebooks = block_on(b.records(Kind::Notebook)).unwrap();
    assert_eq!(notebooks.len(), 1);
    assert_eq!(notebooks[0].title, "Journal");
    for n in block_on(b.list()).unwrap() {
        let nb = block_on(b.notebook_of(&n)).unwrap().map(|nb| nb.title);
        let want = (n.title != "Shopping").then(|| "Journal".to_owned());
        assert_eq!(nb, want, "{}", n.title);
    }
    // Three notes and the notebook, all to sync.
    assert_eq!(block_on(b.unsynced_count()).unwrap(), 4);
}

#[test]
fn files_that_are_not_exports_are_refused_whole() {
    assert!(parse_file("x.json", br#"{"format":"other","version":1,"notes":[]}"#).is_err());
    let newer = br#"{"format":"tern-export","version":3,"exported_at_ms":0,"notes":[]}"#;
    let e = parse_file("x.json", newer).unwrap_err().to_string();
    assert!(e.contains("update the app"), "{e}");
    let bad_id = br#"{"format":"tern-export","version":1,"exported_at_ms":0,"notes":[{"id":"no spaces","title":"","content":""}]}"#;
    assert!(parse_file("x.json", bad_id).is_err());
    assert!(parse_file("photo.png", b"\x89PNG").is_err());
}
