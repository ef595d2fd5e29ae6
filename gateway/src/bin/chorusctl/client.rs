//! chorusctl's side of the wire: the gRPC client with its bearer token,
//! answers within [`PATIENCE`], and what a failure means for the exit code.

use std::time::Duration;

use chorus_proto::v1 as pb;
use pb::multi_party_calls_client::MultiPartyCallsClient;
use tonic::Code;
use tonic::Request;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use crate::settings::Settings;

/// How long a connection attempt and each answer may take.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Why chorusctl gave up, and its exit code.
pub(crate) enum Failure {
    Refused(String),
    Usage(String),
    Unreachable(String),
    Unauthenticated(String),
}

impl Failure {
    pub(crate) fn code(&self) -> u8 {
        match self {
            Self::Refused(_) => 1,
            Self::Usage(_) => 2,
            Self::Unreachable(_) => 3,
            Self::Unauthenticated(_) => 4,
        }
    }

    pub(crate) fn message(&self) -> &str {
        match self {
            Self::Refused(m) | Self::Usage(m) | Self::Unreachable(m) | Self::Unauthenticated(m) => {
                m
            }
        }
    }
}

pub(crate) fn from_status(status: tonic::Status, endpoint: &str) -> Failure {
    // A status made on this side from a transport error (an HTTP/2
    // protocol error: say, plain HTTP/2 spoken to a TLS port) means no
    // gRPC conversation took place; chorusd's own answers carry no source.
    if std::error::Error::source(&status).is_some() && status.code() == Code::Internal {
        return Failure::Unreachable(format!(
            "cannot talk to chorusd at {endpoint} ({}): if it serves TLS \
             (api.tls_cert), use https://",
            status.message()
        ));
    }
    match status.code() {
        Code::Unauthenticated => Failure::Unauthenticated(format!(
            "chorusd refused the token ({}): give api.auth_token with --token or \
             CHORUS_API__AUTH_TOKEN",
            status.message()
        )),
        Code::Unavailable | Code::DeadlineExceeded | Code::Unknown => Failure::Unreachable(
            format!("cannot reach chorusd at {endpoint}: {}", status.message()),
        ),
        Code::NotFound => Failure::Refused(format!("not found: {}", status.message())),
        _ => Failure::Refused(status.message().to_owned()),
    }
}

pub(crate) fn mpc_id(text: &str) -> pb::MultiPartyCallId {
    use pb::multi_party_call_id::Id;
    let id = match text.strip_prefix("uuid:") {
        Some(uuid) => Id::MpcUuid(uuid.to_owned()),
        None => Id::FriendlyName(text.to_owned()),
    };
    pb::MultiPartyCallId { id: Some(id) }
}

pub(crate) fn members(text: &str) -> Result<pb::Members, Failure> {
    use pb::members::Members as Which;
    let which = match text {
        "all" => Which::All(true),
        _ => Which::MemberId(text.parse().map_err(|_| {
            Failure::Usage(format!("{text:?} is not a member id (a number) or all"))
        })?),
    };
    Ok(pb::Members {
        members: Some(which),
    })
}

/// Adds `authorization: Bearer <token>` to every request, if there is a
/// token.
#[derive(Clone)]
pub(crate) struct Bearer(Option<MetadataValue<Ascii>>);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

pub(crate) type Client = MultiPartyCallsClient<InterceptedService<Channel, Bearer>>;

pub(crate) async fn channel(settings: &Settings) -> Result<Channel, Failure> {
    let endpoint = settings.endpoint.as_str();
    let tls = match endpoint.split_once("://") {
        Some(("http", _)) => None,
        Some(("https", _)) => Some(tls(settings)?),
        _ => {
            return Err(Failure::Usage(format!(
                "{endpoint:?} is not a gRPC URL chorusctl can use: give http://HOST:PORT, \
                 or https://HOST:PORT when chorusd has api.tls_cert"
            )));
        }
    };
    let mut target = Endpoint::from_shared(endpoint.to_owned())
        .map_err(|e| Failure::Usage(format!("{endpoint:?} is not a gRPC URL: {e}")))?
        .connect_timeout(PATIENCE);
    if let Some(tls) = tls {
        target = target.tls_config(tls).map_err(|e| {
            Failure::Usage(format!("cannot use TLS for {endpoint}: {}", causes(&e)))
        })?;
    }
    target.connect().await.map_err(|e| {
        Failure::Unreachable(format!(
            "cannot reach chorusd at {endpoint}: {}",
            causes(&e)
        ))
    })
}

/// TLS for an `https://` endpoint: the system's trusted roots, and
/// `--ca-cert` (a private CA, or chorusd's self-signed certificate).
fn tls(settings: &Settings) -> Result<ClientTlsConfig, Failure> {
    let mut tls = ClientTlsConfig::new().with_native_roots();
    if let Some(path) = &settings.ca_cert {
        let pem = std::fs::read(path)
            .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
        tls = tls.ca_certificate(Certificate::from_pem(pem));
    }
    Ok(tls)
}

pub(crate) async fn client(settings: &Settings) -> Result<Client, Failure> {
    let bearer =
        match &settings.token {
            Some(token) => Some(MetadataValue::try_from(format!("Bearer {token}")).map_err(
                |_| Failure::Usage("the token has characters a header cannot carry".into()),
            )?),
            None => None,
        };
    let channel = channel(settings).await?;
    Ok(MultiPartyCallsClient::with_interceptor(
        channel,
        Bearer(bearer),
    ))
}

/// An error and its causes, `a: b: c` (tonic's transport error alone says
/// only "transport error").
pub(crate) fn causes(error: &dyn std::error::Error) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if parts.last() != Some(&cause_text) {
            parts.push(cause_text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

/// One answer, within [`PATIENCE`].
pub(crate) async fn answer<T>(
    endpoint: &str,
    call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> Result<T, Failure> {
    match tokio::time::timeout(PATIENCE, call).await {
        Ok(Ok(response)) => Ok(response.into_inner()),
        Ok(Err(status)) => Err(from_status(status, endpoint)),
        Err(_) => Err(Failure::Unreachable(format!(
            "chorusd at {endpoint} did not answer within {PATIENCE:?}"
        ))),
    }
}
