//! What the notes' transactions share, whether a push runs alone ([`super::notes`]) or in a
//! batch ([`super::commit`]): the collections they write, how long a push retries, and the
//! commit that retries an unknown result. (Its own module so that those two do not import
//! each other.)

use std::time::Duration;

use mongodb::ClientSession;
use mongodb::error::{Error as MongoError, UNKNOWN_TRANSACTION_COMMIT_RESULT};

/// The collections of notes (see [`super::documents`]).
pub(super) const NOTES: &str = "notes";
pub(super) const REVISIONS: &str = "revisions";

/// How long one push keeps retrying its transaction after losing to a concurrent push of
/// the same user. A loser fails at its first write (the user's counter), before any merge,
/// so an attempt is cheap; what it waits for is the winner's commit, which on a loaded
/// machine can take far longer than a fixed number of short retries covers. Past this the
/// push answers 503 and the client retries later.
pub const PUSH_RETRY_BUDGET: Duration = Duration::from_secs(10);
/// Longest pause between two attempts of one push (exponential from 1 ms, with jitter).
pub const PUSH_RETRY_MAX_PAUSE: Duration = Duration::from_millis(100);

/// Commits the session's transaction, again when the result is unknown (at most 3 tries).
pub(super) async fn commit(s: &mut ClientSession) -> Result<(), MongoError> {
    let mut tries = 0;
    loop {
        tries += 1;
        match s.commit_transaction().await {
            Err(e) if e.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT) && tries < 3 => {}
            other => return other,
        }
    }
}
