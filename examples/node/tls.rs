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
        crate::files::write_private(&key_path, made.key_pair.serialize_pem().as_bytes())?;
    }
    RustlsConfig::from_pem_file(&cert_path, &key_path)
        .await
        .map_err(|e| format!("loading {}: {e}", cert_path.display()))
}
