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
use hickory_proto::rr::rdata::tlsa::{CertUsage, Matching, Selector};

/// One TLSA record (RFC 6698 §2.1), as published: the three numbers as
/// they are (unknown ones too, to report them), read through
/// hickory-proto's `CertUsage`, `Selector` and `Matching` (RFC 6698
/// §2.1.1-2.1.3).
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
        match self.cert_usage() {
            // RFC 7672 §3.1.2 and §3.1.1.
            CertUsage::DaneTa | CertUsage::DaneEe => {}
            CertUsage::PkixTa | CertUsage::PkixEe => {
                return Some(format!("usage {} (PKIX) is not for SMTP", self.usage));
            }
            _ => return Some(format!("unknown usage {}", self.usage)),
        }
        if !matches!(
            Selector::from(self.selector),
            Selector::Full | Selector::Spki
        ) {
            return Some(format!("unknown selector {}", self.selector));
        }
        let length = match Matching::from(self.matching_type) {
            Matching::Raw => None,
            Matching::Sha256 => Some(ring::digest::SHA256_OUTPUT_LEN),
            Matching::Sha512 => Some(ring::digest::SHA512_OUTPUT_LEN),
            _ => return Some(format!("unknown matching type {}", self.matching_type)),
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

    /// The certificate usage (RFC 6698 §2.1.1).
    pub fn cert_usage(&self) -> CertUsage {
        CertUsage::from(self.usage)
    }

    /// Whether the record matches `certificate` (a DER certificate): its
    /// selected part, digested as the matching type says, is the data.
    pub fn matches(&self, certificate: &CertificateDer<'_>) -> bool {
        if self.unusable().is_some() {
            return false;
        }
        let selected: &[u8] = match Selector::from(self.selector) {
            Selector::Full => certificate.as_ref(),
            _ => match x509_parser::parse_x509_certificate(certificate) {
                Ok((_, parsed)) => return self.matches_selected(parsed.public_key().raw),
                Err(_) => return false,
            },
        };
        self.matches_selected(selected)
    }

    fn matches_selected(&self, selected: &[u8]) -> bool {
        let digest = |algorithm| ring::digest::digest(algorithm, selected);
        match Matching::from(self.matching_type) {
            Matching::Raw => selected == self.data.as_slice(),
            Matching::Sha256 => digest(&ring::digest::SHA256).as_ref() == self.data.as_slice(),
            Matching::Sha512 => digest(&ring::digest::SHA512).as_ref() == self.data.as_slice(),
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
        if record.cert_usage() == CertUsage::DaneEe && record.matches(end_entity) {
            matched.push(record.clone());
            trust = Some(Trust::DaneEe);
        } else if record.cert_usage() == CertUsage::DaneTa {
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

/// Backup-MX parity: when a more preferred host of the same domain has
/// validated usable TLSA records and `host` has no TLSA records at all,
/// senders that reach `host` (whenever the primary is down or busy) get
/// unauthenticated TLS: a new MX host left out of the TLSA set, the
/// commonest way DANE breaks unseen. Names the primary; `None` when there
/// is nothing to say (the host has TLSA records of its own, good or bad,
/// which [`judge_host`] judges; or no more preferred host has DANE).
pub fn parity(host: &HostFacts, hosts: &[HostFacts]) -> Option<String> {
    let preference = host.preference?;
    let dane = host.dane.as_ref()?;
    let has_no_records = matches!(&dane.lookup, Ok(answer) if answer.records.is_empty());
    if !has_no_records {
        return None;
    }
    let primary = hosts.iter().find(|other| {
        other.preference.is_some_and(|p| p < preference)
            && other
                .dane
                .as_ref()
                .is_some_and(|d| !usable_records(d).is_empty())
    })?;
    Some(format!(
        "backup MX without TLSA records while {} (MX {}) has DANE: senders reaching it get unauthenticated TLS",
        primary.name,
        primary.preference.unwrap_or_default()
    ))
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
        Trust::DaneEe => CertUsage::DaneEe,
        Trust::DaneTa => CertUsage::DaneTa,
    };
    let record = found.matched.iter().find(|r| r.cert_usage() == usage)?;
    Some(format!("trusted by {trust} ({})", record.parameters()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check_mx::facts::{Failure, TlsaAnswer};
    use rcgen::{
        BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose, PublicKeyData,
    };

    const HOST: &str = "mx1.d.test";

    /// A CA and a leaf for [`HOST`] it signed: the DER of each and the
    /// SubjectPublicKeyInfo of each, as rcgen (not the code under test)
    /// makes them.
    struct Chain {
        leaf: CertificateDer<'static>,
        leaf_spki: Vec<u8>,
        ca: CertificateDer<'static>,
        ca_spki: Vec<u8>,
    }

    fn chain(san: &str) -> Chain {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        let ca_key = KeyPair::generate().expect("CA key");
        let ca = ca_params.self_signed(&ca_key).expect("CA");
        let ca_spki = ca_key.subject_public_key_info();
        let issuer = Issuer::new(ca_params, ca_key);
        let leaf_params = CertificateParams::new(vec![san.to_owned()]).expect("leaf params");
        let leaf_key = KeyPair::generate().expect("leaf key");
        let leaf = leaf_params.signed_by(&leaf_key, &issuer).expect("leaf");
        Chain {
            leaf: leaf.der().clone(),
            leaf_spki: leaf_key.subject_public_key_info(),
            ca: ca.der().clone(),
            ca_spki,
        }
    }

    /// The association data of `selected` for a matching type.
    fn data(matching: Matching, selected: &[u8]) -> Vec<u8> {
        match matching {
            Matching::Sha256 => ring::digest::digest(&ring::digest::SHA256, selected)
                .as_ref()
                .to_vec(),
            Matching::Sha512 => ring::digest::digest(&ring::digest::SHA512, selected)
                .as_ref()
                .to_vec(),
            _ => selected.to_vec(),
        }
    }

    fn record(usage: CertUsage, selector: Selector, matching: Matching, data: Vec<u8>) -> Tlsa {
        Tlsa {
            usage: u8::from(usage),
            selector: u8::from(selector),
            matching_type: u8::from(matching),
            data,
        }
    }

    /// The record of `usage selector matching` for the certificate the
    /// usage names in `chain` (the leaf for DANE-EE and PKIX-EE, the CA
    /// otherwise).
    fn for_chain(chain: &Chain, usage: CertUsage, selector: Selector, matching: Matching) -> Tlsa {
        let end_entity = matches!(usage, CertUsage::DaneEe | CertUsage::PkixEe);
        let selected = match (end_entity, selector) {
            (true, Selector::Full) => chain.leaf.to_vec(),
            (true, _) => chain.leaf_spki.clone(),
            (false, Selector::Full) => chain.ca.to_vec(),
            (false, _) => chain.ca_spki.clone(),
        };
        record(usage, selector, matching, data(matching, &selected))
    }

    fn presented(chain: &Chain) -> Vec<CertificateDer<'static>> {
        vec![chain.leaf.clone(), chain.ca.clone()]
    }

    #[test]
    fn every_usable_combination_matches_its_certificate_and_only_it() {
        let good = chain(HOST);
        let other = chain(HOST);
        let now = UnixTime::now();
        for usage in [CertUsage::DaneTa, CertUsage::DaneEe] {
            for selector in [Selector::Full, Selector::Spki] {
                for matching in [Matching::Raw, Matching::Sha256, Matching::Sha512] {
                    let tlsa = for_chain(&good, usage, selector, matching);
                    let case = tlsa.parameters();
                    assert_eq!(tlsa.unusable(), None, "{case}");
                    let found =
                        match_chain(std::slice::from_ref(&tlsa), &presented(&good), HOST, now);
                    let trust = if usage == CertUsage::DaneEe {
                        Trust::DaneEe
                    } else {
                        Trust::DaneTa
                    };
                    assert_eq!(found.trust, Some(trust), "{case}: {found:?}");
                    assert_eq!(found.matched, vec![tlsa.clone()], "{case}");
                    assert_eq!(found.error, None, "{case}");
                    // Another key's chain does not match it.
                    let found = match_chain(&[tlsa], &presented(&other), HOST, now);
                    assert_eq!(found.trust, None, "{case}");
                    assert!(found.error.is_some(), "{case}");
                }
            }
        }
    }

    #[test]
    fn unusable_records_are_named_and_never_match() {
        let good = chain(HOST);
        let sha256 = |usage| for_chain(&good, usage, Selector::Spki, Matching::Sha256);
        let mut short = sha256(CertUsage::DaneEe);
        short.data.pop();
        let mut long = for_chain(&good, CertUsage::DaneEe, Selector::Full, Matching::Sha512);
        long.data.push(0);
        let cases = [
            (sha256(CertUsage::PkixTa), "usage 0 (PKIX) is not for SMTP"),
            (sha256(CertUsage::PkixEe), "usage 1 (PKIX) is not for SMTP"),
            (sha256(CertUsage::from(4)), "unknown usage 4"),
            (
                record(
                    CertUsage::DaneEe,
                    Selector::from(2),
                    Matching::Sha256,
                    vec![0; 32],
                ),
                "unknown selector 2",
            ),
            (
                record(
                    CertUsage::DaneEe,
                    Selector::Spki,
                    Matching::from(3),
                    vec![0; 32],
                ),
                "unknown matching type 3",
            ),
            (short, "31 octets of data where the digest has 32"),
            (long, "65 octets of data where the digest has 64"),
            (
                record(CertUsage::DaneEe, Selector::Full, Matching::Raw, vec![]),
                "no data",
            ),
        ];
        for (tlsa, reason) in cases {
            assert_eq!(tlsa.unusable().as_deref(), Some(reason), "{tlsa:?}");
            let found = match_chain(&[tlsa], &presented(&good), HOST, UnixTime::now());
            assert_eq!(found.trust, None, "{reason}");
        }
    }

    #[test]
    fn garbage_certificates_and_empty_chains_match_nothing() {
        let garbage = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
        let spki = record(
            CertUsage::DaneEe,
            Selector::Spki,
            Matching::Sha256,
            vec![0; 32],
        );
        assert!(!spki.matches(&garbage));
        let found = match_chain(
            std::slice::from_ref(&spki),
            &[garbage],
            HOST,
            UnixTime::now(),
        );
        assert_eq!(found.trust, None);
        let found = match_chain(&[spki], &[], HOST, UnixTime::now());
        assert_eq!(found.error.as_deref(), Some("no certificate was presented"));
    }

    #[test]
    fn dane_ta_wants_the_anchor_in_the_chain_and_the_name_to_match() {
        let good = chain(HOST);
        let now = UnixTime::now();
        let ta = for_chain(&good, CertUsage::DaneTa, Selector::Full, Matching::Sha256);
        // RFC 7671 §5.2.2: a trust anchor not presented is not found.
        let found = match_chain(
            std::slice::from_ref(&ta),
            std::slice::from_ref(&good.leaf),
            HOST,
            now,
        );
        assert_eq!(found.trust, None);
        // A DANE-TA record for the leaf itself matches no trust anchor.
        let leaf_as_ta = record(
            CertUsage::DaneTa,
            Selector::Full,
            Matching::Sha256,
            data(Matching::Sha256, &good.leaf),
        );
        let found = match_chain(&[leaf_as_ta], &presented(&good), HOST, now);
        assert_eq!(found.trust, None);
        // RFC 7672 §3.2.3: the name is checked for DANE-TA.
        let found = match_chain(&[ta], &presented(&good), "mx2.d.test", now);
        assert_eq!(found.trust, None);
        let error = found.error.unwrap_or_default();
        assert!(
            error.starts_with("2 0 1 matched a chain certificate, but "),
            "{error}"
        );
        assert!(error.contains("not valid for name"), "{error}");
    }

    #[test]
    fn dane_ee_checks_neither_name_nor_expiry() {
        let good = chain("elsewhere.test");
        let ee = for_chain(&good, CertUsage::DaneEe, Selector::Spki, Matching::Sha256);
        let far_future = UnixTime::since_unix_epoch(std::time::Duration::from_secs(1 << 40));
        let found = match_chain(&[ee], &presented(&good), HOST, far_future);
        assert_eq!(found.trust, Some(Trust::DaneEe));
    }

    fn host(lookup: Result<TlsaAnswer, Failure>, matched: bool) -> HostFacts {
        let mut address = AddressFacts::new("192.0.2.1:25".parse().expect("literal"));
        address.tls = Tls::Established {
            version: "TLSv1.3".into(),
            verification_error: None,
        };
        address.dane = Some(DaneMatch {
            matched: Vec::new(),
            trust: matched.then_some(Trust::DaneEe),
            error: None,
        });
        HostFacts {
            name: HOST.into(),
            preference: Some(10),
            lookup: Ok(vec![address]),
            dane: Some(DaneFacts {
                tlsa_name: format!("_25._tcp.{HOST}"),
                mx_validated: Some(true),
                lookup,
            }),
        }
    }

    /// (case, host, --require-dane, statuses, start of the first
    /// problem, how many notes)
    type HostCase = (
        &'static str,
        HostFacts,
        bool,
        Vec<Status>,
        &'static str,
        usize,
    );

    #[test]
    fn what_a_dane_sender_makes_of_a_host() {
        let ee = || {
            record(
                CertUsage::DaneEe,
                Selector::Spki,
                Matching::Sha256,
                vec![7; 32],
            )
        };
        let pkix = || {
            record(
                CertUsage::PkixEe,
                Selector::Spki,
                Matching::Sha256,
                vec![7; 32],
            )
        };
        let answer = |records: Vec<Tlsa>, validated| Ok(TlsaAnswer { records, validated });
        let failed = |timed_out| {
            Err(Failure {
                message: "_25._tcp.mx1.d.test: TLSA lookup: no answer".into(),
                timed_out,
            })
        };
        let unvalidated_mx = {
            let mut host = host(answer(vec![ee(), ee()], true), true);
            if let Some(dane) = &mut host.dane {
                dane.mx_validated = Some(false);
            }
            host
        };
        let cases: Vec<HostCase> = vec![
            (
                "no TLSA",
                host(answer(vec![], false), false),
                false,
                vec![],
                "",
                0,
            ),
            (
                "no TLSA, --require-dane",
                host(answer(vec![], false), false),
                true,
                vec![Status::Critical],
                "has no TLSA records at _25._tcp.mx1.d.test",
                0,
            ),
            (
                "not validated",
                host(answer(vec![ee()], false), false),
                false,
                vec![Status::Warning],
                "TLSA records at _25._tcp.mx1.d.test not validated: DNSSEC did not validate",
                0,
            ),
            (
                "only usages 0 and 1",
                host(answer(vec![pkix()], true), false),
                false,
                vec![Status::Warning],
                "TLSA records at _25._tcp.mx1.d.test all unusable for SMTP (usage 1)",
                0,
            ),
            (
                "SERVFAIL",
                host(failed(false), false),
                false,
                vec![Status::Critical],
                "_25._tcp.mx1.d.test: TLSA lookup: no answer: DANE senders defer",
                0,
            ),
            (
                "timed out",
                host(failed(true), false),
                false,
                vec![Status::Critical],
                "TLSA lookup of _25._tcp.mx1.d.test timed out",
                0,
            ),
            (
                "one record, matched: a note",
                host(answer(vec![ee()], true), true),
                false,
                vec![],
                "",
                1,
            ),
            (
                "a rollover pair, matched: no note",
                host(answer(vec![ee(), ee()], true), true),
                false,
                vec![],
                "",
                0,
            ),
            (
                "validated TLSA under an unvalidated MX",
                unvalidated_mx,
                false,
                vec![Status::Warning],
                "TLSA records validated but the MX answer is not",
                0,
            ),
        ];
        for (case, host, require, statuses, first, notes) in cases {
            let found = judge_host(&host, require);
            let got: Vec<Status> = found.problems.iter().map(|(s, _)| *s).collect();
            assert_eq!(got, statuses, "{case}: {found:?}");
            if let Some((_, text)) = found.problems.first() {
                assert!(text.starts_with(first), "{case}: {text}");
            }
            assert_eq!(found.notes.len(), notes, "{case}: {found:?}");
        }
    }
}
