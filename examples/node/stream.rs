//! Node-to-node streams (`sesh_network::stream`): a node keeps one upgraded connection to each
//! peer it sends requests to, and every request to that peer (onion relays, forwards, handovers,
//! tests, votes) goes over it as a frame, answered by a frame, many in flight at once. The
//! writer task sends all the frames queued when it wakes in one write, so under load one system
//! call carries many requests; the reader task answers frames as they are read.
//!
//! A peer that does not take the upgrade is sent plain HTTP for [`REFUSED_FOR`]; a stream that
//! sends nothing for [`IDLE`] is closed by its opener (before the acceptor's idle timeout cuts
//! it under a request).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rand_core::OsRng;
use sesh_network::NodeId;
use sesh_network::stream::{self, Frame, NONCE_HEADER, PROTOCOL, Receiving, STREAM_PATH, Sending};
use sesh_node::replication::PeerReply;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::sync::{mpsc, oneshot};

use crate::node::app::App;
use crate::node::metrics::{Metrics, Outcomes};

/// How long a peer that refused a stream is sent plain HTTP before it is asked again.
pub const REFUSED_FOR: Duration = Duration::from_secs(60);
/// How long an opener keeps a stream it sends nothing on (under the acceptor's 60 s idle cut).
pub const IDLE: Duration = Duration::from_secs(40);
/// How long opening a stream may take (or less: the request's own timeout).
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);
/// Peers whose opening locks are kept before the idle ones are dropped.
const PEERS_HELD: usize = 1 << 14;
/// How long one write may wait for the peer to take it.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Requests an acceptor runs at once for one stream; past it, `503` at once.
const IN_FLIGHT: usize = 4096;
/// The most bytes one write gathers.
const BATCH: usize = 256 * 1024;

/// What a stream's writer is given.
enum Out {
    /// A frame to send.
    Frame(Frame),
    /// The reader has stopped: the writer stops too.
    Close,
}

type Waiting = HashMap<u64, oneshot::Sender<(u16, Vec<u8>)>>;

/// One stream, either end.
struct Conn {
    out: mpsc::UnboundedSender<Out>,
    /// The opener's requests waiting for their answers; `None` once the stream is closed.
    waiting: Mutex<Option<Waiting>>,
    next: AtomicU64,
    running: AtomicUsize,
}

impl Conn {
    fn new(out: mpsc::UnboundedSender<Out>) -> Self {
        Self {
            out,
            waiting: Mutex::new(Some(HashMap::new())),
            next: AtomicU64::new(0),
            running: AtomicUsize::new(0),
        }
    }

    fn waiting(&self) -> std::sync::MutexGuard<'_, Option<Waiting>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Closes it: every request waiting is answered unreachable (its sender dropped).
    fn close(&self) {
        self.waiting().take();
    }

    fn is_closed(&self) -> bool {
        self.waiting().is_none()
    }
}

/// A node's streams to its peers.
#[derive(Default)]
pub struct Streams {
    open: Mutex<HashMap<NodeId, Arc<Conn>>>,
    refused: Mutex<HashMap<NodeId, Instant>>,
    /// One opening at a time per peer (a peer that does not answer holds up no other).
    opening: Mutex<HashMap<NodeId, Arc<tokio::sync::Mutex<()>>>>,
}

impl std::fmt::Debug for Streams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner).len();
        f.debug_struct("Streams").field("open", &open).finish_non_exhaustive()
    }
}

/// What became of a request sent on a stream.
#[derive(Debug)]
pub enum Sent {
    /// It was answered, timed out or the peer could not be reached.
    Reply(PeerReply),
    /// The peer takes no stream: send it by HTTP (the body, given back).
    NoStream(Vec<u8>),
}

impl Streams {
    fn live(&self, to: &NodeId) -> Option<Arc<Conn>> {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.get(to).filter(|c| !c.is_closed()).cloned()
    }

    fn forget(&self, to: &NodeId, conn: &Arc<Conn>) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.get(to).is_some_and(|c| Arc::ptr_eq(c, conn)) {
            open.remove(to);
        }
    }

    fn refuses(&self, to: &NodeId) -> bool {
        let refused = self.refused.lock().unwrap_or_else(PoisonError::into_inner);
        refused.get(to).is_some_and(|at| at.elapsed() < REFUSED_FOR)
    }

    /// Sends a request for `path` to the node `to`, whose HTTP endpoint for it is `url`, on the
    /// stream to it (opened first if there is none).
    pub async fn send(
        app: &App,
        to: &NodeId,
        url: &str,
        path: &str,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Sent {
        let streams = &app.streams;
        let Some(base) = url.strip_suffix(path) else { return Sent::NoStream(body) };
        if streams.refuses(to) {
            return Sent::NoStream(body);
        }
        // Twice: a stream can close (idle, or its peer gone) between being found and used.
        let mut body = body;
        for _ in 0..2 {
            let conn = match streams.live(to) {
                Some(conn) => conn,
                // The wait for another task's opening counts against this request's time too.
                None => match tokio::time::timeout(
                    timeout.min(OPEN_TIMEOUT),
                    streams.connect(app, to, base),
                )
                .await
                {
                    Err(_) => return Sent::Reply(PeerReply::TimedOut),
                    Ok(Ok(conn)) => conn,
                    Ok(Err(Some(reply))) => return Sent::Reply(reply),
                    Ok(Err(None)) => return Sent::NoStream(body),
                },
            };
            match request(&conn, path, body, timeout).await {
                Ok(reply) => return Sent::Reply(reply),
                Err(back) => {
                    streams.forget(to, &conn);
                    body = back;
                }
            }
        }
        Sent::Reply(PeerReply::Unreachable)
    }

    /// Opens a stream to `to` (one opening at a time per peer, and a stream another task
    /// opened meanwhile is taken). `Err(None)`: the peer answered the upgrade with something
    /// else.
    async fn connect(
        &self,
        app: &App,
        to: &NodeId,
        base: &str,
    ) -> Result<Arc<Conn>, Option<PeerReply>> {
        let lock = {
            let mut opening = self.opening.lock().unwrap_or_else(PoisonError::into_inner);
            if opening.len() >= PEERS_HELD {
                opening.retain(|_, l| Arc::strong_count(l) > 1);
            }
            opening.entry(*to).or_default().clone()
        };
        let _one = lock.lock().await;
        if let Some(conn) = self.live(to) {
            return Ok(conn);
        }
        let (opening, headers) =
            stream::open(&app.links, to, crate::now_ms(), &mut OsRng).map_err(|_| None)?;
        let mut req = app
            .peers
            .get(format!("{base}{STREAM_PATH}"))
            .header("connection", "upgrade")
            .header("upgrade", PROTOCOL);
        for (name, value) in headers {
            req = req.header(name, value);
        }
        let resp = match req.send().await {
            Err(e) => {
                tracing::debug!(peer = %to, error = %e, "stream not opened");
                return Err(Some(PeerReply::Unreachable));
            }
            Ok(resp) => resp,
        };
        if resp.status() != reqwest::StatusCode::SWITCHING_PROTOCOLS {
            tracing::debug!(peer = %to, status = %resp.status(), "stream refused: HTTP for now");
            let mut refused = self.refused.lock().unwrap_or_else(PoisonError::into_inner);
            refused.retain(|_, at| at.elapsed() < REFUSED_FOR);
            refused.insert(*to, Instant::now());
            Metrics::outcome(&app.metrics.streams, "refused", 1);
            return Err(None);
        }
        let nonce = resp.headers().get(NONCE_HEADER).and_then(|v| v.to_str().ok());
        let session = match opening.accepted(nonce) {
            Ok(session) => session,
            Err(e) => {
                tracing::debug!(peer = %to, error = %e, "stream answer refused");
                return Err(Some(PeerReply::Unreachable));
            }
        };
        let upgraded = match resp.upgrade().await {
            Ok(upgraded) => upgraded,
            Err(e) => {
                tracing::debug!(peer = %to, error = %e, "stream upgrade failed");
                return Err(Some(PeerReply::Unreachable));
            }
        };
        let conn = run(upgraded, session, None, IDLE, app.metrics.streams.clone());
        Metrics::outcome(&app.metrics.streams, "opened", 1);
        self.open.lock().unwrap_or_else(PoisonError::into_inner).insert(*to, conn.clone());
        Ok(conn)
    }
}

/// Sends one request on `conn` and waits for its answer; `Err(body)` if the stream was already
/// closed (so the request was not sent).
async fn request(
    conn: &Conn,
    path: &str,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<PeerReply, Vec<u8>> {
    let id = conn.next.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = oneshot::channel();
    {
        let mut waiting = conn.waiting();
        let Some(waiting) = waiting.as_mut() else { return Err(body) };
        waiting.insert(id, tx);
    }
    if let Err(mpsc::error::SendError(out)) =
        conn.out.send(Out::Frame(Frame::Request { id, path: path.to_owned(), body }))
    {
        conn.close();
        return match out {
            Out::Frame(Frame::Request { body, .. }) => Err(body),
            Out::Frame(Frame::Answer { .. }) | Out::Close => Ok(PeerReply::Unreachable),
        };
    }
    match tokio::time::timeout(timeout, rx).await {
        Ok(Ok((status, body))) => Ok(PeerReply::Answered { status, body }),
        Ok(Err(_)) => Ok(PeerReply::Unreachable),
        Err(_) => {
            if let Some(waiting) = conn.waiting().as_mut() {
                waiting.remove(&id);
            }
            Ok(PeerReply::TimedOut)
        }
    }
}

/// Serves a stream accepted from `from`: runs its requests and sends their answers.
pub fn serve<S>(app: Arc<App>, from: NodeId, io: S, session: stream::Session)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    tracing::debug!(peer = %from, "stream accepted");
    let counted = app.metrics.streams.clone();
    Metrics::outcome(&counted, "accepted", 1);
    // The acceptor never gives a stream up for idleness (its connection's idle timeout does).
    run(io, session, Some((app, from)), Duration::MAX, counted);
}

/// Starts a stream's writer and reader; `serving`: the acceptor's node and the opener.
fn run<S>(
    io: S,
    session: stream::Session,
    serving: Option<(Arc<App>, NodeId)>,
    idle: Duration,
    counted: Outcomes,
) -> Arc<Conn>
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (rd, wr) = tokio::io::split(io);
    let (tx, rx) = mpsc::unbounded_channel();
    let conn = Arc::new(Conn::new(tx));
    tokio::spawn(write(wr, rx, session.sending, conn.clone(), idle));
    tokio::spawn(read(rd, session.receiving, conn.clone(), serving, counted));
    conn
}

async fn write<W: AsyncWrite>(
    wr: W,
    mut rx: mpsc::UnboundedReceiver<Out>,
    mut sending: Sending,
    conn: Arc<Conn>,
    idle: Duration,
) {
    let mut wr = std::pin::pin!(wr);
    let mut buf = Vec::with_capacity(64 * 1024);
    loop {
        let first = if idle == Duration::MAX {
            rx.recv().await
        } else {
            match tokio::time::timeout(idle, rx.recv()).await {
                Ok(first) => first,
                Err(_) => {
                    // Idle: closed here unless a request is waiting (under the lock a request
                    // registers under, so none can be left unsent on a closed stream).
                    let mut waiting = conn.waiting();
                    match waiting.as_ref() {
                        Some(w) if !w.is_empty() => continue,
                        _ => {
                            *waiting = None;
                            break;
                        }
                    }
                }
            }
        };
        let Some(first) = first.filter(|o| !matches!(o, Out::Close)) else { break };
        buf.clear();
        put(&mut sending, first, &mut buf);
        while buf.len() < BATCH {
            match rx.try_recv() {
                Ok(Out::Close) => {
                    let _ = tokio::time::timeout(WRITE_TIMEOUT, wr.write_all(&buf)).await;
                    conn.close();
                    return;
                }
                Ok(out) => put(&mut sending, out, &mut buf),
                Err(_) => break,
            }
        }
        match tokio::time::timeout(WRITE_TIMEOUT, wr.write_all(&buf)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "stream write failed");
                break;
            }
            // A peer that stops reading: the stream ends, and what was queued for it is freed.
            Err(_) => {
                tracing::info!("stream closed: the peer took nothing for 30 s");
                break;
            }
        }
    }
    conn.close();
    let _ = wr.shutdown().await;
}

fn put(sending: &mut Sending, out: Out, buf: &mut Vec<u8>) {
    let sealed = match &out {
        Out::Frame(Frame::Request { id, path, body }) => sending.request(*id, path, body, buf),
        Out::Frame(Frame::Answer { id, status, body }) => sending.answer(*id, *status, body, buf),
        Out::Close => Ok(()),
    };
    if let Err(e) = sealed {
        // A request too large for a frame is refused before it is queued; an answer is capped
        // below a frame's limit. Sending nothing leaves the request to time out.
        tracing::warn!(error = %e, "frame not sent");
    }
}

async fn read<R: AsyncRead>(
    rd: R,
    mut receiving: Receiving,
    conn: Arc<Conn>,
    serving: Option<(Arc<App>, NodeId)>,
    counted: Outcomes,
) {
    let mut rd = std::pin::pin!(rd);
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    'stream: loop {
        let mut start = 0;
        loop {
            match receiving.read(buf.get(start..).unwrap_or_default()) {
                Ok(Some((frame, used))) => {
                    start += used;
                    if !take(frame, &conn, serving.as_ref()) {
                        break 'stream;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::info!(error = %e, "stream closed: a bad frame");
                    Metrics::outcome(&counted, "bad_frame", 1);
                    break 'stream;
                }
            }
        }
        buf.drain(..start);
        if buf.capacity() - buf.len() < 16 * 1024 {
            buf.reserve(64 * 1024);
        }
        match rd.read_buf(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    conn.close();
    let _ = conn.out.send(Out::Close);
}

/// Handles one frame; `false` ends the stream (a frame the end should not receive).
fn take(frame: Frame, conn: &Arc<Conn>, serving: Option<&(Arc<App>, NodeId)>) -> bool {
    match (frame, serving) {
        (Frame::Answer { id, status, body }, None) => {
            let tx = conn.waiting().as_mut().and_then(|w| w.remove(&id));
            if let Some(tx) = tx {
                let _ = tx.send((status, body));
            }
            true
        }
        (Frame::Request { id, path, body }, Some((app, from))) => {
            if conn.running.fetch_add(1, Ordering::Relaxed) >= IN_FLIGHT {
                conn.running.fetch_sub(1, Ordering::Relaxed);
                let body = b"too many requests in flight on this stream".to_vec();
                let _ = conn.out.send(Out::Frame(Frame::Answer { id, status: 503, body }));
                return true;
            }
            let (app, from, conn) = (app.clone(), *from, conn.clone());
            tokio::spawn(async move {
                let (status, body) =
                    crate::node::server::run_from_node(&app, from, &path, &body).await;
                conn.running.fetch_sub(1, Ordering::Relaxed);
                let _ = conn.out.send(Out::Frame(Frame::Answer { id, status, body }));
            });
            true
        }
        (frame, _) => {
            tracing::info!(?frame, "stream closed: a frame of the wrong direction");
            false
        }
    }
}
