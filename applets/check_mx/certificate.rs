//! The certificate a server presents: a rustls verifier that records the
//! chain and the real verifier's verdict, and the facts of the end-entity
//! certificate read with x509-parser.
//!
//! The recording verifier lets the handshake go on even when the real
//! verifier refuses the certificate, so that the expiry of an untrusted,
//! expired or misnamed certificate is still read, the handshake is timed
//! and `EHLO` over TLS is still checked. Nothing but `EHLO` and `QUIT`
//! is ever sent over such a connection; the refusal is reported as a
//! fact ([`super::facts::Tls::Established::verification_error`]).
//! Handshake signatures are still checked by the real verifier.

use std::sync::{Arc, Mutex, PoisonError};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use time::format_description::well_known::Rfc3339;
use tokio_rustls::TlsConnector;

use super::facts::Certificate;

/// What the server presented and what the real verifier said of it.
#[derive(Clone, Debug)]
pub struct Presented {
    /// The end-entity certificate.
    pub end_entity: CertificateDer<'static>,
    /// The rest of the chain as presented (DANE-TA matches these).
    pub intermediates: Vec<CertificateDer<'static>>,
    /// `Err`: why the chain or the name did not verify.
    pub verdict: Result<(), String>,
}

/// Where a [`RecordingVerifier`] leaves what it saw.
pub type Seen = Arc<Mutex<Option<Presented>>>;

/// Records the presented chain and the verdict of `trust`, then accepts.
#[derive(Debug)]
struct RecordingVerifier {
    trust: Arc<dyn ServerCertVerifier>,
    seen: Seen,
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self
            .trust
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map(|_| ())
            .map_err(|error| error.to_string());
        let presented = Presented {
            end_entity: end_entity.clone().into_owned(),
            intermediates: intermediates
                .iter()
                .map(|c| c.clone().into_owned())
                .collect(),
            verdict,
        };
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner) = Some(presented);
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.trust.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.trust.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.trust.supported_verify_schemes()
    }
}

/// A connector for one connection whose verifier records into the
/// returned [`Seen`] and asks `trust` for the verdict.
pub fn recording_connector(trust: &Arc<dyn ServerCertVerifier>) -> (TlsConnector, Seen) {
    let seen: Seen = Arc::default();
    let verifier = RecordingVerifier {
        trust: Arc::clone(trust),
        seen: Arc::clone(&seen),
    };
    let config = rustls::ClientConfig::builder()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    (TlsConnector::from(Arc::new(config)), seen)
}

/// Subject, issuer, notBefore and notAfter of a DER certificate.
pub fn read(der: &CertificateDer<'_>) -> Result<Certificate, String> {
    let (_, certificate) = x509_parser::parse_x509_certificate(der)
        .map_err(|error| format!("unreadable certificate: {error}"))?;
    let not_after = certificate.validity().not_after;
    let not_after_text = not_after
        .to_datetime()
        .format(&Rfc3339)
        .unwrap_or_else(|_| not_after.to_string());
    Ok(Certificate {
        subject: certificate.subject().to_string(),
        issuer: certificate.issuer().to_string(),
        not_before: certificate.validity().not_before.timestamp(),
        not_after: not_after.timestamp(),
        not_after_text,
    })
}

/// What was recorded in `seen`.
pub struct Taken {
    /// The end-entity's facts, when readable.
    pub certificate: Option<Certificate>,
    /// Why it did not verify, if so.
    pub verification_error: Option<String>,
    /// The whole chain as presented, end entity first.
    pub chain: Vec<CertificateDer<'static>>,
}

/// What was recorded in `seen`, if a certificate was presented.
pub fn take(seen: &Seen) -> Option<Taken> {
    let presented = seen.lock().unwrap_or_else(PoisonError::into_inner).take()?;
    let certificate = read(&presented.end_entity);
    let verification_error = match (presented.verdict, &certificate) {
        (Err(error), _) => Some(error),
        (Ok(()), Err(unreadable)) => Some(unreadable.clone()),
        (Ok(()), Ok(_)) => None,
    };
    let mut chain = vec![presented.end_entity];
    chain.extend(presented.intermediates);
    Some(Taken {
        certificate: certificate.ok(),
        verification_error,
        chain,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_issuer_and_not_after_are_read() {
        let mut params = rcgen::CertificateParams::new(vec!["mx.test".to_owned()]).expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "mx.test");
        params.not_before = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("time");
        params.not_after = time::OffsetDateTime::from_unix_timestamp(1_900_000_000).expect("time");
        let key = rcgen::KeyPair::generate().expect("key");
        let certificate = params.self_signed(&key).expect("certificate");
        let read = read(certificate.der()).expect("readable");
        assert_eq!(read.subject, "CN=mx.test");
        assert_eq!(read.issuer, "CN=mx.test");
        assert_eq!(read.not_before, 1_800_000_000);
        assert_eq!(read.not_after, 1_900_000_000);
        assert_eq!(read.not_after_text, "2030-03-17T17:46:40Z");
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        let der = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
        assert!(read(&der).is_err());
    }
}
