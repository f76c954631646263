//! The smtpdcheck result cache file.
//!
//! Parsing never panics, keeps at most 1024 entries, reads nothing without
//! the header, and what it understood survives `render` then `parse`
//! unchanged. The input is tried as is and behind a valid header. The
//! checks are the property tests' (`tests/properties/checks/`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/properties/checks/cache_file.rs"]
mod checks;

use checks::{HEADER, check_parse};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check_parse(&text);
    check_parse(&format!("{HEADER}\n{text}"));
});
