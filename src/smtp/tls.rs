//! STARTTLS policy and the rustls client set-up.
//!
//! The configuration is built only when a STARTTLS is about to be sent:
//! loading the system trust store costs about 5 ms, more than a whole probe.
//! mail-send's connector builder does the two standard cases (the platform
//! verifier; no verification for opportunistic TLS, RFC 7435); a CA file
//! given by the user gets its own root store.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::TlsConnector;

use crate::files;

/// A CA file larger than this is not a CA file.
const MAX_CA_FILE_LEN: usize = 4 << 20;

/// When to use STARTTLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// Never.
    Off,
    /// When advertised, without certificate checks (RFC 7435); a failed
    /// handshake falls back to a fresh plaintext session; a refused
    /// STARTTLS goes on in the same one.
    Opportunistic,
    /// Always; fail closed unless the certificate verifies for the server.
    Require,
}

/// The STARTTLS mode and where trust comes from.
#[derive(Clone, Debug)]
pub struct TlsPolicy {
    pub mode: TlsMode,
    /// Trust only these CAs (PEM) instead of the system store.
    pub ca_file: Option<PathBuf>,
}

/// The connector for `policy` (never called for [`TlsMode::Off`]).
pub fn connector(policy: &TlsPolicy) -> Result<TlsConnector, String> {
    match (&policy.mode, &policy.ca_file) {
        (TlsMode::Require, Some(ca_file)) => connector_trusting(ca_file),
        (TlsMode::Require, None) => mail_send::smtp::tls::build_tls_connector(false),
        (TlsMode::Opportunistic | TlsMode::Off, _) => {
            mail_send::smtp::tls::build_tls_connector(true)
        }
    }
}

/// A connector that trusts exactly the certificates in `ca_file`.
fn connector_trusting(ca_file: &Path) -> Result<TlsConnector, String> {
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots_from(ca_file)?)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// The certificates in the PEM file `ca_file`, as trust anchors.
fn roots_from(ca_file: &Path) -> Result<rustls::RootCertStore, String> {
    let pem = files::read(ca_file, MAX_CA_FILE_LEN).map_err(|error| error.to_string())?;
    let named = |err: &dyn std::fmt::Display| format!("{}: {err}", ca_file.display());
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(&pem) {
        let certificate = certificate.map_err(|err| named(&err))?;
        roots.add(certificate).map_err(|err| named(&err))?;
    }
    if roots.is_empty() {
        return Err(format!("{}: no certificate found", ca_file.display()));
    }
    Ok(roots)
}

/// The verifier that decides whether a server's certificate is trusted
/// for its name: the CAs in `ca_file`, else the system's trust store
/// (rustls-platform-verifier). For callers that wrap it in their own.
pub fn verifier(ca_file: Option<&Path>) -> Result<Arc<dyn ServerCertVerifier>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = match ca_file {
        Some(ca_file) => {
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots_from(ca_file)?), provider)
                .build()
                .map_err(|error| format!("{}: {error}", ca_file.display()))?
        }
        None => Arc::new(
            rustls_platform_verifier::Verifier::new(provider)
                .map_err(|error| format!("the system trust store: {error}"))?,
        ),
    };
    Ok(verifier)
}

/// The name the certificate must match: the server's DNS name (also sent
/// as SNI), or its address when it was given as a literal (no SNI).
pub fn server_name(server: &str, address: IpAddr) -> ServerName<'static> {
    let name = server.trim_end_matches('.');
    match crate::names::ip_literal(name) {
        Some(ip) => ServerName::IpAddress(ip.into()),
        None => ServerName::try_from(name.to_owned())
            .unwrap_or_else(|_| ServerName::IpAddress(address.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_servers_are_checked_by_address() {
        let address: IpAddr = "127.0.0.1".parse().expect("ip");
        assert!(matches!(
            server_name("[::1]", address),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name("mx.example.", address),
            ServerName::DnsName(_)
        ));
    }

    #[test]
    fn a_missing_or_empty_ca_file_is_an_error() {
        let policy = TlsPolicy {
            mode: TlsMode::Require,
            ca_file: Some(PathBuf::from("/nonexistent/ca.pem")),
        };
        assert!(connector(&policy).is_err());
        let empty = std::env::temp_dir().join(format!("smtpbox-empty-ca-{}", std::process::id()));
        std::fs::write(&empty, "not a certificate\n").expect("write temp file");
        let policy = TlsPolicy {
            mode: TlsMode::Require,
            ca_file: Some(empty.clone()),
        };
        let result = connector(&policy);
        let _ = std::fs::remove_file(&empty);
        assert!(result.is_err());
    }
}
