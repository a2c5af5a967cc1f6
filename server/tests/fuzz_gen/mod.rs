//! Hostile request bodies for the fuzz campaigns: generated from a seed, so a failure is
//! reproducible from the seed and the case number it prints.
//!
//! Bodies are built three ways: valid request shapes with hostile values (wrong types,
//! huge and negative numbers, ids and texts over their limits, clocks far ahead, unknown
//! strategies, cursors out of range), mutations of valid bodies at the byte level
//! (truncation, flipped bytes, bad UTF-8, duplicate keys, deep nesting, NaN-ish literals),
//! and plain random bytes. A small share of them are large (over the body limit, over the
//! change count limit, megabytes of text).
#![allow(dead_code)]

use serde_json::{Value, json};

/// A small, fast, seedable generator (splitmix64): the campaigns need reproducibility,
/// not cryptographic quality.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    /// An index into a slice of length `n`.
    pub fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }
}

use server::clock::now_ms;

/// Note ids the valid changes use (a small pool, so the stored data stays small and
/// changes meet).
pub const NOTE_IDS: [&str; 6] = ["n-a", "n-b", "n-c", "n-d", "n-e", "n-f"];

fn id(r: &mut Rng) -> Value {
    match r.below(14) {
        0 => json!(""),
        1 => json!("x".repeat(65)),
        2 => json!("has space"),
        3 => json!("ünïcode"),
        4 => json!("../../etc"),
        5 => json!(12345),
        6 => Value::Null,
        7 => json!(["n-a"]),
        8 => json!("a\u{0}b"),
        _ => json!(format!("{}-{}", r.pick(&NOTE_IDS), r.below(4))),
    }
}

fn note_id(r: &mut Rng) -> Value {
    if r.chance(0.85) {
        json!(r.pick(&NOTE_IDS))
    } else {
        id(r)
    }
}

fn change_id(r: &mut Rng) -> Value {
    if r.chance(0.85) {
        json!(format!("c{:x}", r.next_u64()))
    } else {
        id(r)
    }
}

/// A clock, usually valid and near now.
fn hlc(r: &mut Rng) -> Value {
    let now = now_ms();
    match r.below(16) {
        0 => json!(format!("{:013}-00000000-dev", now + 3_600_000)), // an hour ahead
        1 => json!("9999999999999-ffffffff-dev"),
        2 => json!("0000000000000-00000000-dev"),
        3 => json!(format!("{now}-0000000G-dev")),
        4 => json!(format!("{now}-00000000-")),
        5 => json!(format!("{now}-00000000-{}", "n".repeat(65))),
        6 => json!(now),
        7 => json!(format!("{}-00000000-dev", now * 10)),
        8 => json!("NaN"),
        9 => Value::Null,
        _ => json!(format!(
            "{:013}-{:08x}-d{}",
            now - r.below(86_400_000),
            r.below(4),
            r.below(3)
        )),
    }
}

/// A number field's hostile values.
fn number(r: &mut Rng, typical: u64) -> Value {
    match r.below(14) {
        0 => json!(-1),
        1 => json!(u64::MAX),
        2 => serde_json::from_str("18446744073709551616").unwrap_or(Value::Null),
        3 => json!(1.5),
        4 => json!(1e300),
        5 => json!("7"),
        6 => Value::Null,
        7 => json!(true),
        8 => json!(i64::MIN),
        9 => json!(0),
        _ => json!(r.below(typical + 1)),
    }
}

/// Text: usually small, sometimes over a limit or strange.
fn text(r: &mut Rng, limit: usize) -> Value {
    match r.below(20) {
        0 => json!("x".repeat(limit + 1)),
        1 => json!("é".repeat(limit / 2 + 1)), // over the limit in bytes, not in characters
        2 => json!("\u{0}\u{1}\u{7f}\u{feff}\u{202e}"),
        3 => json!("🦀".repeat(50)),
        4 => json!(42),
        5 => json!(["a"]),
        6 => json!({"text": "a"}),
        7 => Value::Null,
        8 => json!("x".repeat(limit)), // exactly at the limit
        _ => json!(
            ["milk", "eggs", "bread", "oat", "rye", "\n", " ", "ü"][..r.index(8) + 1].join(" ")
        ),
    }
}

fn strategy(r: &mut Rng) -> Value {
    json!(*r.pick(&[
        "lww",
        "merge",
        "manual",
        "default",
        "LWW",
        "",
        "last-write-wins",
        "null"
    ]))
}

fn cursor(r: &mut Rng, issued: &[String]) -> Value {
    match r.below(14) {
        0 => json!("v1."),
        1 => json!("v1.-1"),
        2 => json!("v1.18446744073709551615"),
        3 => json!("v1.18446744073709551616"),
        4 => json!("v2.1"),
        5 => json!(""),
        6 => json!(17),
        7 => json!("v1.9223372036854775807"),
        8 => json!("v1.9223372036854775808"),
        9 => json!("v1.+1"),
        10 => json!(format!("v1.{}", r.below(1_000_000))),
        _ => issued
            .get(r.index(issued.len().max(1)))
            .map_or(Value::Null, |c| json!(c)),
    }
}

/// One change: a valid one, with some fields made hostile.
pub fn change(r: &mut Rng) -> Value {
    let deleted = r.chance(0.15);
    let mut c = json!({
        "change_id": change_id(r),
        "note_id": note_id(r),
        "hlc": hlc(r),
        "base_version": if r.chance(0.5) { Value::Null } else { json!(r.below(50)) },
        "title": if deleted { json!("") } else { json!(format!("t{}", r.below(5))) },
        "content": if deleted { json!("") } else { text(r, 40) },
        "deleted": deleted,
    });
    let o = c.as_object_mut().unwrap();
    if r.chance(0.3) {
        o.insert("base_title".into(), json!("t0"));
        o.insert("base_content".into(), text(r, 40));
    }
    // Make 0 to 3 fields hostile (none in half of the changes).
    let hostile = if r.chance(0.5) { 0 } else { 1 + r.below(3) };
    for _ in 0..hostile {
        match r.below(14) {
            0 => {
                o.insert("change_id".into(), id(r));
            }
            1 => {
                o.insert("note_id".into(), id(r));
            }
            2 => {
                o.insert("hlc".into(), hlc(r));
            }
            3 => {
                o.insert("base_version".into(), number(r, 50));
            }
            4 => {
                o.insert("title".into(), text(r, 1024));
            }
            5 => {
                o.insert("content".into(), text(r, 256 * 1024));
            }
            6 => {
                o.insert(
                    "deleted".into(),
                    r.pick(&[json!(1), json!("true"), Value::Null, json!(!deleted)])
                        .clone(),
                );
            }
            7 => {
                o.insert("base_title".into(), text(r, 1024));
            }
            8 => {
                o.insert("base_content".into(), text(r, 256 * 1024));
            }
            9 => {
                o.insert("strategy".into(), strategy(r));
            }
            10 => {
                o.insert(
                    "resolve".into(),
                    r.pick(&[json!(true), json!("yes"), json!(1)]).clone(),
                );
            }
            11 => {
                let k = r
                    .pick(&["change_id", "note_id", "hlc", "title"])
                    .to_string();
                o.remove(&k);
            }
            12 => {
                o.insert("unknown_field".into(), json!({"nested": [1, 2, 3]}));
            }
            _ => {
                o.insert("strategy".into(), json!("manual"));
            }
        }
    }
    c
}

/// A `/sync` body of the right shape with hostile values, as JSON.
pub fn sync_value(r: &mut Rng, issued: &[String]) -> Value {
    let n = match r.below(20) {
        0 => 0,
        1 => 1001,            // over the change count limit
        2 => r.below(40) + 1, // a big batch
        _ => r.below(4),
    };
    let changes: Vec<Value> = if n > 1000 {
        // Over the count limit: small changes (the count is what is under test).
        (0..n)
            .map(|i| {
                json!({"change_id": format!("c{i}"), "note_id": "n-a",
                "hlc": "0000000000001-00000000-d", "title": "", "content": ""})
            })
            .collect()
    } else {
        (0..n).map(|_| change(r)).collect()
    };
    let mut v = json!({"protocol": 1, "changes": changes});
    let o = v.as_object_mut().unwrap();
    if r.chance(0.5) {
        o.insert("cursor".into(), cursor(r, issued));
    }
    if r.chance(0.3) {
        o.insert("limit".into(), number(r, 2000));
    }
    if r.chance(0.1) {
        o.insert(
            "protocol".into(),
            r.pick(&[
                json!(2),
                json!(0),
                json!("1"),
                json!(1.0),
                json!(-1),
                Value::Null,
            ])
            .clone(),
        );
    }
    if r.chance(0.05) {
        o.remove("protocol");
    }
    if r.chance(0.05) {
        o.insert(
            "changes".into(),
            r.pick(&[json!({}), json!("x"), Value::Null, json!([1, 2])])
                .clone(),
        );
    }
    v
}

/// Byte-level mutations of a body.
pub fn mutate(r: &mut Rng, mut b: Vec<u8>) -> Vec<u8> {
    for _ in 0..r.below(3) + 1 {
        let len = b.len().max(1);
        match r.below(12) {
            0 => b.truncate(r.index(len)),
            1 => {
                let i = r.index(len).min(b.len());
                b.insert(i, *r.pick(&[0xff, 0xc0, 0x80, 0xed, 0xf8, 0x00]));
            }
            2 => {
                if !b.is_empty() {
                    let i = r.index(b.len());
                    b[i] ^= 1 << r.below(8);
                }
            }
            3 => {
                // A duplicate key right after the opening brace.
                if b.first() == Some(&b'{') {
                    let dup = *r.pick(&[
                        &b"\"protocol\":2,"[..],
                        b"\"changes\":[],",
                        b"\"cursor\":\"v1.0\",",
                        b"\"protocol\":1,",
                    ]);
                    b.splice(1..1, dup.iter().copied());
                }
            }
            4 => {
                let lit = *r.pick(&[
                    &b"NaN"[..],
                    b"Infinity",
                    b"-Infinity",
                    b"1e999",
                    b"-0",
                    b"0x10",
                    b"01",
                ]);
                let i = r.index(len).min(b.len());
                b.splice(i..i, lit.iter().copied());
            }
            5 => {
                // A lone surrogate escape inside a string.
                let i = r.index(len).min(b.len());
                b.splice(i..i, b"\"\\ud800\"".iter().copied());
            }
            6 => b.extend_from_slice(b" trailing"),
            7 => {
                let i = r.index(len).min(b.len());
                let junk: Vec<u8> = (0..r.below(16)).map(|_| r.next_u64() as u8).collect();
                b.splice(i..i, junk);
            }
            8 => {
                let i = r.index(len).min(b.len());
                b.splice(i..i, b"\\u0000".iter().copied());
            }
            9 => b.insert(0, 0xef), // half a byte order mark
            10 => {
                let cut = r.index(len).min(b.len());
                b.drain(..cut);
            }
            _ => {
                let i = r.index(len).min(b.len());
                b.splice(i..i, b"{\"a\":[".iter().copied());
            }
        }
    }
    b
}

/// Deeply nested JSON of depth `depth`.
pub fn deep(r: &mut Rng, depth: usize) -> Vec<u8> {
    let mut b = Vec::with_capacity(depth * 8 + 32);
    b.extend_from_slice(b"{\"protocol\":1,\"changes\":");
    let (open, close): (&[u8], &[u8]) = if r.chance(0.5) {
        (b"[", b"]")
    } else {
        (b"{\"a\":", b"}")
    };
    for _ in 0..depth {
        b.extend_from_slice(open);
    }
    b.extend_from_slice(b"1");
    for _ in 0..depth {
        b.extend_from_slice(close);
    }
    b.push(b'}');
    b
}

/// One hostile `/sync` body. `issued` are cursors the server really issued. `large`
/// allows the bodies of megabytes.
pub fn sync_body(r: &mut Rng, issued: &[String], large: bool) -> Vec<u8> {
    match r.below(100) {
        0..=54 => serde_json::to_vec(&sync_value(r, issued)).unwrap(),
        55..=79 => {
            let v = serde_json::to_vec(&sync_value(r, issued)).unwrap();
            mutate(r, v)
        }
        80..=84 => (0..r.below(200)).map(|_| r.next_u64() as u8).collect(),
        85..=88 => {
            let depth = *r.pick(&[100, 127, 128, 129, 1000, 100_000]);
            deep(r, depth)
        }
        89..=91 => {
            // Huge numbers and NaN-ish values where numbers go.
            let lit = r.pick(&[
                "1e400",
                "-1e400",
                "123456789012345678901234567890",
                "NaN",
                "\"NaN\"",
                "\"Infinity\"",
                "-0",
                "4294967296",
                "1.0e1",
            ]);
            let field = r.pick(&["protocol", "limit"]);
            format!(r#"{{"protocol":1,"{field}":{lit},"changes":[]}}"#).into_bytes()
        }
        92..=93 => Vec::new(),
        94..=95 => {
            // Valid JSON of another shape entirely.
            r.pick(&[
                &b"[]"[..],
                b"null",
                b"\"protocol\"",
                b"1",
                b"{}",
                b"{\"protocol\":1,\"changes\":[null]}",
                b"{\"protocol\":1,\"changes\":[{}]}",
            ])
            .to_vec()
        }
        _ if large => match r.below(4) {
            // Over the 8 MiB body limit.
            0 => {
                let mut b = br#"{"protocol":1,"changes":[],"pad":""#.to_vec();
                b.resize(b.len() + 8 * 1024 * 1024 + r.below(1024) as usize, b'x');
                b.extend_from_slice(b"\"}");
                b
            }
            // Just under it: one big text (a valid shape; over the content limit).
            1 => {
                let c = json!({"change_id": "c-big", "note_id": "n-big", "hlc": format!("{:013}-00000000-d0", now_ms()),
                    "title": "t", "content": "y".repeat(7 * 1024 * 1024)});
                serde_json::to_vec(&json!({"protocol": 1, "changes": [c]})).unwrap()
            }
            // Many small changes, over the count limit.
            2 => {
                let changes: Vec<Value> = (0..5000)
                    .map(|i| {
                        json!({"change_id": format!("c{i}"), "note_id": "n-a",
                    "hlc": "0000000000001-00000000-d", "title": "", "content": ""})
                    })
                    .collect();
                serde_json::to_vec(&json!({"protocol": 1, "changes": changes})).unwrap()
            }
            // A long string of escapes.
            _ => {
                let mut b = br#"{"protocol":1,"changes":[],"cursor":""#.to_vec();
                for _ in 0..200_000 {
                    b.extend_from_slice(br"\u00e9");
                }
                b.extend_from_slice(b"\"}");
                b
            }
        },
        _ => serde_json::to_vec(&sync_value(r, issued)).unwrap(),
    }
}

/// A hostile body for `POST /auth/signup` or `/auth/signin`. Valid-looking credentials are
/// rare: each one costs a password hash.
pub fn credentials_body(r: &mut Rng) -> Vec<u8> {
    let name = match r.below(10) {
        0 => json!(""),
        1 => json!("a".repeat(65)),
        2 => json!("Ünïcode"),
        3 => json!(7),
        4 => Value::Null,
        5 => json!("ab"),
        6 => json!("has space"),
        _ => json!(format!("fz{}", r.below(5))),
    };
    let password = match r.below(10) {
        0 => json!(""),
        1 => json!("p".repeat(1025)),
        2 => json!("short"),
        3 => json!(["x"]),
        4 => Value::Null,
        5 => json!("p".repeat(100_000)),
        _ => json!(format!("wrong password {}", r.below(3))),
    };
    let v = json!({"username": name, "password": password});
    let b = serde_json::to_vec(&v).unwrap();
    match r.below(4) {
        0 => mutate(r, b),
        1 => (0..r.below(100)).map(|_| r.next_u64() as u8).collect(),
        _ => b,
    }
}

/// A hostile path segment for `/notes/{id}/history` (already percent-encoded where it
/// needs to be).
pub fn history_id(r: &mut Rng) -> String {
    match r.below(12) {
        0 => "x".repeat(65),
        1 => "%FF%FE".into(),
        2 => "%00".into(),
        3 => "a.b".into(),
        4 => "%2e%2e%2fetc".into(),
        5 => "a%20b".into(),
        6 => "%C3%A9t%C3%A9".into(),
        7 => "x".repeat(5000),
        8 => "%ED%A0%80".into(), // an encoded surrogate: not UTF-8
        9 => format!("{}%", r.pick(&NOTE_IDS)),
        _ => r.pick(&NOTE_IDS).to_string(),
    }
}
