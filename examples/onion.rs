//! Builds a 3-hop onion request to a storage node and shows it as each node sees it: what
//! arrives, what the node's layer decrypts to, and what the node does next; then the
//! destination answers and the client reads the answer.
//!
//! ```text
//! cargo run --example onion [-- xchacha20|aes-gcm]
//! ```

use std::process::ExitCode;

use rand_core::OsRng;
use sesh_identity::Identity;
use sesh_onion::node::{self, Action, Layer, NodeKeys, ReplyBody};
use sesh_onion::{Destination, EncType, Hop, build, payload};

fn main() -> ExitCode {
    let enc = std::env::args().nth(1).unwrap_or_else(|| "xchacha20".to_owned());
    match EncType::parse(&enc)
        .map_err(|e| e.to_string())
        .and_then(|enc| run(enc).map_err(|e| e.to_string()))
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn short(key: &[u8]) -> String {
    let hex = hex::encode(key);
    format!("{}…", hex.get(..12).unwrap_or(&hex))
}

fn run(enc: EncType) -> Result<(), sesh_onion::Error> {
    let names = ["guard", "middle", "exit", "destination"];
    let nodes: Vec<Identity> = names.iter().map(|_| Identity::generate(&mut OsRng)).collect();
    let hops: Vec<Hop> = nodes
        .iter()
        .map(|n| Hop::from_ed25519(*n.ed25519_public_key()))
        .collect::<Result<_, _>>()?;
    let (path, rest) = hops.split_at(3);
    let [dest_hop] = rest else {
        return Err(sesh_onion::Error::PathLength { actual: hops.len(), max: 4 });
    };
    let destination = Destination::Node(*dest_hop);

    let request_body = br#"{"method":"info","params":{}}"#;
    let request = build(path, &destination, request_body, enc, &mut OsRng)?;
    println!(
        "client builds a {enc} request of {} bytes for {}",
        request.bytes.len(),
        short(dest_hop.ed25519.as_bytes())
    );
    println!();

    let mut layer = Layer::from_client(&request.bytes)
        .map_err(|r| sesh_onion::Error::InvalidJson(format!("{r:?}")))?;
    for (name, me) in names.iter().zip(&nodes) {
        let keys = NodeKeys { secret: me.x25519_secret_key(), public: me.x25519_public_key() };
        let opened_len = layer.ciphertext.len() - enc.overhead();
        println!(
            "{name:<12} {} receives {:>4} bytes of ciphertext (hop {}, ephemeral key {})",
            short(me.ed25519_public_key().as_bytes()),
            layer.ciphertext.len(),
            layer.hop_no,
            short(layer.ephemeral_key.as_bytes()),
        );
        let action = node::peel(&keys, &layer, &mut OsRng).map_err(|r| {
            sesh_onion::Error::InvalidJson(format!(
                "{} {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            ))
        })?;
        match action {
            Action::Forward { next, message } => {
                println!(
                    "{:<12} decrypts {opened_len} bytes: a blob and routing to {}",
                    "",
                    short(&next)
                );
                layer = Layer::from_node(&message)
                    .map_err(|r| sesh_onion::Error::InvalidJson(format!("{r:?}")))?;
            }
            Action::Deliver { request: body, reply } => {
                println!(
                    "{:<12} decrypts {opened_len} bytes: it is the destination of {}",
                    "",
                    String::from_utf8_lossy(&body)
                );
                let answer =
                    serde_json::json!({"version": [2, 8, 0], "timestamp": 1_764_000_000_000u64});
                let sealed = reply.seal(200, ReplyBody::Json(answer), &mut OsRng)?;
                println!();
                println!(
                    "destination answers 200 with {} bytes of base64 ciphertext, passed back unchanged",
                    sealed.len()
                );
                let response = request.reply.read_v3(200, &sealed)?;
                println!(
                    "client reads status {}: {}",
                    response.status,
                    String::from_utf8_lossy(&response.body)
                );
                break;
            }
            Action::Relay { target, .. } => println!("relay to {}", target.url()),
            _ => {}
        }
    }
    let prefix = payload::encode(b"", b"").len();
    println!();
    println!(
        "(each layer: a {prefix}-byte length, the next layer, the routing JSON, and {} bytes of {enc} overhead)",
        enc.overhead()
    );
    Ok(())
}
