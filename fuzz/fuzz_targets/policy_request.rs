//! Postfix policy requests, as smtpd (or an attacker behind it) sends them.
//!
//! Reading never panics, never takes more bytes than given or than one
//! request may hold, and what it read, written back, reads the same. The
//! checks are the property tests' (`tests/properties/checks/`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/properties/checks/policy.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::check_requests(data));
