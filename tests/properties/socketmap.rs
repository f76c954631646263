//! smtpdcheck's sendmail socket map reader and replies (`socketmap.rs`).

use proptest::prelude::*;

use crate::checks::socketmap::{check_domain, check_payload, check_replies, check_stream};
use crate::{any_text, config, host_name, reader_inputs};

/// Netstring pieces, request words and stray bytes.
#[rustfmt::skip]
const SOCKETMAP_PIECES: &[&str] = &[
    "17:smtpdcheck d.test,", "10:smtpdcheck,", "0:,", "1:", "5:", "9", "1024:", "1025:",
    "05:", ":", ",", " ", "smtpdcheck", "d.test", "d.test.", "u@", "<", ">", "[192.0.2.1]",
    "\r\n", "\0", "é",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn socketmap_streams_are_read_within_their_bounds(
        inputs in reader_inputs(SOCKETMAP_PIECES, 40),
    ) {
        for input in inputs {
            check_stream(&input);
        }
    }

    #[test]
    fn socketmap_requests_round_trip(
        map in "[A-Za-z_][A-Za-z0-9_]{0,15}",
        key in prop_oneof![
            host_name(),
            host_name().prop_map(|d| format!("user@{d}")),
            any_text(),
        ],
        long in 0usize..2000,
    ) {
        let payload = format!("{map} {key}");
        let framed = {
            let mut wire = Vec::new();
            smtpbox::smtpdcheck::socketmap::netstring_into(payload.as_bytes(), &mut wire);
            wire
        };
        check_stream(&framed);
        check_payload(payload.as_bytes());
        check_payload(&vec![b'k'; long]);
        check_domain(key.as_bytes());
    }

    #[test]
    fn socketmap_replies_are_printable_netstrings(
        text in prop_oneof![any_text(), host_name(), "[ -~]{0,300}"],
    ) {
        check_replies(&text);
    }
}
