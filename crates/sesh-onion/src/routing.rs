//! What a node finds after decrypting its layer, `u32le(N) ‖ X ‖ J`, and what `J` tells it to do,
//! decided in the storage server's order:
//!
//! 1. `J` has `headers`: this node is the destination and `X` is the client's request;
//! 2. `J` has `host`: relay the whole plaintext to an HTTP server;
//! 3. otherwise `J` names the next node (`destination`, `ephemeral_key`, `enc_type`): forward `X`.
//!
//! ```
//! use sesh_onion::routing::Routing;
//!
//! let routing = Routing::parse(br#"{"host":"example.org","target":"/oxen/v4/lsrpc"}"#)?;
//! assert!(matches!(routing, Routing::Http(ref http) if http.port == 443 && http.protocol == "https"));
//! # Ok::<(), sesh_onion::Error>(())
//! ```

use serde_json::Value;
use sesh_identity::X25519PublicKey;

use crate::error::{Error, Result};
use crate::hop::EncType;
use crate::payload::{hex32, json_object, opt_bool, opt_str};

/// An HTTP server to relay a request to.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpTarget {
    /// Host name or address.
    pub host: String,
    /// Path; relayed only if it starts with `/loki/` or `/oxen/`, ends with `/lsrpc` and has no
    /// query.
    pub target: String,
    /// Port (443 if not given).
    pub port: u16,
    /// `http` or `https` (`https` if not given).
    pub protocol: String,
}

impl HttpTarget {
    /// Whether nodes relay to this target: `http` or `https`, a path starting with `/loki/` or
    /// `/oxen/`, ending with `/lsrpc`, and without `?` (the storage server's
    /// `is_onion_url_target_allowed`).
    pub fn is_allowed(&self) -> bool {
        (self.protocol == "http" || self.protocol == "https")
            && (self.target.starts_with("/loki/") || self.target.starts_with("/oxen/"))
            && self.target.ends_with("/lsrpc")
            && !self.target.contains('?')
    }

    /// The URL a node POSTs to: `protocol://host[:port]` (the port left out when it is the
    /// protocol's default) and the target (with a `/` put in front if it has none).
    pub fn url(&self) -> String {
        let default_port = if self.protocol == "https" { 443 } else { 80 };
        let slash = if self.target.starts_with('/') { "" } else { "/" };
        if self.port == default_port {
            format!("{}://{}{}{}", self.protocol, self.host, slash, self.target)
        } else {
            format!("{}://{}:{}{}{}", self.protocol, self.host, self.port, slash, self.target)
        }
    }
}

/// What a decrypted layer's JSON says to do.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Routing {
    /// This node is the destination.
    Deliver {
        /// Put a JSON reply body in the reply as JSON, not as a string (default false).
        json: bool,
        /// Base64 the encrypted reply (default true).
        base64: bool,
    },
    /// Relay the whole decrypted plaintext to an HTTP server.
    Http(HttpTarget),
    /// Forward the blob to the next node.
    Forward {
        /// The next node's Ed25519 key.
        destination: [u8; 32],
        /// The ephemeral key the next layer was encrypted with.
        ephemeral_key: X25519PublicKey,
        /// How it was encrypted (AES-GCM if not given).
        enc_type: EncType,
    },
}

impl Routing {
    /// Parses the JSON of a decrypted layer.
    ///
    /// # Errors
    /// [`Error::InvalidJson`] for JSON that is not an object, a field of the wrong type, a key
    /// that is not 64 hex digits, or a missing field; [`Error::UnknownEncType`].
    pub fn parse(json: &[u8]) -> Result<Self> {
        let map = json_object(json)?;
        if map.contains_key("headers") {
            return Ok(Self::Deliver {
                json: opt_bool(&map, "json")?.unwrap_or(false),
                base64: opt_bool(&map, "base64")?.unwrap_or(true),
            });
        }
        if let Some(host) = map.get("host") {
            let host = host
                .as_str()
                .ok_or_else(|| Error::InvalidJson("\"host\" is not a string".into()))?;
            let target = opt_str(&map, "target")?
                .ok_or_else(|| Error::InvalidJson("no \"target\"".into()))?;
            let port = match map.get("port") {
                None => 443,
                Some(Value::Number(n)) => n
                    .as_u64()
                    .and_then(|p| u16::try_from(p).ok())
                    .ok_or_else(|| Error::InvalidJson("\"port\" is not a port number".into()))?,
                Some(_) => return Err(Error::InvalidJson("\"port\" is not a number".into())),
            };
            let protocol = opt_str(&map, "protocol")?.unwrap_or("https");
            return Ok(Self::Http(HttpTarget {
                host: host.to_owned(),
                target: target.to_owned(),
                port,
                protocol: protocol.to_owned(),
            }));
        }
        Ok(Self::Forward {
            destination: hex32(&map, "destination")?,
            ephemeral_key: X25519PublicKey::from_bytes(hex32(&map, "ephemeral_key")?),
            enc_type: match opt_str(&map, "enc_type")? {
                None => EncType::WIRE_DEFAULT,
                Some(name) => EncType::parse(name)?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Storage server unit_test/onion_requests.cpp (spec §2.12.2).
    #[test]
    fn upstream_classification() {
        assert_eq!(
            Routing::parse(br#"{"headers":"something"}"#).unwrap(),
            Routing::Deliver { json: false, base64: true }
        );
        let Routing::Http(http) = Routing::parse(br#"{"host":"host","target":"target"}"#).unwrap()
        else {
            panic!("not an HTTP relay")
        };
        assert_eq!((http.port, http.protocol.as_str()), (443, "https"));
        let Routing::Http(http) =
            Routing::parse(br#"{"host":"host","target":"target","port":80,"protocol":"http"}"#)
                .unwrap()
        else {
            panic!("not an HTTP relay")
        };
        assert_eq!((http.port, http.protocol.as_str()), (80, "http"));
        let forward = Routing::parse(br#"{"destination":"ffffeeeeddddccccbbbbaaaa9999888877776666555544443333222211110000","ephemeral_key":"0000111122223333444455556666777788889999000011112222333344445555"}"#).unwrap();
        assert!(matches!(forward, Routing::Forward { enc_type: EncType::AesGcm, .. }));

        let target = |t: &str| HttpTarget {
            host: "h".into(),
            target: t.into(),
            port: 443,
            protocol: "https".into(),
        };
        for ok in ["/loki/v3/lsrpc", "/loki/oxen/v4/lsrpc", "/oxen/v3/lsrpc"] {
            assert!(target(ok).is_allowed(), "{ok}");
        }
        for bad in ["/not_loki/v3/lsrpc", "/loki/v3", "/loki/v3/lsrpc?foo=bar"] {
            assert!(!target(bad).is_allowed(), "{bad}");
        }
        assert_eq!(target("/oxen/v4/lsrpc").url(), "https://h/oxen/v4/lsrpc");
        assert_eq!(
            HttpTarget { port: 8080, protocol: "http".into(), ..target("oxen/v4/lsrpc") }.url(),
            "http://h:8080/oxen/v4/lsrpc"
        );
    }

    #[test]
    fn invalid_routing() {
        for bad in [
            &br#"[]"#[..],
            br#"not json"#,
            br#"{"destination":"abcd","ephemeral_key":"00"}"#,
            br#"{"host":5,"target":"/oxen/v4/lsrpc"}"#,
            br#"{"host":"h"}"#,
            br#"{"host":"h","target":"/t","port":70000}"#,
            br#"{"headers":"","json":"yes"}"#,
        ] {
            assert!(matches!(Routing::parse(bad), Err(Error::InvalidJson(_))), "{bad:?}");
        }
    }
}
