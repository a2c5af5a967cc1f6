//! One hybrid logical clock per device, persisted in the local store's meta
//! ([`META_DEVICE_CLOCK`]).
//!
//! The protocol promises that an edit made after seeing another orders after it. A clock per
//! note cannot keep that promise: a device that pulls a remote state of a note while its own
//! edit of that note is pending keeps its edit, so the note's stored clock never saw the
//! remote one. The device clock observes every remote timestamp the device receives (pulled
//! states, answers, conflict versions), pending or not, before the response is written to the
//! store, so anything the user can have seen is already behind the clock.
//!
//! Two timestamps are kept: `last`, the largest handed out or observed, and `remote`, the
//! largest observed from the server. Remote timestamps were accepted by the server, so they
//! are never further ahead than it allows, and every tick orders after `remote`. A timestamp
//! this device handed out while its clock was wrong (days ahead, refused with `clock_ahead`)
//! may be in `last`: it is not carried forward once the corrected clock is more than
//! [`CARRY_AHEAD_MS`] behind it, or every later edit would be refused too.

use std::fmt;
use std::str::FromStr;

use sync_core::Hlc;
use sync_core::limits::MAX_CLOCK_AHEAD_MS;

/// The meta key of the device clock.
pub const META_DEVICE_CLOCK: &str = "device_clock";

/// How far ahead of the corrected wall clock the device's own last timestamp may be and
/// still be carried forward. Half the server's bound, so that a tick from a carried stamp
/// stays accepted even when the offset estimate is off by a round trip.
pub const CARRY_AHEAD_MS: u64 = MAX_CLOCK_AHEAD_MS / 2;

/// The device's clock state (pure; the store persists it as one string).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceClock {
    /// The largest timestamp handed out or observed.
    pub last: Option<Hlc>,
    /// The largest timestamp observed from the server.
    pub remote: Option<Hlc>,
}

fn max_of(a: Option<Hlc>, b: &Hlc) -> Option<Hlc> {
    match a {
        Some(a) if a >= *b => Some(a),
        _ => Some(b.clone()),
    }
}

impl DeviceClock {
    /// Absorbs a timestamp received from the server: every later tick orders after it.
    pub fn observe(&mut self, remote: &Hlc) {
        self.remote = max_of(self.remote.take(), remote);
        self.last = max_of(self.last.take(), remote);
    }

    /// A new timestamp of `node` for a local edit. `now_ms` is the device's wall clock
    /// corrected by the server offset; `after` is the state being edited, when the caller
    /// wants the tick to order after it too.
    pub fn tick(&mut self, node: &str, now_ms: u64, after: Option<&Hlc>) -> Hlc {
        let carry = |h: &Hlc| h.wall_ms <= now_ms.saturating_add(CARRY_AHEAD_MS);
        let mut base = self.remote.clone();
        if let Some(l) = self.last.as_ref().filter(|l| carry(l)) {
            base = max_of(base, l);
        }
        if let Some(a) = after {
            base = max_of(base, a);
        }
        let t = match base {
            Some(b) if b.wall_ms >= now_ms => match b.counter.checked_add(1) {
                Some(c) => Hlc {
                    wall_ms: b.wall_ms,
                    counter: c,
                    node: node.to_owned(),
                },
                // 4 billion events in one millisecond: the next millisecond instead.
                None => Hlc {
                    wall_ms: b.wall_ms + 1,
                    counter: 0,
                    node: node.to_owned(),
                },
            },
            _ => Hlc {
                wall_ms: now_ms,
                counter: 0,
                node: node.to_owned(),
            },
        };
        self.last = Some(t.clone());
        t
    }
}

impl fmt::Display for DeviceClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = |h: &Option<Hlc>| h.as_ref().map(Hlc::to_string).unwrap_or_default();
        write!(f, "{} {}", s(&self.last), s(&self.remote))
    }
}

impl FromStr for DeviceClock {
    type Err = sync_core::hlc::HlcParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (last, remote) = s.split_once(' ').unwrap_or((s, ""));
        let parse = |p: &str| -> Result<Option<Hlc>, Self::Err> {
            if p.is_empty() {
                Ok(None)
            } else {
                p.parse().map(Some)
            }
        };
        Ok(Self {
            last: parse(last)?,
            remote: parse(remote)?,
        })
    }
}

/// The server clock offset (server minus device, ms) from one request: the server's time is
/// taken to be that of the request's midpoint, `sent_at + round trip / 2`, so a slow request
/// does not count its whole duration as clock difference.
pub fn estimate_offset(server_time_ms: u64, sent_at_ms: u64, received_at_ms: u64) -> i64 {
    let rtt = received_at_ms.saturating_sub(sent_at_ms);
    server_time_ms as i64 - (sent_at_ms + rtt / 2) as i64
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn h(w: u64, c: u32, n: &str) -> Hlc {
        Hlc {
            wall_ms: w,
            counter: c,
            node: n.into(),
        }
    }

    #[test]
    fn stored_form_round_trips() {
        let mut c = DeviceClock::default();
        assert_eq!(c.to_string().parse::<DeviceClock>().unwrap(), c);
        c.tick("me", 5, None);
        assert_eq!(c.to_string().parse::<DeviceClock>().unwrap(), c);
        c.observe(&h(9, 2, "other"));
        assert_eq!(c.to_string().parse::<DeviceClock>().unwrap(), c);
    }

    #[test]
    fn a_stamp_days_ahead_is_not_carried_but_what_was_seen_is() {
        let day = 86_400_000;
        let mut c = DeviceClock::default();
        let future = c.tick("me", 10 * day + 3 * day, None);
        c.observe(&h(10 * day + 1, 0, "other"));
        let t = c.tick("me", 10 * day, None);
        assert!(t < future && t > h(10 * day + 1, 0, "other"), "{t}");
    }

    #[test]
    fn the_offset_is_taken_at_the_midpoint() {
        assert_eq!(estimate_offset(1_000, 1_000, 1_000), 0);
        // 400 ms round trip, server 50 ms ahead of the device.
        assert_eq!(estimate_offset(1_250, 1_000, 1_400), 50);
    }

    proptest! {
        #[test]
        fn every_tick_orders_after_everything_observed(
            events in proptest::collection::vec((any::<bool>(), 0u64..1_000_000, 0u32..3), 1..60),
        ) {
            let mut c = DeviceClock::default();
            let mut seen: Option<Hlc> = None;
            let mut own: Vec<Hlc> = Vec::new();
            for (is_tick, wall, counter) in events {
                if is_tick {
                    let t = c.tick("me", wall, None);
                    if let Some(s) = &seen {
                        prop_assert!(t > *s, "{t} after {s}");
                    }
                    own.push(t);
                } else {
                    let r = h(wall, counter, "them");
                    c.observe(&r);
                    seen = max_of(seen, &r);
                }
                let back: DeviceClock = c.to_string().parse().unwrap();
                prop_assert_eq!(&back, &c);
            }
        }
    }
}
