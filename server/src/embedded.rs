//! The embedded default database: a MongoDB-wire-compatible server run as a child process.
//!
//! With `MONGODB_URI` unset, Tern starts SecantusDB's `secantusd-rs` (GPL-2.0, hence a
//! separate process, never linked) on a free loopback port, with its files in the data
//! directory, so they survive restarts. The child is stopped when [`EmbeddedDb`] is dropped
//! (normal exit, Ctrl-C) and, on Linux, killed by the kernel if the server process dies
//! without cleaning up (`PR_SET_PDEATHSIG`), so no orphan outlives the server.
//!
//! It runs with `--sync-on-commit` (durable commits): a change answered `applied` survives
//! a crash of the database or of the server.
//!
//! The application itself only speaks the official `mongodb` driver to it, exactly as to a
//! real `mongod` or Atlas.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running embedded database server.
pub struct EmbeddedDb {
    uri: String,
    pid: u32,
    stop: Option<mpsc::Sender<()>>,
    keeper: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for EmbeddedDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedDb")
            .field("pid", &self.pid)
            .finish_non_exhaustive()
    }
}

/// Why the embedded database did not start.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    /// The binary is not installed.
    #[error(
        "the embedded database `secantusd-rs` was not found on PATH or in ~/.cargo/bin; \
         run scripts/install-tools.sh run, set TERN_DB_BIN to its path, or set MONGODB_URI \
         to use your own MongoDB"
    )]
    NotInstalled,
    /// The data directory cannot be created.
    #[error("cannot create the data directory {0}: {1}; set TERN_DATA_DIR to a writable directory")]
    DataDir(PathBuf, std::io::Error),
    /// The process did not start or did not come up.
    #[error("the embedded database did not start: {0}; its log is {1}")]
    Start(String, PathBuf),
}

/// Finds `secantusd-rs`: `explicit`, else on `PATH`, else in Cargo's bin directory.
pub fn find_binary(explicit: Option<&Path>) -> Result<PathBuf, EmbeddedError> {
    if let Some(p) = explicit {
        return if p.exists() {
            Ok(p.to_owned())
        } else {
            Err(EmbeddedError::NotInstalled)
        };
    }
    let name = "secantusd-rs";
    let from_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name));
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    from_path
        .chain(cargo_home.map(|c| c.join("bin").join(name)))
        .find(|p| p.is_file())
        .ok_or(EmbeddedError::NotInstalled)
}

impl EmbeddedDb {
    /// Starts `bin` with its files in `data_dir` and waits until it accepts connections.
    pub fn start(bin: &Path, data_dir: &Path) -> Result<Self, EmbeddedError> {
        Self::start_on(bin, data_dir, 0)
    }

    /// Like [`EmbeddedDb::start`], on loopback port `port` (0: any free port).
    pub fn start_on(bin: &Path, data_dir: &Path, port: u16) -> Result<Self, EmbeddedError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| EmbeddedError::DataDir(data_dir.to_owned(), e))?;
        let log_path = data_dir.join("secantusd.log");
        let start_err = |m: String| EmbeddedError::Start(m, log_path.clone());
        let command = || -> Result<Command, EmbeddedError> {
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log_path)
                .map_err(|e| start_err(e.to_string()))?;
            let mut cmd = Command::new(bin);
            cmd.arg("--host")
                .arg("127.0.0.1")
                .arg("--port")
                .arg(port.to_string())
                .arg("--storage-path")
                .arg(data_dir.join("db"))
                // Fsync the log at every commit, before answering: without it a crash loses the
                // last acknowledged commits, `j: true` notwithstanding (issue 11; tested by
                // server/tests/crash.rs). See docs/sync-protocol.md, "Durability".
                .arg("--sync-on-commit")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(log);
            die_with_parent(&mut cmd);
            Ok(cmd)
        };

        // A database that exits before listening is started again for a while: after a
        // crash (the whole process group killed, as a container or systemd unit dies) the
        // previous instance may still be exiting and hold the store's lock for a moment.
        // Seen once in the crash test on a loaded machine.
        let mut attempt = 1;
        let (port, pid, stop_tx, keeper) = loop {
            // The child is spawned and waited on by one dedicated thread that lives exactly
            // as long as this handle: PR_SET_PDEATHSIG fires when the spawning *thread* exits.
            let (ready_tx, ready_rx) = mpsc::channel::<Result<(u16, u32), String>>();
            let (stop_tx, stop_rx) = mpsc::channel::<()>();
            let cmd = command()?;
            let keeper = std::thread::Builder::new()
                .name("embedded-db".into())
                .spawn(move || keep(cmd, ready_tx, stop_rx))
                .map_err(|e| start_err(e.to_string()))?;
            match ready_rx.recv_timeout(Duration::from_secs(60)) {
                Ok(Ok((port, pid))) => break (port, pid, stop_tx, keeper),
                Ok(Err(e)) if attempt < START_ATTEMPTS => {
                    tracing::warn!("the embedded database {e}; starting it again");
                    let _ = keeper.join();
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(500));
                }
                Ok(Err(e)) => return Err(start_err(e)),
                Err(_) => {
                    let _ = stop_tx.send(());
                    return Err(start_err("it did not report a port within 60 s".into()));
                }
            }
        };
        Ok(Self {
            uri: format!("mongodb://127.0.0.1:{port}/?directConnection=true"),
            pid,
            stop: Some(stop_tx),
            keeper: Some(keeper),
        })
    }

    /// The connection string of the running server.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The process id of the database server (tests crash it on purpose).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.uri
            .trim_start_matches("mongodb://127.0.0.1:")
            .split('/')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }
}

/// Starts of the database tried before giving up (500 ms apart).
const START_ATTEMPTS: u32 = 20;

fn keep(
    mut cmd: Command,
    ready: mpsc::Sender<Result<(u16, u32), String>>,
    stop: mpsc::Receiver<()>,
) {
    let mut child: Child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(format!("cannot run {:?}: {e}", cmd.get_program())));
            return;
        }
    };
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    // "secantusd-rs listening on 127.0.0.1:36575"
    let port = lines.by_ref().map_while(Result::ok).find_map(|l| {
        l.split_once(" listening on ")
            .and_then(|(_, addr)| addr.rsplit(':').next()?.trim().parse::<u16>().ok())
    });
    match port {
        Some(p) => {
            let _ = ready.send(Ok((p, child.id())));
        }
        None => {
            let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
            let _ = ready.send(Err(format!("it exited ({status}) before listening")));
            return;
        }
    }
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let _ = stop.recv(); // until the handle is dropped
    stop_gracefully(&mut child);
}

/// SIGTERM, so the database flushes and closes its files; SIGKILL after 10 s.
fn stop_gracefully(child: &mut Child) {
    terminate(child);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(unix)]
#[allow(unsafe_code)]
fn terminate(child: &Child) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) on our own, not yet reaped child: the pid cannot have been reused.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
}

#[cfg(not(unix))]
fn terminate(child: &mut Child) {
    let _ = child.kill();
}

impl Drop for EmbeddedDb {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(k) = self.keeper.take() {
            let _ = k.join();
        }
    }
}

/// Asks the kernel to SIGKILL the child when the thread that spawned it dies.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs between fork and exec and only calls prctl(2) and getppid(2),
    // both async-signal-safe; it allocates nothing and touches no locks.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before prctl took effect.
            if libc::getppid() == 1 {
                return Err(std::io::Error::other("parent exited during start"));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_: &mut Command) {}
