//! Accounts and sessions.
//!
//! - Passwords are hashed with argon2id (default parameters: 19 MiB, 2 passes), off the
//!   async runtime.
//! - A session is a random 256-bit token. The database stores only its SHA-256, with an
//!   expiry (`SESSION_TTL`, enforced by the query and removed by a TTL index).
//! - Browsers get the token in an `HttpOnly; SameSite=Strict` cookie (plus `Secure` unless
//!   the server listens on loopback); other clients send `Authorization: Bearer <token>`.
//! - CSRF: a cookie-authenticated request must not carry an `Origin` other than the
//!   server's own, and `POST /sync` needs `Content-Type: application/json`, which a
//!   cross-site form cannot send without a CORS preflight (which this server never allows).
//! - Failed sign-ins are counted per account; from the 5th in a row each attempt must wait
//!   2^(n-5) seconds (at most 15 minutes) and gets `429 too_many_attempts` until then.
//!
//! Collections: `users {_id: <user id>, name, hash, failed, locked_until}` with a unique
//! index on `name`; `sessions {_id: sha256(token), u, exp}` with a TTL index on `exp`.

use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mongodb::bson::{DateTime, Document, doc};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use sha2::{Digest, Sha256};

use crate::store::StoreError;

/// How long a session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// Failed sign-ins in a row before attempts are slowed down.
pub const FREE_ATTEMPTS: i32 = 5;
/// Longest wait imposed after failed sign-ins.
pub const MAX_LOCKOUT: Duration = Duration::from_secs(15 * 60);
/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "tern_session";

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Username or password does not meet the rules.
    #[error("{0}")]
    InvalidAccount(String),
    /// Username already taken.
    #[error("name taken")]
    NameTaken,
    /// Wrong username or password.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Too many failed sign-ins; retry after this many seconds.
    #[error("too many attempts")]
    TooManyAttempts(u64),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<mongodb::error::Error> for AuthError {
    fn from(e: mongodb::error::Error) -> Self {
        Self::Store(e.into())
    }
}

/// A signed-in session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The user's id (scopes every note query).
    pub user_id: String,
    /// The user's name.
    pub name: String,
    /// The secret token (cookie value or bearer token).
    pub token: String,
}

/// Accounts and sessions in MongoDB.
#[derive(Clone)]
pub struct Accounts {
    db: Database,
}

fn random_token() -> String {
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

fn token_key(token: &str) -> String {
    let d = Sha256::digest(token.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks the account rules; returns the normalised (lower-case) name.
pub fn check_credentials(name: &str, password: &str) -> Result<String, AuthError> {
    let name = name.trim().to_lowercase();
    let ok_name = (3..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !ok_name {
        return Err(AuthError::InvalidAccount(
            "a username is 3 to 64 characters of a-z, 0-9, '.', '_' or '-'".into(),
        ));
    }
    if !(8..=1024).contains(&password.len()) {
        return Err(AuthError::InvalidAccount(
            "a password is 8 to 1024 characters; choose a longer one".into(),
        ));
    }
    Ok(name)
}

async fn hash_password(password: String) -> Result<String, AuthError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AuthError::Store(StoreError::Internal(e.to_string())))
    })
    .await
    .map_err(|e| AuthError::Store(StoreError::Internal(e.to_string())))?
}

async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// Seconds to wait after `failed` failed attempts in a row.
pub fn lockout_secs(failed: i32) -> u64 {
    if failed < FREE_ATTEMPTS {
        return 0;
    }
    let exp = (failed - FREE_ATTEMPTS).min(20) as u32;
    2u64.pow(exp).min(MAX_LOCKOUT.as_secs())
}

impl Accounts {
    /// Accounts in `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    fn users(&self) -> Collection<Document> {
        self.db.collection("users")
    }
    fn sessions(&self) -> Collection<Document> {
        self.db.collection("sessions")
    }

    /// Creates the indexes (idempotent).
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        self.users()
            .create_index(
                IndexModel::builder()
                    .keys(doc! {"name": 1})
                    .options(IndexOptions::builder().unique(true).build())
                    .build(),
            )
            .await?;
        self.sessions()
            .create_index(
                IndexModel::builder()
                    .keys(doc! {"exp": 1})
                    .options(IndexOptions::builder().expire_after(Duration::ZERO).build())
                    .build(),
            )
            .await?;
        Ok(())
    }

    /// Creates an account and signs it in.
    pub async fn sign_up(&self, name: &str, password: &str) -> Result<Session, AuthError> {
        let name = check_credentials(name, password)?;
        let hash = hash_password(password.to_owned()).await?;
        let user_id = random_token()[..22].to_owned();
        let r = self
            .users()
            .insert_one(doc! {"_id": &user_id, "name": &name, "hash": hash, "failed": 0})
            .await;
        if let Err(e) = r {
            if let ErrorKind::Write(WriteFailure::WriteError(w)) = &*e.kind {
                if w.code == 11000 {
                    return Err(AuthError::NameTaken);
                }
            }
            return Err(e.into());
        }
        self.new_session(user_id, name).await
    }

    /// Signs in with a name and password.
    pub async fn sign_in(&self, name: &str, password: &str) -> Result<Session, AuthError> {
        let name = name.trim().to_lowercase();
        let Some(user) = self.users().find_one(doc! {"name": &name}).await? else {
            // Same work as a real check, so timing does not reveal which names exist.
            let _ = verify_password(password.to_owned(), DUMMY_HASH.into()).await;
            return Err(AuthError::InvalidCredentials);
        };
        let now = DateTime::now();
        if let Ok(until) = user.get_datetime("locked_until") {
            if *until > now {
                let secs = (until.timestamp_millis() - now.timestamp_millis()) / 1000 + 1;
                return Err(AuthError::TooManyAttempts(secs as u64));
            }
        }
        let user_id = user.get_str("_id").unwrap_or_default().to_owned();
        let hash = user.get_str("hash").unwrap_or_default().to_owned();
        if verify_password(password.to_owned(), hash).await {
            self.users()
                .update_one(
                    doc! {"_id": &user_id},
                    doc! {"$set": {"failed": 0}, "$unset": {"locked_until": ""}},
                )
                .await?;
            return self.new_session(user_id, name).await;
        }
        let updated = self
            .users()
            .find_one_and_update(doc! {"_id": &user_id}, doc! {"$inc": {"failed": 1}})
            .return_document(mongodb::options::ReturnDocument::After)
            .await?;
        let failed = updated.and_then(|d| d.get_i32("failed").ok()).unwrap_or(0);
        let wait = lockout_secs(failed);
        if wait > 0 {
            let until = DateTime::from_millis(now.timestamp_millis() + wait as i64 * 1000);
            self.users()
                .update_one(
                    doc! {"_id": &user_id},
                    doc! {"$set": {"locked_until": until}},
                )
                .await?;
        }
        Err(AuthError::InvalidCredentials)
    }

    async fn new_session(&self, user_id: String, name: String) -> Result<Session, AuthError> {
        let token = random_token();
        let exp = DateTime::from_millis(
            DateTime::now().timestamp_millis() + SESSION_TTL.as_millis() as i64,
        );
        self.sessions()
            .insert_one(doc! {"_id": token_key(&token), "u": &user_id, "name": &name, "exp": exp})
            .await?;
        Ok(Session {
            user_id,
            name,
            token,
        })
    }

    /// The session of a token, if it exists and has not expired.
    pub async fn session(&self, token: &str) -> Result<Option<Session>, StoreError> {
        let d = self
            .sessions()
            .find_one(doc! {"_id": token_key(token), "exp": {"$gt": DateTime::now()}})
            .await?;
        Ok(d.map(|d| Session {
            user_id: d.get_str("u").unwrap_or_default().to_owned(),
            name: d.get_str("name").unwrap_or_default().to_owned(),
            token: token.to_owned(),
        }))
    }

    /// Ends a session.
    pub async fn sign_out(&self, token: &str) -> Result<(), StoreError> {
        self.sessions()
            .delete_one(doc! {"_id": token_key(token)})
            .await?;
        Ok(())
    }
}

/// An argon2id hash of a random password, for constant-work failures.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Yw6pQ0cJ8oV0m3sQm1iZ2dVq1b3Yk2x8m0N6q9cWmA0";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_grows_after_five_failures_and_is_capped() {
        assert_eq!((0..5).map(lockout_secs).collect::<Vec<_>>(), vec![0; 5]);
        assert_eq!(lockout_secs(5), 1);
        assert_eq!(lockout_secs(6), 2);
        assert_eq!(lockout_secs(10), 32);
        assert_eq!(lockout_secs(100), MAX_LOCKOUT.as_secs());
    }

    #[test]
    fn credentials_rules() {
        assert_eq!(
            check_credentials(" Alice ", "correct horse").unwrap(),
            "alice"
        );
        assert!(check_credentials("al", "correct horse").is_err());
        assert!(check_credentials("bad name", "correct horse").is_err());
        assert!(check_credentials("alice", "short").is_err());
    }

    #[test]
    fn the_dummy_hash_parses_so_unknown_names_cost_a_real_verification() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
