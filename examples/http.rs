//! HTTP as the programs here must do it with peers they do not trust: answers read with a size
//! cap as they stream in (a node reading another node's or a relayed server's answer, a client
//! reading a guard's), name resolution that reaches only the addresses the node's egress policy
//! (`sesh_node::egress`) allows, and a server's connections capped per address
//! (`sesh_node::ratelimit::Connections`).

use std::future::Future as _;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use sesh_node::egress::{self, MAX_ANSWER};
use sesh_node::ratelimit::{Connections, MAX_CONNECTIONS_PER_ADDRESS};
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

/// An acceptor (for `axum_server`) that refuses a connection from an address that already has
/// its most open, and counts each one until it closes.
#[derive(Clone, Debug)]
pub struct Limited(Arc<Mutex<Connections>>);

impl Limited {
    /// At most `max_per_address` connections from one address.
    pub fn new(max_per_address: usize) -> Self {
        Self(Arc::new(Mutex::new(Connections::new(max_per_address))))
    }
}

/// [`MAX_CONNECTIONS_PER_ADDRESS`] from one address.
impl Default for Limited {
    fn default() -> Self {
        Self::new(MAX_CONNECTIONS_PER_ADDRESS)
    }
}

/// How long a client has to send a request's headers.
pub const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

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
        std::future::ready(match stream.peer_addr() {
            Ok(peer) if crate::lock(&self.0).open(peer.ip()) => {
                let idle = Box::pin(tokio::time::sleep(IDLE_TIMEOUT));
                Ok((Counted { stream, ip: peer.ip(), open: self.0.clone(), idle }, service))
            }
            Ok(peer) => Err(io::Error::other(format!("too many connections from {}", peer.ip()))),
            Err(e) => Err(e),
        })
    }
}

/// How long a connection may go without sending a byte before the server closes it (longer
/// than any request takes to answer: the longest, an onion relay, has 30 s).
pub const IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

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
