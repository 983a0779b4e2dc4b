//! The node's self-signed certificate, as live nodes serve: made once and kept in the data
//! directory (`tls-cert.pem`, `tls-key.pem`). Clients do not validate it.

use std::path::Path;

use axum_server::tls_rustls::RustlsConfig;

/// Loads the certificate, making it first if there is none.
pub async fn config(dir: &Path, ip: std::net::IpAddr) -> Result<RustlsConfig, String> {
    let (cert_path, key_path) = (dir.join("tls-cert.pem"), dir.join("tls-key.pem"));
    if !cert_path.exists() || !key_path.exists() {
        let names = vec!["localhost".to_owned(), ip.to_string()];
        let made = rcgen::generate_simple_self_signed(names)
            .map_err(|e| format!("making a certificate: {e}"))?;
        std::fs::write(&cert_path, made.cert.pem())
            .map_err(|e| format!("{}: {e}", cert_path.display()))?;
        write_private(&key_path, made.key_pair.serialize_pem().as_bytes())?;
    }
    RustlsConfig::from_pem_file(&cert_path, &key_path)
        .await
        .map_err(|e| format!("loading {}: {e}", cert_path.display()))
}

/// Writes a file only its owner can read.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(|e| format!("{}: {e}", path.display()))
}
