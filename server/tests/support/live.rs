//! The live channel from outside: an SSE reader for `GET /live`, and the real `server`
//! binary as another process on the shared database server.

use std::time::Duration;

use serde_json::Value;

use super::process::{ServerProcess, start_server_process};
use super::shared_db;

/// One open live connection: its events, `(event, data)`, as they arrive.
pub struct Live {
    events: tokio::sync::mpsc::UnboundedReceiver<(String, String)>,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Live {
    /// Closes the connection, as a device going away does.
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// How long a test waits for an event that must come. Generous: it bounds a hang, it does
/// not measure latency (the live benchmark does).
pub const WAIT: Duration = Duration::from_secs(30);

pub async fn open_live(base: &str, token: &str) -> Result<Live, (u16, Option<String>, Value)> {
    let mut r = reqwest::Client::new()
        .get(format!("{base}/live"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    if r.status() != 200 {
        let retry = r
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        return Err((
            r.status().as_u16(),
            retry,
            r.json().await.unwrap_or(Value::Null),
        ));
    }
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let (tx, events) = tokio::sync::mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        let mut buf = String::new();
        while let Ok(Some(chunk)) = r.chunk().await {
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                let (mut event, mut data) = (String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data = v.trim().to_owned();
                    }
                }
                // Heartbeats say only that the connection is alive.
                if event == "hb" {
                    continue;
                }
                if !event.is_empty() && tx.send((event, data)).is_err() {
                    return;
                }
            }
        }
    });
    Ok(Live { events, reader })
}

impl Live {
    /// The next poke's data; panics if none comes within [`WAIT`] or the connection ends.
    pub async fn poke(&mut self) -> Value {
        let (event, data) = tokio::time::timeout(WAIT, self.events.recv())
            .await
            .expect("a poke within the wait")
            .expect("the connection is open");
        assert_eq!(event, "poke");
        serde_json::from_str(&data).unwrap()
    }

    /// The next event if one has arrived, without waiting.
    pub fn try_poke(&mut self) -> Option<(String, String)> {
        self.events.try_recv().ok()
    }

    /// The events that arrive until the connection ends (`Some`), or `None` if it is still
    /// open after [`WAIT`].
    pub async fn events_until_end(&mut self) -> Option<Vec<(String, String)>> {
        let mut seen = Vec::new();
        tokio::time::timeout(WAIT, async {
            while let Some(e) = self.events.recv().await {
                seen.push(e);
            }
        })
        .await
        .ok()
        .map(|()| seen)
    }

    /// Waits until the connection ends (`true`), or [`WAIT`] passes (`false`).
    pub async fn ended(&mut self) -> bool {
        tokio::time::timeout(WAIT, async { while self.events.recv().await.is_some() {} })
            .await
            .is_ok()
    }
}

/// The real `server` binary on the shared database server, database `db_name`, with
/// `env` added (limits).
pub fn start_process(db_name: &str, env: &[(&str, &str)]) -> ServerProcess {
    start_server_process(|cmd| {
        cmd.env("MONGODB_URI", shared_db().uri())
            .env("TERN_DB_NAME", db_name);
        for (k, v) in env {
            cmd.env(k, v);
        }
    })
}
