//! netrc(5) credentials files.
//!
//! Parsing never panics; an error names a line of the input; entries start
//! on increasing lines, `default` is at most once and last; the entries
//! written back (every value quoted) read back the same; `lookup` is the
//! first `machine` of that name, else `default`. The checks are the
//! property tests' (`tests/properties/checks/`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/properties/checks/netrc.rs"]
mod checks;

use checks::{check_lookup, check_parse};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Some(netrc) = check_parse(&text) {
        // each machine named, in another case, and one no entry names
        for entry in netrc.entries.iter().take(4) {
            if let smtpbox::netrc::Machine::Name(name) = &entry.machine {
                check_lookup(&netrc, &name.to_ascii_uppercase());
            }
        }
        check_lookup(&netrc, "no-such-host.invalid");
    }
});
