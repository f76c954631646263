//! sendmail socket map requests, as sendmail (or an SMTP client behind
//! it, through the key) sends them, and replies made from any text.
//!
//! Reading never panics, never takes more bytes than given, never waits
//! for more than one bounded netstring, and what it read, written back,
//! reads the same; every reply is one netstring of printable ASCII. The
//! checks are the property tests' (`tests/properties/checks/`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/properties/checks/socketmap.rs"]
mod checks;

fuzz_target!(|data: &[u8]| {
    checks::check_stream(data);
    checks::check_payload(data);
    checks::check_domain(data);
    checks::check_replies(&String::from_utf8_lossy(data));
});
