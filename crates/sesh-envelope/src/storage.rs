//! What a message becomes in the storage server's `store` request: base64 data, and the hash the
//! storage server files it under.
//!
//! ```
//! use sesh_envelope::storage;
//!
//! // The storage server's own unit test (session-storage-server unit_test/service_node.cpp).
//! let owner = hex::decode("05ffba630924aa1224bb930dde21c0d11bf004608f2812217f8ac812d6c7e3ad48")
//!     .unwrap().try_into().unwrap();
//! let data = storage::decode_data("CAES1gIKA1BVVBIPL2FwaS92MS9tZXNzYWdlGrsCCAYovfqZv4YvQq8CVwutUBbhRzZw80TvR6uTYMKg9DSagrtpeEpY31L7VxawfS8aSya0SiDa4J025SkjP13YX8g5pxgQ8Z6hgfNArMqr/tSijJ9miVKVDJ63YWE85O8kyWF8tdtZR5j0Vxb+JH5U8Rg1bp7ftKk3OSf7JJMcrUUrDnctQHe540zJ2OTDJ03DfubkX5NmKqEu5nhXGxeeDv3mTiL63fjtCvZYcikfjf6Nh1AX++HTgJ9SGoEIMastGUorFrmmXb2sbjHxNiJn0Radj/VzcA9VxYwBW5+AbGQ2d9+vvm7X+8vh+jIenJfjxf+8CWER+9adNfb4YUH07I+godNCV0O0J05gzqfKdT7J8MBZzFBtKrbk8oCagPpTsq/wZyYFKFKKD+q+zh704dYBILvs5yXUA96pIAA=")?;
//! assert_eq!(storage::message_hash(&owner, 0, &data), "4sMyAuaZlMwww3oFvfhazfw7ASx/7TDtO+TVc8aAjHs");
//! # Ok::<(), sesh_envelope::Error>(())
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use sesh_identity::hash;

use crate::error::{Error, Result};

/// The largest message the storage server stores, in bytes (before base64).
pub const MAX_MESSAGE_SIZE: usize = 76_800;

/// The namespace of 1:1 messages and sync messages.
pub const NAMESPACE_DEFAULT: i16 = 0;

/// The hash the storage server files a message under:
/// `base64_nopad(BLAKE2b-256(owner ‖ namespace ‖ data))`, where `owner` is the 33-byte ID
/// (prefix and key) and `namespace` is empty for 0 and decimal ASCII otherwise.
pub fn message_hash(owner: &[u8; 33], namespace: i16, data: &[u8]) -> String {
    let namespace = if namespace == 0 { String::new() } else { namespace.to_string() };
    let digest: [u8; 32] = hash::blake2b(b"", &[owner, namespace.as_bytes(), data]);
    STANDARD_NO_PAD.encode(digest)
}

/// The `data` of a `store` request: standard base64, padded.
pub fn encode_data(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// The bytes of a retrieved message's `data`.
///
/// # Errors
/// [`Error::InvalidBase64`].
pub fn decode_data(data: &str) -> Result<Vec<u8>> {
    STANDARD.decode(data).map_err(|_| Error::InvalidBase64)
}
