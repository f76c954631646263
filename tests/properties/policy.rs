//! smtpdcheck's Postfix policy request reader (`policy.rs`).

use proptest::prelude::*;

use crate::checks::policy::check_requests;
use crate::{any_text, config, text_from};

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
        text in prop_oneof![any_text(), text_from(POLICY_PIECES, 60)],
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        pieces in prop::collection::vec(prop::sample::select(BYTE_PIECES), 0..60),
    ) {
        check_requests(text.as_bytes());
        check_requests(&bytes);
        check_requests(&pieces.concat());
    }
}
