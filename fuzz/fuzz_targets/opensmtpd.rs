//! OpenSMTPD filter protocol lines, as smtpd (or anything writing to the
//! filter's stdin) sends them; byte 0 sets the size of the reads.
//!
//! Cutting lines never panics, keeps to its bound and yields the input's
//! whole lines; every line naming a version, session and token is a
//! request, and each request's answer is one line smtpd parses, naming its
//! session and token in the version's order. The input's first line is
//! also sent as an `rcpt-to` address and a `link-connect` reverse name,
//! which must read back whole. The checks are the property tests'
//! (`tests/properties/checks/`).
#![no_main]

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/properties/checks/opensmtpd.rs"]
mod checks;

/// The longest first line sent as a field: well within a line's bound.
const MAX_FIELD: usize = 4096;

fuzz_target!(|data: &[u8]| {
    checks::check_stream(data);
    let first_line = data.split(|&b| b == b'\n').next().unwrap_or_default();
    let field = &first_line[..first_line.len().min(MAX_FIELD)];
    // Ids and addresses from the input's bytes, zero-padded.
    let mut bytes = [0u8; 32];
    let taken = data.len().min(32);
    bytes[..taken].copy_from_slice(&data[..taken]);
    let number = |at: usize| u64::from_be_bytes(bytes[at..at + 8].try_into().unwrap_or_default());
    let minor = 4 + u16::from(bytes[0] % 4);
    checks::check_rcpt_to(minor, number(0), number(8), field);
    let v4 = SocketAddr::from((
        Ipv4Addr::from([bytes[0], bytes[1], bytes[2], bytes[3]]),
        25,
    ));
    let v6 = SocketAddr::from((
        Ipv6Addr::from(u128::from_be_bytes(
            bytes[16..32].try_into().unwrap_or_default(),
        )),
        587,
    ));
    checks::check_link_connect(number(24), field, v4, v6);
});
