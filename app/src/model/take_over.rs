//! The take-over of the first-paint shell by the app, as a pure state machine.
//!
//! At start the page shows the shell (`crate::components::first_paint`): the list's first
//! page as it was last shown, read-only, while the app's module loads. The shell's note
//! field cannot be typed in ("Opening…"), so no keystroke can go to a note the app does not
//! know of yet. What the user *clicks* there (a row, "New note") is remembered, the last
//! click winning, and the app replays it once when it takes over: when its own list is
//! drawn (`Painted`), in one update, so the page never shows both or neither. A module that
//! fails to load is said so in the shell, which keeps its rows and retries
//! (`crate::components::lazy`).
//!
//! [`TakeOver::step`] is the whole of it; `tests` check it against a reference model on
//! random interleavings of clicks, failures, retries and the app's paint.

use leptos::prelude::*;

/// The shell's [`TakeOver`], shared with the app (a context the shell provides; none when
/// the app runs without a shell, e.g. in a test).
#[derive(Clone, Copy, Debug)]
pub struct Handoff(pub RwSignal<TakeOver>);

impl Handoff {
    pub fn new() -> Self {
        Self(RwSignal::new(TakeOver::new()))
    }

    /// The page's handoff, if a shell provided one.
    pub fn get() -> Option<Self> {
        use_context::<Self>()
    }

    /// [`TakeOver::step`] on the shared state.
    pub fn step(self, event: Event) -> Option<Intent> {
        let mut out = None;
        self.0.update(|m| out = m.step(event));
        out
    }

    /// [`TakeOver::taken`], tracked.
    pub fn taken(self) -> bool {
        self.0.with(TakeOver::taken)
    }
}

impl Default for Handoff {
    fn default() -> Self {
        Self::new()
    }
}

/// What the user asked for in the shell, for the app to do when it takes over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Intent {
    /// Open this note (a click on its row).
    Open(String),
    /// Start a new note ("New note").
    New,
}

/// What happens to the shell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A click in the shell.
    Click(Intent),
    /// The app's module could not be loaded (this attempt).
    Failed,
    /// Another attempt to load it started.
    Retry,
    /// The app drew its list: it takes over now.
    Painted,
}

/// The shell's state (see the module's docs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TakeOver {
    intent: Option<Intent>,
    failed: bool,
    taken: bool,
}

impl TakeOver {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies `event`. Returns what the app must do at the step that takes over (the last
    /// click in the shell), once; `None` at every other step.
    pub fn step(&mut self, event: Event) -> Option<Intent> {
        if self.taken {
            return None; // the shell is gone: nothing it says matters any more
        }
        match event {
            Event::Click(i) => self.intent = Some(i),
            Event::Failed => self.failed = true,
            Event::Retry => self.failed = false,
            Event::Painted => {
                self.taken = true;
                self.failed = false;
                return self.intent.take();
            }
        }
        None
    }

    /// The app is shown (and the shell gone).
    pub fn taken(&self) -> bool {
        self.taken
    }

    /// The shell says the app could not be loaded (and that it retries).
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// The note the shell shows as chosen (the last row clicked), while it is shown.
    pub fn chosen(&self) -> Option<&str> {
        match &self.intent {
            Some(Intent::Open(id)) if !self.taken => Some(id),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: what each prefix of `events` must leave, computed from the whole
    /// list, not step by step: the app takes over at the first `Painted`; it replays the
    /// last click before that, at that step only; the shell says "failed" while the last
    /// of `Failed` / `Retry` before now is a `Failed` and the app has not taken over.
    fn reference(events: &[Event], now: usize) -> (Option<Intent>, bool, bool) {
        let painted = events.iter().position(|e| *e == Event::Painted);
        let taken = painted.is_some_and(|p| p < now);
        let replay = match painted {
            Some(p) if p + 1 == now => events[..p].iter().rev().find_map(|e| match e {
                Event::Click(i) => Some(i.clone()),
                _ => None,
            }),
            _ => None,
        };
        let failed = !taken
            && events[..now]
                .iter()
                .rev()
                .find(|e| matches!(e, Event::Failed | Event::Retry))
                == Some(&Event::Failed);
        (replay, taken, failed)
    }

    /// A small deterministic generator (xorshift), so a failure names its seed.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    fn event(rng: &mut Rng) -> Event {
        match rng.next() % 10 {
            0..=3 => Event::Click(Intent::Open(format!("n{}", rng.next() % 4))),
            4 => Event::Click(Intent::New),
            5 | 6 => Event::Failed,
            7 => Event::Retry,
            _ => Event::Painted,
        }
    }

    #[test]
    fn random_interleavings_match_the_reference() {
        for seed in 1..=20_000u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let len = (rng.next() % 12) as usize;
            let events: Vec<Event> = (0..len).map(|_| event(&mut rng)).collect();
            let mut m = TakeOver::new();
            let mut replays = 0;
            for (i, e) in events.iter().enumerate() {
                let got = m.step(e.clone());
                replays += usize::from(got.is_some());
                let (replay, taken, failed) = reference(&events, i + 1);
                assert_eq!(got, replay, "seed {seed}, step {i}: {events:?}");
                assert_eq!(m.taken(), taken, "seed {seed}, step {i}: {events:?}");
                assert_eq!(m.failed(), failed, "seed {seed}, step {i}: {events:?}");
                if taken {
                    assert_eq!(m.chosen(), None, "seed {seed}: the shell is gone");
                }
            }
            assert!(
                replays <= 1,
                "seed {seed}: replayed {replays} times: {events:?}"
            );
        }
    }

    #[test]
    fn the_last_click_before_the_paint_is_replayed_once() {
        let mut m = TakeOver::new();
        assert_eq!(m.step(Event::Click(Intent::Open("a".into()))), None);
        assert_eq!(m.chosen(), Some("a"));
        assert_eq!(m.step(Event::Failed), None);
        assert!(m.failed());
        assert_eq!(m.step(Event::Retry), None);
        assert_eq!(m.step(Event::Click(Intent::Open("b".into()))), None);
        assert_eq!(m.chosen(), Some("b"));
        assert_eq!(m.step(Event::Painted), Some(Intent::Open("b".into())));
        assert!(m.taken());
        // A second paint (the app re-reads its list) replays nothing; nor does a late click.
        assert_eq!(m.step(Event::Painted), None);
        assert_eq!(m.step(Event::Click(Intent::New)), None);
        assert_eq!(m.step(Event::Painted), None);
    }

    #[test]
    fn no_click_replays_nothing() {
        let mut m = TakeOver::new();
        assert_eq!(m.step(Event::Painted), None);
        assert!(m.taken() && !m.failed());
    }
}
