//! What check_mx's DANE matching (`check_mx::dane`) promises, checked once
//! for the `dane` fuzz target (which includes this file by path) and the
//! property tests of `dane.rs`: on any TLSA records and any presented
//! chain (arbitrary DER included) `match_chain` never panics, a record an
//! SMTP client may not use never matches, a trusted result names its
//! records and no error, an untrusted one an error, and DANE-EE matches
//! exactly when the end entity's selected part, digested as the record
//! says, is the record's data. The usability rule and the digests are
//! written here again (RFC 6698 §2.1, RFC 7671 §4.1, RFC 7672 §3.1), with
//! ring for SHA-2 and x509-parser to find a certificate's
//! SubjectPublicKeyInfo. Proptest-free: plain `assert!`s.

use ring::digest;
use rustls::pki_types::{CertificateDer, UnixTime};
use smtpbox::check_mx::dane::{Tlsa, Trust, match_chain};

/// RFC 7218 §2.1 (RFC 6698 §2.1.1): the usages SMTP may use (RFC 7672
/// §3.1.3: not 0 and 1).
pub const DANE_TA: u8 = 2;
pub const DANE_EE: u8 = 3;
/// RFC 6698 §2.1.2: the whole certificate, or its SubjectPublicKeyInfo.
pub const SELECTOR_CERT: u8 = 0;
pub const SELECTOR_SPKI: u8 = 1;
/// RFC 6698 §2.1.3: the selected part as is, or its SHA-256 or SHA-512.
pub const MATCH_FULL: u8 = 0;
pub const MATCH_SHA256: u8 = 1;
pub const MATCH_SHA512: u8 = 2;
/// The longest error allowed: a few sentences per DANE-TA record, not the
/// input (records are at most a few in these checks).
const MAX_ERROR_LEN: usize = 4096;

/// Whether an SMTP client may use `record`: a DANE usage, a known
/// selector, and data a known matching type can equal (RFC 7671 §4.1:
/// unknown values are unusable).
pub fn usable(record: &Tlsa) -> bool {
    let data_fits = match record.matching_type {
        MATCH_FULL => !record.data.is_empty(),
        MATCH_SHA256 => record.data.len() == 32,
        MATCH_SHA512 => record.data.len() == 64,
        _ => false,
    };
    matches!(record.usage, DANE_TA | DANE_EE)
        && matches!(record.selector, SELECTOR_CERT | SELECTOR_SPKI)
        && data_fits
}

/// The part of `certificate` that `selector` names; `None` when the
/// SubjectPublicKeyInfo is asked of bytes that are no certificate.
pub fn selected(selector: u8, certificate: &[u8]) -> Option<Vec<u8>> {
    match selector {
        SELECTOR_CERT => Some(certificate.to_vec()),
        SELECTOR_SPKI => x509_parser::parse_x509_certificate(certificate)
            .ok()
            .map(|(_, parsed)| parsed.public_key().raw.to_vec()),
        _ => None,
    }
}

/// The association data of `selected` under `matching_type`.
pub fn association(matching_type: u8, selected: &[u8]) -> Vec<u8> {
    match matching_type {
        MATCH_SHA256 => digest::digest(&digest::SHA256, selected).as_ref().to_vec(),
        MATCH_SHA512 => digest::digest(&digest::SHA512, selected).as_ref().to_vec(),
        _ => selected.to_vec(),
    }
}

/// Whether `record` matches `certificate`, by the rules above.
pub fn matches(record: &Tlsa, certificate: &[u8]) -> bool {
    usable(record)
        && selected(record.selector, certificate)
            .is_some_and(|part| association(record.matching_type, &part) == record.data)
}

/// Matches `chain` against `records` and checks what came of it.
pub fn check_match(records: &[Tlsa], chain: &[CertificateDer<'static>], host: &str, now: UnixTime) {
    for record in records {
        assert_eq!(record.unusable().is_none(), usable(record), "{record:?}");
        if let Some(why) = record.unusable() {
            assert!(!why.is_empty() && !why.contains(['\n', '\r']), "{why:?}");
        }
        for certificate in chain {
            assert_eq!(
                record.matches(certificate),
                matches(record, certificate),
                "{record:?}"
            );
        }
    }
    let found = match_chain(records, chain, host, now);
    match found.trust {
        Some(_) => {
            assert!(!found.matched.is_empty(), "{found:?}");
            assert_eq!(found.error, None);
        }
        None => {
            assert!(found.matched.is_empty(), "{found:?}");
            let error = found.error.as_deref().expect("an untrusted chain says why");
            assert!(
                !error.is_empty() && !error.contains(['\n', '\r']),
                "{error:?}"
            );
            assert!(error.len() <= MAX_ERROR_LEN, "{} bytes", error.len());
        }
    }
    let Some((end_entity, rest)) = chain.split_first() else {
        assert_eq!(found.error.as_deref(), Some("no certificate was presented"));
        return;
    };
    // Every matched record is a usable one of `records`; DANE-EE matched
    // the end entity, DANE-TA another certificate of the chain (RFC 7671
    // §5.2.2: the anchor is presented, never the end entity itself).
    for record in &found.matched {
        assert!(records.contains(record) && usable(record), "{record:?}");
        match record.usage {
            DANE_EE => assert!(matches(record, end_entity), "{record:?}"),
            DANE_TA => assert!(rest.iter().any(|c| matches(record, c)), "{record:?}"),
            other => panic!("usage {other} matched"),
        }
    }
    // DANE-EE matches exactly the records of the end entity's digest, in
    // the records' order, whatever the name or time (RFC 7672 §3.1.1).
    let of_end_entity: Vec<&Tlsa> = records
        .iter()
        .filter(|r| r.usage == DANE_EE && matches(r, end_entity))
        .collect();
    let matched_ee: Vec<&Tlsa> = found
        .matched
        .iter()
        .filter(|r| r.usage == DANE_EE)
        .collect();
    assert_eq!(matched_ee, of_end_entity);
    assert_eq!(
        found.trust == Some(Trust::DaneEe),
        !of_end_entity.is_empty()
    );
    // Records a client may not use change nothing.
    let only_usable: Vec<Tlsa> = records.iter().filter(|r| usable(r)).cloned().collect();
    assert_eq!(match_chain(&only_usable, chain, host, now), found);
}
