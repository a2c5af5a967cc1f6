//! [`Http`]: how one request is sent and its answer read, whatever sends it.

use super::error::ApiError;

/// An HTTP method the API uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST` (always with `Content-Type: application/json`, which the server asks of a
    /// cookie-authenticated POST).
    Post,
}

/// One request, as [`Http`] sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call<'a> {
    /// The method.
    pub method: Method,
    /// The route, from the origin: `/auth/me`.
    pub path: &'a str,
    /// The JSON body (`None`: no body).
    pub body: Option<String>,
}

/// The server's answer to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body, as text.
    pub body: String,
}

/// Sends one request; a failure to get an answer is [`ApiError::Offline`].
#[allow(async_fn_in_trait)]
pub trait Http {
    /// Sends `call` and reads the whole answer.
    async fn send(&self, call: Call<'_>) -> Result<Answer, ApiError>;
}
