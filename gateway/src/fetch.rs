//! HTTP fetching of the application's XML documents (answer URL, redirects,
//! sound and music documents) and audio files, shared by call flows and the
//! player.
//!
//! Plivo sends the call's parameters as a query string for GET and as an
//! `application/x-www-form-urlencoded` body for POST; so do we.

use std::time::Duration;

use chorus_config::HttpMethod;
use chorus_xml::Method;

/// Largest document we accept; bigger answers are treated as failures.
const MAX_DOCUMENT: usize = 100 * 1024;

/// Why a document could not be fetched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// No connection, timeout, or a broken response.
    #[error("request to {url} failed: {source}")]
    Transport {
        /// The URL.
        url: String,
        /// What the HTTP client reported.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with a non-2xx status.
    #[error("{url} answered HTTP {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The document is larger than we accept.
    #[error("{url} returned more than {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit in bytes.
        limit: usize,
    },
}

/// The HTTP method of an XML `method` attribute.
pub fn http_method(method: Method) -> HttpMethod {
    match method {
        Method::Get => HttpMethod::Get,
        Method::Post => HttpMethod::Post,
    }
}

/// Fetches `url` with the call's `params`, within `timeout`.
pub async fn fetch_document(
    http: &reqwest::Client,
    url: &str,
    method: HttpMethod,
    params: &[(String, String)],
    timeout: Duration,
) -> Result<String, FetchError> {
    let body = fetch_bytes(http, url, method, params, timeout, MAX_DOCUMENT).await?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// Fetches `url` with `params`, within `timeout`, refusing bodies over
/// `limit` bytes.
pub async fn fetch_bytes(
    http: &reqwest::Client,
    url: &str,
    method: HttpMethod,
    params: &[(String, String)],
    timeout: Duration,
    limit: usize,
) -> Result<Vec<u8>, FetchError> {
    let transport = |source| FetchError::Transport {
        url: url.to_owned(),
        source,
    };
    let request = match method {
        HttpMethod::Get => http.get(url).query(params),
        HttpMethod::Post => http.post(url).form(params),
    };
    let mut response = request.timeout(timeout).send().await.map_err(transport)?;
    let status = response.status();
    if !status.is_success() {
        return Err(FetchError::Status {
            url: url.to_owned(),
            status: status.as_u16(),
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > limit {
            return Err(FetchError::TooLarge {
                url: url.to_owned(),
                limit,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The HTTP client every fetch shares (connection pooling, rustls on ring).
pub fn http_client(user_agent: &str) -> Result<reqwest::Client, reqwest::Error> {
    // reqwest is built without a default crypto provider; install ring once.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().user_agent(user_agent).build()
}
