//! This browser's account records, typed: which account it shows, a sign-out the server
//! has not heard of yet, every account that signed in here, and the server's trash period.
//! They are kept in the meta of the database of nobody's notes (`tern`), in the stored
//! shapes the app has always written (pinned by `client/tests/account_records.rs`), so a browser's records
//! read the same after an upgrade.

use serde::{Deserialize, Serialize};

use super::{LocalStore, StoreError};

/// Meta key: the account shown here, `{"id":…,"name":…}` (empty: none).
pub const META_ACCOUNT: &str = "account";
/// Meta key: `"1"` while a sign-out has not reached the server (empty: none).
pub const META_SIGNED_OUT: &str = "signed_out";
/// Meta key: the ids of every account that signed in on this browser, a JSON array.
pub const META_SEEN: &str = "accounts_seen";
/// Meta key: the server's trash period in days, as it last told it.
pub const META_TRASH_DAYS: &str = "trash_days";

/// A signed-in account, as this browser records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecord {
    /// The account's id (names its database).
    pub id: String,
    /// The username.
    pub name: String,
}

/// What this browser's records say, read at once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Records {
    /// The account signed in here last (recorded even while [`Records::signed_out`]).
    pub account: Option<AccountRecord>,
    /// A sign-out the server has not heard of yet: the session cookie must not sign the
    /// user back in.
    pub signed_out: bool,
}

impl Records {
    /// The account whose notes the browser shows: the last one signed in, unless it signed
    /// out since.
    pub fn shown(&self) -> Option<&AccountRecord> {
        self.account.as_ref().filter(|_| !self.signed_out)
    }
}

/// The typed records in the meta of `store` (the database of nobody's notes).
#[derive(Debug)]
pub struct AccountRecords<'a, S>(pub &'a S);

impl<S: LocalStore> AccountRecords<'_, S> {
    /// The account and the sign-out mark. An account record that does not read (written
    /// by hand, or cut short) is no account.
    pub async fn read(&self) -> Result<Records, StoreError> {
        let signed_out = self.0.get_meta(META_SIGNED_OUT).await?.as_deref() == Some("1");
        let account = self
            .0
            .get_meta(META_ACCOUNT)
            .await?
            .and_then(|json| serde_json::from_str(&json).ok());
        Ok(Records {
            account,
            signed_out,
        })
    }

    /// Records `account` as the one signed in here, with no sign-out pending, and among
    /// those seen. True when other accounts signed in on this browser before.
    pub async fn adopt(&self, account: &AccountRecord) -> Result<bool, StoreError> {
        let json =
            serde_json::to_string(account).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.0.set_meta(META_ACCOUNT, &json).await?;
        self.0.set_meta(META_SIGNED_OUT, "").await?;
        let mut seen = self.seen().await?;
        let others = seen.iter().any(|s| *s != account.id);
        if !seen.contains(&account.id) {
            seen.push(account.id.clone());
            let json =
                serde_json::to_string(&seen).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            self.0.set_meta(META_SEEN, &json).await?;
        }
        Ok(others)
    }

    /// The ids of every account that signed in on this browser (unreadable: none).
    pub async fn seen(&self) -> Result<Vec<String>, StoreError> {
        Ok(self
            .0
            .get_meta(META_SEEN)
            .await?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default())
    }

    /// Signs out on this browser: no account is shown, and the sign-out is pending until
    /// the server hears of it ([`AccountRecords::sign_out_reached_server`]).
    pub async fn sign_out(&self) -> Result<(), StoreError> {
        self.0.set_meta(META_SIGNED_OUT, "1").await?;
        self.0.set_meta(META_ACCOUNT, "").await
    }

    /// True while a sign-out has not reached the server.
    pub async fn sign_out_pending(&self) -> Result<bool, StoreError> {
        Ok(self.0.get_meta(META_SIGNED_OUT).await?.as_deref() == Some("1"))
    }

    /// The server ended the session of the pending sign-out (or it was over already).
    pub async fn sign_out_reached_server(&self) -> Result<(), StoreError> {
        self.0.set_meta(META_SIGNED_OUT, "").await
    }

    /// The server's trash period as it last told it (`None`: never told, or unreadable).
    pub async fn trash_days(&self) -> Result<Option<u32>, StoreError> {
        Ok(self
            .0
            .get_meta(META_TRASH_DAYS)
            .await?
            .and_then(|d| d.parse().ok())
            .filter(|d| *d >= 1))
    }

    /// Keeps the server's trash period (a period under one day is not one: ignored).
    pub async fn set_trash_days(&self, days: u32) -> Result<(), StoreError> {
        if days < 1 {
            return Ok(());
        }
        self.0.set_meta(META_TRASH_DAYS, &days.to_string()).await
    }
}
