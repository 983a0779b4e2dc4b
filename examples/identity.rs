//! Creates a Session account, prints its Session ID and recovery phrase, and restores it from
//! the phrase.
//!
//! ```text
//! cargo run --example identity                      # a new account
//! cargo run --example identity -- <13 words>        # restore an account from its phrase
//! ```

use std::process::ExitCode;

use rand_core::OsRng;
use sesh_identity::{Identity, RecoveryPhrase};

fn main() -> ExitCode {
    let words: Vec<String> = std::env::args().skip(1).collect();
    if words.is_empty() { new_account() } else { restore(&words.join(" ")) }
}

fn new_account() -> ExitCode {
    let account = Identity::generate(&mut OsRng);
    let phrase = account.recovery_phrase();
    println!("New Session account");
    println!("  Session ID:       {}", account.session_id());
    println!("  Ed25519 key:      {}", account.ed25519_public_key());
    println!("  Recovery phrase:  {}", phrase.as_str());

    // What a person does on a new phone: type the words back in.
    let typed: RecoveryPhrase = match phrase.as_str().parse() {
        Ok(typed) => typed,
        Err(e) => {
            eprintln!("the phrase we just printed does not parse: {e}");
            return ExitCode::FAILURE;
        }
    };
    let restored = Identity::from_recovery_phrase(&typed);
    println!();
    println!("Restored from the phrase");
    println!("  Session ID:       {}", restored.session_id());
    if restored.session_id() == account.session_id() {
        println!("  The same account: OK");
        ExitCode::SUCCESS
    } else {
        eprintln!("  restored a different account");
        ExitCode::FAILURE
    }
}

fn restore(phrase: &str) -> ExitCode {
    match phrase.parse::<RecoveryPhrase>() {
        Ok(phrase) => {
            let account = Identity::from_recovery_phrase(&phrase);
            println!("Restored Session account");
            println!("  Session ID:       {}", account.session_id());
            println!("  Ed25519 key:      {}", account.ed25519_public_key());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("That is not a recovery phrase: {e}");
            ExitCode::FAILURE
        }
    }
}
