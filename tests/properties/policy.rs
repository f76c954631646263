//! smtpdcheck's Postfix policy request reader (`policy.rs`).

use proptest::prelude::*;

use crate::checks::policy::check_requests;
use crate::{config, reader_inputs};

/// Attribute lines, separators and stray bytes.
#[rustfmt::skip]
const POLICY_PIECES: &[&str] = &[
    "request=smtpd_access_policy", "protocol_state=RCPT", "recipient=u@d.test",
    "server_address=127.0.0.1", "=", "name", "value", "\n", "\n\n", "\r\n", "@", "",
];

/// Attribute lines as bytes, with bytes that are not UTF-8 in names and
/// values: such requests are well formed.
#[rustfmt::skip]
const BYTE_PIECES: &[&[u8]] = &[
    b"protocol_state=RCPT\n", b"recipient=", b"u@d.test", b"\xff", b"\xc3", b"\xc3\xa9", b"\x80",
    b"=", b"name", b"\n", b"\n\n", b"@", b"",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn policy_requests_are_read_within_their_bounds(
        inputs in reader_inputs(POLICY_PIECES, 60),
        pieces in prop::collection::vec(prop::sample::select(BYTE_PIECES), 0..60),
    ) {
        for input in inputs {
            check_requests(&input);
        }
        check_requests(&pieces.concat());
    }
}
