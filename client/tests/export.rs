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
use client::local::{LocalStore, Notes};
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

/// What the user sees of one note: title, body, notebook path (names), tag names, pin and
/// creation date.
type Seen = (String, String, Vec<String>, Vec<String>, bool, Option<u64>);

/// Every live note of `notes` as the user sees it, by id.
fn seen(notes: &Notes<MemoryStore>) -> std::collections::BTreeMap<NoteId, Seen> {
    block_on(async {
        let mut out = std::collections::BTreeMap::new();
        for n in notes.list().await.unwrap() {
            let mut path = Vec::new();
            let mut at = notes.notebook_of(&n).await.unwrap();
            while let Some(nb) = at {
                path.insert(0, nb.title.clone());
                at = notes.parent_of(&nb).await.unwrap();
            }
            let tags = notes
                .tags_of(&n)
                .await
                .unwrap()
                .into_iter()
                .map(|t| t.title)
                .collect();
            out.insert(
                n.id.clone(),
                (
                    n.title.clone(),
                    n.content.clone(),
                    path,
                    tags,
                    n.pinned(),
                    n.created_ms(),
                ),
            );
        }
        out
    })
}

/// The whole Markdown export of `notes`, as the app writes it: the layout's first pass
/// over the records, then each note (records are no files).
fn export_zip(notes: &Notes<MemoryStore>) -> Vec<u8> {
    block_on(async {
        let mut layout = export::MarkdownLayout::new();
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let (chunk, next) = notes.export_chunk(after.as_ref()).await.unwrap();
            layout.add(&chunk);
            all.extend(chunk);
            match next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        layout.finish();
        let mut z = ZipWriter::new();
        let mut zip = Vec::new();
        for n in all.iter().filter(|n| n.kind == Kind::Note) {
            zip.extend(z.add(&layout.name(n), layout.markdown(n).as_bytes()));
        }
        zip.extend(z.finish());
        zip
    })
}

/// A device with notebooks (a tree of `shape`: each notebook's parent among the earlier
/// ones, or none), tags, and notes in them: what a user organised.
#[derive(Clone, Debug)]
struct Organised {
    notebooks: Vec<(String, Option<prop::sample::Index>)>,
    tags: Vec<String>,
    notes: Vec<(
        String,
        String,
        Option<prop::sample::Index>,
        Vec<prop::sample::Index>,
        bool,
    )>,
}

fn organised() -> impl Strategy<Value = Organised> {
    (
        prop::collection::vec(
            (
                "[A-Za-z][a-z ]{0,5}",
                prop::option::of(any::<prop::sample::Index>()),
            ),
            0..6,
        ),
        prop::collection::vec("[a-z][a-z0-9_/-]{0,5}|[a-z ]{1,6}", 0..5),
        prop::collection::vec(
            (
                "[A-Za-z ]{1,8}",
                text(),
                prop::option::of(any::<prop::sample::Index>()),
                prop::collection::vec(any::<prop::sample::Index>(), 0..3),
                any::<bool>(),
            ),
            0..6,
        ),
    )
        .prop_map(|(notebooks, tags, notes)| Organised {
            notebooks,
            tags,
            notes,
        })
}

/// Builds `o` on a new device through the app's own calls. Names that a file system or a
/// tag list cannot tell apart (siblings equal ignoring case, tags equal ignoring case or
/// spaces) are left out: they are not what this round trip is about.
fn build(o: &Organised) -> Notes<MemoryStore> {
    block_on(async {
        let a = Notes::open(MemoryStore::new()).await.unwrap();
        let mut nbs: Vec<(NoteId, Option<NoteId>, String)> = Vec::new();
        for (name, parent) in &o.notebooks {
            let parent = parent
                .filter(|_| !nbs.is_empty())
                .map(|i| nbs[i.index(nbs.len())].0.clone());
            let name = name.trim().to_owned();
            if name.is_empty()
                || nbs
                    .iter()
                    .any(|(_, p, n)| *p == parent && n.eq_ignore_ascii_case(&name))
            {
                continue;
            }
            let nb = a.create_notebook(&name, parent.as_ref()).await.unwrap();
            nbs.push((nb.id, parent, name));
        }
        let mut tags: Vec<(NoteId, String)> = Vec::new();
        for name in &o.tags {
            let name = name.trim();
            if name.is_empty()
                || name.contains(' ')
                || tags.iter().any(|(_, t)| t.eq_ignore_ascii_case(name))
            {
                continue;
            }
            tags.push((a.create_tag(name).await.unwrap().id, name.to_owned()));
        }
        for (title, content, nb, ts, pinned) in &o.notes {
            let n = a.create(title, content).await.unwrap();
            if let Some(i) = nb.filter(|_| !nbs.is_empty()) {
                a.set_notebook(&n.id, Some(&nbs[i.index(nbs.len())].0))
                    .await
                    .unwrap();
            }
            if !tags.is_empty() {
                let set = ts
                    .iter()
                    .map(|i| tags[i.index(tags.len())].0.clone())
                    .collect();
                a.set_tags(&n.id, &set).await.unwrap();
            }
            a.set_pinned(&n.id, *pinned).await.unwrap();
        }
        a
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A device's notes in notebooks, with tags and pins, exported as JSON and as Markdown
    /// and each imported into an empty device: the user sees the same notes there (same
    /// title, body, notebook path, tag names, pin and creation date), and the JSON export
    /// of the new device is the first one.
    #[test]
    fn organised_notes_survive_both_round_trips(o in organised()) {
        let a = build(&o);
        let want = seen(&a);

        let json = export_json(&a);
        let b = block_on(Notes::open(MemoryStore::new())).unwrap();
        block_on(b.import(export::parse_json("a.json", json.as_bytes()).unwrap())).unwrap();
        prop_assert_eq!(&seen(&b), &want);
        prop_assert_eq!(export_json(&b), json);

        let zip = export_zip(&a);
        let c = block_on(Notes::open(MemoryStore::new())).unwrap();
        let r = block_on(c.import(parse_file("tern-notes.zip", &zip).unwrap())).unwrap();
        prop_assert_eq!(r.added, want.len());
        prop_assert_eq!((r.cut, r.kept_as_text), (0, 0));
        prop_assert_eq!(&seen(&c), &want);
        // Imported again: nothing new (duplicates by id; no notebook or tag made twice).
        let again = block_on(c.import(parse_file("tern-notes.zip", &zip).unwrap())).unwrap();
        prop_assert_eq!((again.added, again.records), (0, 0));
    }
}

/// An export written before notes had fields (version 1, the example of
/// `docs/export-format.md`) still imports: the same notes, the trash, the conflict.
#[test]
fn a_version_1_export_still_imports() {
    let bytes = include_bytes!("fixtures/v1-export.json");
    let notes = parse_file("old.json", bytes).unwrap();
    assert_eq!(notes.len(), 3);
    let b = block_on(Notes::open(MemoryStore::new())).unwrap();
    let r = block_on(b.import(notes)).unwrap();
    assert_eq!((r.added, r.records, r.duplicates), (3, 0, 0));
    let live: Vec<String> = block_on(b.list())
        .unwrap()
        .into_iter()
        .map(|n| n.title)
        .collect();
    assert_eq!(live, ["Trip", "Dinner"]);
    let trip = block_on(b.list()).unwrap().remove(0);
    assert!(trip.conflict.is_some());
    assert_eq!(
        (trip.pinned(), trip.created_ms(), trip.tag_ids().len()),
        (false, None, 0)
    );
    // Exported again it is version 2, and reads back the same.
    let json = export_json(&b);
    assert!(
        json.starts_with(r#"{"format":"tern-export","version":2,"#),
        "{json}"
    );
}

/// The front matter another tool (Obsidian) writes: tags as a flow list, a block list, words
/// with `#` or commas; dates with or without a time; folders as notebooks, existing ones
/// (same path) and tags (same name, ignoring case) reused; `[[links]]` and the keys Tern
/// does not read kept in the body.
#[test]
fn an_obsidian_vault_gives_back_notebooks_tags_and_links() {
    let files = [
        (
            "Vault/Work/Projects/Plan.md",
            "---\ntags: [project, Urgent]\ncreated: 2024-05-01T10:30:00+02:00\naliases: [plan]\n---\nSee [[Ideas]] and [[Work/Notes|notes]].\n",
        ),
        (
            "Vault/Work/Ideas.md",
            "---\ntags:\n  - project\n  - idea\npinned: true\n---\n# Ideas\nFirst [[Plan]].\n",
        ),
        (
            "Vault/Inbox.md",
            "---\ntags: #inbox #idea\ncreated: 2024-05-02\n---\nloose",
        ),
        ("Vault/Work/Commas.md", "---\ntags: a, b\n---\nx"),
        ("Vault/.obsidian/workspace.md", "settings, not a note"),
    ];
    let mut z = ZipWriter::new();
    let mut zip = Vec::new();
    for (name, text) in files {
        zip.extend(z.add(name, text.as_bytes()));
    }
    zip.extend(z.finish());

    let d = block_on(Notes::open(MemoryStore::new())).unwrap();
    // Already on the device: the path Vault/Work and a tag "urgent".
    let vault = block_on(d.create_notebook("Vault", None)).unwrap();
    let work = block_on(d.create_notebook("Work", Some(&vault.id))).unwrap();
    let urgent = block_on(d.create_tag("urgent")).unwrap();
    let r = block_on(d.import(parse_file("vault.zip", &zip).unwrap())).unwrap();
    // Made: notebook Projects; tags project, idea, inbox, a, b.
    assert_eq!((r.added, r.records, r.cut, r.kept_as_text), (4, 6, 0, 0));
    let got = seen(&d);
    let by_title = |t: &str| {
        got.values()
            .find(|s| s.0 == t)
            .unwrap_or_else(|| panic!("{t}: {got:?}"))
            .clone()
    };
    let plan = by_title("Plan");
    assert_eq!(
        plan.1,
        "---\naliases: [plan]\n---\nSee [[Ideas]] and [[Work/Notes|notes]].\n"
    );
    assert_eq!(plan.2, ["Vault", "Work", "Projects"]);
    assert_eq!(
        plan.3,
        ["project", "urgent"],
        "the tag already here is reused"
    );
    assert_eq!(plan.5, Some(1_714_552_200_000));
    let ideas = by_title("Ideas");
    assert_eq!(
        (ideas.1.as_str(), ideas.2.clone(), ideas.3.clone(), ideas.4),
        (
            "First [[Plan]].\n",
            vec!["Vault".to_owned(), "Work".to_owned()],
            vec!["idea".to_owned(), "project".to_owned()],
            true
        )
    );
    let inbox = by_title("Inbox");
    assert_eq!(
        (inbox.2.clone(), inbox.3.clone(), inbox.5),
        (
            vec!["Vault".to_owned()],
            vec!["idea".to_owned(), "inbox".to_owned()],
            Some(1_714_608_000_000)
        )
    );
    assert_eq!(by_title("Commas").3, ["a", "b"]);
    // The existing notebook and tag were reused, not made again.
    assert_eq!(block_on(d.records(Kind::Notebook)).unwrap().len(), 3);
    let tags = block_on(d.records(Kind::Tag)).unwrap();
    assert_eq!(
        tags.iter()
            .filter(|t| t.title.eq_ignore_ascii_case("urgent"))
            .count(),
        1
    );
    assert!(tags.iter().any(|t| t.id == urgent.id));
    assert_eq!(work.title, "Work");
}

/// A front matter that does not read (a bad id, a date that is no date, an unclosed
/// quote) keeps the whole file as the body: nothing of it is lost, and the import says so.
#[test]
fn a_bad_front_matter_keeps_the_file_as_text() {
    for text in [
        "---\nid: not valid!\ntags: [a]\n---\nbody",
        "---\ncreated: last tuesday\n---\nbody",
        "---\ntitle: \"unclosed\n---\nbody",
        "---\npinned: maybe\n---\nbody",
    ] {
        let n = export::from_text("Folder/x.md", text).unwrap();
        assert_eq!((n.title.as_str(), n.content.as_str()), ("x", text));
        let d = block_on(Notes::open(MemoryStore::new())).unwrap();
        let r = block_on(d.import(vec![n])).unwrap();
        assert_eq!((r.added, r.kept_as_text), (1, 1));
        let s = seen(&d);
        let only = s.values().next().unwrap();
        assert_eq!(
            (only.2.clone(), only.3.len()),
            (vec!["Folder".to_owned()], 0),
            "{text}"
        );
    }
}

/// Hostile JSON: a notebook cycle, a record whose id is a note already on the device, a
/// kind this app does not know, 10,000 tags on one note, a bad record id. Each is refused
/// whole with a message or imported within bounds, and nothing on the device changes.
#[test]
fn hostile_json_is_refused_or_bounded_and_overwrites_nothing() {
    let d = block_on(Notes::open(MemoryStore::new())).unwrap();
    let mine = block_on(d.create("Mine", "my text")).unwrap();
    let head = r#"{"format":"tern-export","version":2,"exported_at_ms":0,"notes":["#;
    let doc = |notes: &str| format!("{head}{notes}]}}");

    // A cycle of notebooks, and a "notebook" whose id is my note's.
    let json = doc(&format!(
        r#"{{"id":"nb-a","title":"A","content":"","kind":"notebook","parent":"nb-b"}},
{{"id":"nb-b","title":"B","content":"","kind":"notebook","parent":"nb-a"}},
{{"id":"{0}","title":"Evil","content":"","kind":"notebook"}},
{{"id":"n-1","title":"In A","content":"x","notebook":"nb-a"}},
{{"id":"n-2","title":"In mine","content":"y","notebook":"{0}"}}"#,
        mine.id
    ));
    let r = block_on(d.import(parse_file("x.json", json.as_bytes()).unwrap())).unwrap();
    assert_eq!((r.added, r.records, r.duplicates), (2, 2, 1));
    let s = seen(&d);
    assert_eq!(s[&mine.id].0, "Mine", "my note is not overwritten");
    assert_eq!(s[&mine.id].1, "my text");
    assert!(
        s[&NoteId("n-2".into())].2.is_empty(),
        "a note is no notebook"
    );
    // The cycle shows as notebooks at the top level; its notes are in one of them.
    assert_eq!(s[&NoteId("n-1".into())].2.len(), 1);
    let zip = export_zip(&d);
    let names: Vec<String> = export::unzip("z.zip", &zip)
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("A/") && n.contains("n-1")),
        "{names:?}"
    );

    // A kind from a newer app: refused whole, saying which.
    let json = doc(r#"{"id":"k","title":"?","content":"","kind":"smart_folder"}"#);
    let e = parse_file("x.json", json.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(e.contains("smart_folder"), "{e}");
    // A record id that is not an id.
    let json = doc(r#"{"id":"k","title":"?","content":"","tags":["../etc"]}"#);
    assert!(parse_file("x.json", json.as_bytes()).is_err());

    // 10,000 tags on one note: the note comes with the first 100 and the import says so.
    let tags: Vec<String> = (0..10_000).map(|i| format!("\"t-{i:05}\"")).collect();
    let json = doc(&format!(
        r#"{{"id":"many","title":"Many","content":"","tags":[{}]}}"#,
        tags.join(",")
    ));
    let r = block_on(d.import(parse_file("x.json", json.as_bytes()).unwrap())).unwrap();
    assert_eq!((r.added, r.cut), (1, 1));
    let many = block_on(d.list())
        .unwrap()
        .into_iter()
        .find(|n| n.id.0 == "many")
        .unwrap();
    assert_eq!(many.tag_ids().len(), sync_core::fields::MAX_SET_ITEMS);
    assert_eq!(
        block_on(d.store().get(&mine.id)).unwrap().unwrap().title,
        "Mine"
    );

    // A date past its field's limit: the note comes without it, and what it will send
    // passes the server's check (else its every change would be refused).
    let json =
        doc(r#"{"id":"late","title":"Late","content":"","created_ms":18446744073709551615}"#);
    let r = block_on(d.import(parse_file("x.json", json.as_bytes()).unwrap())).unwrap();
    assert_eq!(r.added, 1);
    let late = block_on(d.store().get(&NoteId("late".into())))
        .unwrap()
        .unwrap();
    assert_eq!(late.created_ms(), None);
    for (name, edit) in &late.field_edits {
        sync_core::fields::check(name, edit).unwrap();
    }
}

/// A hostile zip: `../` paths, folders 100 deep, a folder name of 60,000 characters,
/// 10,000 tags in one front matter, a note claiming the id of one already here. The import
/// stays within its limits, says what it cut, and overwrites nothing.
#[test]
fn a_hostile_zip_is_bounded_and_overwrites_nothing() {
    let d = block_on(Notes::open(MemoryStore::new())).unwrap();
    let mine = block_on(d.create("Mine", "my text")).unwrap();
    let deep = (0..100).map(|i| format!("d{i}/")).collect::<String>();
    let huge = "h".repeat(60_000);
    let tags = (0..10_000)
        .map(|i| format!("t{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let files = [
        ("../../etc/passwd.md".to_owned(), "climbs".to_owned()),
        (format!("{deep}deep.md"), "deep".to_owned()),
        (format!("{huge}/big.md"), "big".to_owned()),
        (
            "tags.md".to_owned(),
            format!("---\ntags: [{tags}]\n---\nmany"),
        ),
        (
            "mine.md".to_owned(),
            format!("---\nid: {}\ntitle: Evil\n---\nevil", mine.id),
        ),
    ];
    let mut z = ZipWriter::new();
    let mut zip = Vec::new();
    for (name, text) in &files {
        zip.extend(z.add(name, text.as_bytes()));
    }
    zip.extend(z.finish());
    let r = block_on(d.import(parse_file("evil.zip", &zip).unwrap())).unwrap();
    assert_eq!((r.added, r.duplicates, r.cut), (4, 1, 3));
    let s = seen(&d);
    assert_eq!(
        (s[&mine.id].0.as_str(), s[&mine.id].1.as_str()),
        ("Mine", "my text")
    );
    let by_body = |b: &str| s.values().find(|v| v.1 == b).unwrap().clone();
    assert_eq!(by_body("climbs").2, ["etc"], "`..` climbs nowhere");
    assert_eq!(by_body("deep").2.len(), export::MAX_FOLDER_DEPTH);
    assert_eq!(by_body("big").2[0].chars().count(), export::MAX_NAME_CHARS);
    assert_eq!(by_body("many").3.len(), sync_core::fields::MAX_SET_ITEMS);
    // What the device holds is bounded by the limits: 100 tags, 16 + 1 + 1 notebooks.
    assert_eq!(block_on(d.records(Kind::Tag)).unwrap().len(), 100);
    assert_eq!(block_on(d.records(Kind::Notebook)).unwrap().len(), 18);
}

/// Notebook names a file system cannot take, or cannot tell apart, become folder names it
/// can, and distinct ones.
#[test]
fn folder_names_are_safe_and_unique() {
    let records: Vec<ExportedNote> = [
        ("a", "a/b: c?", None),
        ("b", "A-B- C-", None),
        ("c", "a-b- c-", None),
        ("d", "..", None),
        ("e", "CON", None),
        ("f", "Trash", None),
        ("g", "child", Some("a")),
    ]
    .into_iter()
    .map(|(id, name, parent)| ExportedNote {
        kind: Kind::Notebook,
        parent: parent.map(|p: &str| NoteId(p.into())),
        ..ExportedNote::new(NoteId(id.into()), name.into(), String::new())
    })
    .collect();
    let mut layout = export::MarkdownLayout::new();
    layout.add(&records);
    layout.finish();
    let name = |nb: &str| {
        let n = ExportedNote {
            notebook: Some(NoteId(nb.into())),
            ..ExportedNote::new(NoteId("n".into()), "T".into(), String::new())
        };
        layout.name(&n)
    };
    // Three names equal ignoring case once made safe: numbered, in the order of the
    // notebooks' names.
    assert_eq!(
        [name("b"), name("c"), name("a")],
        ["A-B- C-/t-n.md", "a-b- c- (2)/t-n.md", "a-b- c- (3)/t-n.md"]
    );
    assert_eq!(name("d"), "untitled/t-n.md");
    assert_eq!(name("e"), "CON-/t-n.md");
    assert_eq!(name("f"), "Trash (2)/t-n.md", "the trash's folder is taken");
    assert_eq!(name("g"), "a-b- c- (3)/child/t-n.md");
}

/// 20,000 notebooks of one name under one parent, and a chain 20,000 deep: the layout is
/// made in linear time (numbered names, folders no deeper than the limit).
#[test]
fn a_hostile_notebook_tree_lays_out_in_bounded_time_and_depth() {
    let mut records = Vec::new();
    for i in 0..20_000 {
        let nb = |id: String, parent: Option<String>| ExportedNote {
            kind: Kind::Notebook,
            parent: parent.map(NoteId),
            ..ExportedNote::new(NoteId(id), "same".into(), String::new())
        };
        records.push(nb(format!("w{i}"), None));
        records.push(nb(format!("c{i}"), (i > 0).then(|| format!("c{}", i - 1))));
    }
    let mut layout = export::MarkdownLayout::new();
    layout.add(&records);
    layout.finish();
    let in_nb = |nb: &str| {
        layout.name(&ExportedNote {
            notebook: Some(NoteId(nb.into())),
            ..ExportedNote::new(NoteId("n".into()), "T".into(), String::new())
        })
    };
    assert_eq!(
        in_nb("c19999").matches('/').count(),
        export::MAX_FOLDER_DEPTH
    );
    let wide: std::collections::HashSet<String> =
        (0..20_000).map(|i| in_nb(&format!("w{i}"))).collect();
    assert_eq!(wide.len(), 20_000, "every folder distinct");
}

/// A link by id is written to the linked note's file in a Markdown export (which Obsidian
/// follows), and after an import of that export it still leads to the note by its id.
#[test]
fn links_point_at_exported_files_and_still_lead_to_the_note() {
    let a = block_on(Notes::open(MemoryStore::new())).unwrap();
    let groceries = block_on(a.create("Groceries", "milk")).unwrap();
    let text = format!(
        "buy {} and [[Plans]]",
        client::links::link_text(&groceries.id, "Groceries")
    );
    let plans = block_on(a.create("Weekend", &text)).unwrap();
    let zip = export_zip(&a);

    let mut weekend = None;
    for (name, bytes) in export::unzip("notes.zip", &zip).unwrap() {
        if name.starts_with("weekend-") {
            weekend = Some(String::from_utf8(bytes).unwrap());
        }
    }
    let weekend = weekend.expect("the note's file");
    assert!(
        weekend.contains(&format!(
            "buy [[groceries-{}|Groceries]] and [[Plans]]",
            groceries.id.0
        )),
        "{weekend}"
    );

    let b = block_on(Notes::open(MemoryStore::new())).unwrap();
    block_on(b.import(parse_file("notes.zip", &zip).unwrap())).unwrap();
    let back = block_on(b.store().get(&plans.id)).unwrap().unwrap();
    let links = client::links::links(&back.content);
    assert_eq!(links[0].target.id_suffix(), Some(groceries.id.clone()));
    assert!(client::links::links_to(
        &back.content,
        &groceries.id,
        "Renamed since"
    ));
}

/// A note imported from another device's export and edited here before its first push is
/// sent with field-edit clocks the server takes (only this device's own; review B1: it
/// kept the other device's clock for the imported edits, refused `invalid` forever).
#[test]
fn an_imported_note_edited_before_its_push_sends_clocks_the_server_takes() {
    let a = block_on(Notes::open(MemoryStore::new())).unwrap();
    let n = block_on(a.create("From A", "text")).unwrap();
    block_on(a.set_pinned(&n.id, true)).unwrap();
    let json = export_json(&a);

    let b = block_on(Notes::open(MemoryStore::new())).unwrap();
    block_on(b.import(parse_file("notes.json", json.as_bytes()).unwrap())).unwrap();
    let imported = block_on(b.store().get(&n.id)).unwrap().unwrap();
    assert!(imported.pinned());
    block_on(b.edit(&n.id, "From A", "edited on B")).unwrap();
    let c = block_on(b.store().get(&n.id))
        .unwrap()
        .unwrap()
        .pending_change()
        .unwrap();
    assert!(
        !c.fields.is_empty(),
        "the imported fields are still to send"
    );
    sync_core::fields::check_clocks(&c.fields, &c.edit_clocks, &c.hlc)
        .unwrap_or_else(|e| panic!("refused: {e}: {c:?}"));
}
