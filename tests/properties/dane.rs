//! check_mx's DANE matching (`check_mx/dane.rs`): TLSA records against a
//! presented chain, of arbitrary DER and of real certificates.

use std::sync::LazyLock;
use std::time::Duration;

use proptest::prelude::*;
use rustls::pki_types::{CertificateDer, UnixTime};

use smtpbox::check_mx::dane::{Tlsa, Trust, match_chain};

use crate::checks::dane::{
    DANE_EE, DANE_TA, MATCH_SHA256, SELECTOR_CERT, SELECTOR_SPKI, association, check_match,
    selected,
};
use crate::config;
use crate::support::tls::{Certificates, Pki};

/// The MX host name the certificates below are for.
const HOST: &str = "mx1.d.test";

/// A record: any three numbers, weighted to the known ones, and data.
fn record(data: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Tlsa> {
    let number = |known: u8| prop_oneof![4 => 0..=known, 1 => any::<u8>()];
    (number(3), number(1), number(2), data).prop_map(|(usage, selector, matching_type, data)| {
        Tlsa {
            usage,
            selector,
            matching_type,
            data,
        }
    })
}

/// Arbitrary bytes, weighted to the lengths of the digests.
fn data() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..80),
        prop::collection::vec(any::<u8>(), 32),
        prop::collection::vec(any::<u8>(), 64),
    ]
}

/// A time from the epoch to the year 2100.
fn now() -> impl Strategy<Value = UnixTime> {
    (0u64..4_102_444_800).prop_map(|s| UnixTime::since_unix_epoch(Duration::from_secs(s)))
}

/// A CA and a leaf for [`HOST`] it signed, made once by rcgen: each one's
/// DER and SubjectPublicKeyInfo as rcgen (not x509-parser) has them.
static CERTIFICATES: LazyLock<Certificates> = LazyLock::new(|| Pki::new(HOST).der);

/// A presented certificate: the leaf, the CA, one of them cut short or
/// with one octet changed, or arbitrary bytes.
fn certificate() -> impl Strategy<Value = CertificateDer<'static>> {
    let real = prop_oneof![
        Just(CERTIFICATES.leaf.to_vec()),
        Just(CERTIFICATES.ca.to_vec())
    ];
    prop_oneof![
        3 => real.clone(),
        1 => (real.clone(), any::<prop::sample::Index>())
            .prop_map(|(der, cut)| der[..cut.index(der.len())].to_vec()),
        1 => (real, any::<prop::sample::Index>(), 1..=255u8).prop_map(|(mut der, at, flip)| {
            let at = at.index(der.len());
            der[at] ^= flip;
            der
        }),
        1 => prop::collection::vec(any::<u8>(), 0..200),
    ]
    .prop_map(CertificateDer::from)
}

/// A record whose data is the leaf's or the CA's (as rcgen has them),
/// maybe with one octet changed.
fn record_of_real() -> impl Strategy<Value = Tlsa> {
    (
        record(Just(Vec::new())),
        any::<bool>(),
        prop::option::of((any::<prop::sample::Index>(), 1..=255u8)),
    )
        .prop_map(|(mut tlsa, of_leaf, change)| {
            let certificates = &*CERTIFICATES;
            let part = match (of_leaf, tlsa.selector == SELECTOR_CERT) {
                (true, true) => certificates.leaf.to_vec(),
                (true, false) => certificates.leaf_spki.clone(),
                (false, true) => certificates.ca.to_vec(),
                (false, false) => certificates.ca_spki.clone(),
            };
            tlsa.data = association(tlsa.matching_type, &part);
            if let Some((at, flip)) = change {
                let at = at.index(tlsa.data.len());
                tlsa.data[at] ^= flip;
            }
            tlsa
        })
}

/// Whether `record` is usable and made of the certificate `der` (whose
/// SubjectPublicKeyInfo rcgen gave as `spki`).
fn of(record: &Tlsa, der: &[u8], spki: &[u8]) -> bool {
    let part = if record.selector == SELECTOR_CERT {
        der
    } else {
        spki
    };
    record.unusable().is_none() && record.data == association(record.matching_type, part)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_records_and_chains_are_matched_by_the_rules(
        records in prop::collection::vec(record(data()), 0..4),
        chain in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..=3),
        now in now(),
    ) {
        let chain: Vec<CertificateDer<'static>> =
            chain.into_iter().map(CertificateDer::from).collect();
        check_match(&records, &chain, HOST, now);
    }

    /// Real certificates, whole or damaged, against records made from
    /// them: the shared checks, and the records that must match do.
    #[test]
    fn real_chains_are_matched_by_the_rules(
        records in prop::collection::vec(prop_oneof![record_of_real(), record(data())], 1..4),
        chain in prop::collection::vec(certificate(), 1..=3),
    ) {
        let now = UnixTime::now();
        check_match(&records, &chain, HOST, now);
        // the check's own SubjectPublicKeyInfo is rcgen's
        let certificates = &*CERTIFICATES;
        let spki = selected(SELECTOR_SPKI, &certificates.leaf);
        prop_assert_eq!(spki.as_ref(), Some(&certificates.leaf_spki));
        let found = match_chain(&records, &chain, HOST, now);
        let leaf_first = chain[0] == certificates.leaf;
        let ee_of_leaf = records.iter().any(|r| {
            r.usage == DANE_EE && of(r, &certificates.leaf, &certificates.leaf_spki)
        });
        // DANE-EE of the presented leaf: trusted that way, whatever else
        // (a damaged leaf may match a record made of the same damage)
        if leaf_first && ee_of_leaf {
            prop_assert_eq!(found.trust, Some(Trust::DaneEe));
        }
        // the real chain (leaf, then CA) and a DANE-TA record of the CA:
        // trusted
        let ta_of_ca = records.iter().any(|r| {
            r.usage == DANE_TA && of(r, &certificates.ca, &certificates.ca_spki)
        });
        if leaf_first && chain.get(1) == Some(&certificates.ca) && ta_of_ca {
            prop_assert!(found.trust.is_some(), "{:?}", found);
        }
    }
}

/// A DANE-TA record of the CA does not match when the CA is not presented
/// (RFC 7671 §5.2.2), nor for another host name (RFC 7672 §3.2.3).
#[test]
fn dane_ta_wants_the_presented_anchor_and_the_name() {
    let certificates = &*CERTIFICATES;
    let ta = Tlsa {
        usage: DANE_TA,
        selector: SELECTOR_CERT,
        matching_type: MATCH_SHA256,
        data: association(MATCH_SHA256, &certificates.ca),
    };
    let now = UnixTime::now();
    let whole = [certificates.leaf.clone(), certificates.ca.clone()];
    let records = std::slice::from_ref(&ta);
    assert_eq!(
        match_chain(records, &whole, HOST, now).trust,
        Some(Trust::DaneTa)
    );
    for (chain, host) in [(&whole[..1], HOST), (&whole[..], "mx2.d.test")] {
        let found = match_chain(records, chain, host, now);
        assert_eq!(found.trust, None, "{host}: {found:?}");
        check_match(records, chain, host, now);
    }
}
