//! Encrypts a message from one new account to another, layer by layer, prints each layer's
//! size and the hash the storage server files it under, then decrypts it as the recipient.
//!
//! ```text
//! cargo run --example envelope [-- "message text"]
//! ```

use prost::Message as _;
use rand_core::OsRng;
use sesh_envelope::{envelope, one_to_one, padding, storage};
use sesh_identity::Identity;
use std::process::ExitCode;

fn main() -> ExitCode {
    let text = std::env::args().nth(1).unwrap_or_else(|| "Hello from sesh!".to_owned());
    match run(&text) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[allow(clippy::disallowed_methods)] // an example may read the clock
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn run(text: &str) -> Result<(), sesh_envelope::Error> {
    let alice = Identity::generate(&mut OsRng);
    let bob = Identity::generate(&mut OsRng);
    let sent = now_ms();
    println!("From  {}", alice.session_id());
    println!("To    {}", bob.session_id());
    println!();

    // The layers, built one at a time (envelope::encode_for_recipient does all of this).
    let content = envelope::text_content(text, sent).encode_to_vec();
    let padded = padding::pad(&content);
    let ciphertext =
        one_to_one::encrypt_for_recipient(&alice, &bob.session_id(), &padded, &mut OsRng)?;
    let envelope_bytes = envelope::envelope_for(ciphertext.clone(), sent).encode_to_vec();
    let stored = envelope::wrap_in_websocket(envelope_bytes.clone());
    let data = storage::encode_data(&stored);

    println!("{:<28}{:>7} bytes", "Content (protobuf)", content.len());
    println!("{:<28}{:>7} bytes", "padded", padded.len());
    println!(
        "{:<28}{:>7} bytes  (+{} sealed box, key, signature)",
        "encrypted",
        ciphertext.len(),
        one_to_one::OVERHEAD
    );
    println!("{:<28}{:>7} bytes", "Envelope", envelope_bytes.len());
    println!("{:<28}{:>7} bytes", "WebSocketMessage (stored)", stored.len());
    println!("{:<28}{:>7} chars", "base64 data of `store`", data.len());
    let hash =
        storage::message_hash(&bob.session_id().to_bytes(), storage::NAMESPACE_DEFAULT, &stored);
    println!("message hash (namespace 0)  {hash}");
    println!();

    // Bob takes it apart.
    let message = envelope::decode_for_recipient(&bob, &storage::decode_data(&data)?)?;
    let body = message.content()?.data_message.and_then(|d| d.body).unwrap_or_default();
    println!("Bob reads {body:?} from {}", message.sender_session_id()?);
    // Nobody else can.
    let refused = envelope::decode_for_recipient(&alice, &stored).is_err();
    println!("Alice cannot read her own sent copy: {refused}");
    Ok(())
}
