//! The browser's [`Http`]: `fetch` through `gloo-net`, to the origin that served the app,
//! with the session cookie (the browser adds it, and the `Origin` the server checks).

use gloo_net::http::Request;

use super::client::ApiClient;
use super::error::ApiError;
use super::http::{Answer, Call, Http, Method};

/// Sends requests from the page or the service worker to the app's own origin.
#[derive(Clone, Debug, Default)]
pub struct BrowserHttp {
    /// Put before every path: empty for the same origin.
    base: String,
}

impl BrowserHttp {
    /// Requests to the origin that served the app.
    pub fn same_origin() -> Self {
        Self::default()
    }
}

impl ApiClient<BrowserHttp> {
    /// The client of the origin that served the app.
    pub fn same_origin() -> Self {
        Self::new(BrowserHttp::same_origin())
    }
}

impl Http for BrowserHttp {
    async fn send(&self, call: Call<'_>) -> Result<Answer, ApiError> {
        let url = format!("{}{}", self.base, call.path);
        let builder = match call.method {
            Method::Get => Request::get(&url),
            Method::Post => Request::post(&url).header("content-type", "application/json"),
        };
        let request = match call.body {
            Some(body) => builder.body(body),
            None => builder.build(),
        }
        .map_err(|e| ApiError::Decode(e.to_string()))?;
        let resp = request
            .send()
            .await
            .map_err(|e| ApiError::Offline(e.to_string()))?;
        let status = resp.status();
        // A body cut off on the way is a network failure like no answer at all.
        let body = resp
            .text()
            .await
            .map_err(|e| ApiError::Offline(e.to_string()))?;
        Ok(Answer { status, body })
    }
}
