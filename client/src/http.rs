//! The browser transport: `POST /sync` through `gloo-net` (fetch), with the session cookie.

use gloo_net::http::Request;
use sync_core::protocol::{ErrorBody, SyncRequest, SyncResponse};

use crate::engine::{Transport, TransportError};

/// `POST {base}/sync` from the page or the service worker.
pub struct FetchTransport {
    url: String,
}

impl std::fmt::Debug for FetchTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FetchTransport").finish_non_exhaustive()
    }
}

impl FetchTransport {
    /// A transport to the origin that served the app.
    pub fn same_origin() -> Self {
        Self {
            url: "/sync".into(),
        }
    }
}

impl Transport for FetchTransport {
    async fn sync(&self, request: &SyncRequest) -> Result<SyncResponse, TransportError> {
        let resp = Request::post(&self.url)
            .json(request)
            .map_err(|e| TransportError::Decode(e.to_string()))?
            .send()
            .await
            .map_err(|e| TransportError::Network(e.to_string()))?;
        if !resp.ok() {
            let body = resp.json::<ErrorBody>().await.ok();
            return Err(TransportError::Http {
                status: resp.status(),
                body,
            });
        }
        resp.json::<SyncResponse>()
            .await
            .map_err(|e| TransportError::Decode(e.to_string()))
    }
}
