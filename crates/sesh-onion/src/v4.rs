//! Version 4 onion requests to HTTP servers (communities, the file server): a bencoded list of
//! one or two byte strings, JSON metadata and an optional body, both ways.
//!
//! ```text
//! request:  l <len>:{"endpoint":"/path","headers":{…},"method":"GET"} [<len>:body] e
//! response: l <len>:{"code":200,"headers":{…}} [<len>:body] e
//! ```
//!
//! ```
//! use sesh_onion::v4;
//!
//! let request = v4::Request::get("/room/x");
//! let bytes = request.encode();
//! assert_eq!(bytes, br#"l50:{"endpoint":"/room/x","headers":{},"method":"GET"}e"#);
//! assert_eq!(v4::Request::decode(&bytes)?, request);
//! # Ok::<(), sesh_onion::Error>(())
//! ```

use std::collections::BTreeMap;

use bendy::decoding::{Decoder, Object};
use bendy::encoding::Encoder;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::payload::json_object;

/// A v4 request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Request {
    /// `GET`, `POST`, `PUT` or `DELETE`.
    pub method: String,
    /// The path and query, starting with `/`.
    pub endpoint: String,
    /// Request headers.
    pub headers: BTreeMap<String, String>,
    /// The body (for POST and PUT).
    pub body: Option<Vec<u8>>,
}

impl Request {
    /// A GET of `endpoint`.
    pub fn get(endpoint: &str) -> Self {
        Self {
            method: "GET".to_owned(),
            endpoint: endpoint.to_owned(),
            headers: BTreeMap::new(),
            body: None,
        }
    }

    /// A POST of `body` (JSON) to `endpoint`, with `Content-Type: application/json` as
    /// libsession-util sets it.
    pub fn post_json(endpoint: &str, body: Vec<u8>) -> Self {
        let mut headers = BTreeMap::new();
        headers.insert("Content-Type".to_owned(), "application/json".to_owned());
        Self { method: "POST".to_owned(), endpoint: endpoint.to_owned(), headers, body: Some(body) }
    }

    /// The bencoded request.
    pub fn encode(&self) -> Vec<u8> {
        let headers: serde_json::Map<String, Value> =
            self.headers.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
        let meta = crate::payload::json_bytes([
            ("endpoint", Value::String(self.endpoint.clone())),
            ("headers", Value::Object(headers)),
            ("method", Value::String(self.method.clone())),
        ]);
        encode_parts(&meta, self.body.as_deref())
    }

    /// Parses a bencoded request.
    ///
    /// # Errors
    /// [`Error::InvalidV4`] if it is not a list of one or two strings whose first is JSON with a
    /// string `method` and an `endpoint` starting with `/`.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let (meta, body) = decode_parts(bytes)?;
        let map = json_object(&meta).map_err(|e| Error::InvalidV4(e.to_string()))?;
        let text = |key: &str| -> Result<String> {
            map.get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| Error::InvalidV4(format!("the metadata has no {key:?} string")))
        };
        let endpoint = text("endpoint")?;
        if !endpoint.starts_with('/') {
            return Err(Error::InvalidV4("the endpoint does not start with /".to_owned()));
        }
        Ok(Self { method: text("method")?, endpoint, headers: headers(map.get("headers"))?, body })
    }
}

/// A v4 response.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Response {
    /// The HTTP status of the request the server made.
    pub code: u16,
    /// Response headers (lower-case names).
    pub headers: BTreeMap<String, String>,
    /// The body, if any.
    pub body: Option<Vec<u8>>,
}

impl Response {
    /// A response with `code` and `body`.
    pub fn new(code: u16, body: Vec<u8>) -> Self {
        Self { code, headers: BTreeMap::new(), body: Some(body) }
    }

    /// The bencoded response.
    pub fn encode(&self) -> Vec<u8> {
        let headers: serde_json::Map<String, Value> =
            self.headers.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
        let meta = crate::payload::json_bytes([
            ("code", Value::from(self.code)),
            ("headers", Value::Object(headers)),
        ]);
        encode_parts(&meta, self.body.as_deref())
    }

    /// Parses a bencoded response.
    ///
    /// # Errors
    /// [`Error::InvalidV4`] if it is not a list of one or two strings whose first is JSON with an
    /// integer `code`.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let (meta, body) = decode_parts(bytes)?;
        let map = json_object(&meta).map_err(|e| Error::InvalidV4(e.to_string()))?;
        let code = map
            .get("code")
            .and_then(Value::as_u64)
            .and_then(|c| u16::try_from(c).ok())
            .ok_or_else(|| Error::InvalidV4("the metadata has no integer \"code\"".to_owned()))?;
        Ok(Self { code, headers: headers(map.get("headers"))?, body })
    }
}

fn headers(value: Option<&Value>) -> Result<BTreeMap<String, String>> {
    match value {
        None => Ok(BTreeMap::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                other => Ok((k.clone(), other.to_string())),
            })
            .collect(),
        Some(_) => Err(Error::InvalidV4("\"headers\" is not an object".to_owned())),
    }
}

fn encode_parts(meta: &[u8], body: Option<&[u8]>) -> Vec<u8> {
    let mut encoder = Encoder::new();
    let encoded = encoder
        .emit_list(|list| {
            list.emit_bytes(meta)?;
            if let Some(body) = body {
                list.emit_bytes(body)?;
            }
            Ok(())
        })
        .and_then(|()| encoder.get_output());
    // Two byte strings in a list cannot fail to encode.
    encoded.unwrap_or_default()
}

fn decode_parts(bytes: &[u8]) -> Result<(Vec<u8>, Option<Vec<u8>>)> {
    let invalid = |e: bendy::decoding::Error| Error::InvalidV4(e.to_string());
    let mut decoder = Decoder::new(bytes).with_max_depth(2);
    let mut list = match decoder.next_object().map_err(invalid)? {
        Some(Object::List(list)) => list,
        _ => return Err(Error::InvalidV4("not a bencoded list".to_owned())),
    };
    let meta = match list.next_object().map_err(invalid)? {
        Some(Object::Bytes(meta)) => meta.to_vec(),
        _ => return Err(Error::InvalidV4("no metadata string".to_owned())),
    };
    let body = match list.next_object().map_err(invalid)? {
        None => None,
        Some(Object::Bytes(body)) => Some(body.to_vec()),
        Some(_) => return Err(Error::InvalidV4("the body is not a string".to_owned())),
    };
    if list.next_object().map_err(invalid)?.is_some() {
        return Err(Error::InvalidV4("more than two parts".to_owned()));
    }
    drop(list);
    if decoder.next_object().map_err(invalid)?.is_some() {
        return Err(Error::InvalidV4("data after the list".to_owned()));
    }
    Ok((meta, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_responses() {
        let post = Request::post_json("/room/x/message", b"{\"a\":1}".to_vec());
        let bytes = post.encode();
        assert!(bytes.starts_with(b"l"));
        assert_eq!(Request::decode(&bytes).unwrap(), post);

        let response = Response::new(200, b"hi".to_vec());
        let bytes = response.encode();
        assert_eq!(bytes, br#"l25:{"code":200,"headers":{}}2:hie"#);
        assert_eq!(Response::decode(&bytes).unwrap(), response);
        // A body is optional.
        let no_body = Response::decode(br#"l25:{"code":404,"headers":{}}e"#).unwrap();
        assert_eq!((no_body.code, no_body.body), (404, None));
    }

    #[test]
    fn malformed() {
        for bad in [
            &b""[..],
            b"le",
            b"l3:abce",
            b"li1ee",
            br#"l10:{"code":1}i1ee"#,
            br#"l10:{"code":1}1:a1:be"#,
            br#"l10:{"code":1}e5:extra"#,
            br#"l12:{"code":"x"}e"#,
            b"d1:a1:be",
        ] {
            assert!(Response::decode(bad).is_err(), "{bad:?}");
        }
        assert!(Request::decode(br#"l33:{"endpoint":"x","method":"GET"}e"#).is_err());
    }
}
