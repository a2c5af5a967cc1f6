//! Unsynced notes are protected from eviction: what the storage notice says (shown by
//! `components::storage_notice`).
//!
//! Browsers may delete a site's IndexedDB when the device runs short of space unless they
//! granted persistent storage (`navigator.storage.persist()`, asked by `io::pwa`), and
//! Safari (and every browser on iOS, all WebKit) deletes the storage of a site not visited
//! for 7 days, unless the app was added to the Home Screen. Notes that are on the server
//! come back after such a loss; notes that are only on the device do not. The notice says
//! what is true for this user, in one compact line with the details a click away:
//!
//! - **Nobody signed in**: every note is only on this device: what may delete them,
//!   "Create an account" to keep a copy on the server, and "Export my notes" to keep one in
//!   a file (the lossless JSON export).
//! - **Signed in**: the server has a copy of every synced note; the notice says how many
//!   wait to be sent, if any, and offers "Sync them now".
//!
//! It can be dismissed; the dismissal is remembered in this browser (`localStorage`) for
//! that case (signed in, or not), so it shows again when the case changes, e.g. after a
//! sign-out.

/// Which notice applies; its `as_str` is what a dismissal remembers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    /// Nobody is signed in: the notes are only here.
    NoAccount,
    /// Signed in: the server keeps a copy of what synced.
    Account,
}

impl Case {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoAccount => "no-account",
            Self::Account => "account",
        }
    }
}

/// What this browser threatens: evicting under storage pressure (persistence refused)
/// and/or Safari's 7 days without a visit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Threats {
    /// `navigator.storage.persist()` was refused.
    pub refused: bool,
    /// A WebKit browser (Safari, any iOS browser) not running as a Home Screen app.
    pub seven_days: bool,
}

/// Whether `ua` is a WebKit engine that applies Safari's 7-day storage cap: Safari on macOS,
/// and every browser on iOS/iPadOS (`CriOS`, `FxiOS`… are WebKit there). Chromium-based
/// browsers say `AppleWebKit` too, but also `Chrome/` (or `Chromium/`), and Android's
/// WebViews say `Android`.
pub fn safari_like(ua: &str) -> bool {
    ua.contains("AppleWebKit")
        && !ua.contains("Chrome/")
        && !ua.contains("Chromium/")
        && !ua.contains("Android")
}

/// The notice: one line that says what is at risk, and the details a click away (why,
/// and what to do).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// The compact line, always shown.
    pub line: String,
    /// Why, and what to do.
    pub details: String,
}

/// The notice for `case`, or `None` when nothing is at risk. `unsynced`: notes not on the
/// server yet (signed in); `notes`: how many notes there are (nobody signed in).
pub fn notice(case: Case, threats: Threats, unsynced: usize, notes: usize) -> Option<Notice> {
    if !threats.refused && !threats.seven_days {
        return None;
    }
    let plural = |n: usize| if n == 1 { "note" } else { "notes" };
    let why = match (threats.refused, threats.seven_days) {
        (true, true) => {
            "This browser may delete them when the device runs short of space, and Safari \
             deletes a site's data after 7 days without a visit (unless Tern is added to the \
             Home Screen)."
        }
        (true, false) => {
            "This browser did not grant persistent storage, so it may delete them when the \
             device runs short of space."
        }
        _ => {
            "Safari deletes a site's data after 7 days without a visit (unless Tern is added \
             to the Home Screen)."
        }
    };
    let (line, then) = match case {
        Case::NoAccount => (
            if notes == 0 {
                "Notes you write here are kept only on this device.".to_owned()
            } else {
                format!(
                    "Your {notes} {} {} only on this device.",
                    plural(notes),
                    if notes == 1 { "is" } else { "are" }
                )
            },
            "Create an account to keep a copy on the server, or export them to a file.",
        ),
        Case::Account if unsynced > 0 => (
            format!(
                "{unsynced} {} {} not on the server yet.",
                plural(unsynced),
                if unsynced == 1 { "is" } else { "are" }
            ),
            "Keep Tern open online until they sync; every synced note is safe on the server.",
        ),
        Case::Account => (
            "Every note is on the server too.".to_owned(),
            "The copy on this device may go; signing in again brings your notes back.",
        ),
    };
    Some(Notice {
        line,
        details: format!("{why} {then}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAFARI: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 \
                          (KHTML, like Gecko) Version/17.5 Safari/605.1.15";
    const IOS_CHROME: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) \
                              AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0 \
                              Mobile/15E148 Safari/604.1";
    const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like \
                          Gecko) Chrome/126.0.0.0 Safari/537.36";
    const ANDROID: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 \
                           (KHTML, like Gecko) Version/4.0 Safari/537.36";

    #[test]
    fn safari_and_every_ios_browser_are_safari_like() {
        assert!(safari_like(SAFARI) && safari_like(IOS_CHROME));
        assert!(!safari_like(CHROME) && !safari_like(ANDROID));
        assert!(!safari_like(
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko Firefox/128.0"
        ));
    }

    #[test]
    fn the_notice_tells_the_truth_for_each_case() {
        let refused = Threats {
            refused: true,
            seven_days: false,
        };
        assert_eq!(notice(Case::NoAccount, Threats::default(), 0, 3), None);
        let guest = notice(Case::NoAccount, refused, 0, 3).unwrap();
        assert_eq!(guest.line, "Your 3 notes are only on this device.");
        assert!(guest.details.contains("may delete them"), "{guest:?}");
        assert!(guest.details.contains("Create an account"), "{guest:?}");
        // Signed in, all synced: never "sign in to keep a copy".
        let synced = notice(Case::Account, refused, 0, 3).unwrap();
        assert_eq!(synced.line, "Every note is on the server too.");
        assert!(
            !format!("{} {}", synced.line, synced.details)
                .to_lowercase()
                .contains("sign in to"),
            "{synced:?}"
        );
        let waiting = notice(Case::Account, refused, 1, 3).unwrap();
        assert_eq!(waiting.line, "1 note is not on the server yet.");
        let safari = Threats {
            refused: false,
            seven_days: true,
        };
        let s = notice(Case::NoAccount, safari, 0, 1).unwrap();
        assert_eq!(s.line, "Your 1 note is only on this device.");
        assert!(s.details.contains("after 7 days without a visit"), "{s:?}");
    }
}
