//! A real HTTP server on 127.0.0.1 for answer URLs and callbacks.
//!
//! Every request, whatever its method or path, is recorded with its query and
//! form parameters merged in order, so a test can assert exactly which
//! callbacks the daemon made. Configured paths get their [`Reply`] (after its
//! delay, to test slow applications); unknown paths get 404.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use tokio::task::JoinHandle;

/// What the server answers on one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// Content-Type header.
    pub content_type: String,
    /// Response body.
    pub body: Vec<u8>,
    /// Wait this long before answering.
    pub delay: Duration,
}

impl Reply {
    /// 200 with an XML body (a Plivo-style answer document).
    pub fn xml(body: &str) -> Reply {
        Reply {
            status: 200,
            content_type: "application/xml".into(),
            body: body.as_bytes().to_vec(),
            delay: Duration::ZERO,
        }
    }

    /// An empty reply with `status` (e.g. 200 for callbacks, 500 for errors).
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            content_type: "text/plain".into(),
            body: Vec::new(),
            delay: Duration::ZERO,
        }
    }

    /// 200 with a binary body (an audio file for `<Play>`).
    pub fn bytes(content_type: &str, body: Vec<u8>) -> Reply {
        Reply {
            status: 200,
            content_type: content_type.into(),
            body,
            delay: Duration::ZERO,
        }
    }

    /// The same reply, sent after `delay`.
    pub fn with_delay(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

/// One request the server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Query parameters, then `application/x-www-form-urlencoded` body
    /// parameters, each in order.
    pub params: Vec<(String, String)>,
    /// The raw body, lossily decoded.
    pub body: String,
    /// When it arrived.
    pub at: Instant,
}

impl RecordedRequest {
    /// First value of parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Inner {
    routes: Mutex<Vec<(String, Reply)>>,
    requests: Mutex<Vec<RecordedRequest>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The running server; stops when dropped.
pub struct AppServer {
    addr: SocketAddr,
    inner: Arc<Inner>,
    task: JoinHandle<()>,
}

impl AppServer {
    /// Starts a server on a free 127.0.0.1 port answering `routes`
    /// (exact path match, any method).
    ///
    /// # Panics
    /// If no loopback port can be bound.
    pub async fn start(routes: Vec<(String, Reply)>) -> AppServer {
        let inner = Arc::new(Inner {
            routes: Mutex::new(routes),
            requests: Mutex::new(Vec::new()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the test HTTP server on 127.0.0.1");
        let addr = listener
            .local_addr()
            .expect("local address of test HTTP server");
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&inner));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        AppServer { addr, inner, task }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Adds or replaces the reply for `path` while running.
    pub fn set_route(&self, path: &str, reply: Reply) {
        let mut routes = lock(&self.inner.routes);
        routes.retain(|(p, _)| p != path);
        routes.push((path.to_string(), reply));
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.inner.requests).clone()
    }

    /// Requests to `path` so far.
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        lock(&self.inner.requests)
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// Waits until at least `n` requests to `path` arrived or `timeout`
    /// passed, and returns the requests to `path` (possibly fewer than `n`:
    /// the caller asserts).
    pub async fn wait_for_requests(
        &self,
        path: &str,
        n: usize,
        timeout: Duration,
    ) -> Vec<RecordedRequest> {
        let deadline = Instant::now() + timeout;
        loop {
            let found = self.requests_to(path);
            if found.len() >= n || Instant::now() >= deadline {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The `EventName` of each callback to `path`, in arrival order, once
    /// `n` arrived or `timeout` passed (possibly fewer: the caller
    /// asserts).
    pub async fn event_names(&self, path: &str, n: usize, timeout: Duration) -> Vec<String> {
        self.wait_for_requests(path, n, timeout)
            .await
            .iter()
            .map(|r| r.param("EventName").unwrap_or("").to_owned())
            .collect()
    }
}

impl Drop for AppServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn decode_pairs(input: &[u8]) -> impl Iterator<Item = (String, String)> + '_ {
    form_urlencoded::parse(input).map(|(k, v)| (k.into_owned(), v.into_owned()))
}

async fn handle(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut params: Vec<(String, String)> =
        decode_pairs(uri.query().unwrap_or("").as_bytes()).collect();
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        params.extend(decode_pairs(&body));
    }
    let path = uri.path().to_string();
    lock(&inner.requests).push(RecordedRequest {
        method: method.to_string(),
        path: path.clone(),
        params,
        body: String::from_utf8_lossy(&body).into_owned(),
        at: Instant::now(),
    });
    let reply = lock(&inner.routes)
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, r)| r.clone());
    let Some(reply) = reply else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, reply.content_type)],
        reply.body,
    )
        .into_response()
}

/// A minimal HTTP/1.1 client (no extra dependency): sends `raw` (a whole
/// request, which should say `Connection: close`) on a new connection and
/// returns the status code and the body.
pub async fn raw_request(addr: SocketAddr, raw: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(raw.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, body.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn request(addr: SocketAddr, raw: String) -> u16 {
        super::raw_request(addr, &raw).await.0
    }

    #[tokio::test]
    async fn records_get_query_and_post_form() {
        let server = AppServer::start(vec![
            ("/answer".into(), Reply::xml("<Response/>")),
            ("/cb".into(), Reply::status(204)),
        ])
        .await;
        assert!(server.url("/answer").starts_with("http://127.0.0.1:"));
        let addr = server.addr();
        let work = async {
            let get = "GET /answer?CallUUID=abc&From=%2B1555&x=a+b HTTP/1.1\r\n\
                       Host: x\r\nConnection: close\r\n\r\n";
            assert_eq!(request(addr, get.to_string()).await, 200);
            let body = "Event=MPCStart&MPCUUID=m-1&Note=hello%20world";
            let post = format!(
                "POST /cb?seq=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\n\
                 Content-Length: {}\r\n\r\n{body}",
                body.len()
            );
            assert_eq!(request(addr, post).await, 204);
            let unknown = "DELETE /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
            assert_eq!(request(addr, unknown.to_string()).await, 404);
            server
                .wait_for_requests("/nope", 1, Duration::from_secs(2))
                .await
        };
        let nope = tokio::time::timeout(Duration::from_secs(10), work)
            .await
            .expect("HTTP exchange finished in time");
        assert_eq!(nope.len(), 1);
        assert_eq!(nope[0].method, "DELETE");

        let all = server.requests();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].method, "GET");
        assert_eq!(all[0].path, "/answer");
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        assert_eq!(
            all[0].params,
            pairs(&[("CallUUID", "abc"), ("From", "+1555"), ("x", "a b")])
        );
        assert_eq!(all[1].method, "POST");
        assert_eq!(all[1].path, "/cb");
        assert_eq!(
            all[1].params,
            pairs(&[
                ("seq", "1"),
                ("Event", "MPCStart"),
                ("MPCUUID", "m-1"),
                ("Note", "hello world")
            ])
        );
        assert_eq!(all[1].param("Event"), Some("MPCStart"));
        assert!(all[0].at <= all[1].at);
    }

    #[tokio::test]
    async fn delayed_reply_and_set_route() {
        let server = AppServer::start(Vec::new()).await;
        server.set_route(
            "/slow",
            Reply::status(200).with_delay(Duration::from_millis(300)),
        );
        let raw = "GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_string();
        let started = Instant::now();
        let status = tokio::time::timeout(Duration::from_secs(5), request(server.addr(), raw))
            .await
            .expect("reply in time");
        assert_eq!(status, 200);
        assert!(started.elapsed() >= Duration::from_millis(300));
        let got = server
            .wait_for_requests("/slow", 2, Duration::from_millis(100))
            .await;
        assert_eq!(got.len(), 1);
    }
}
