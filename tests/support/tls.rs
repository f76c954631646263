//! Test certificates: a fresh CA and a server certificate it signed, made
//! with rcgen, ready for a rustls test server and for etrn's `--ca-file`.

use std::net::TcpStream;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;

use super::conn::is_retry;

/// A TLS server stream over a test connection.
pub type TlsServerStream = rustls::StreamOwned<rustls::ServerConnection, TcpStream>;

/// Runs the server side of a TLS handshake on `tcp` to its end, checking
/// `alive` between steps. `Err(Some(why))` when it failed (`TLS-FAILED ...`
/// or `TLS-SETUP-FAILED ...`), `Err(None)` when the server was stopped.
pub fn handshake(
    config: &Arc<rustls::ServerConfig>,
    tcp: TcpStream,
    alive: impl Fn() -> bool,
) -> Result<TlsServerStream, Option<String>> {
    let server = rustls::ServerConnection::new(Arc::clone(config))
        .map_err(|e| Some(format!("TLS-SETUP-FAILED {e}")))?;
    let mut tls = rustls::StreamOwned::new(server, tcp);
    while tls.conn.is_handshaking() {
        if !alive() {
            return Err(None);
        }
        match tls.conn.complete_io(&mut tls.sock) {
            Ok((0, 0)) if tls.conn.is_handshaking() => return Err(Some("TLS-FAILED eof".into())),
            Ok(_) => {}
            Err(e) if is_retry(&e) => {}
            Err(e) => return Err(Some(format!("TLS-FAILED {e}"))),
        }
    }
    Ok(tls)
}

/// A CA and a server certificate it signed, as the server's rustls config
/// and the CA's PEM (for `--ca-file`). Cheap to clone.
#[derive(Clone)]
pub struct Pki {
    /// The CA certificate, for `--ca-file`.
    pub ca_pem: String,
    /// The server side: the leaf, its chain and key.
    pub config: Arc<rustls::ServerConfig>,
    /// The leaf's notBefore and notAfter, seconds since the Unix epoch.
    pub not_before: i64,
    pub not_after: i64,
    /// The certificates, for tests that publish TLSA records of them.
    pub der: Certificates,
}

/// A leaf and its CA, each certificate and its SubjectPublicKeyInfo as
/// rcgen made them (DER).
#[derive(Clone)]
pub struct Certificates {
    pub leaf: CertificateDer<'static>,
    pub leaf_spki: Vec<u8>,
    pub ca: CertificateDer<'static>,
    pub ca_spki: Vec<u8>,
}

/// The server certificate a [`Pki`] makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leaf {
    /// Signed by the CA, valid from a day ago for a year.
    Valid,
    /// Signed by the CA, its notAfter this many days from now (negative:
    /// expired that many days ago).
    ExpiresInDays(i64),
    /// Signed by itself, not by the CA (the CA is still made, for
    /// `--ca-file`).
    SelfSigned,
}

/// Seconds in a day.
const DAY: i64 = 86_400;

impl Pki {
    /// A fresh CA and a leaf for `san` (an IP address or a DNS name).
    pub fn new(san: &str) -> Pki {
        Pki::with_leaf(san, Leaf::Valid)
    }

    /// A fresh CA and a leaf for `san` made as `leaf` says.
    pub fn with_leaf(san: &str, leaf: Leaf) -> Pki {
        Pki::with_names(&[san], leaf)
    }

    /// A fresh CA and a leaf for every name of `sans` (its subject the
    /// first) made as `leaf` says.
    pub fn with_names(sans: &[&str], leaf: Leaf) -> Pki {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair, KeyUsagePurpose,
        };
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "smtpbox test CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = KeyPair::generate().expect("CA key");
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
        let ca_spki = rcgen::PublicKeyData::subject_public_key_info(&ca_key);
        let issuer = Issuer::new(ca_params, ca_key);

        let names: Vec<String> = sans.iter().map(|san| (*san).to_owned()).collect();
        let mut leaf_params = CertificateParams::new(names).expect("leaf params");
        leaf_params.distinguished_name.push(
            DnType::CommonName,
            sans.first().copied().unwrap_or_default(),
        );
        leaf_params.use_authority_key_identifier_extension = leaf != Leaf::SelfSigned;
        leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let days_left = match leaf {
            Leaf::ExpiresInDays(days) => days,
            Leaf::Valid | Leaf::SelfSigned => 365,
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("a clock after 1970")
            .as_secs() as i64;
        let at = |seconds: i64| {
            time::OffsetDateTime::from_unix_timestamp(seconds).expect("a representable time")
        };
        let not_before = now - 30 * DAY;
        // A minute more than the days, so whole days left are exactly them.
        let not_after = now + days_left * DAY + 60;
        leaf_params.not_before = at(not_before);
        leaf_params.not_after = at(not_after);
        let leaf_key = KeyPair::generate().expect("leaf key");
        let leaf_spki = rcgen::PublicKeyData::subject_public_key_info(&leaf_key);
        let leaf_cert = match leaf {
            Leaf::SelfSigned => leaf_params.self_signed(&leaf_key),
            _ => leaf_params.signed_by(&leaf_key, &issuer),
        }
        .expect("leaf certificate");
        let der = Certificates {
            leaf: leaf_cert.der().clone(),
            leaf_spki,
            ca: ca_cert.der().clone(),
            ca_spki,
        };
        let mut chain = vec![leaf_cert.der().clone()];
        if leaf != Leaf::SelfSigned {
            chain.push(ca_cert.der().clone());
        }

        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(
            rustls::pki_types::PrivatePkcs8KeyDer::from(leaf_key.serialize_der()),
        );
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("server certificate");
        Pki {
            ca_pem: ca_cert.pem(),
            config: Arc::new(config),
            not_before,
            not_after,
            der,
        }
    }
}
