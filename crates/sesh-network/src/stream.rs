//! Node-to-node streams: one long-lived connection from a node to a peer that carries many
//! requests and their answers as frames, the way live nodes carry theirs over one OxenMQ
//! connection per peer rather than one HTTPS exchange per request.
//!
//! A stream is opened with an HTTP/1.1 upgrade, `GET` [`STREAM_PATH`] with `Upgrade:
//! sesh-stream/1`. The request carries the [`link`](crate::link) headers
//! (`X-Sesh-Node`, `X-Sesh-Timestamp`, `X-Sesh-Mac`, or a signature) over a fresh 32-byte
//! nonce sent in `X-Sesh-Nonce`; the acceptor answers `101` with its own nonce. Both ends then
//! derive the stream's key, the keyed BLAKE2b-256 under the link key of
//! `"sesh-node-stream/v1" ‖ opener ‖ acceptor ‖ opener's nonce ‖ acceptor's nonce`, so every
//! stream has its own key, and only the two nodes can compute it.
//!
//! A frame is `length (u32) ‖ kind (u8) ‖ id (u64) ‖ head ‖ body ‖ MAC (32 bytes)`, big-endian,
//! `length` counting what follows it. A request (kind 1) has as head the path's length (u8) and
//! the path; an answer (kind 2) the HTTP status (u16) and names the request it answers by its id.
//! The MAC is the keyed BLAKE2b-256 under the stream key of `direction ‖ sequence (u64) ‖ the
//! frame up to the MAC`, where `direction` is 0 from the opener and 1 from the acceptor and the
//! sequence counts the frames sent that way: a frame cannot be changed, dropped, replayed,
//! reordered or reflected without the next MAC failing, and a failed MAC ends the stream.
//! Bodies are not encrypted (onion layers and messages are already).
//!
//! ```
//! use sesh_identity::{Identity, NodeId};
//! use sesh_network::auth::SignatureHeaders;
//! use sesh_network::link::Links;
//! use sesh_network::stream::{self, Frame, NONCE_HEADER};
//!
//! let (a, b) = (Identity::generate(&mut rand_core::OsRng), Identity::generate(&mut rand_core::OsRng));
//! let (at_a, at_b) = (Links::new(&a, 16), Links::new(&b, 16));
//! let now_ms = 1_700_000_000_000;
//!
//! // a opens: the upgrade request's headers.
//! let (opening, headers) = stream::open(&at_a, &NodeId::from_identity(&b), now_ms, &mut rand_core::OsRng)?;
//! let lookup = |name: &str| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str());
//! // b accepts: the sender, its half of the stream, and the nonce of its `101` answer.
//! let (sender, mut at_b_session, nonce) = stream::accept(
//!     &at_b, &SignatureHeaders::from_lookup(lookup), lookup(NONCE_HEADER), now_ms + 5, &mut rand_core::OsRng,
//! )?;
//! assert_eq!(sender, NodeId::from_identity(&a));
//! let mut at_a_session = opening.accepted(Some(&nonce))?;
//!
//! let mut wire = Vec::new();
//! at_a_session.sending.request(7, "/onion/v1/relay", b"layer", &mut wire)?;
//! let (frame, used) = at_b_session.receiving.read(&wire)?.expect("a whole frame");
//! assert_eq!(used, wire.len());
//! assert_eq!(frame, Frame::Request { id: 7, path: "/onion/v1/relay".into(), body: b"layer".to_vec() });
//! # Ok::<(), sesh_network::Error>(())
//! ```

use std::fmt;

use rand_core::{CryptoRng, RngCore};
use sesh_identity::NodeId;
use sesh_identity::hash::blake2b;
use subtle::ConstantTimeEq as _;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::auth::SignatureHeaders;
use crate::error::{Error, Result};
use crate::link::{LinkKey, Links};

/// `GET`: opens a stream (an HTTP/1.1 upgrade to [`PROTOCOL`]).
pub const STREAM_PATH: &str = "/network/v1/stream";
/// The `Upgrade` token.
pub const PROTOCOL: &str = "sesh-stream/1";
/// Each end's 32-byte nonce, hex: in the upgrade request and in its `101` answer.
pub const NONCE_HEADER: &str = "x-sesh-nonce";
/// The largest frame, its length prefix excluded: a 10 MiB body and its head and MAC.
pub const MAX_FRAME: usize = 10 * 1024 * 1024 + 1024;

/// The domain the stream keys are derived in.
const KEY_DOMAIN: &[u8] = b"sesh-node-stream/v1";
const REQUEST: u8 = 1;
const ANSWER: u8 = 2;
const MAC_LEN: usize = 32;
/// Kind and id: what every frame has after its length.
const FIXED: usize = 1 + 8;

/// One frame off a stream.
#[derive(Clone, PartialEq, Eq)]
pub enum Frame {
    /// A request for `path`, to be answered with the same `id`.
    Request {
        /// Chosen by the sender, unique among its requests in flight.
        id: u64,
        /// The endpoint, as the HTTP path would be.
        path: String,
        /// The request body.
        body: Vec<u8>,
    },
    /// The answer to the request `id`.
    Answer {
        /// The request's id.
        id: u64,
        /// An HTTP status.
        status: u16,
        /// The answer body.
        body: Vec<u8>,
    },
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Request { id, path, body } => f
                .debug_struct("Request")
                .field("id", id)
                .field("path", path)
                .field("body_len", &body.len())
                .finish(),
            Self::Answer { id, status, body } => f
                .debug_struct("Answer")
                .field("id", id)
                .field("status", status)
                .field("body_len", &body.len())
                .finish(),
        }
    }
}

/// A stream's key.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
struct StreamKey([u8; 32]);

/// The sending half of a stream: seals frames in order.
pub struct Sending {
    key: StreamKey,
    direction: u8,
    sequence: u64,
}

/// The receiving half of a stream: opens frames in order.
pub struct Receiving {
    key: StreamKey,
    direction: u8,
    sequence: u64,
}

impl fmt::Debug for Sending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sending").field("sent", &self.sequence).finish_non_exhaustive()
    }
}

impl fmt::Debug for Receiving {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiving").field("received", &self.sequence).finish_non_exhaustive()
    }
}

/// Both halves of one end of a stream (each can go to its own task).
#[derive(Debug)]
pub struct Session {
    /// What this end sends.
    pub sending: Sending,
    /// What this end receives.
    pub receiving: Receiving,
}

impl Session {
    fn new(key: [u8; 32], opener: bool) -> Self {
        let (out, inward) = if opener { (0, 1) } else { (1, 0) };
        let key = StreamKey(key);
        Self {
            sending: Sending { key: key.clone(), direction: out, sequence: 0 },
            receiving: Receiving { key, direction: inward, sequence: 0 },
        }
    }
}

fn mac(key: &StreamKey, direction: u8, sequence: u64, framed: &[u8]) -> [u8; MAC_LEN] {
    blake2b(&key.0, &[&[direction], &sequence.to_be_bytes(), framed])
}

impl Sending {
    /// Appends a request frame to `out`.
    ///
    /// # Errors
    /// [`Error::BadFrame`] if the path is over 255 bytes or the body would make the frame
    /// larger than [`MAX_FRAME`] (`out` is left as it was).
    pub fn request(&mut self, id: u64, path: &str, body: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let len = u8::try_from(path.len())
            .map_err(|_| Error::BadFrame { why: "a path over 255 bytes" })?;
        let mut head = Vec::with_capacity(1 + path.len());
        head.push(len);
        head.extend_from_slice(path.as_bytes());
        self.frame(REQUEST, id, &head, body, out)
    }

    /// Appends an answer frame to `out`.
    ///
    /// # Errors
    /// [`Error::BadFrame`] if the body would make the frame larger than [`MAX_FRAME`] (`out` is
    /// left as it was).
    pub fn answer(&mut self, id: u64, status: u16, body: &[u8], out: &mut Vec<u8>) -> Result<()> {
        self.frame(ANSWER, id, &status.to_be_bytes(), body, out)
    }

    fn frame(
        &mut self,
        kind: u8,
        id: u64,
        head: &[u8],
        body: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let len = FIXED + head.len() + body.len() + MAC_LEN;
        if len > MAX_FRAME {
            return Err(Error::BadFrame { why: "a frame over the 10 MiB limit" });
        }
        let start = out.len();
        out.reserve(4 + len);
        // `len` is at most MAX_FRAME, well under u32::MAX.
        out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
        out.push(kind);
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(head);
        out.extend_from_slice(body);
        let tag =
            mac(&self.key, self.direction, self.sequence, out.get(start..).unwrap_or_default());
        out.extend_from_slice(&tag);
        self.sequence += 1;
        Ok(())
    }
}

impl Receiving {
    /// Reads the frame at the start of `buf`: `None` until `buf` holds all of it, then the frame
    /// and how many bytes of `buf` it took.
    ///
    /// # Errors
    /// [`Error::BadFrame`] for a length out of bounds, a MAC that does not verify (a changed,
    /// replayed, reordered or foreign frame) or a frame of no known form. The stream is then
    /// broken: close it.
    pub fn read(&mut self, buf: &[u8]) -> Result<Option<(Frame, usize)>> {
        let Some(prefix) = buf.first_chunk::<4>() else { return Ok(None) };
        let len = u32::from_be_bytes(*prefix) as usize;
        if !(FIXED + MAC_LEN..=MAX_FRAME).contains(&len) {
            return Err(Error::BadFrame { why: "a frame length out of bounds" });
        }
        let Some(framed) = buf.get(..4 + len) else { return Ok(None) };
        let (signed, tag) = framed.split_at(framed.len() - MAC_LEN);
        let expected = mac(&self.key, self.direction, self.sequence, signed);
        if !bool::from(expected.ct_eq(tag)) {
            return Err(Error::BadFrame { why: "a frame MAC that does not verify" });
        }
        let frame = parse(signed.get(4..).unwrap_or_default())?;
        self.sequence += 1;
        Ok(Some((frame, framed.len())))
    }
}

fn parse(frame: &[u8]) -> Result<Frame> {
    let bad = |why| Error::BadFrame { why };
    let (&kind, rest) = frame.split_first().ok_or(bad("an empty frame"))?;
    let (id, rest) = rest.split_first_chunk::<8>().ok_or(bad("a frame without an id"))?;
    let id = u64::from_be_bytes(*id);
    match kind {
        REQUEST => {
            let (&len, rest) = rest.split_first().ok_or(bad("a request without a path"))?;
            let (path, body) =
                rest.split_at_checked(len.into()).ok_or(bad("a request path past its frame"))?;
            let path = std::str::from_utf8(path).map_err(|_| bad("a request path not UTF-8"))?;
            Ok(Frame::Request { id, path: path.to_owned(), body: body.to_vec() })
        }
        ANSWER => {
            let (status, body) =
                rest.split_first_chunk::<2>().ok_or(bad("an answer without a status"))?;
            Ok(Frame::Answer { id, status: u16::from_be_bytes(*status), body: body.to_vec() })
        }
        _ => Err(bad("a frame of unknown kind")),
    }
}

/// A stream being opened: what the opener keeps until the `101` answer.
pub struct Opening {
    key: LinkKey,
    me: NodeId,
    peer: NodeId,
    nonce: [u8; 32],
}

impl fmt::Debug for Opening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opening").field("peer", &self.peer).finish_non_exhaustive()
    }
}

fn stream_key(key: &LinkKey, opener: &NodeId, acceptor: &NodeId, no: &[u8], na: &[u8]) -> [u8; 32] {
    key.keyed(&[KEY_DOMAIN, opener.as_bytes(), acceptor.as_bytes(), no, na])
}

fn read_nonce(nonce: Option<&str>) -> Result<[u8; 32]> {
    let nonce = nonce.ok_or(Error::MissingHeader(NONCE_HEADER))?;
    let mut out = [0u8; 32];
    hex::decode_to_slice(nonce, &mut out)
        .map_err(|_| Error::BadHeader { header: NONCE_HEADER, expected: "64 hex digits" })?;
    Ok(out)
}

/// Opens a stream to `peer`: the upgrade request's headers (the link headers over a fresh nonce,
/// and the nonce), and what to keep for its answer.
///
/// # Errors
/// [`Error::BadLinkKey`] if `peer` is not a node key.
pub fn open<R: RngCore + CryptoRng>(
    links: &Links,
    peer: &NodeId,
    now_ms: i64,
    rng: &mut R,
) -> Result<(Opening, Vec<(&'static str, String)>)> {
    let mut nonce = [0u8; 32];
    rng.fill_bytes(&mut nonce);
    let key = links.key(peer)?;
    let mut headers = links.authenticate(peer, STREAM_PATH, now_ms, &nonce)?.to_vec();
    headers.push((NONCE_HEADER, hex::encode(nonce)));
    Ok((Opening { key, me: *links.me(), peer: *peer, nonce }, headers))
}

impl Opening {
    /// The opener's end of the stream, from the acceptor's nonce (its `101`'s `X-Sesh-Nonce`).
    ///
    /// # Errors
    /// [`Error::MissingHeader`] or [`Error::BadHeader`] for a missing or malformed nonce.
    pub fn accepted(self, nonce: Option<&str>) -> Result<Session> {
        let theirs = read_nonce(nonce)?;
        Ok(Session::new(stream_key(&self.key, &self.me, &self.peer, &self.nonce, &theirs), true))
    }
}

/// Accepts a stream: checks the upgrade request's headers (as [`Links::verify`], over its
/// nonce) and returns the opener, the acceptor's end of the stream, and the nonce (hex) to
/// answer `101` with. Whether the opener is a node to take streams from is the caller's check.
///
/// # Errors
/// What [`Links::verify`] refuses, and [`Error::MissingHeader`] or [`Error::BadHeader`] for the
/// nonce.
pub fn accept<R: RngCore + CryptoRng>(
    links: &Links,
    headers: &SignatureHeaders<'_>,
    nonce: Option<&str>,
    now_ms: i64,
    rng: &mut R,
) -> Result<(NodeId, Session, String)> {
    let theirs = read_nonce(nonce)?;
    let opener = links.verify(headers, STREAM_PATH, now_ms, &theirs)?;
    let key = links.key(&opener)?;
    let mut ours = [0u8; 32];
    rng.fill_bytes(&mut ours);
    let session = Session::new(stream_key(&key, &opener, links.me(), &theirs, &ours), false);
    Ok((opener, session, hex::encode(ours)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::expect_used)]
    use super::*;
    use rand_core::OsRng;
    use sesh_identity::Identity;

    const NOW: i64 = 1_700_000_000_000;

    fn lookup_in<'a>(headers: &'a [(&'static str, String)]) -> impl Fn(&str) -> Option<&'a str> {
        move |name| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    /// Opener's and acceptor's sessions between two fresh nodes.
    fn pair() -> (Session, Session) {
        let (a, b) = (Identity::generate(&mut OsRng), Identity::generate(&mut OsRng));
        let (at_a, at_b) = (Links::new(&a, 4), Links::new(&b, 4));
        let (opening, headers) = open(&at_a, &NodeId::from_identity(&b), NOW, &mut OsRng).unwrap();
        let lookup = lookup_in(&headers);
        let (_, acceptor, nonce) = accept(
            &at_b,
            &SignatureHeaders::from_lookup(&lookup),
            lookup(NONCE_HEADER),
            NOW,
            &mut OsRng,
        )
        .unwrap();
        (opening.accepted(Some(&nonce)).unwrap(), acceptor)
    }

    #[test]
    fn frames_cross_both_ways_in_order_and_in_pieces() {
        let (mut a, mut b) = pair();
        let mut wire = Vec::new();
        a.sending.request(1, "/onion/v1/relay", b"one", &mut wire).unwrap();
        a.sending.request(2, "/swarm/v1/push", &[7u8; 5000], &mut wire).unwrap();
        // Fed a byte at a time, nothing is read before a frame is whole.
        let mut got = Vec::new();
        let mut buf = Vec::new();
        for byte in &wire {
            buf.push(*byte);
            while let Some((frame, used)) = b.receiving.read(&buf).unwrap() {
                buf.drain(..used);
                got.push(frame);
            }
        }
        assert!(buf.is_empty());
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0],
            Frame::Request { id: 1, path: "/onion/v1/relay".into(), body: b"one".to_vec() }
        );
        let mut back = Vec::new();
        b.sending.answer(2, 200, b"{}", &mut back).unwrap();
        let (frame, _) = a.receiving.read(&back).unwrap().unwrap();
        assert_eq!(frame, Frame::Answer { id: 2, status: 200, body: b"{}".to_vec() });
    }

    #[test]
    fn changed_replayed_reordered_reflected_or_foreign_frames_break_the_stream() {
        let (mut a, mut b) = pair();
        let (mut first, mut second) = (Vec::new(), Vec::new());
        a.sending.request(1, "/p", b"x", &mut first).unwrap();
        a.sending.request(2, "/p", b"y", &mut second).unwrap();
        let bad = Err(Error::BadFrame { why: "a frame MAC that does not verify" });
        // Reordered.
        assert_eq!(b.receiving.read(&second).map(|_| ()), bad.clone());
        // Changed, a bit anywhere: refused, or (a longer length) waiting for more, never read.
        for i in 0..first.len() {
            let mut changed = first.clone();
            changed[i] ^= 1;
            assert!(!matches!(b.receiving.read(&changed), Ok(Some(_))), "byte {i}");
        }
        assert!(b.receiving.read(&first).unwrap().is_some());
        // Replayed.
        assert_eq!(b.receiving.read(&first).map(|_| ()), bad.clone());
        // Reflected back to its sender.
        assert_eq!(a.receiving.read(&first).map(|_| ()), bad.clone());
        // Another stream's frame, between other nodes.
        let (mut c, _) = pair();
        let mut foreign = Vec::new();
        c.sending.request(0, "/p", b"x", &mut foreign).unwrap();
        let (_, mut d) = pair();
        assert_eq!(d.receiving.read(&foreign).map(|_| ()), bad);
    }

    #[test]
    fn lengths_out_of_bounds_are_refused_before_reading_on() {
        let (_, mut b) = pair();
        for len in [0, 40, u32::MAX, u32::try_from(MAX_FRAME + 1).unwrap()] {
            let r = b.receiving.read(&len.to_be_bytes());
            assert_eq!(r.map(|_| ()), Err(Error::BadFrame { why: "a frame length out of bounds" }));
        }
        assert_eq!(b.receiving.read(&[0, 0]), Ok(None));
        let (mut a, _) = pair();
        let mut out = vec![1, 2, 3];
        assert!(a.sending.request(0, &"p".repeat(256), b"", &mut out).is_err());
        assert!(a.sending.answer(0, 200, &vec![0; MAX_FRAME], &mut out).is_err());
        assert_eq!(out, [1, 2, 3]);
    }

    #[test]
    fn only_the_named_acceptor_accepts_and_nonces_are_checked() {
        let (a, b, c) = (
            Identity::generate(&mut OsRng),
            Identity::generate(&mut OsRng),
            Identity::generate(&mut OsRng),
        );
        let (at_a, at_c) = (Links::new(&a, 4), Links::new(&c, 4));
        let (_, headers) = open(&at_a, &NodeId::from_identity(&b), NOW, &mut OsRng).unwrap();
        let lookup = lookup_in(&headers);
        let signed = SignatureHeaders::from_lookup(&lookup);
        let r = accept(&at_c, &signed, lookup(NONCE_HEADER), NOW, &mut OsRng);
        assert_eq!(r.map(|_| ()), Err(Error::BadMac));
        let at_b = Links::new(&b, 4);
        let other = hex::encode([9u8; 32]);
        assert_eq!(
            accept(&at_b, &signed, Some(&other), NOW, &mut OsRng).map(|_| ()),
            Err(Error::BadMac)
        );
        assert_eq!(
            accept(&at_b, &signed, None, NOW, &mut OsRng).map(|_| ()),
            Err(Error::MissingHeader(NONCE_HEADER))
        );
        assert!(matches!(
            accept(&at_b, &signed, Some("zz"), NOW, &mut OsRng),
            Err(Error::BadHeader { header: NONCE_HEADER, .. })
        ));
        assert!(accept(&at_b, &signed, lookup(NONCE_HEADER), NOW, &mut OsRng).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_are_read_without_a_panic_and_never_as_a_frame(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
        ) {
            let (_, mut b) = pair();
            // Whatever the bytes, no frame is read without the stream's key.
            proptest::prop_assert!(!matches!(b.receiving.read(&bytes), Ok(Some(_))));
        }
    }
}
