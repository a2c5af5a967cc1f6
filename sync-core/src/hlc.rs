//! Hybrid logical clocks (Kulkarni et al., 2014).
//!
//! A timestamp is `(wall_ms, counter, node)`. Ordering is lexicographic on that triple, so
//! ties between devices break deterministically by node id. A clock never goes backwards:
//! after seeing a remote timestamp, every later local timestamp is greater than it, which
//! is what makes "the edit made after seeing another edit wins" hold even when wall clocks
//! disagree.
//!
//! On the wire a timestamp is one string, `"<wall_ms:013>-<counter:08x>-<node>"`, which
//! sorts the same way as the triple (for wall clocks before the year 2286).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Longest node id accepted in a timestamp.
pub const MAX_NODE_LEN: usize = 64;

/// A hybrid logical clock timestamp.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hlc {
    /// Milliseconds since the Unix epoch (physical part).
    pub wall_ms: u64,
    /// Logical counter, for events within the same millisecond.
    pub counter: u32,
    /// The device that made the timestamp; breaks ties deterministically.
    pub node: String,
}

/// Why a timestamp string did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid clock `{0}`: expected <13-digit milliseconds>-<8 hex digits>-<node id>")]
pub struct HlcParseError(String);

impl Hlc {
    /// The smallest timestamp of `node`.
    pub fn zero(node: impl Into<String>) -> Self {
        Self {
            wall_ms: 0,
            counter: 0,
            node: node.into(),
        }
    }
}

impl fmt::Display for Hlc {
    /// `{:013}-{:08x}-{node}`, written by hand: an initial sync of 100,000 notes formats a
    /// stamp three times a note, and the formatting machinery took 0.2 s of it in the
    /// browser (the property test below holds it to `format!`'s text).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // 20 digits (the most a u64 has), '-', 8 hex digits, '-'.
        let mut buf = [b'0'; 30];
        let mut digits = [0u8; 20];
        let (mut w, mut n) = (self.wall_ms, 0);
        loop {
            digits[n] = b'0' + (w % 10) as u8;
            n += 1;
            w /= 10;
            if w == 0 {
                break;
            }
        }
        let mut i = n.max(13) - n; // zeros before (buf starts as '0's)
        for &d in digits[..n].iter().rev() {
            buf[i] = d;
            i += 1;
        }
        buf[i] = b'-';
        i += 1;
        for shift in (0..8).rev() {
            buf[i] = b"0123456789abcdef"[((self.counter >> (shift * 4)) & 0xf) as usize];
            i += 1;
        }
        buf[i] = b'-';
        i += 1;
        f.write_str(std::str::from_utf8(&buf[..i]).map_err(|_| fmt::Error)?)?;
        f.write_str(&self.node)
    }
}

impl FromStr for Hlc {
    type Err = HlcParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || HlcParseError(s.chars().take(100).collect());
        let (wall, rest) = s.split_once('-').ok_or_else(err)?;
        let (counter, node) = rest.split_once('-').ok_or_else(err)?;
        if wall.len() != 13 || !wall.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        if counter.len() != 8 || !counter.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(err());
        }
        if !crate::id::is_valid_id(node, MAX_NODE_LEN) {
            return Err(err());
        }
        Ok(Self {
            wall_ms: wall.parse().map_err(|_| err())?,
            counter: u32::from_str_radix(counter, 16).map_err(|_| err())?,
            node: node.to_owned(),
        })
    }
}

impl Serialize for Hlc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hlc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A device's clock: hands out strictly increasing timestamps and absorbs remote ones.
#[derive(Clone, Debug)]
pub struct HlcClock {
    last: Hlc,
}

impl HlcClock {
    /// A clock for `node` that has seen nothing yet.
    pub fn new(node: impl Into<String>) -> Self {
        Self {
            last: Hlc::zero(node),
        }
    }

    /// A clock that resumes after `last` (for example the largest timestamp stored locally).
    pub fn resume(last: Hlc) -> Self {
        Self { last }
    }

    /// The latest timestamp this clock handed out or observed.
    pub fn last(&self) -> &Hlc {
        &self.last
    }

    /// A new timestamp for a local event, given the device's wall clock now.
    pub fn tick(&mut self, now_ms: u64) -> Hlc {
        if now_ms > self.last.wall_ms {
            self.last.wall_ms = now_ms;
            self.last.counter = 0;
        } else {
            self.bump_counter();
        }
        self.last.clone()
    }

    /// Absorb a timestamp seen from another device so that later ticks order after it.
    pub fn observe(&mut self, remote: &Hlc, now_ms: u64) {
        let wall = now_ms.max(self.last.wall_ms).max(remote.wall_ms);
        let counter = if wall == self.last.wall_ms && wall == remote.wall_ms {
            self.last.counter.max(remote.counter)
        } else if wall == self.last.wall_ms {
            self.last.counter
        } else if wall == remote.wall_ms {
            remote.counter
        } else {
            0
        };
        self.last.wall_ms = wall;
        self.last.counter = counter;
    }

    fn bump_counter(&mut self) {
        match self.last.counter.checked_add(1) {
            Some(c) => self.last.counter = c,
            // 4 billion events in one millisecond: move to the next millisecond instead.
            None => {
                self.last.wall_ms += 1;
                self.last.counter = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wire_form_round_trips_and_is_fixed_width() {
        let t = Hlc {
            wall_ms: 1_764_000_000_123,
            counter: 7,
            node: "dev-a".into(),
        };
        assert_eq!(t.to_string(), "1764000000123-00000007-dev-a");
        assert_eq!("1764000000123-00000007-dev-a".parse::<Hlc>().unwrap(), t);
    }

    #[test]
    fn malformed_clocks_are_rejected() {
        for bad in [
            "",
            "1-2-3",
            "1764000000123-7-dev",
            "1764000000123-0000000g-dev",
            "1764000000123-00000007-",
            "1764000000123-00000007-bad node",
        ] {
            assert!(bad.parse::<Hlc>().is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn a_clock_behind_still_orders_after_what_it_has_seen() {
        // Device B's wall clock is a day ahead; device A edits after seeing B's edit.
        let day = 86_400_000;
        let mut b = HlcClock::new("b");
        let from_b = b.tick(10 * day + day);
        let mut a = HlcClock::new("a");
        a.observe(&from_b, 10 * day);
        assert!(a.tick(10 * day) > from_b);
    }

    fn node() -> impl Strategy<Value = String> {
        "[a-z0-9]{1,8}"
    }

    proptest! {
        #[test]
        fn the_text_form_is_formats(wall in prop_oneof![0u64..10_000_000_000_000, any::<u64>()],
            counter in any::<u32>(), node in "[A-Za-z0-9_-]{0,64}") {
            let t = Hlc { wall_ms: wall, counter, node: node.clone() };
            prop_assert_eq!(t.to_string(), format!("{wall:013}-{counter:08x}-{node}"));
        }

        #[test]
        fn ticks_strictly_increase(node in node(), walls in proptest::collection::vec(0u64..5_000, 1..50)) {
            let mut c = HlcClock::new(node);
            let mut prev = c.last().clone();
            for w in walls {
                let t = c.tick(w);
                prop_assert!(t > prev);
                prev = t;
            }
        }

        #[test]
        fn observe_then_tick_is_after_remote(node in node(), rn in node(),
            rw in 0u64..10_000, rc in 0u32..1000, lw in 0u64..10_000, now in 0u64..10_000) {
            let mut c = HlcClock::new(node);
            c.tick(lw);
            let remote = Hlc { wall_ms: rw, counter: rc, node: rn };
            c.observe(&remote, now);
            let t = c.tick(now);
            prop_assert!(t.wall_ms > remote.wall_ms || (t.wall_ms == remote.wall_ms && t.counter > remote.counter));
        }

        #[test]
        fn string_order_matches_clock_order(a in (0u64..9_999_999_999_999, any::<u32>(), node()),
                                            b in (0u64..9_999_999_999_999, any::<u32>(), node())) {
            let a = Hlc { wall_ms: a.0, counter: a.1, node: a.2 };
            let b = Hlc { wall_ms: b.0, counter: b.1, node: b.2 };
            prop_assert_eq!(a.cmp(&b), a.to_string().cmp(&b.to_string()));
            prop_assert_eq!(a.to_string().parse::<Hlc>().unwrap(), a);
        }
    }
}
