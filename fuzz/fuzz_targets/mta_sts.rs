//! check_mx's MTA-STS and TLS-RPT readers on what a domain publishes: the
//! input as a policy file (from the policy host's HTTPS server), as TXT
//! records (split at NUL into up to four records) and as an mx pattern and
//! host (split at the first line end).
//!
//! Reading never panics; an accepted policy holds only what RFC 8461
//! allows and reads back the same, an error is one bounded line naming the
//! line at fault; records are read by RFC 8461 §3.1 and RFC 8460 §3;
//! patterns cover by the §4.1 label rule. The checks are the property
//! tests' (`tests/properties/checks/`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/properties/checks/mta_sts.rs"]
mod checks;

/// The most TXT records made of one input.
const MAX_RECORDS: usize = 4;

fuzz_target!(|data: &[u8]| {
    checks::check_policy(data);
    let records: Vec<Vec<u8>> = data
        .split(|&b| b == 0)
        .take(MAX_RECORDS)
        .map(<[u8]>::to_vec)
        .collect();
    checks::check_sts_record(&records);
    checks::check_tls_rpt(&records);
    let text = String::from_utf8_lossy(data);
    let (pattern, host) = text.split_once('\n').unwrap_or((&text, ""));
    checks::check_covers(pattern, host);
    checks::check_wildcard(host, pattern);
});
