//! DANE for SMTP (RFC 7672, RFC 7671, RFC 6698), pure: no sockets, no
//! clock (the time is an argument). The TLSA records of an MX host as
//! hickory-proto read them; which of them an SMTP client may use; how a
//! presented chain matches them; and what a sender that enforces DANE
//! (Postfix's `dane` security level) would make of it all, as problems
//! for [`super::evaluate`].
//!
//! Certificates are read by x509-parser, digests made by ring (the SHA-2
//! rustls uses here), and a DANE-TA chain is verified by rustls's own
//! WebPKI verifier with the matched certificate as the only trust anchor:
//! nothing here parses DER, hashes or builds a path by hand.

use std::fmt::Write as _;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use super::evaluate::Status;
use super::facts::{AddressFacts, DaneFacts, HostFacts, Tls};
use crate::dns::{Answer, RData};

/// RFC 6698 §2.1.1 certificate usages. 0 and 1 (PKIX-TA, PKIX-EE) are
/// unusable for SMTP (RFC 7672 §3.1.3).
pub const USAGE_PKIX_TA: u8 = 0;
pub const USAGE_PKIX_EE: u8 = 1;
/// RFC 7672 §3.1.2: the trust anchor of the chain the server presents.
pub const USAGE_DANE_TA: u8 = 2;
/// RFC 7672 §3.1.1: the server's own certificate or key, no name or
/// expiry check.
pub const USAGE_DANE_EE: u8 = 3;

/// RFC 6698 §2.1.2 selectors: the whole certificate, or its
/// SubjectPublicKeyInfo.
pub const SELECTOR_CERT: u8 = 0;
pub const SELECTOR_SPKI: u8 = 1;

/// RFC 6698 §2.1.3 matching types: the data itself, its SHA-256, its
/// SHA-512.
pub const MATCHING_EXACT: u8 = 0;
pub const MATCHING_SHA256: u8 = 1;
pub const MATCHING_SHA512: u8 = 2;

/// One TLSA record (RFC 6698 §2.1), as published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tlsa {
    pub usage: u8,
    pub selector: u8,
    pub matching_type: u8,
    /// The certificate association data.
    pub data: Vec<u8>,
}

impl Tlsa {
    /// The TLSA records of an answer (other record types passed over).
    pub fn all_of(answer: &Answer) -> Vec<Tlsa> {
        let read = |data: &RData| match data {
            RData::TLSA(tlsa) => Some(Tlsa {
                usage: u8::from(tlsa.cert_usage),
                selector: u8::from(tlsa.selector),
                matching_type: u8::from(tlsa.matching),
                data: tlsa.cert_data.clone(),
            }),
            _ => None,
        };
        answer
            .records
            .iter()
            .filter_map(|r| read(&r.data))
            .collect()
    }

    /// `3 1 1`: usage, selector and matching type as a zone file writes
    /// them.
    pub fn parameters(&self) -> String {
        format!("{} {} {}", self.usage, self.selector, self.matching_type)
    }

    /// The data in lower-case hex, as a zone file writes it.
    pub fn hex(&self) -> String {
        self.data.iter().fold(String::new(), |mut text, octet| {
            let _ = write!(text, "{octet:02x}");
            text
        })
    }

    /// Why an SMTP client may not use this record, `None` when it may
    /// (RFC 7672 §3.1.3: usages 0 and 1 are unusable; RFC 7671 §4.1:
    /// unknown values are unusable; a digest of the wrong length can
    /// never match).
    pub fn unusable(&self) -> Option<String> {
        match self.usage {
            USAGE_DANE_TA | USAGE_DANE_EE => {}
            USAGE_PKIX_TA | USAGE_PKIX_EE => {
                return Some(format!("usage {} (PKIX) is not for SMTP", self.usage));
            }
            usage => return Some(format!("unknown usage {usage}")),
        }
        if !matches!(self.selector, SELECTOR_CERT | SELECTOR_SPKI) {
            return Some(format!("unknown selector {}", self.selector));
        }
        let length = match self.matching_type {
            MATCHING_EXACT => None,
            MATCHING_SHA256 => Some(ring::digest::SHA256_OUTPUT_LEN),
            MATCHING_SHA512 => Some(ring::digest::SHA512_OUTPUT_LEN),
            matching => return Some(format!("unknown matching type {matching}")),
        };
        match length {
            Some(length) if self.data.len() != length => Some(format!(
                "{} octets of data where the digest has {length}",
                self.data.len()
            )),
            _ if self.data.is_empty() => Some("no data".to_owned()),
            _ => None,
        }
    }

    /// Whether the record matches `certificate` (a DER certificate): its
    /// selected part, digested as the matching type says, is the data.
    pub fn matches(&self, certificate: &CertificateDer<'_>) -> bool {
        if self.unusable().is_some() {
            return false;
        }
        let selected: &[u8] = match self.selector {
            SELECTOR_CERT => certificate.as_ref(),
            _ => match x509_parser::parse_x509_certificate(certificate) {
                Ok((_, parsed)) => return self.matches_selected(parsed.public_key().raw),
                Err(_) => return false,
            },
        };
        self.matches_selected(selected)
    }

    fn matches_selected(&self, selected: &[u8]) -> bool {
        let digest = |algorithm| ring::digest::digest(algorithm, selected);
        match self.matching_type {
            MATCHING_EXACT => selected == self.data.as_slice(),
            MATCHING_SHA256 => digest(&ring::digest::SHA256).as_ref() == self.data.as_slice(),
            MATCHING_SHA512 => digest(&ring::digest::SHA512).as_ref() == self.data.as_slice(),
            _ => false,
        }
    }
}

/// How a chain came to be trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trust {
    /// A DANE-EE (3) record matched the end-entity certificate.
    DaneEe,
    /// A DANE-TA (2) record matched a certificate of the chain, and the
    /// end entity chains to it and is valid for the MX host name.
    DaneTa,
}

impl Trust {
    /// How JSON names it.
    pub fn name(self) -> &'static str {
        match self {
            Trust::DaneEe => "dane-ee",
            Trust::DaneTa => "dane-ta",
        }
    }
}

/// What matching one address's presented chain found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaneMatch {
    /// The records that matched (and, for DANE-TA, verified).
    pub matched: Vec<Tlsa>,
    /// How the chain is trusted, `None` when no record matched.
    pub trust: Option<Trust>,
    /// Why nothing matched, as one line.
    pub error: Option<String>,
}

impl DaneMatch {
    fn failed(error: String) -> DaneMatch {
        DaneMatch {
            matched: Vec::new(),
            trust: None,
            error: Some(error),
        }
    }
}

/// Matches `chain` (end entity first, as presented) against every usable
/// record. DANE-EE against the end entity only (RFC 7672 §3.1.1);
/// DANE-TA against the other certificates of the chain (RFC 7671 §5.2.2:
/// the trust anchor must be presented), and then the end entity must
/// chain to the matched certificate and be valid for `host` at `now`
/// (RFC 7672 §3.2.3), as rustls's verifier decides with that certificate
/// as its only root.
pub fn match_chain(
    records: &[Tlsa],
    chain: &[CertificateDer<'static>],
    host: &str,
    now: UnixTime,
) -> DaneMatch {
    let Some((end_entity, rest)) = chain.split_first() else {
        return DaneMatch::failed("no certificate was presented".to_owned());
    };
    let usable = records.iter().filter(|r| r.unusable().is_none());
    let mut matched = Vec::new();
    let mut trust = None;
    let mut ta_errors = Vec::new();
    for record in usable {
        if record.usage == USAGE_DANE_EE && record.matches(end_entity) {
            matched.push(record.clone());
            trust = Some(Trust::DaneEe);
        } else if record.usage == USAGE_DANE_TA {
            let Some(anchor) = rest.iter().find(|c| record.matches(c)) else {
                continue;
            };
            match chains_to(anchor, end_entity, rest, host, now) {
                Ok(()) => {
                    matched.push(record.clone());
                    trust = trust.or(Some(Trust::DaneTa));
                }
                Err(error) => ta_errors.push(format!(
                    "{} matched a chain certificate, but {error}",
                    record.parameters()
                )),
            }
        }
    }
    let error = match (trust, ta_errors.is_empty()) {
        (Some(_), _) => None,
        (None, true) => Some("no TLSA record matches the certificate chain".to_owned()),
        (None, false) => Some(ta_errors.join("; ")),
    };
    DaneMatch {
        matched,
        trust,
        error,
    }
}

/// Whether `end_entity` (with `intermediates`) chains to `anchor` and is
/// valid for `host` at `now`.
fn chains_to(
    anchor: &CertificateDer<'static>,
    end_entity: &CertificateDer<'static>,
    intermediates: &[CertificateDer<'static>],
    host: &str,
    now: UnixTime,
) -> Result<(), String> {
    let mut roots = RootCertStore::empty();
    roots
        .add(anchor.clone())
        .map_err(|error| format!("it is no trust anchor: {error}"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|error| error.to_string())?;
    let name = ServerName::try_from(host.trim_end_matches('.').to_owned())
        .map_err(|error| format!("{host:?} is no server name: {error}"))?;
    verifier
        .verify_server_cert(end_entity, intermediates, &name, &[], now)
        .map(|_| ())
        .map_err(|error| error.to_string())
}

/// The records DANE senders use for a host: validated, usable ones; none
/// when the lookup failed or was not validated (RFC 7672 §2.2).
pub fn usable_records(dane: &DaneFacts) -> Vec<&Tlsa> {
    match &dane.lookup {
        Ok(answer) if answer.validated => answer
            .records
            .iter()
            .filter(|r| r.unusable().is_none())
            .collect(),
        _ => Vec::new(),
    }
}

/// The host-level findings: problems (status and text) and notes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostFindings {
    pub problems: Vec<(Status, String)>,
    /// Informational lines that do not change the status.
    pub notes: Vec<String>,
}

/// What a DANE sender makes of a host's TLSA lookup. `require`:
/// `--require-dane`, under which a host that DANE does not cover is
/// CRITICAL.
pub fn judge_host(host: &HostFacts, require: bool) -> HostFindings {
    let mut findings = HostFindings::default();
    let uncovered = if require {
        Status::Critical
    } else {
        Status::Warning
    };
    let Some(dane) = &host.dane else {
        // An IP literal or a name DNS cannot hold has no TLSA records;
        // its own lookup failure is reported already.
        if require && host.lookup_failure().is_none() {
            findings.problems.push((
                Status::Critical,
                "has no TLSA records to look up (--require-dane)".to_owned(),
            ));
        }
        return findings;
    };
    let answer = match &dane.lookup {
        Err(failure) if failure.timed_out => {
            let text = format!("TLSA lookup of {} timed out", dane.tlsa_name);
            findings.problems.push((Status::Critical, text));
            return findings;
        }
        // RFC 7672 §2.1.1: a DANE sender defers the host's mail.
        Err(failure) => {
            let text = format!(
                "{}: DANE senders defer mail to it (RFC 7672 §2.1.1)",
                failure.message
            );
            findings.problems.push((Status::Critical, text));
            return findings;
        }
        Ok(answer) => answer,
    };
    if answer.records.is_empty() {
        if require {
            let text = format!("has no TLSA records at {} (--require-dane)", dane.tlsa_name);
            findings.problems.push((Status::Critical, text));
        }
        return findings;
    }
    if !answer.validated {
        let text = format!(
            "TLSA records at {} not validated: DNSSEC did not validate them (no AD bit), DANE does not apply",
            dane.tlsa_name
        );
        findings.problems.push((uncovered, text));
        return findings;
    }
    let usable = usable_records(dane);
    if usable.is_empty() {
        let mut usages: Vec<String> = answer.records.iter().map(|r| r.usage.to_string()).collect();
        usages.dedup();
        let text = format!(
            "TLSA records at {} all unusable for SMTP (usage {}): treated as no TLSA (RFC 7672 §2.2)",
            dane.tlsa_name,
            usages.join(", ")
        );
        findings.problems.push((uncovered, text));
        return findings;
    }
    if dane.mx_validated == Some(false) {
        let text =
            "TLSA records validated but the MX answer is not: DANE senders will not use them"
                .to_owned();
        findings.problems.push((uncovered, text));
    }
    let matched = host
        .addresses()
        .iter()
        .any(|a| a.dane.as_ref().is_some_and(|m| m.trust.is_some()));
    if matched && usable.len() == 1 {
        findings.notes.push(format!(
            "one usable TLSA record ({}) and no second one ready for a key rollover (RFC 7671 §8.1)",
            usable[0].parameters()
        ));
    }
    findings
}

/// What a DANE sender makes of one address, as problems: none unless
/// the host has validated usable TLSA records.
pub fn judge_address(address: &AddressFacts) -> Vec<(Status, String)> {
    let Some(found) = &address.dane else {
        return Vec::new();
    };
    // RFC 7672 §2.2: with usable TLSA records TLS is mandatory.
    let no_tls = match &address.tls {
        Tls::NotReached => return Vec::new(),
        Tls::NotOffered => Some("offers no STARTTLS".to_owned()),
        Tls::Refused { .. } => Some("refused STARTTLS".to_owned()),
        Tls::Failed { .. } => Some("failed TLS".to_owned()),
        Tls::Established { .. } => None,
    };
    if let Some(what) = no_tls {
        let text = format!("{what} but has TLSA records: DANE senders require TLS and defer mail");
        return vec![(Status::Critical, text)];
    }
    match found.trust {
        Some(_) => Vec::new(),
        None => {
            let why = found.error.as_deref().unwrap_or("no TLSA record matches");
            vec![(Status::Critical, format!("DANE: {why}"))]
        }
    }
}

/// `trusted by DANE-EE (3 1 1)` when a record authenticated the address.
pub fn trusted(address: &AddressFacts) -> Option<String> {
    let found = address.dane.as_ref()?;
    let trust = match found.trust? {
        Trust::DaneEe => "DANE-EE",
        Trust::DaneTa => "DANE-TA",
    };
    let usage = match found.trust? {
        Trust::DaneEe => USAGE_DANE_EE,
        Trust::DaneTa => USAGE_DANE_TA,
    };
    let record = found.matched.iter().find(|r| r.usage == usage)?;
    Some(format!("trusted by {trust} ({})", record.parameters()))
}
