//! smtpdcheck's OpenSMTPD filter protocol (`opensmtpd.rs`).

use std::net::SocketAddr;

use proptest::prelude::*;

use crate::checks::opensmtpd::{check_link_connect, check_rcpt_to, check_stream};
use crate::{config, ip_addr, text_from};

/// Pieces of smtpd's lines, of each kind and version, and stray bytes.
#[rustfmt::skip]
const LINE_PIECES: &[&str] = &[
    "filter|", "report|", "config|", "ready", "0.4|", "0.5|", "0.6|", "0.7|", "1.0|",
    "1576146008.006099|", "smtp-in|", "smtp-out|", "rcpt-to|", "data-line|", "connect|",
    "link-connect|", "link-disconnect", "7641df9771b4ed00|", "1ef1c203cc576e5d|", "1|", "|",
    "u@d.test", "a|b@d.test", "<u@d.test>", "@", ".", "pass|", "[::1]:25", "127.0.0.1:25",
    "unix:/var/run/smtpd.sock", "\n", "\r", "\0", " ", "x", "",
];

/// Fields of smtpd's lines, right and wrong, so that whole requests,
/// reports and near misses come often.
#[rustfmt::skip]
const FIELDS: &[&str] = &[
    "filter", "report", "config", "0.4", "0.5", "0.6", "0.7", "0.", "x", "1576146008.006099",
    "smtp-in", "rcpt-to", "data-line", "commit", "link-connect", "link-disconnect",
    "7641df9771b4ed00", "1ef1c203cc576e5d", "1", "11112222333344445", "", "u@d.test", "<u@d.test>",
    "a", "b@d.test", "pass", "[::1]:25", "127.0.0.1:25", "\0", "\r", "\u{e9}",
];

/// Lines of `|`-separated fields, most of them in smtpd's order.
fn lines() -> impl Strategy<Value = String> {
    let line = prop::collection::vec(prop::sample::select(FIELDS), 0..10).prop_map(|f| f.join("|"));
    let request = (
        prop::sample::select(&FIELDS[3..8]),
        prop::sample::select(&FIELDS[10..16]),
        prop::sample::select(&FIELDS[16..20]),
        prop::sample::select(&FIELDS[16..20]),
        line.clone(),
    )
        .prop_map(|(v, phase, s, t, rest)| format!("filter|{v}|1|smtp-in|{phase}|{s}|{t}|{rest}"));
    prop::collection::vec(prop_oneof![line, request], 0..8).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_answerable_line_gets_one_answer_smtpd_parses(
        chunk in any::<u8>(),
        text in prop_oneof![text_from(LINE_PIECES, 80), lines()],
        bytes in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        check_stream(&[&[chunk], text.as_bytes()].concat());
        check_stream(&[&[chunk][..], &bytes].concat());
    }

    #[test]
    fn rcpt_to_addresses_read_back_whole(
        minor in 4u16..=7,
        session in any::<u64>(),
        token in any::<u64>(),
        address in prop_oneof![
            "[a-z|<>@. ]{0,30}",
            text_from(&["u", "|", "@", "d.test", ".", "<", ">", "\"", "\u{e9}"], 12),
        ],
        raw in prop::collection::vec(any::<u8>().prop_filter("no newline", |&b| b != b'\n'), 0..40),
    ) {
        check_rcpt_to(minor, session, token, address.as_bytes());
        check_rcpt_to(minor, session, token, &raw);
    }

    #[test]
    fn link_connect_gives_the_local_address(
        session in any::<u64>(),
        rdns in text_from(&["mail", ".", "|", "d.test", "-", "pass", "127.0.0.1:25"], 8),
        source in (ip_addr(), any::<u16>()),
        local in (ip_addr(), any::<u16>()),
    ) {
        let (source, local) = (SocketAddr::from(source), SocketAddr::from(local));
        check_link_connect(session, rdns.as_bytes(), source, local);
    }
}
