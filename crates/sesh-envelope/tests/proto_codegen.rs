//! The committed protobuf code is what `proto/session.proto` generates (with protox and
//! prost-build, so no `protoc` is needed). `SESH_REGENERATE_PROTO=1` rewrites it.

// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

#[test]
fn generated_code_matches_the_schema() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = protox::compile(["session.proto"], [crate_dir.join("proto")]).unwrap();
    let out = std::env::temp_dir().join(format!("sesh-proto-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    prost_build::Config::new().out_dir(&out).compile_fds(files).unwrap();
    let generated = std::fs::read_to_string(out.join("session_protos.rs")).unwrap();
    let _ = std::fs::remove_dir_all(&out);

    let committed_path = crate_dir.join("src/generated/session_protos.rs");
    if std::env::var_os("SESH_REGENERATE_PROTO").is_some() {
        std::fs::write(&committed_path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
    assert!(
        committed == generated,
        "src/generated/session_protos.rs is out of date with proto/session.proto; regenerate it \
         with SESH_REGENERATE_PROTO=1 cargo test -p sesh-envelope --test proto_codegen"
    );
}
