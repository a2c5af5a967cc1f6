//! The real `server` binary as a child process, for tests of what only a process shows
//! (signals, crashes, a second server on one database).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A running `server` process; killed (and reaped) when dropped, even when a test fails.
pub struct ServerProcess {
    pub child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// What it logged before it was listening.
    pub startup_log: Vec<String>,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the `server` binary on a free port with the environment `configure` adds (database
/// settings, limits, a process group) and waits until it listens.
pub fn start_server_process(configure: impl FnOnce(&mut Command)) -> ServerProcess {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_server"));
    cmd.env("TERN_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    configure(&mut cmd);
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok);
    let mut startup_log = Vec::new();
    let base = loop {
        let line = lines.next().expect("server exited before listening");
        if let Some(addr) = line.split("listening on ").nth(1) {
            break addr.trim().to_owned();
        }
        startup_log.push(line);
    };
    // Keep reading, so that the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    ServerProcess {
        child,
        base,
        startup_log,
    }
}

/// The `server` binary with its embedded database in `data_dir`.
pub fn start_embedded_server(data_dir: &std::path::Path) -> ServerProcess {
    start_server_process(|cmd| {
        cmd.env("TERN_DATA_DIR", data_dir).env_remove("MONGODB_URI");
    })
}
