//! Signalling: the rsipstack endpoint, and the only module that names
//! rsipstack. It turns SIP into chorus's own small interface: each new
//! INVITE becomes an [`IncomingCall`] (what the INVITE said, and a
//! [`ServerCall`] to answer it with) sent to whoever serves calls.
//!
//! [`Signalling::start`] binds UDP (a screening socket, see [`udp`]) and TCP
//! (read by chorus, see [`tcp`]); both pass every message through one
//! [`guard::Guard`] (screening, see [`screen`], and the INVITE rate).
//! [`Signalling::serve`] then takes every new server transaction: an initial
//! INVITE becomes an incoming call (or a 503 once [`Admission::refuse`] was
//! called, or while `sip.max_calls` calls are up), in-dialog requests go to
//! their dialog, OPTIONS is answered, REGISTER goes to the [`registrar`]
//! (digest, see [`digest`]), other methods get 405 (501 for unknown
//! ones comes from the screen). [`SipMetrics`] renders what was turned away.
//! [`Signalling::dialer`] places outbound calls on the same endpoint (see
//! [`uac`]); their in-dialog requests come through the same dispatcher.
//! [`pacer`] paces dialling out (calls per second, a bounded queue), for
//! when the API dials (not wired yet).

mod call;
mod dialog;
pub mod digest;
pub mod guard;
pub mod pacer;
pub mod registrar;
pub mod screen;
mod session_clock;
pub mod session_timer;
mod states;
pub mod tcp;
pub mod uac;
pub mod udp;
mod uri;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rsipstack::dialog::dialog::Dialog;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::sip::prelude::*;
use rsipstack::sip::{Header, Method, Param, StatusCode, Transport, Uri};
use rsipstack::transaction::transaction::Transaction;
use rsipstack::transaction::{Endpoint, TransactionReceiver};
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{SipConnection, TransportLayer};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use call::CallHold;
pub use call::{CallerGone, IncomingCall, Invite, ServerCall};
use dialog::{CallSpans, confirmed_within};
pub use dialog::{DialogEvent, Query, SessionOffer};
use guard::Guard;
use registrar::{Register, Registrar};
use screen::Rejection;
use session_timer::SessionTimer;
use states::StateRouter;
use tcp::{Links, TcpLimits};
pub use uac::ClientCall;
use udp::ScreeningSocket;
pub use uri::uri_address;

/// Methods we answer, for `Allow` headers.
const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, REGISTER";

/// Why signalling could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignallingError {
    /// A listen address could not be bound.
    #[error("cannot listen for SIP on {transport} {addr}: {source}")]
    Bind {
        /// "UDP" or "TCP".
        transport: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// rsipstack refused the setup.
    #[error("SIP stack setup failed: {0}")]
    Stack(#[from] rsipstack::Error),
    /// `sip.users_file` could not be read.
    #[error("cannot read sip.users_file: {0}")]
    Users(#[source] std::io::Error),
}

/// The running SIP endpoint.
pub struct Signalling {
    endpoint: Endpoint,
    incoming: TransactionReceiver,
    dialogs: Arc<DialogLayer>,
    contact: ContactAddresses,
    admission: Admission,
    udp_addr: SocketAddr,
    tcp: Option<(tokio::net::TcpListener, TcpLimits)>,
    metrics: SipMetrics,
    max_calls: usize,
    session_expires: std::time::Duration,
    registrar: Arc<Registrar>,
    spans: CallSpans,
    stop: CancellationToken,
}

/// What signalling counts for `/metrics`; cheap to clone.
#[derive(Clone)]
pub struct SipMetrics {
    guard: Arc<Guard>,
    links: Links,
    calls: Arc<AtomicUsize>,
}

impl SipMetrics {
    /// Appends `chorus_sip_rejected_total` and the open TCP connections.
    pub fn render(&self, out: &mut String) {
        use std::fmt::Write as _;
        self.guard.render(out);
        let name = "chorus_sip_tcp_connections";
        crate::metrics::render_header(out, name, "gauge", "SIP TCP connections open.");
        let _ = writeln!(out, "{name} {}", self.links.len());
    }
}

/// Where our Contact headers point: the advertised address, with the port of
/// the transport a dialog's INVITE came over.
#[derive(Debug, Clone, Copy)]
struct ContactAddresses {
    advertised: std::net::IpAddr,
    udp_port: u16,
    tcp_port: Option<u16>,
}

/// Whether new calls are let in; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Admission {
    refusing: Arc<AtomicBool>,
}

impl Admission {
    /// From now on every new INVITE gets 503 (a graceful stop began).
    pub fn refuse(&self) {
        self.refusing.store(true, Ordering::Relaxed);
    }

    fn is_open(&self) -> bool {
        !self.refusing.load(Ordering::Relaxed)
    }
}

impl Signalling {
    /// Binds the configured SIP listeners. `stop` ends the endpoint.
    pub async fn start(
        sip: &chorus_config::SipConfig,
        stop: CancellationToken,
    ) -> Result<Self, SignallingError> {
        let advertised = sip.advertised_ip();
        let transport_layer = TransportLayer::new(stop.child_token());

        let socket = tokio::net::UdpSocket::bind(sip.udp_listen)
            .await
            .map_err(|source| SignallingError::Bind {
                transport: "UDP",
                addr: sip.udp_listen,
                source,
            })?;
        let udp_addr = socket
            .local_addr()
            .map_err(|source| SignallingError::Bind {
                transport: "UDP",
                addr: sip.udp_listen,
                source,
            })?;
        let external =
            (advertised != udp_addr.ip()).then(|| SocketAddr::new(advertised, udp_addr.port()));
        let registrar = Arc::new(
            Registrar::load(&sip.realm, sip.users_file.as_deref())
                .map_err(SignallingError::Users)?,
        );
        if registrar.users() > 0 {
            tracing::info!(users = registrar.users(), realm = %sip.realm, "registrar ready");
        } else if sip.inbound_auth == chorus_config::InboundAuth::Digest {
            tracing::warn!(
                realm = %sip.realm,
                "sip.inbound_auth is \"digest\" but sip.users_file holds no user of this realm: \
                 every untrusted caller is challenged and none can answer"
            );
        }
        let guard = Arc::new(Guard::new(sip, registrar.clone()));
        let udp = UdpConnection::from_socket(
            Arc::new(ScreeningSocket::new(socket, guard.clone())),
            external,
            Some(stop.child_token()),
        )
        .await?;
        transport_layer.add_transport(udp.into());

        let tcp = match sip.tcp_listen {
            Some(addr) => {
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|source| SignallingError::Bind {
                        transport: "TCP",
                        addr,
                        source,
                    })?;
                let limits = TcpLimits {
                    max_connections: sip.tcp_max_connections as usize,
                    idle_timeout: sip.tcp_idle_timeout,
                };
                Some((listener, limits))
            }
            None => None,
        };

        let endpoint = rsipstack::EndpointBuilder::new()
            .with_user_agent(&sip.user_agent)
            .with_transport_layer(transport_layer)
            .with_cancel_token(stop.clone())
            .with_allows(vec![
                Method::Invite,
                Method::Ack,
                Method::Bye,
                Method::Cancel,
                Method::Options,
                Method::Info,
                Method::Update,
                Method::Register,
            ])
            .build();

        let incoming = endpoint.incoming_transactions()?;
        let dialogs = Arc::new(DialogLayer::new(endpoint.inner.clone()));
        let contact = ContactAddresses {
            advertised,
            udp_port: udp_addr.port(),
            tcp_port: sip.tcp_listen.map(|a| a.port()),
        };
        Ok(Self {
            endpoint,
            incoming,
            dialogs,
            contact,
            admission: Admission::default(),
            udp_addr,
            tcp,
            metrics: SipMetrics {
                guard,
                links: Links::default(),
                calls: Arc::default(),
            },
            max_calls: sip.max_calls as usize,
            session_expires: sip.session_expires,
            registrar,
            spans: CallSpans::default(),
            stop,
        })
    }

    /// What signalling counts, for `/metrics`.
    pub fn metrics(&self) -> SipMetrics {
        self.metrics.clone()
    }

    /// The UDP address actually bound (port 0 resolved).
    pub fn udp_addr(&self) -> SocketAddr {
        self.udp_addr
    }

    /// Places outbound calls on this endpoint (their in-dialog requests
    /// are served once [`Signalling::serve`] runs).
    pub fn dialer(&self) -> uac::Dialer {
        uac::Dialer {
            dialogs: self.dialogs.clone(),
            contact: self.contact,
            spans: self.spans.clone(),
        }
    }

    /// Who is registered where (for dialling registered users).
    pub fn registrar(&self) -> Arc<Registrar> {
        self.registrar.clone()
    }

    /// The switch that refuses new calls.
    pub fn admission(&self) -> Admission {
        self.admission.clone()
    }

    /// Serves requests until the endpoint stops; every new call goes to
    /// `calls`.
    pub async fn serve(self, calls: mpsc::UnboundedSender<IncomingCall>) {
        let Self {
            endpoint,
            mut incoming,
            dialogs,
            contact,
            admission,
            udp_addr: _,
            tcp,
            metrics,
            max_calls,
            session_expires,
            registrar,
            spans,
            stop,
        } = self;
        if let Some((listener, limits)) = tcp {
            tokio::spawn(tcp::serve(
                listener,
                endpoint.inner.clone(),
                metrics.guard.clone(),
                metrics.links.clone(),
                limits,
                stop,
            ));
        }
        let dispatcher = Dispatcher {
            dialogs,
            contact,
            admission,
            calls,
            spans,
            metrics,
            max_calls,
            session_expires,
            registrar,
            states: StateRouter::start(),
        };
        tokio::select! {
            () = endpoint.serve() => {}
            () = dispatcher.run(&mut incoming) => {}
        }
    }
}

/// Sends each new server transaction where it belongs.
struct Dispatcher {
    dialogs: Arc<DialogLayer>,
    contact: ContactAddresses,
    admission: Admission,
    calls: mpsc::UnboundedSender<IncomingCall>,
    spans: CallSpans,
    metrics: SipMetrics,
    max_calls: usize,
    session_expires: std::time::Duration,
    registrar: Arc<Registrar>,
    states: StateRouter,
}

impl Dispatcher {
    async fn run(&self, incoming: &mut TransactionReceiver) {
        while let Some(tx) = incoming.recv().await {
            let in_dialog = tx
                .original
                .to_header()
                .ok()
                .and_then(|to| to.tag().ok().flatten())
                .is_some();
            match (&tx.original.method, in_dialog) {
                (Method::Invite, false) => self.new_call(tx),
                (Method::Options, false) => {
                    tokio::spawn(reply_with_allow(tx, StatusCode::OK));
                }
                (Method::Register, false) => {
                    tokio::spawn(register(self.registrar.clone(), tx));
                }
                (_, true) => self.in_dialog_request(tx),
                (Method::Bye | Method::Info | Method::Update, false) => {
                    tokio::spawn(reply(tx, StatusCode::CallTransactionDoesNotExist));
                }
                _ => {
                    tokio::spawn(reply_with_allow(tx, StatusCode::MethodNotAllowed));
                }
            }
        }
    }

    fn in_dialog_request(&self, mut tx: Transaction) {
        match self.dialogs.match_dialog(&tx) {
            Some(Dialog::Invite(mut dialog)) => {
                let span = self.spans.of(&dialog.id());
                let serve = async move {
                    // A re-INVITE may overtake the ACK of our 200 (the ACK is
                    // queued to the INVITE's own task). Until that ACK is in,
                    // rsipstack would take the re-INVITE for an initial one and
                    // never answer it, so wait for the dialog to be confirmed.
                    if tx.original.method == Method::Invite
                        && !confirmed_within(&dialog, ACK_WAIT).await
                    {
                        let retry = Header::Other("Retry-After".to_owned(), "1".to_owned());
                        let _ = tx
                            .reply_with(StatusCode::ServerInternalError, vec![retry], None)
                            .await;
                        return;
                    }
                    if let Err(error) = dialog.handle(&mut tx).await {
                        tracing::debug!(%error, "in-dialog request");
                    }
                };
                tokio::spawn(serve.instrument(span));
            }
            _ => {
                tokio::spawn(reply(tx, StatusCode::CallTransactionDoesNotExist));
            }
        }
    }

    fn new_call(&self, mut tx: Transaction) {
        if !self.admission.is_open() {
            tokio::spawn(reply(tx, StatusCode::ServiceUnavailable));
            return;
        }
        if self.metrics.calls.load(Ordering::Relaxed) >= self.max_calls {
            let from = tx
                .connection
                .as_ref()
                .and_then(|c| c.get_remote_addr())
                .and_then(|a| a.get_socketaddr().ok())
                .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
            let why = format!("503: {} calls up (sip.max_calls)", self.max_calls);
            self.metrics
                .guard
                .reject(Rejection::OverCapacity, from, &why);
            let retry = Header::Other(
                "Retry-After".to_owned(),
                guard::RETRY_AFTER_SECS.to_string(),
            );
            tokio::spawn(async move {
                let _ = tx
                    .reply_with(StatusCode::ServiceUnavailable, vec![retry], None)
                    .await;
            });
            return;
        }
        let Ok(timer) = SessionTimer::negotiate(&tx.original, self.session_expires) else {
            // RFC 4028 §6: too short a session interval; say ours.
            tokio::spawn(async move {
                let min_se = SessionTimer::min_se_header();
                let _ = tx
                    .reply_with(StatusCode::SessionIntervalTooSmall, vec![min_se], None)
                    .await;
            });
            return;
        };
        let hold = CallHold::new(
            self.metrics.calls.clone(),
            self.metrics.links.call_over(tx.connection.as_ref()),
        );
        let contact = self.contact.uri(&tx);
        let dialog = match self.dialogs.get_or_create_server_invite(
            &tx,
            self.states.sender(),
            None,
            Some(contact),
        ) {
            Ok(d) => d,
            Err(error) => {
                tracing::info!(%error, "cannot create a dialog for INVITE");
                tokio::spawn(reply(tx, StatusCode::BadRequest));
                return;
            }
        };
        let call_uuid = uuid::Uuid::new_v4().to_string();
        let span = tracing::info_span!("call", call_uuid = %call_uuid);
        let invite = Invite::of(&tx.original);
        // Routed before the INVITE transaction can report anything.
        let states = self.states.route(dialog.id());
        let mut handler = dialog.clone();
        // The INVITE transaction (100 Trying, our final response, the ACK or a
        // CANCEL) runs in its own task; the call drives it through the dialog.
        tokio::spawn(
            async move {
                if let Err(error) = handler.handle(&mut tx).await {
                    tracing::debug!(%error, "INVITE transaction");
                }
            }
            .instrument(span.clone()),
        );
        self.spans.insert(dialog.id(), span.clone());
        let call = ServerCall::new(
            dialog,
            states,
            self.dialogs.clone(),
            self.spans.clone(),
            hold,
            timer,
        );
        let call = IncomingCall {
            call_uuid,
            span,
            invite,
            call,
        };
        if let Err(refused) = self.calls.send(call) {
            // Nobody serves calls any more (stopping): the ServerCall drops
            // with the message, forgetting its dialog.
            refused.0.call.reject(503, "Service Unavailable");
        }
    }
}

/// How long a re-INVITE waits for the ACK it overtook.
const ACK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

impl ContactAddresses {
    /// Our Contact for a dialog we start: the advertised address and the
    /// UDP port (outbound INVITEs go over UDP).
    fn udp_uri(&self) -> Uri {
        Uri {
            scheme: Some(rsipstack::sip::Scheme::Sip),
            auth: Some(rsipstack::sip::Auth {
                user: "chorus".to_owned(),
                password: None,
            }),
            host_with_port: SocketAddr::new(self.advertised, self.udp_port).into(),
            params: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Our Contact for a dialog: the advertised address, and the transport
    /// the INVITE came over so the peer's in-dialog requests come back the
    /// same way.
    fn uri(&self, tx: &Transaction) -> Uri {
        // Our TCP connections reach rsipstack as channel connections.
        let transport = tx.connection.as_ref().map(|c| match c {
            SipConnection::Channel(_) => Transport::Tcp,
            other => other.transport(),
        });
        let port = match transport {
            Some(Transport::Tcp) => self.tcp_port,
            _ => None,
        }
        .unwrap_or(self.udp_port);
        let mut params = Vec::new();
        if let Some(t @ Transport::Tcp) = transport {
            params.push(Param::Transport(t));
        }
        Uri {
            scheme: Some(rsipstack::sip::Scheme::Sip),
            auth: Some(rsipstack::sip::Auth {
                user: "chorus".to_owned(),
                password: None,
            }),
            host_with_port: SocketAddr::new(self.advertised, port).into(),
            params,
            headers: Vec::new(),
        }
    }
}

/// Answers a REGISTER (see [`registrar`]).
async fn register(registrar: Arc<Registrar>, mut tx: Transaction) {
    let request = &tx.original;
    let mut contacts = Vec::new();
    let (mut authorization, mut expires) = (None, None);
    for header in request.headers.iter() {
        match header {
            Header::Contact(c) => contacts.push(c.0.as_str()),
            Header::Authorization(a) => authorization = Some(a.0.as_str()),
            Header::Expires(e) => expires = Some(e.0.as_str()),
            _ => {}
        }
    }
    let user = request
        .to_header()
        .ok()
        .and_then(|to| to.uri().ok())
        .map(|uri| uri::user_or_uri(&uri))
        .unwrap_or_default();
    let Some(source) = via_source(request) else {
        let _ = tx.reply(StatusCode::BadRequest).await;
        return;
    };
    let register = Register {
        source,
        user: &user,
        authorization,
        contacts,
        expires,
    };
    let answer = registrar.register(&register, std::time::Instant::now());
    tracing::debug!(%user, status = answer.status, "REGISTER");
    let headers = answer
        .headers
        .into_iter()
        .map(|(name, value)| Header::Other(name.to_owned(), value))
        .collect();
    let _ = tx
        .reply_with(StatusCode::from(answer.status), headers, None)
        .await;
}

/// Where a request came from: its top Via's `received` (which the stack
/// adds when the source differs from what the Via says), else its host.
fn via_source(request: &rsipstack::sip::Request) -> Option<SocketAddr> {
    let via = request.via_header().ok()?.typed().ok()?;
    let ip = via
        .params
        .iter()
        .find_map(|p| match p {
            Param::Received(r) => r.value().trim_matches(['[', ']']).parse().ok(),
            _ => None,
        })
        .or_else(|| {
            let host = via.uri.host_with_port.host.to_string();
            host.trim_matches(['[', ']']).parse().ok()
        })?;
    let port = via
        .params
        .iter()
        .find_map(|p| match p {
            Param::Rport(Some(port)) => Some(*port),
            _ => None,
        })
        .or_else(|| via.uri.host_with_port.port.map(|p| p.value()))
        .unwrap_or(5060);
    Some(SocketAddr::new(ip, port))
}

async fn reply(mut tx: Transaction, status: StatusCode) {
    let _ = tx.reply(status).await;
}

async fn reply_with_allow(mut tx: Transaction, status: StatusCode) {
    let allow = Header::Other("Allow".to_owned(), ALLOW.to_owned());
    let accept = Header::Other("Accept".to_owned(), "application/sdp".to_owned());
    let _ = tx.reply_with(status, vec![allow, accept], None).await;
}
