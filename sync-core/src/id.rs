//! The one rule for identifiers: note ids, change ids and clock node names.

/// Longest note id or change id accepted.
pub const MAX_ID_LEN: usize = 64;

/// True when `s` is 1..=`max` characters of `[A-Za-z0-9_-]`.
pub fn is_valid_id(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
