//! TLS for both APIs (`api.tls_cert`, `api.tls_key`): the files are read
//! and checked once at start ([`ApiTls::load`]: a missing file, a file with
//! no certificate or no key, or a key that does not match the certificate
//! stops chorusd with the path and the reason). gRPC hands the PEM to
//! tonic ([`ApiTls::grpc`]); REST serves through a [`TlsListener`], which
//! does each handshake in its own task so that one slow or silent client
//! never holds up the next, gives up on a handshake after
//! [`HANDSHAKE_TIMEOUT`], and keeps at most [`MAX_HANDSHAKES`] under way.
//!
//! ```no_run
//! # async fn demo(files: chorus_config::TlsFiles) -> Result<(), chorus_gateway::api::tls::TlsError> {
//! use chorus_gateway::api::tls::ApiTls;
//! let tls = std::sync::Arc::new(ApiTls::load(&files)?);
//! let tcp = tokio::net::TcpListener::bind("127.0.0.1:8443").await.unwrap();
//! let listener = tls.listener(tcp, tokio_util::sync::CancellationToken::new());
//! // axum::serve(listener, app) serves HTTPS.
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chorus_config::TlsFiles;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;

/// Longest a client may take to finish its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Most REST handshakes under way at once; further connections wait in
/// the kernel's backlog.
pub const MAX_HANDSHAKES: usize = 256;

/// Why the API's TLS files cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file holds no PEM item of the kind it should.
    #[error("{path} holds no {what} in PEM form")]
    Missing {
        /// The file.
        path: PathBuf,
        /// "certificate" or "private key".
        what: &'static str,
    },
    /// rustls refused the pair (say, the key is not the certificate's).
    #[error("api.tls_cert {cert} and api.tls_key {key} cannot serve TLS: {source}")]
    Refused {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// Why.
        source: rustls::Error,
    },
}

/// The APIs' certificate and key, checked.
pub struct ApiTls {
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
    rest: Arc<ServerConfig>,
}

impl std::fmt::Debug for ApiTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.write_str("ApiTls { .. }")
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

impl ApiTls {
    /// Reads and checks `files`.
    pub fn load(files: &TlsFiles) -> Result<Self, TlsError> {
        let cert_pem = read(&files.cert)?;
        let key_pem = read(&files.key)?;
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
            .filter_map(Result::ok)
            .collect();
        if chain.is_empty() {
            return Err(TlsError::Missing {
                path: files.cert.clone(),
                what: "certificate",
            });
        }
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| TlsError::Missing {
            path: files.key.clone(),
            what: "private key",
        })?;
        let refused = |source| TlsError::Refused {
            cert: files.cert.clone(),
            key: files.key.clone(),
            source,
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut rest = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(refused)?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(refused)?;
        rest.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            cert_pem,
            key_pem,
            rest: Arc::new(rest),
        })
    }

    /// tonic's server TLS settings for the same certificate and key.
    pub fn grpc(&self) -> tonic::transport::ServerTlsConfig {
        tonic::transport::ServerTlsConfig::new()
            .identity(tonic::transport::Identity::from_pem(
                &self.cert_pem,
                &self.key_pem,
            ))
            .timeout(HANDSHAKE_TIMEOUT)
    }

    /// Accepts on `tcp` and hands out finished TLS connections, until
    /// `stop`.
    pub fn listener(&self, tcp: TcpListener, stop: CancellationToken) -> TlsListener {
        let local = tcp.local_addr();
        let (ready_tx, ready) = mpsc::channel(MAX_HANDSHAKES);
        let acceptor = TlsAcceptor::from(self.rest.clone());
        tokio::spawn(accept(tcp, acceptor, ready_tx, stop));
        TlsListener { local, ready }
    }
}

/// Connections whose handshake is done, for `axum::serve`.
pub struct TlsListener {
    local: std::io::Result<SocketAddr>,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accepting task ended (chorusd is stopping): nothing more
            // will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        match &self.local {
            Ok(addr) => Ok(*addr),
            Err(error) => Err(std::io::Error::new(error.kind(), error.to_string())),
        }
    }
}

/// Accepts TCP connections and shakes hands with each in its own task.
async fn accept(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
    stop: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = tokio::select! {
            () = stop.cancelled() => return,
            accepted = tcp.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, say: wait rather than spin.
                    tracing::warn!(%error, "REST API: accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let (acceptor, ready) = (acceptor.clone(), ready.clone());
        tokio::spawn(async move {
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await;
            drop(slot);
            match handshake {
                Ok(Ok(tls)) => {
                    let _ = ready.send((tls, peer)).await;
                }
                Ok(Err(error)) => {
                    tracing::debug!(%peer, %error, "REST API: TLS handshake failed");
                }
                Err(_) => tracing::debug!(%peer, "REST API: TLS handshake timed out"),
            }
        });
    }
}
