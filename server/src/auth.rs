//! Accounts and sessions.
//!
//! - Passwords are hashed with argon2id (default parameters: 19 MiB, 2 passes), off the
//!   async runtime, at most a fixed number at a time ([`crate::throttle::HashGate`]).
//! - A session is a random 256-bit token. The database stores only its SHA-256, with an
//!   expiry (`SESSION_TTL`, enforced by the query and removed by a TTL index).
//! - Browsers get the token only in an `HttpOnly; SameSite=Strict` cookie (plus `Secure`
//!   unless the server listens on loopback); other clients send `Authorization: Bearer
//!   <token>` (see `api::signed_in` for who gets the token in the body).
//! - CSRF: a cookie-authenticated request must not carry an `Origin` other than the
//!   server's own, and `POST /sync` needs `Content-Type: application/json`, which a
//!   cross-site form cannot send without a CORS preflight (which this server never allows).
//! - Sign-ins and sign-ups are throttled by source and account ([`crate::throttle`]); an
//!   unknown name costs and answers exactly what a real one does.
//!
//! - A session carries the credentials that made it: the account's credential epoch
//!   (`StoredUser::epoch`, moved on by a password change) is copied into the session at
//!   sign-in, and a session is valid only while its account exists and its epoch is not
//!   older than the account's. So a sign-in that read the old hash before a password change
//!   (or an account deletion) and inserts its session after it yields a dead session.
//!
//! Storage goes through [`AccountStore`] (users and sessions) and
//! [`crate::throttle::BucketStore`]: [`MongoAccounts`] in production (collections `users`
//! and `sessions`, described in [`crate::docs`]), [`crate::memory::MemoryAccounts`] in
//! tests. [`Accounts`] holds the rules (hashing, throttling, tokens) over either.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{Decimal, Ident, Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mongodb::bson::{DateTime, doc};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use sha2::{Digest, Sha256};

use crate::docs::{SessionDoc, UserDoc};
use crate::store::{BoxFuture, StoreError};
use crate::throttle::{BucketStore, HashGate, HashStats, Limits, MongoBuckets, Rate};

/// How long a session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
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
    /// Too many password hashes waiting already; retry in a second.
    #[error("busy")]
    Busy,
    /// A signed-in user's password, asked again (password change, account deletion), is
    /// wrong.
    #[error("wrong password")]
    WrongPassword,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<mongodb::error::Error> for AuthError {
    fn from(e: mongodb::error::Error) -> Self {
        Self::Store(e.into())
    }
}

/// A signed-in session. Its `Debug` leaves the token out: a session may be logged.
#[derive(Clone)]
pub struct Session {
    /// The user's id (scopes every note query).
    pub user_id: String,
    /// The user's name.
    pub name: String,
    /// The secret token (cookie value or bearer token).
    pub token: String,
    /// The credential epoch the session was made with ([`StoredUser::epoch`]).
    pub epoch: i64,
}

impl Session {
    /// The key the session is stored under (the token's SHA-256, hex): what the session
    /// list calls its id, and what live connections are ended by.
    pub fn key(&self) -> String {
        token_key(&self.token)
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user_id", &self.user_id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A stored account. Its `Debug` leaves the password hash out.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredUser {
    /// The user's id (random, 22 characters).
    pub id: String,
    /// The normalised (lower-case) name.
    pub name: String,
    /// The argon2id hash, PHC string form.
    pub hash: String,
    /// The credential epoch: moved on by every password change. A session made with an
    /// older epoch is dead.
    pub epoch: i64,
}

impl std::fmt::Debug for StoredUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredUser")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// SHA-256 of the token, hex (the token itself is never stored).
    pub key: String,
    /// The user's id.
    pub user_id: String,
    /// The user's name.
    pub name: String,
    /// When it expires, ms since the epoch.
    pub expires_ms: i64,
    /// When it was created, ms since the epoch (`None`: stored before this was recorded).
    pub created_ms: Option<i64>,
    /// When it was last used, to [`TOUCH_EVERY`] (`None`: not since this was recorded).
    pub last_used_ms: Option<i64>,
    /// What signed in ([`device_label`]); `None`: stored before this was recorded.
    pub device: Option<String>,
    /// The account's credential epoch when the session was made ([`StoredUser::epoch`]).
    pub epoch: i64,
}

/// A session's last use is written at most this often (a write per request would double
/// the database work of every sync).
pub const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// A short, bounded name for what signed in, from its `User-Agent` ("Chrome on Linux");
/// the header itself is not stored.
pub fn device_label(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.filter(|u| !u.is_empty()) else {
        return "API client".into();
    };
    let browser = [
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("HeadlessChrome/", "Headless Chrome"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .into_iter()
    .find(|(k, _)| ua.contains(k))
    .map(|(_, v)| v);
    let os = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(k, _)| ua.contains(k))
    .map(|(_, v)| v);
    match (browser, os) {
        (Some(b), Some(o)) => format!("{b} on {o}"),
        (Some(b), None) => b.into(),
        (None, Some(o)) => format!("A client on {o}"),
        (None, None) => "Another client".into(),
    }
}

/// Where accounts and sessions are kept.
pub trait AccountStore: Send + Sync {
    /// Prepares the storage (a unique name index, session expiry); idempotent.
    fn ensure_indexes(&self) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Adds an account; `false` when its name is taken (atomically: two sign-ups of one
    /// name cannot both succeed).
    fn insert_user<'a>(&'a self, user: &'a StoredUser) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// The account named `name`.
    fn user_by_name<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredUser>, StoreError>>;
    /// The account with id `user_id`.
    fn user_by_id<'a>(
        &'a self,
        user_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredUser>, StoreError>>;
    /// Adds a session.
    fn insert_session<'a>(
        &'a self,
        session: &'a StoredSession,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// The session with key `key` if it expires after `now_ms`.
    fn session<'a>(
        &'a self,
        key: &'a str,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>>;
    /// Removes the session with key `key` (if any).
    fn delete_session<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
    /// The sessions of user `user_id` that expire after `now_ms`.
    fn sessions_of<'a>(
        &'a self,
        user_id: &'a str,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<Vec<StoredSession>, StoreError>>;
    /// Removes the sessions of `user_id` but `keep` (a key); returns how many.
    fn delete_sessions_of<'a>(
        &'a self,
        user_id: &'a str,
        keep: Option<&'a str>,
    ) -> BoxFuture<'a, Result<u64, StoreError>>;
    /// Records that session `key` was used at `now_ms`.
    fn touch_session<'a>(
        &'a self,
        key: &'a str,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Replaces the password hash of `user_id` and raises its credential epoch to at least
    /// `epoch` (never lowers it), in one write.
    fn set_hash<'a>(
        &'a self,
        user_id: &'a str,
        hash: &'a str,
        epoch: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Sets the credential epoch of session `key`.
    fn set_session_epoch<'a>(
        &'a self,
        key: &'a str,
        epoch: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Removes the account `user_id` and every session of it.
    fn delete_user<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
}

/// [`AccountStore`] in MongoDB: collections `users` and `sessions` ([`crate::docs`]).
#[derive(Clone)]
pub struct MongoAccounts {
    db: Database,
}

impl std::fmt::Debug for MongoAccounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MongoAccounts").finish_non_exhaustive()
    }
}

impl MongoAccounts {
    /// Accounts in `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    fn users(&self) -> Collection<UserDoc> {
        self.db.collection("users")
    }
    fn sessions(&self) -> Collection<SessionDoc> {
        self.db.collection("sessions")
    }
}

impl AccountStore for MongoAccounts {
    fn ensure_indexes(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async {
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
            // An account's sessions: the session list, "sign out everywhere".
            self.sessions()
                .create_index(IndexModel::builder().keys(doc! {"u": 1}).build())
                .await?;
            Ok(())
        })
    }

    fn insert_user<'a>(&'a self, user: &'a StoredUser) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let doc = UserDoc {
                id: user.id.clone(),
                name: user.name.clone(),
                hash: user.hash.clone(),
                epoch: user.epoch,
            };
            match self.users().insert_one(doc).await {
                Ok(_) => Ok(true),
                Err(e) => match &*e.kind {
                    ErrorKind::Write(WriteFailure::WriteError(w)) if w.code == 11000 => Ok(false),
                    _ => Err(e.into()),
                },
            }
        })
    }

    fn user_by_name<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredUser>, StoreError>> {
        Box::pin(async move {
            let u = self
                .users()
                .find_one(doc! {"name": name})
                .await
                .map_err(|e| crate::docs::named("users", name, e))?;
            Ok(u.map(UserDoc::into_stored))
        })
    }

    fn user_by_id<'a>(
        &'a self,
        user_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredUser>, StoreError>> {
        Box::pin(async move {
            let u = self
                .users()
                .find_one(doc! {"_id": user_id})
                .await
                .map_err(|e| crate::docs::named("users", user_id, e))?;
            Ok(u.map(UserDoc::into_stored))
        })
    }

    fn insert_session<'a>(&'a self, s: &'a StoredSession) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.sessions()
                .insert_one(SessionDoc {
                    key: s.key.clone(),
                    user: s.user_id.clone(),
                    name: s.name.clone(),
                    exp: DateTime::from_millis(s.expires_ms),
                    created: s.created_ms.map(DateTime::from_millis),
                    seen: s.last_used_ms.map(DateTime::from_millis),
                    device: s.device.clone(),
                    epoch: s.epoch,
                })
                .await?;
            Ok(())
        })
    }

    fn session<'a>(
        &'a self,
        key: &'a str,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>> {
        Box::pin(async move {
            let d = self
                .sessions()
                .find_one(doc! {"_id": key, "exp": {"$gt": DateTime::from_millis(now_ms)}})
                .await
                .map_err(|e| crate::docs::named("sessions", "(by token)", e))?;
            Ok(d.map(SessionDoc::into_stored))
        })
    }

    fn delete_session<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.sessions().delete_one(doc! {"_id": key}).await?;
            Ok(())
        })
    }

    fn sessions_of<'a>(
        &'a self,
        user_id: &'a str,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<Vec<StoredSession>, StoreError>> {
        Box::pin(async move {
            // Bounded: an account has at most one session per sign-in in 30 days.
            let docs: Vec<SessionDoc> = futures::TryStreamExt::try_collect(
                self.sessions()
                    .find(doc! {"u": user_id, "exp": {"$gt": DateTime::from_millis(now_ms)}})
                    .limit(MAX_SESSIONS_LISTED as i64)
                    .await?,
            )
            .await
            .map_err(|e| crate::docs::named("sessions", user_id, e))?;
            Ok(docs.into_iter().map(SessionDoc::into_stored).collect())
        })
    }

    fn delete_sessions_of<'a>(
        &'a self,
        user_id: &'a str,
        keep: Option<&'a str>,
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let filter = match keep {
                Some(k) => doc! {"u": user_id, "_id": {"$ne": k}},
                None => doc! {"u": user_id},
            };
            Ok(self.sessions().delete_many(filter).await?.deleted_count)
        })
    }

    fn touch_session<'a>(
        &'a self,
        key: &'a str,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.sessions()
                .update_one(
                    doc! {"_id": key},
                    doc! {"$set": {"seen": DateTime::from_millis(now_ms)}},
                )
                .await?;
            Ok(())
        })
    }

    fn set_hash<'a>(
        &'a self,
        user_id: &'a str,
        hash: &'a str,
        epoch: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.users()
                .update_one(
                    doc! {"_id": user_id},
                    doc! {"$set": {"hash": hash}, "$max": {"ep": epoch}},
                )
                .await?;
            Ok(())
        })
    }

    fn set_session_epoch<'a>(
        &'a self,
        key: &'a str,
        epoch: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.sessions()
                .update_one(doc! {"_id": key}, doc! {"$set": {"ep": epoch}})
                .await?;
            Ok(())
        })
    }

    fn delete_user<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            // Sessions first: a user document without sessions is harmless if the second
            // step fails (the owner signs in and deletes again); sessions of a deleted user
            // would still authenticate.
            self.sessions().delete_many(doc! {"u": user_id}).await?;
            self.users().delete_one(doc! {"_id": user_id}).await?;
            Ok(())
        })
    }
}

/// Most sessions `GET /account/sessions` lists (an account signing in more often than this
/// in 30 days sees its first ones).
pub const MAX_SESSIONS_LISTED: usize = 1000;

/// Accounts and sessions: the rules, over an [`AccountStore`] and a [`BucketStore`].
#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn AccountStore>,
    buckets: Arc<dyn BucketStore>,
    limits: Limits,
    gate: Arc<HashGate>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts").finish_non_exhaustive()
    }
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

/// Fewest characters (Unicode code points) of a password.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Most characters (Unicode code points) of a password: at most 4 KiB of UTF-8, which
/// fits [`crate::api::MAX_CREDENTIALS_BYTES`] even escaped.
pub const MAX_PASSWORD_CHARS: usize = 1024;

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
    // Characters (code points), as the API document's `minLength`/`maxLength` count them.
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(AuthError::InvalidAccount(format!(
            "a password is {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters; choose a longer one"
        )));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(AuthError::InvalidAccount(format!(
            "a password is {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters; choose a shorter one"
        )));
    }
    Ok(name)
}

/// Argon2 of `password` with the given algorithm, version, parameters and salt, computed
/// in `memory` (a buffer the [`HashGate`] keeps per running hash and reuses, so hashing
/// allocates nothing and its memory is exactly the gate's size times 19 MiB).
fn argon2(
    password: &[u8],
    algorithm: Ident<'_>,
    version: Option<Decimal>,
    params: Params,
    salt: Salt<'_>,
    memory: &mut Vec<Block>,
) -> password_hash::Result<Output> {
    let n = params.block_count();
    let len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let argon = Argon2::new(
        Algorithm::try_from(algorithm)?,
        version
            .map(Version::try_from)
            .transpose()?
            .unwrap_or_default(),
        params,
    );
    let mut salt_buf = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_buf)?;
    let mut larger;
    let blocks: &mut [Block] = if n <= Params::DEFAULT_M_COST as usize {
        if memory.len() < n {
            memory.resize(n, Block::default());
        }
        &mut memory[..n]
    } else {
        // A hash stored with more memory than the default: not from this server, but
        // still checked, with a buffer of its own.
        larger = vec![Block::default(); n];
        &mut larger
    };
    Output::init_with(len, |out| {
        Ok(argon.hash_password_into_with_memory(password, salt, out, &mut *blocks)?)
    })
}

/// A new argon2id hash (default parameters: 19 MiB, 2 passes) in PHC string form.
fn hash_password(password: &str, memory: &mut Vec<Block>) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut OsRng);
    let params = Params::default();
    let version = Some(Version::V0x13.into());
    let mut phc = || -> password_hash::Result<String> {
        let hash = argon2(
            password.as_bytes(),
            Algorithm::Argon2id.ident(),
            version,
            params.clone(),
            salt.as_salt(),
            memory,
        )?;
        Ok(PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version,
            params: ParamsString::try_from(&params)?,
            salt: Some(salt.as_salt()),
            hash: Some(hash),
        }
        .to_string())
    };
    phc().map_err(|e| AuthError::Store(StoreError::Internal(e.to_string())))
}

/// Whether `password` matches the PHC string `hash` (compared in constant time).
fn verify_password(password: &str, hash: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(phc) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected), Ok(params)) = (phc.salt, phc.hash, Params::try_from(&phc))
    else {
        return false;
    };
    argon2(
        password.as_bytes(),
        phc.algorithm,
        phc.version,
        params,
        salt,
        memory,
    )
    .is_ok_and(|out| out == expected)
}

/// The attempts one sign-in has reserved, to give back when it succeeds or never ran.
struct Reserved<'a> {
    buckets: &'a dyn BucketStore,
    taken: Vec<(String, Rate)>,
}

impl Reserved<'_> {
    /// Takes one attempt from `key`; when refused, gives back what was taken so far.
    async fn take(&mut self, key: String, rate: Rate) -> Result<(), AuthError> {
        match self.buckets.take(&key, rate).await? {
            Ok(()) => {
                self.taken.push((key, rate));
                Ok(())
            }
            Err(refused) => {
                self.give_back().await?;
                Err(AuthError::TooManyAttempts(refused.secs()))
            }
        }
    }

    async fn give_back(&mut self) -> Result<(), AuthError> {
        for (key, rate) in self.taken.drain(..) {
            self.buckets.give_back(&key, rate).await?;
        }
        Ok(())
    }
}

impl Accounts {
    /// Accounts in MongoDB database `db`, throttled by the default [`Limits`], hashing at
    /// most one password per available CPU at a time.
    pub fn new(db: Database) -> Self {
        Self::with_stores(
            Arc::new(MongoAccounts::new(db.clone())),
            Arc::new(MongoBuckets::new(&db)),
        )
    }

    /// Accounts kept in `store`, throttled in `buckets` (default limits and hash bound).
    pub fn with_stores(store: Arc<dyn AccountStore>, buckets: Arc<dyn BucketStore>) -> Self {
        Self {
            store,
            buckets,
            limits: Limits::default(),
            gate: Arc::new(HashGate::for_this_machine()),
        }
    }

    /// The same accounts with other throttling limits (tests use long periods so that
    /// nothing leaks out of a bucket while they run).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The same accounts with another bound on concurrent hashes.
    pub fn with_gate(mut self, gate: HashGate) -> Self {
        self.gate = Arc::new(gate);
        self
    }

    /// Hashes run so far and the most that ran at once (a test hook).
    pub fn hash_stats(&self) -> HashStats {
        self.gate.stats()
    }

    /// Creates the indexes (idempotent).
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        self.store.ensure_indexes().await?;
        self.buckets.ensure_indexes().await
    }

    /// Creates an account and signs it in. `source` is the client ([`source_key`]).
    ///
    /// [`source_key`]: crate::throttle::source_key
    pub async fn sign_up(
        &self,
        name: &str,
        password: &str,
        source: &str,
    ) -> Result<Session, AuthError> {
        self.sign_up_on(name, password, source, "API client").await
    }

    /// [`Accounts::sign_up`] from `device` ([`device_label`]).
    pub async fn sign_up_on(
        &self,
        name: &str,
        password: &str,
        source: &str,
        device: &str,
    ) -> Result<Session, AuthError> {
        let name = check_credentials(name, password)?;
        // Every sign-up costs a hash, so each one counts against its source, success or not.
        let mut reserved = self.reserve();
        reserved
            .take(format!("s|{source}"), self.limits.per_source)
            .await?;
        let Some(admission) = self.gate.admit() else {
            reserved.give_back().await?;
            return Err(AuthError::Busy);
        };
        let password = password.to_owned();
        let hash = self
            .gate
            .run(&admission, move |memory| hash_password(&password, memory))
            .await??;
        let user_id = random_token()[..22].to_owned();
        let user = StoredUser {
            id: user_id.clone(),
            name: name.clone(),
            hash,
            epoch: 0,
        };
        if !self.store.insert_user(&user).await? {
            return Err(AuthError::NameTaken);
        }
        self.buckets
            .mark(&format!("k|{name}|{source}"), self.limits.known_for)
            .await?;
        self.new_session(user_id, name, 0, device).await
    }

    fn reserve(&self) -> Reserved<'_> {
        Reserved {
            buckets: &*self.buckets,
            taken: Vec::new(),
        }
    }

    /// Signs in with a name and password, from `source` ([`source_key`]).
    ///
    /// The attempt is reserved in its buckets before the password is checked, so parallel
    /// guesses can never exceed them; a success gives the reservations back (buckets count
    /// failures). An unknown name takes the same steps: the same buckets (keyed by the
    /// name), one lookup, one verification (against a dummy hash), the same answers.
    ///
    /// [`source_key`]: crate::throttle::source_key
    pub async fn sign_in(
        &self,
        name: &str,
        password: &str,
        source: &str,
    ) -> Result<Session, AuthError> {
        self.sign_in_on(name, password, source, "API client").await
    }

    /// [`Accounts::sign_in`] from `device` ([`device_label`]), shown in the account's
    /// session list.
    pub async fn sign_in_on(
        &self,
        name: &str,
        password: &str,
        source: &str,
        device: &str,
    ) -> Result<Session, AuthError> {
        // The epoch read with the hash goes into the session: if the password changes (or
        // the account goes) while this sign-in hashes, the session it inserts is dead.
        let user = self.verify(name, password, source).await?;
        self.new_session(user.id, user.name, user.epoch, device)
            .await
    }

    /// Checks `name`'s password, throttled as a sign-in ([`Accounts::sign_in`]): the same
    /// buckets, the same work for an unknown name. Returns the account.
    async fn verify(
        &self,
        name: &str,
        password: &str,
        source: &str,
    ) -> Result<StoredUser, AuthError> {
        let name = name.trim().to_lowercase();
        if check_credentials(&name, password).is_err() {
            // No account has such a name or password; nothing to look up or hash.
            return Err(AuthError::InvalidCredentials);
        }
        let l = self.limits;
        let pair = format!("p|{name}|{source}");
        let known = format!("k|{name}|{source}");
        let mut reserved = self.reserve();
        reserved.take(pair.clone(), l.per_pair).await?;
        reserved.take(format!("s|{source}"), l.per_source).await?;
        if !self.buckets.is_marked(&known).await? {
            reserved.take(format!("a|{name}"), l.per_account).await?;
        }
        let Some(admission) = self.gate.admit() else {
            reserved.give_back().await?;
            return Err(AuthError::Busy);
        };
        let user = self.store.user_by_name(&name).await?;
        let hash = user
            .as_ref()
            .map_or(DUMMY_HASH, |u| u.hash.as_str())
            .to_owned();
        let password = password.to_owned();
        let verified = self
            .gate
            .run(&admission, move |memory| {
                verify_password(&password, &hash, memory)
            })
            .await?;
        let Some(user) = user.filter(|_| verified) else {
            return Err(AuthError::InvalidCredentials);
        };
        // The owner from this source: its earlier failures were most likely the owner's.
        reserved.taken.retain(|(k, _)| *k != pair);
        reserved.give_back().await?;
        self.buckets.forget(&pair).await?;
        self.buckets.mark(&known, l.known_for).await?;
        Ok(user)
    }

    async fn new_session(
        &self,
        user_id: String,
        name: String,
        epoch: i64,
        device: &str,
    ) -> Result<Session, AuthError> {
        let token = random_token();
        let now = now_ms();
        self.store
            .insert_session(&StoredSession {
                key: token_key(&token),
                user_id: user_id.clone(),
                name: name.clone(),
                expires_ms: now + SESSION_TTL.as_millis() as i64,
                created_ms: Some(now),
                last_used_ms: Some(now),
                device: Some(device.chars().take(64).collect()),
                epoch,
            })
            .await?;
        Ok(Session {
            user_id,
            name,
            token,
            epoch,
        })
    }

    /// The session of a token, if it exists, has not expired, its account still exists and
    /// its credentials are the account's current ones (its epoch is not older). Records its
    /// use, at most once per [`TOUCH_EVERY`], without making the request wait for that
    /// write.
    pub async fn session(&self, token: &str) -> Result<Option<Session>, StoreError> {
        let now = now_ms();
        let Some(s) = self.store.session(&token_key(token), now).await? else {
            return Ok(None);
        };
        let current = self
            .store
            .user_by_id(&s.user_id)
            .await?
            .is_some_and(|u| s.epoch >= u.epoch);
        let s = current.then_some(s);
        if let Some(s) = &s
            && s.last_used_ms
                .is_none_or(|t| now - t >= TOUCH_EVERY.as_millis() as i64)
        {
            let (store, key) = (self.store.clone(), s.key.clone());
            tokio::spawn(async move {
                if let Err(e) = store.touch_session(&key, now).await {
                    tracing::debug!("session use not recorded: {e}");
                }
            });
        }
        Ok(s.map(|s| Session {
            user_id: s.user_id,
            name: s.name,
            token: token.to_owned(),
            epoch: s.epoch,
        }))
    }

    /// Ends a session.
    pub async fn sign_out(&self, token: &str) -> Result<(), StoreError> {
        self.store.delete_session(&token_key(token)).await
    }

    /// The sessions of the signed-in user, most recently used first; `current` marks the
    /// session of `me`.
    pub async fn sessions(
        &self,
        me: &Session,
    ) -> Result<Vec<sync_core::protocol::SessionInfo>, StoreError> {
        let mine = token_key(&me.token);
        let mut list = self.store.sessions_of(&me.user_id, now_ms()).await?;
        list.sort_by_key(|s| std::cmp::Reverse(s.last_used_ms.or(s.created_ms)));
        let ms = |t: Option<i64>| t.map(|t| t.max(0) as u64);
        Ok(list
            .into_iter()
            .map(|s| sync_core::protocol::SessionInfo {
                current: s.key == mine,
                device: s.device.unwrap_or_else(|| "Unknown device".into()),
                created_ms: ms(s.created_ms),
                last_used_ms: ms(s.last_used_ms),
                expires_ms: s.expires_ms.max(0) as u64,
                id: s.key,
            })
            .collect())
    }

    /// Ends session `id` (a [`sync_core::protocol::SessionInfo::id`]) if it is one of
    /// `me`'s user; another user's session id ends nothing.
    pub async fn end_session(&self, me: &Session, id: &str) -> Result<(), StoreError> {
        let theirs = self.store.session(id, now_ms()).await?;
        if theirs.is_some_and(|s| s.user_id == me.user_id) {
            self.store.delete_session(id).await?;
        }
        Ok(())
    }

    /// Ends every session of `me`'s user, this one included. Returns how many.
    pub async fn end_all_sessions(&self, me: &Session) -> Result<u64, StoreError> {
        self.store.delete_sessions_of(&me.user_id, None).await
    }

    /// Changes `me`'s password: the current one is checked (throttled like a sign-in, from
    /// `source`), the new one must meet the rules; then every other session ends. Returns
    /// how many sessions ended.
    ///
    /// The account's credential epoch moves on: `me` is moved to the new epoch first (it
    /// stays valid throughout), then the hash and the epoch are written together, so any
    /// session made with the old password, even one a sign-in in flight inserts later, is
    /// dead; the other sessions are then deleted as well.
    pub async fn change_password(
        &self,
        me: &Session,
        current: &str,
        new: &str,
        source: &str,
    ) -> Result<u64, AuthError> {
        check_credentials(&me.name, new)?;
        self.check_password(me, current, source).await?;
        let Some(admission) = self.gate.admit() else {
            return Err(AuthError::Busy);
        };
        let new = new.to_owned();
        let hash = self
            .gate
            .run(&admission, move |memory| hash_password(&new, memory))
            .await??;
        let epoch = me.epoch + 1;
        self.store.set_session_epoch(&me.key(), epoch).await?;
        self.store.set_hash(&me.user_id, &hash, epoch).await?;
        Ok(self
            .store
            .delete_sessions_of(&me.user_id, Some(&token_key(&me.token)))
            .await?)
    }

    /// Checks `me`'s password again (throttled like a sign-in): [`AuthError::WrongPassword`]
    /// when it is wrong.
    pub async fn check_password(
        &self,
        me: &Session,
        password: &str,
        source: &str,
    ) -> Result<(), AuthError> {
        match self.verify(&me.name, password, source).await {
            Ok(u) if u.id == me.user_id => Ok(()),
            Ok(_) | Err(AuthError::InvalidCredentials) => Err(AuthError::WrongPassword),
            Err(e) => Err(e),
        }
    }

    /// Removes `me`'s account, every session of it and its throttling records (keyed by
    /// its name; the notes are the sync store's: see `api::delete_account`). The password
    /// must have been checked.
    pub async fn delete_user(&self, me: &Session) -> Result<(), StoreError> {
        self.store.delete_user(&me.user_id).await?;
        self.buckets.forget_account(&me.name).await
    }
}

/// Now, in ms since the epoch.
pub(crate) fn now_ms() -> i64 {
    DateTime::now().timestamp_millis()
}

/// An argon2id hash of a random password, for constant-work failures.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Yw6pQ0cJ8oV0m3sQm1iZ2dVq1b3Yk2x8m0N6q9cWmA0";

#[cfg(test)]
mod tests {
    use super::*;

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
    fn the_dummy_hash_costs_what_a_real_one_does() {
        let memory = &mut Vec::new();
        let dummy = PasswordHash::new(DUMMY_HASH).unwrap();
        let real = hash_password("correct horse battery", memory).unwrap();
        let parsed = PasswordHash::new(&real).unwrap();
        assert_eq!(dummy.algorithm, parsed.algorithm);
        assert_eq!(dummy.params, parsed.params, "same memory and passes");
        assert!(!verify_password(
            "correct horse battery",
            DUMMY_HASH,
            memory
        ));
        assert!(verify_password("correct horse battery", &real, memory));
        assert!(!verify_password("correct horse batterY", &real, memory));
    }

    #[test]
    fn hashes_of_the_argon2_crate_still_verify() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let salt = SaltString::generate(&mut OsRng);
        let stored = Argon2::default()
            .hash_password(b"correct horse battery", &salt)
            .unwrap()
            .to_string();
        let memory = &mut Vec::new();
        assert!(verify_password("correct horse battery", &stored, memory));
        assert!(!verify_password("wrong horse battery", &stored, memory));
        let ours = hash_password("correct horse battery", memory).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse battery", &PasswordHash::new(&ours).unwrap())
                .is_ok()
        );
    }
}
