//! Typing on while syncs run, under random interleavings: edits made in different places of a
//! note never conflict, whatever the order of syncs, answers and keystrokes.
//!
//! Device A types words at the end of a note, also while its own push is on its way (between
//! the request and its answer: the case a live test caught under load, where A's next push
//! carried its earlier words on both sides of the server's merge and conflicted). Device B
//! rewrites the note's first line, also while A's push is on its way. Both are the real client
//! (`sim_client`: `client::local::Notes` synced by `client::engine::sync`) against the real
//! server and router over the in-memory stores (the merge is the server's; the backends
//! answer alike, `backends.rs`; the MongoDB simulation checks convergence and loss).
//!
//! The reference model is a text: B's last first line, then the body with every word A typed,
//! in order. After a schedule both devices sync until nothing is pending, and both must show
//! that text with no conflict.
//!
//! `TERN_TYPE_ON_SCHEDULES` (default 150) schedules from `TERN_TYPE_ON_BASE_SEED` (default: from
//! the clock); `TERN_TYPE_ON_SEED` replays one. A failure prints its seed and schedule.

mod fuzz_gen;
mod sim_client;
mod support;

use std::cell::{Cell, RefCell};

use fuzz_gen::Rng;
use leptos::config::LeptosOptions;
use server::storage::memory;
use server::{AppState, router, serve};
use sim_client::{Device, Net, NetError};
use sync_core::protocol::{SyncRequest, SyncResponse};
use tokio::sync::oneshot;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// The server, on a free port, and a signed-up account.
struct App {
    base: String,
    http: reqwest::Client,
    token: String,
    _stop: oneshot::Sender<()>,
}

async fn app() -> App {
    let leptos = LeptosOptions::builder()
        .output_name("tern")
        .site_root("target/site")
        .build();
    let state = AppState::new(memory::stores(), leptos, false);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = oneshot::channel();
    tokio::spawn(serve(listener, router(state), async move {
        let _ = rx.await;
    }));
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{base}/auth/signup"))
        .json(&serde_json::json!({"username": "typist", "password": support::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let token = r.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    App {
        base,
        http,
        token,
        _stop: tx,
    }
}

async fn post(app: &App, req: &SyncRequest) -> Result<SyncResponse, NetError> {
    let r = app
        .http
        .post(format!("{}/sync", app.base))
        .bearer_auth(&app.token)
        .json(req)
        .send()
        .await
        .map_err(|e| NetError::NoAnswer(e.to_string()))?;
    if !r.status().is_success() {
        return Err(NetError::Status(r.status().as_u16()));
    }
    r.json()
        .await
        .map_err(|e| NetError::NoAnswer(e.to_string()))
}

/// A plain `POST /sync`.
struct Plain<'a>(&'a App);

impl Net for Plain<'_> {
    async fn exchange(&self, req: &SyncRequest) -> Result<SyncResponse, NetError> {
        post(self.0, req).await
    }
}

/// The world of one schedule: the server, both devices, the note, and the model.
struct World {
    app: App,
    a: Device,
    b: Device,
    note: String,
    /// The model: B's last first line, and the words A typed.
    head: RefCell<String>,
    words: RefCell<Vec<String>>,
    trace: RefCell<Vec<String>>,
}

/// What happens while A's request is on its way.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Meanwhile {
    Nothing,
    /// B rewrites the first line and syncs, before the server sees A's request.
    OtherDeviceFirst,
    /// A types this many words after the server took its request, before the answer.
    TypeOn(u8),
    /// Both.
    Both(u8),
}

/// A's `POST /sync`, with `meanwhile` happening around it.
struct AsLink<'a> {
    world: &'a World,
    meanwhile: Cell<Meanwhile>,
}

impl Net for AsLink<'_> {
    async fn exchange(&self, req: &SyncRequest) -> Result<SyncResponse, NetError> {
        let m = self.meanwhile.replace(Meanwhile::Nothing);
        if matches!(m, Meanwhile::OtherDeviceFirst | Meanwhile::Both(_)) {
            self.world.b_rewrites().await;
            self.world.b_syncs().await;
        }
        let answer = post(&self.world.app, req).await;
        if let Meanwhile::TypeOn(n) | Meanwhile::Both(n) = m {
            for _ in 0..n {
                self.world.a_types().await;
            }
        }
        answer
    }
}

impl World {
    async fn text(d: &Device, id: &str) -> (String, bool) {
        let n = d.notes().await.into_iter().find(|n| n.id == id).unwrap();
        (n.content, n.conflict.is_some())
    }

    fn log(&self, s: String) {
        self.trace.borrow_mut().push(s);
    }

    async fn a_types(&self) {
        let word = format!("w{}", self.words.borrow().len() + 1);
        let (text, _) = Self::text(&self.a, &self.note).await;
        self.a
            .edit(&self.note, "Shared", &format!("{text} {word}"))
            .await;
        self.log(format!("A types {word}"));
        self.words.borrow_mut().push(word);
    }

    async fn b_rewrites(&self) {
        let head = format!("HEAD{}", self.trace.borrow().len());
        let (text, _) = Self::text(&self.b, &self.note).await;
        let body = text.split_once('\n').map_or("", |(_, body)| body);
        self.b
            .edit(&self.note, "Shared", &format!("{head}\n{body}"))
            .await;
        self.log(format!("B rewrites the first line: {head}"));
        *self.head.borrow_mut() = head;
    }

    async fn b_syncs(&self) {
        self.b.sync(&Plain(&self.app)).await.unwrap();
        self.log("B syncs".into());
    }

    async fn a_syncs(&self, meanwhile: Meanwhile) {
        self.log(format!("A syncs ({meanwhile:?} meanwhile)"));
        let link = AsLink {
            world: self,
            meanwhile: Cell::new(meanwhile),
        };
        self.a.sync(&link).await.unwrap();
    }

    fn expected(&self) -> String {
        let mut body = "body".to_owned();
        for w in self.words.borrow().iter() {
            body.push(' ');
            body.push_str(w);
        }
        format!("{}\n{body}", self.head.borrow())
    }
}

async fn schedule(seed: u64) -> Result<(), String> {
    let mut r = Rng::new(seed);
    let app = app().await;
    let a = Device::new("a").await;
    let b = Device::new("b").await;
    let note = a.create("Shared", "HEAD0\nbody").await;
    a.sync(&Plain(&app)).await.unwrap();
    b.sync(&Plain(&app)).await.unwrap();
    let w = World {
        app,
        a,
        b,
        note,
        head: RefCell::new("HEAD0".into()),
        words: RefCell::new(vec![]),
        trace: RefCell::new(vec![]),
    };
    for _ in 0..4 + r.below(12) {
        match r.below(8) {
            0 | 1 => w.a_types().await,
            2 => w.b_rewrites().await,
            3 => w.b_syncs().await,
            4 => w.a_syncs(Meanwhile::Nothing).await,
            5 => w.a_syncs(Meanwhile::OtherDeviceFirst).await,
            6 => w.a_syncs(Meanwhile::TypeOn(1 + r.below(2) as u8)).await,
            _ => w.a_syncs(Meanwhile::Both(1 + r.below(2) as u8)).await,
        }
    }
    // Everyone online until nothing is pending (each round brings the other's last push).
    for _ in 0..4 {
        w.a_syncs(Meanwhile::Nothing).await;
        w.b_syncs().await;
    }
    let want = w.expected();
    for (name, d) in [("A", &w.a), ("B", &w.b)] {
        let (text, conflict) = World::text(d, &w.note).await;
        let pending = d.notes().await.iter().any(|n| n.pending);
        if text != want || conflict || pending {
            return Err(format!(
                "seed {seed}: device {name} shows {text:?} (conflict: {conflict}, pending: \
                 {pending}), the model {want:?}\nschedule:\n  {}",
                w.trace.borrow().join("\n  ")
            ));
        }
    }
    Ok(())
}

#[test]
fn edits_in_different_places_never_conflict_whatever_the_interleaving() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let seeds: Vec<u64> = match env_u64("TERN_TYPE_ON_SEED") {
        Some(s) => vec![s],
        None => {
            let n = env_u64("TERN_TYPE_ON_SCHEDULES").unwrap_or(150);
            let base = env_u64("TERN_TYPE_ON_BASE_SEED").unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs()
                    % 1_000_000
                    * 1000
            });
            eprintln!("typing schedules from seed {base} (TERN_TYPE_ON_BASE_SEED={base})");
            (base..base + n).collect()
        }
    };
    let failures: Vec<String> = rt.block_on(async {
        let mut failures = vec![];
        for seed in seeds.iter().copied() {
            if let Err(e) = schedule(seed).await {
                failures.push(e);
            }
        }
        failures
    });
    assert!(
        failures.is_empty(),
        "{} of {} schedules failed; the first:\n{}",
        failures.len(),
        seeds.len(),
        failures[0]
    );
}

/// An editor whose typing overlapped another device's edit (pulled while the user typed)
/// keeps both versions on its device. Pushed as an edit made on the pulled text, it replaced
/// the other device's edit there without a word, while only the typing device showed a
/// conflict. It is pushed as concurrent: every device shows the same conflict (under the
/// merge and manual strategies), the versions are not doubled, and one resolution ends it
/// everywhere.
#[test]
fn an_overlap_kept_by_the_editor_is_a_conflict_on_every_device() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for strategy in [None, Some(sync_core::Strategy::Manual)] {
            let app = app().await;
            let (a, b) = (Device::new("a").await, Device::new("b").await);
            let id = a.create("Shared", "one two three").await;
            if let Some(s) = strategy {
                a.set_strategy(&id, s).await;
            }
            a.sync(&Plain(&app)).await.unwrap();
            b.sync(&Plain(&app)).await.unwrap();
            // B changes the middle word; A pulls it while its editor, opened on the old
            // text, has "two" rewritten and not saved yet.
            b.edit(&id, "Shared", "one TWO three").await;
            b.sync(&Plain(&app)).await.unwrap();
            a.sync(&Plain(&app)).await.unwrap();
            let kept = a
                .save_editor(&id, ("Shared", "one two three"), ("Shared", "one 2 three"))
                .await;
            assert!(kept, "{strategy:?}: the overlap is kept as a conflict on A");
            for _ in 0..2 {
                a.sync(&Plain(&app)).await.unwrap();
                b.sync(&Plain(&app)).await.unwrap();
            }
            for (name, d) in [("A", &a), ("B", &b)] {
                let n = d.notes().await.into_iter().find(|n| n.id == id).unwrap();
                let c = n.conflict.as_ref().unwrap_or_else(|| {
                    panic!(
                        "{strategy:?}: device {name} shows {:?} with no conflict",
                        n.content
                    )
                });
                let mut texts: Vec<&str> = c.versions.iter().map(|v| v.content.as_str()).collect();
                texts.push(&n.content);
                texts.sort();
                assert_eq!(
                    texts,
                    ["one 2 three", "one TWO three"],
                    "{strategy:?}: device {name} shows both versions, each once"
                );
                assert!(
                    !n.pending,
                    "{strategy:?}: device {name} has nothing to push"
                );
            }
            // B chooses A's version: the conflict ends on both devices.
            b.resolve(&id, "Shared", "one 2 three", false).await;
            for _ in 0..2 {
                b.sync(&Plain(&app)).await.unwrap();
                a.sync(&Plain(&app)).await.unwrap();
            }
            for (name, d) in [("A", &a), ("B", &b)] {
                let n = d.notes().await.into_iter().find(|n| n.id == id).unwrap();
                assert_eq!(
                    (n.content.as_str(), n.conflict.is_some(), n.pending),
                    ("one 2 three", false, false),
                    "{strategy:?}: device {name} after the resolution"
                );
            }
        }
    });
}
