//! The native [`Http`] (`native` feature): `reqwest`, with a bearer token, for clients that
//! are not browsers (the server's tests and benches).

use super::client::ApiClient;
use super::error::ApiError;
use super::http::{Answer, Call, Http, Method};

/// Sends requests to `base` with a bearer token and any extra headers.
#[derive(Clone)]
pub struct NativeHttp {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    headers: Vec<(String, String)>,
}

/// Names the server only: the token (and a header's cookie) never reach a log or a test
/// failure.
impl std::fmt::Debug for NativeHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeHttp")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl NativeHttp {
    /// Requests to `base` (`http://127.0.0.1:3000`, no trailing slash), with no session.
    pub fn new(base: impl Into<String>) -> Self {
        Self::with_client(reqwest::Client::new(), base)
    }

    /// The same, through an existing `reqwest` client (sharing its connection pool).
    pub fn with_client(http: reqwest::Client, base: impl Into<String>) -> Self {
        Self {
            http,
            base: base.into(),
            token: None,
            headers: Vec::new(),
        }
    }

    /// Sends `Authorization: Bearer <token>` from now on (a sign-in's [`token`]).
    ///
    /// [`token`]: sync_core::protocol::SignedIn::token
    pub fn bearer(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Sends this header with every request too (a `User-Agent`, a test's source address).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }
}

impl ApiClient<NativeHttp> {
    /// A client of the server at `base`, with no session.
    pub fn native(base: impl Into<String>) -> Self {
        Self::new(NativeHttp::new(base))
    }

    /// The same client sending this bearer token.
    pub fn bearer(&self, token: impl Into<String>) -> Self {
        Self::new(self.http().clone().bearer(token))
    }
}

impl Http for NativeHttp {
    async fn send(&self, call: Call<'_>) -> Result<Answer, ApiError> {
        let url = format!("{}{}", self.base, call.path);
        let mut req = match call.method {
            Method::Get => self.http.get(url),
            Method::Post => self
                .http
                .post(url)
                .header("content-type", "application/json"),
        };
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        for (name, value) in &self.headers {
            req = req.header(name, value);
        }
        if let Some(body) = call.body {
            req = req.body(body);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| ApiError::Offline(e.to_string()))?;
        let status = resp.status().as_u16();
        // A body cut off on the way is a network failure like no answer at all.
        let body = resp
            .text()
            .await
            .map_err(|e| ApiError::Offline(e.to_string()))?;
        Ok(Answer { status, body })
    }
}
