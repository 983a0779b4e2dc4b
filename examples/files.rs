//! Files the programs keep secret: written once, readable by their owner only.

use std::path::Path;

use sesh_identity::Identity;

/// Writes a new file only its owner can read (it must not exist yet).
///
/// # Errors
/// The path and why it could not be written.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(|e| format!("{}: {e}", path.display()))
}

/// A file's bytes, or `None` if there is no such file.
///
/// # Errors
/// The path and why it could not be read.
pub fn read_if_there(path: &Path) -> Result<Option<Vec<u8>>, String> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Replaces a file's contents all at once: written beside it, synced, renamed over it (a crash
/// leaves the old contents or the new, never half of them).
///
/// # Errors
/// The path and why it could not be written.
pub fn replace(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write as _;
    let tmp = path.with_extension("tmp");
    let fail = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    let mut f = std::fs::File::create(&tmp).map_err(|e| fail(&tmp, e))?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(|e| fail(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| fail(path, e))
}

/// A node's identity key file: a 64-byte libsodium Ed25519 secret key, as oxen's `key_ed25519`;
/// made (and said so in the log) if there is none.
///
/// # Errors
/// The path and what is wrong with it.
pub fn node_key(path: &Path) -> Result<Identity, String> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let key: [u8; 64] = bytes
                .try_into()
                .map_err(|_| format!("{}: not a 64-byte Ed25519 secret key", path.display()))?;
            Identity::from_libsodium_secret_key(&key)
                .map_err(|e| format!("{}: {e}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let identity = Identity::generate(&mut rand_core::OsRng);
            write_private(path, identity.to_libsodium_secret_key().as_slice())?;
            tracing::info!(path = %path.display(), "made a new identity key");
            Ok(identity)
        }
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}
