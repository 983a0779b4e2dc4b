//! The combined payload every layer has: `u32le(N) ‖ N bytes ‖ JSON` (the JSON runs to the end).
//!
//! ```
//! use sesh_onion::payload;
//!
//! let data = payload::encode(b"blob", br#"{"headers":""}"#);
//! let parsed = payload::parse(&data)?;
//! assert_eq!((parsed.blob, parsed.json), (&b"blob"[..], &br#"{"headers":""}"#[..]));
//! # Ok::<(), sesh_onion::Error>(())
//! ```

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The largest onion request a node accepts: 10 MiB, as libsession-util's `OnionReqParser`.
pub const MAX_REQUEST_SIZE: usize = 10 * 1024 * 1024;

/// A parsed combined payload, borrowing from the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Combined<'a> {
    /// The `N` bytes after the length: a ciphertext, or the next layer's blob.
    pub blob: &'a [u8],
    /// Everything after the blob: JSON.
    pub json: &'a [u8],
}

/// `u32le(len(blob)) ‖ blob ‖ json`.
///
/// A blob is at most [`MAX_REQUEST_SIZE`], far below `u32::MAX`; a longer one is cut to
/// `u32::MAX` bytes in the length field, which no node accepts anyway.
pub fn encode(blob: &[u8], json: &[u8]) -> Vec<u8> {
    let len = u32::try_from(blob.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(4 + blob.len() + json.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(blob);
    out.extend_from_slice(json);
    out
}

/// Splits a combined payload.
///
/// # Errors
/// [`Error::MalformedPayload`] if it is shorter than 4 bytes or its length field runs past the
/// end.
pub fn parse(data: &[u8]) -> Result<Combined<'_>> {
    let (len, rest) = data
        .split_first_chunk::<4>()
        .ok_or(Error::MalformedPayload("shorter than its 4-byte length"))?;
    let len = usize::try_from(u32::from_le_bytes(*len)).unwrap_or(usize::MAX);
    let (blob, json) = rest
        .split_at_checked(len)
        .ok_or(Error::MalformedPayload("its length field runs past the end of the data"))?;
    Ok(Combined { blob, json })
}

/// Parses JSON that must be an object.
pub(crate) fn json_object(json: &[u8]) -> Result<Map<String, Value>> {
    match serde_json::from_slice::<Value>(json) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::InvalidJson("not an object".to_owned())),
        Err(e) => Err(Error::InvalidJson(e.to_string())),
    }
}

/// A 32-byte key written as exactly 64 hex digits.
pub(crate) fn hex32(map: &Map<String, Value>, key: &'static str) -> Result<[u8; 32]> {
    let text = map
        .get(key)
        .ok_or_else(|| Error::InvalidJson(format!("no {key:?}")))?
        .as_str()
        .ok_or_else(|| Error::InvalidJson(format!("{key:?} is not a string")))?;
    let mut out = [0u8; 32];
    if text.len() != 64 || hex::decode_to_slice(text, &mut out).is_err() {
        return Err(Error::InvalidJson(format!("{key:?} is not 64 hex digits")));
    }
    Ok(out)
}

/// An optional string field.
pub(crate) fn opt_str<'m>(
    map: &'m Map<String, Value>,
    key: &'static str,
) -> Result<Option<&'m str>> {
    match map.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Error::InvalidJson(format!("{key:?} is not a string"))),
    }
}

/// An optional boolean field.
pub(crate) fn opt_bool(map: &Map<String, Value>, key: &'static str) -> Result<Option<bool>> {
    match map.get(key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(Error::InvalidJson(format!("{key:?} is not a boolean"))),
    }
}

/// Compact JSON with keys in byte order, as libsession-util's (nlohmann) `dump()` writes it.
pub(crate) fn json_bytes(pairs: impl IntoIterator<Item = (&'static str, Value)>) -> Vec<u8> {
    let sorted: std::collections::BTreeMap<&str, Value> = pairs.into_iter().collect();
    serde_json::to_vec(&sorted).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths() {
        assert_eq!(
            parse(&[1, 0, 0]),
            Err(Error::MalformedPayload("shorter than its 4-byte length"))
        );
        assert!(parse(&[5, 0, 0, 0, 1, 2]).is_err());
        assert!(parse(&[0xff, 0xff, 0xff, 0xff]).is_err());
        let p = parse(&[2, 0, 0, 0, 7, 8, b'{', b'}']).unwrap();
        assert_eq!((p.blob, p.json), (&[7u8, 8][..], &b"{}"[..]));
        assert_eq!(parse(&[0, 0, 0, 0]).unwrap().blob, b"");
    }

    #[test]
    fn sorted_compact_json() {
        let json = json_bytes([("z", Value::from(1)), ("a", Value::from("x"))]);
        assert_eq!(json, br#"{"a":"x","z":1}"#);
    }
}
