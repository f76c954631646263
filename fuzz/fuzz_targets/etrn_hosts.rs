//! `ETRN_HOSTS` values and the ETRN argument / server name validators.
//!
//! Every accepted group passes the validators, no client carries white
//! space or a control character, and the accepted groups written back
//! (`server[:client,...]`, space separated) parse to the same groups; the
//! validators accept exactly their rules, on the value and on each of its
//! words and parts. The checks are the property tests'
//! (`tests/properties/checks/`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/properties/checks/etrn_hosts.rs"]
mod checks;
#[path = "../../tests/properties/checks/names.rs"]
mod names;

use checks::check_parse;
use names::check_name_rules;

fuzz_target!(|data: &[u8]| {
    let value = String::from_utf8_lossy(data);
    check_parse(&value);
    check_name_rules(&value);
    for token in value.split_whitespace().flat_map(|t| t.split([':', ','])) {
        check_name_rules(token);
    }
});
