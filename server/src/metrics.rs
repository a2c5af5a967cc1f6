//! Prometheus metrics (served at `GET /metrics` by `api::meta`) in the OpenMetrics text format
//! (`prometheus-client`). Every name starts with `tern_`; counters end in `_total`. The
//! list of metrics is the README's *Metrics* table (the one copy); one added here is added
//! there.
//!
//! Every label comes from a fixed set, whatever a client sends, so the number of series
//! is bounded: `route` is the route's pattern (`/notes/{id}/history`, never the note's
//! id), or `fallback` for static files and unknown paths; `method` is one of [`METHODS`]
//! or `other`; `status` is a status code this server answered. With `TERN_METRICS=off`
//! nothing is recorded (and nothing served).
//!
//! Counted from what the handlers return and from the error of a failed request (the
//! [`crate::error::Failure`] extension the API error leaves on its response), so a handler
//! records nothing by hand but the sync outcomes. Who may read `/metrics`: see
//! `TERN_METRICS` in the README's configuration table.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use sync_core::protocol::{ChangeOutcome, ChangeResult, ErrorCode};

use crate::error::{Cause, Failure};

/// Labels of the request metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
}

/// The HTTP methods counted by name; any other method is counted as `other`.
pub const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
];

/// The `method` label of `m`: its name if it is one of [`METHODS`], else `other`.
pub fn method_label(m: &axum::http::Method) -> &'static str {
    METHODS
        .into_iter()
        .find(|k| *k == m.as_str())
        .unwrap_or("other")
}

/// A label with one name and a fixed set of values.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Reason {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Kind {
    kind: &'static str,
}

type Latency = Family<RequestLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 1 ms to about 16 s, doubling.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// The server's metrics (one set per `AppState`, so tests in one process do not
/// see each other's counts).
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Latency,
    pushes: Counter,
    pulls: Counter,
    changes: Family<Outcome, Counter>,
    conflicts: Counter,
    merges_over_budget: Counter,
    sign_in_failures: Counter,
    throttled: Family<Reason, Counter>,
    database_errors: Family<Kind, Counter>,
    live_connections: Gauge,
    /// Off with `TERN_METRICS=off`: nothing is counted.
    recording: std::sync::atomic::AtomicBool,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// All metrics at zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("tern");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Latency::new_with_constructor(latency_histogram);
        let (pushes, pulls, conflicts, merges_over_budget, sign_in_failures) = Default::default();
        let changes = Family::<Outcome, Counter>::default();
        let throttled = Family::<Reason, Counter>::default();
        let database_errors = Family::<Kind, Counter>::default();
        let live_connections = Gauge::default();
        registry.register("http_requests", "Requests answered", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "Time from a request to its response's head",
            latency.clone(),
        );
        registry.register(
            "sync_pushes",
            "Successful syncs that carried changes",
            Counter::clone(&pushes),
        );
        registry.register(
            "sync_pulls",
            "Successful syncs (each one pulls)",
            Counter::clone(&pulls),
        );
        registry.register("sync_changes", "Pushed changes by outcome", changes.clone());
        registry.register(
            "sync_conflicts",
            "Pushed changes that left their note in conflict",
            Counter::clone(&conflicts),
        );
        registry.register(
            "sync_merges_over_budget",
            "Text merges the request's merge budget did not cover (each left a conflict)",
            Counter::clone(&merges_over_budget),
        );
        registry.register(
            "auth_sign_in_failures",
            "Sign-ins refused for a wrong name or password",
            Counter::clone(&sign_in_failures),
        );
        registry.register(
            "auth_throttled",
            "Sign-ins and sign-ups refused before the password was checked",
            throttled.clone(),
        );
        registry.register(
            "database_errors",
            "Requests failed by the database",
            database_errors.clone(),
        );
        registry.register(
            "live_connections",
            "Open live connections (GET /live) of this process",
            live_connections.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            pushes,
            pulls,
            changes,
            conflicts,
            merges_over_budget,
            sign_in_failures,
            throttled,
            database_errors,
            live_connections,
            recording: std::sync::atomic::AtomicBool::new(true),
        }
    }

    /// Starts or stops recording (`TERN_METRICS`).
    pub fn set_recording(&self, on: bool) {
        self.recording
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    fn recording(&self) -> bool {
        self.recording.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The gauge of open live connections, for the live hub to keep up to date.
    pub fn live_connections(&self) -> Gauge {
        self.live_connections.clone()
    }

    /// Counts a successful sync, the outcomes of its changes, and the merges its merge
    /// budget did not cover.
    pub fn sync(&self, results: &[ChangeResult], merges_over_budget: u64) {
        if !self.recording() {
            return;
        }
        self.merges_over_budget.inc_by(merges_over_budget);
        self.pulls.inc();
        if !results.is_empty() {
            self.pushes.inc();
        }
        for r in results {
            let outcome = match &r.outcome {
                ChangeOutcome::Applied { current: None, .. } => "applied",
                ChangeOutcome::Applied {
                    current: Some(n), ..
                } if n.conflict.is_some() => "conflict",
                ChangeOutcome::Applied {
                    current: Some(_), ..
                } => "merged",
                ChangeOutcome::Superseded { .. } => "superseded",
                ChangeOutcome::Rejected { .. } => "rejected",
            };
            if outcome == "conflict" {
                self.conflicts.inc();
            }
            self.changes.get_or_create(&Outcome { outcome }).inc();
        }
    }

    /// Counts an answered request, and what its failure (if any) says.
    fn request(&self, labels: RequestLabels, seconds: f64, failure: Option<&Failure>) {
        if !self.recording() {
            return;
        }
        self.latency.get_or_create(&labels).observe(seconds);
        self.requests.get_or_create(&labels).inc();
        let Some(f) = failure else { return };
        match (f.code, f.cause) {
            (_, Cause::Database) => {
                let kind = if f.code == ErrorCode::Unavailable {
                    "unavailable"
                } else {
                    "internal"
                };
                self.database_errors.get_or_create(&Kind { kind }).inc();
            }
            (_, Cause::HashesBusy) => {
                self.throttled
                    .get_or_create(&Reason { reason: "busy" })
                    .inc();
            }
            (ErrorCode::TooManyAttempts, _) => {
                self.throttled
                    .get_or_create(&Reason {
                        reason: "too_many_attempts",
                    })
                    .inc();
            }
            (ErrorCode::InvalidCredentials, _) => {
                self.sign_in_failures.inc();
            }
            _ => {}
        }
    }

    /// The metrics in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// The route pattern a request matched, left on its response by [`stamp_route`].
#[derive(Clone, Debug)]
struct Route(String);

/// Route-layer middleware: notes the matched route's pattern on the response.
pub async fn stamp_route(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let mut res = next.run(req).await;
    if let Some(route) = route {
        res.extensions_mut().insert(Route(route));
    }
    res
}

/// Middleware around the whole app: counts and times every request (nothing when `record`
/// is off: `TERN_METRICS=off`).
pub async fn track(
    metrics: std::sync::Arc<Metrics>,
    record: bool,
    req: Request,
    next: Next,
) -> Response {
    if !record {
        return next.run(req).await;
    }
    let start = Instant::now();
    let method = method_label(req.method());
    let res = next.run(req).await;
    let route = res
        .extensions()
        .get::<Route>()
        .map_or_else(|| "fallback".to_owned(), |r| r.0.clone());
    let labels = RequestLabels {
        route,
        method,
        status: res.status().as_u16(),
    };
    metrics.request(
        labels,
        start.elapsed().as_secs_f64(),
        res.extensions().get::<Failure>(),
    );
    res
}
