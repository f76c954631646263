//! Shell-assignment defaults files (`/etc/default/...`).
//!
//! Parsing never panics; what parses has well-formed names, no forbidden
//! control characters and increasing line numbers; the assignments written
//! back as `NAME="..."` (escaped) read back the same; `find_variable` is
//! the last assignment of a name (or the same error). The checks are the
//! property tests' (`tests/properties/checks/`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/properties/checks/defaults_file.rs"]
mod checks;

use checks::{check_assignments, check_lookup};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = check_assignments(&text);
    check_lookup(&text, &parsed, "ETRN_HOSTS");
    if let Ok(assignments) = &parsed {
        // a few names: each lookup parses again
        for (name, _, _) in assignments.iter().rev().take(4) {
            check_lookup(&text, &parsed, name);
        }
    }
});
