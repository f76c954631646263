//! check_mx's DANE matching on what an MX host publishes and presents:
//! bytes 0-2 are a TLSA record's usage, selector and matching type; byte 3
//! how many certificates are presented (1 to 3), and whether a second
//! record of the same numbers is made of one of them (so that matches are
//! reached); bytes 4-11 the time; the rest, cut by 2-octet lengths, the
//! record's data and the certificates' DER.
//!
//! Matching never panics; an unusable record never matches; a trusted
//! result names its records and no error, an untrusted one an error;
//! DANE-EE matches exactly when the end entity's selected part, digested,
//! is the data. The checks are the property tests'
//! (`tests/properties/checks/`).
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use rustls::pki_types::{CertificateDer, UnixTime};
use smtpbox::check_mx::dane::Tlsa;

#[path = "../../tests/properties/checks/dane.rs"]
mod checks;

/// The MX host name the chain is checked for.
const HOST: &str = "mx1.d.test";
/// The octets before the data: three numbers, the chain byte, the time.
const HEADER: usize = 12;

/// The next piece of `rest`: a 2-octet big-endian length, then that many
/// octets (fewer when the input ends).
fn piece<'a>(rest: &mut &'a [u8]) -> &'a [u8] {
    let length = match rest {
        [high, low, ..] => usize::from(u16::from_be_bytes([*high, *low])),
        _ => 0,
    };
    let body = rest.get(2..).unwrap_or_default();
    let (taken, left) = body.split_at(length.min(body.len()));
    *rest = left;
    taken
}

fuzz_target!(|data: &[u8]| {
    let Some((header, mut rest)) = data.split_at_checked(HEADER) else {
        return;
    };
    let chain_byte = header[3];
    let seconds = u64::from_be_bytes(header[4..HEADER].try_into().unwrap_or_default());
    let now = UnixTime::since_unix_epoch(Duration::from_secs(seconds));
    let record = Tlsa {
        usage: header[0],
        selector: header[1],
        matching_type: header[2],
        data: piece(&mut rest).to_vec(),
    };
    let length = 1 + usize::from(chain_byte % 3);
    let chain: Vec<CertificateDer<'static>> = (0..length)
        .map(|_| CertificateDer::from(piece(&mut rest).to_vec()))
        .collect();
    let mut records = vec![record.clone()];
    // bit 2: a second record made of certificate (bits 3-4) of the chain
    if chain_byte & 0b100 != 0 {
        let which = usize::from(chain_byte >> 3 & 0b11) % chain.len();
        if let Some(part) = checks::selected(record.selector, &chain[which]) {
            let data = checks::association(record.matching_type, &part);
            records.push(Tlsa { data, ..record });
        }
    }
    checks::check_match(&records, &chain, HOST, now);
});
