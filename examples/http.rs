//! HTTP as the programs here must do it with peers they do not trust: answers read with a size
//! cap as they stream in (a node reading another node's or a relayed server's answer, a client
//! reading a guard's), name resolution that reaches only the addresses the node's egress policy
//! (`sesh_node::egress`) allows, and a server that defends itself: connections capped per
//! address and in total (`sesh_node::ratelimit::Connections`), timeouts on headers, on idleness
//! and on each request's body ([`Limits`]).

use std::future::Future as _;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use sesh_node::egress::{self, MAX_ANSWER};
use sesh_node::ratelimit::{Connections, Full, MAX_CONNECTIONS_PER_ADDRESS};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// An answer's body, read as it streams in and abandoned past [`MAX_ANSWER`] bytes (`None`).
pub async fn read_capped(mut resp: reqwest::Response) -> Result<Vec<u8>, Option<reqwest::Error>> {
    if resp.content_length().is_some_and(|n| n > MAX_ANSWER as u64) {
        return Err(None);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Resolves a relay target's name to the addresses the egress policy lets the node reach.
#[derive(Debug)]
pub struct PublicOnly(pub bool);

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.0;
        Box::pin(async move {
            let all = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let ok: Vec<_> =
                all.filter(|a| egress::check_ip(a.ip(), allow_private).is_ok()).collect();
            if ok.is_empty() {
                return Err(format!("{} has no public address", name.as_str()).into());
            }
            Ok(Box::new(ok.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The limits a server puts on its clients (the node's flags).
#[derive(Clone, Debug, clap::Args)]
pub struct Limits {
    /// Connections open at once, from all addresses together (default: three quarters of the
    /// soft file-descriptor limit, `ulimit -n`); past it a new connection is closed at once.
    #[arg(long)]
    pub max_connections: Option<usize>,
    /// Connections open at once from one address.
    #[arg(long, default_value_t = MAX_CONNECTIONS_PER_ADDRESS)]
    pub max_connections_per_address: usize,
    /// How long a request's body may take to arrive once its headers are in (ms; tests shorten
    /// it).
    #[arg(long, default_value_t = BODY_TIMEOUT.as_secs() * 1000, hide = true)]
    pub body_timeout_ms: u64,
}

impl Limits {
    /// The acceptor that keeps the connection caps: `--max-connections` or its default from
    /// this process's file-descriptor limit.
    pub fn acceptor(&self) -> Limited {
        let total = self.max_connections.unwrap_or_else(|| {
            sesh_node::ratelimit::max_connections(descriptor_limit().unwrap_or(u64::MAX))
        });
        let per_address = self.max_connections_per_address;
        tracing::info!(total, per_address, "connections capped");
        Limited::new(total, per_address)
    }

    /// `router` with the body deadline ([`with_body_deadline`]).
    pub fn guard(&self, router: axum::Router) -> axum::Router {
        with_body_deadline(router, Duration::from_millis(self.body_timeout_ms))
    }
}

/// The soft limit on this process's open files (`None`: no limit, or none known).
fn descriptor_limit() -> Option<u64> {
    #[cfg(unix)]
    return rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    #[cfg(not(unix))]
    None
}

/// An acceptor (for `axum_server`) that refuses a connection when the server has its most
/// open, or its address has, and counts each one until it closes.
#[derive(Clone, Debug)]
pub struct Limited(Arc<Mutex<Connections>>);

impl Limited {
    /// At most `max_total` connections at once, and `max_per_address` from one address.
    pub fn new(max_total: usize, max_per_address: usize) -> Self {
        Self(Arc::new(Mutex::new(Connections::new(max_total, max_per_address))))
    }
}

/// How long a client has to send a request's headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// A server on `listener` that cuts off a client that does not send a request's headers within
/// [`HEADER_TIMEOUT`] (serve it with [`Limited`] as its acceptor, or inside a TLS acceptor).
pub fn defended(
    listener: std::net::TcpListener,
    handle: axum_server::Handle,
) -> axum_server::Server {
    let mut server = axum_server::from_tcp(listener).handle(handle);
    let timer = hyper_util::rt::TokioTimer::new();
    server.http_builder().http1().timer(timer).header_read_timeout(HEADER_TIMEOUT);
    server
}

impl<S> axum_server::accept::Accept<TcpStream, S> for Limited {
    type Stream = Counted;
    type Service = S;
    type Future = std::future::Ready<io::Result<(Counted, S)>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let peer = match stream.peer_addr() {
            Ok(peer) => peer.ip(),
            Err(e) => return std::future::ready(Err(e)),
        };
        let opened = crate::lock(&self.0).open(peer);
        std::future::ready(match opened {
            Ok(()) => {
                let idle = Box::pin(tokio::time::sleep(IDLE_TIMEOUT));
                Ok((Counted { stream, ip: peer, open: self.0.clone(), idle }, service))
            }
            Err(Full::Address) => {
                Err(io::Error::other(format!("too many connections from {peer}")))
            }
            Err(Full::Total) => Err(io::Error::other("too many connections")),
        })
    }
}

/// How long a connection may go without sending a byte before the server closes it (longer
/// than any request takes to answer: the longest, an onion relay, has 30 s).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A connection counted against its address until it is dropped, and closed when its client
/// sends nothing for [`IDLE_TIMEOUT`].
#[derive(Debug)]
pub struct Counted {
    stream: TcpStream,
    ip: IpAddr,
    open: Arc<Mutex<Connections>>,
    idle: Pin<Box<tokio::time::Sleep>>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        crate::lock(&self.open).close(self.ip);
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut me.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) if buf.filled().len() > before => {
                me.idle.as_mut().reset(tokio::time::Instant::now() + IDLE_TIMEOUT);
                Poll::Ready(Ok(()))
            }
            Poll::Pending if me.idle.as_mut().poll(cx).is_ready() => {
                Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "idle connection")))
            }
            other => other,
        }
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// How long a request's body may take to arrive once its headers are in. The largest body a node
/// takes (10 MiB, `node::server::MAX_BODY`: a storage RPC or an onion request carrying an
/// attachment) arrives in this time at 1.4 Mbit/s, a slow mobile uplink; a body trickled in a byte
/// at a time holds its connection no longer than an idle one is held ([`IDLE_TIMEOUT`]).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(60);

/// `router` with a deadline on each request's body, `timeout` from when its headers are in: a
/// body not all in by then fails for the handler reading it, and the request is answered `408`
/// and its connection closed. (A body timeout between reads, such as tower-http's, restarts on
/// every byte and so cannot stop a trickle; a timeout on the whole request would also cut off
/// the handler's own waits, on a database or a relayed server.)
pub fn with_body_deadline(router: axum::Router, timeout: Duration) -> axum::Router {
    router.layer(axum::middleware::from_fn_with_state(timeout, body_deadline))
}

async fn body_deadline(State(timeout): State<Duration>, req: Request, next: Next) -> Response {
    let expired = Arc::new(AtomicBool::new(false));
    let sleep = Box::pin(tokio::time::sleep(timeout));
    let req = req.map(|body| Body::new(Deadline { body, sleep, expired: expired.clone() }));
    let response = next.run(req).await;
    if expired.load(Ordering::Relaxed) {
        let close = [(header::CONNECTION, "close")];
        return (StatusCode::REQUEST_TIMEOUT, close, "Request body timed out\n").into_response();
    }
    response
}

/// A request body that fails once its deadline passes before it is all in (and says so in
/// `expired`).
struct Deadline {
    body: Body,
    sleep: Pin<Box<tokio::time::Sleep>>,
    expired: Arc<AtomicBool>,
}

impl HttpBody for Deadline {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let me = self.get_mut();
        match Pin::new(&mut me.body).poll_frame(cx) {
            Poll::Pending if me.sleep.as_mut().poll(cx).is_ready() => {
                me.expired.store(true, Ordering::Relaxed);
                let late = io::Error::new(io::ErrorKind::TimedOut, "request body timed out");
                Poll::Ready(Some(Err(axum::Error::new(late))))
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// A TLS client configuration that accepts exactly one certificate: the one whose SHA-256 (of
/// its DER form) is `pin`, as the live apps accept their seeds' (the handshake's signature is
/// still checked against that certificate's key).
pub fn pinned_tls(pin: [u8; 32]) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(PinnedCert { pin, provider: provider.clone() });
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|_| rustls::ClientConfig::builder())
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth()
}

/// The start of the error a pinned connection fails with when the certificate is another.
pub const PIN_MISMATCH: &str = "the certificate is not the pinned one";

#[derive(Debug)]
struct PinnedCert {
    pin: [u8; 32],
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl rustls::client::danger::ServerCertVerifier for PinnedCert {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        let got: [u8; 32] = sha2::Digest::finalize(sha2::Digest::chain_update(
            <sha2::Sha256 as sha2::Digest>::new(),
            end_entity.as_ref(),
        ))
        .into();
        if got == self.pin {
            return Ok(rustls::client::danger::ServerCertVerified::assertion());
        }
        let (got, pin) = (hex::encode(got), hex::encode(self.pin));
        Err(rustls::Error::General(format!("{PIN_MISMATCH} (its SHA-256 is {got}, pinned {pin})")))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// An error with its sources, `: `-joined (reqwest's `Display` leaves out why a connection
/// failed).
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
