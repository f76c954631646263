//! etrn's `ETRN_HOSTS` value and its validators (`etrn_hosts.rs`).

use std::net::Ipv4Addr;

use proptest::prelude::*;

use smtpbox::etrn::etrn_hosts::{self, Group};
use smtpbox::names::{EtrnArgument, HostName};

use crate::checks::etrn_hosts::{check_parse, render_group};
use crate::checks::names::check_name_rules;
use crate::{any_text, config, host_name, ip_addr, text_from};

fn etrn_client() -> impl Strategy<Value = String> {
    prop_oneof![
        host_name(),
        host_name().prop_map(|h| format!("@{h}")),
        "#[A-Za-z0-9_.-]{1,12}",
        any::<Ipv4Addr>().prop_map(|ip| format!("[{ip}]")),
    ]
}

fn etrn_group() -> impl Strategy<Value = Group> {
    (
        prop_oneof![host_name(), ip_addr().prop_map(|ip| format!("[{ip}]"))],
        prop::collection::vec(etrn_client(), 0..4),
    )
        .prop_map(|(server, clients)| Group {
            server: HostName::parse(&server).expect("a generated valid name"),
            clients: clients
                .iter()
                .map(|client| EtrnArgument::parse(client).expect("a generated valid argument"))
                .collect(),
        })
}

/// Names, separators and prefixes, then white space, control and
/// non-ASCII characters.
#[rustfmt::skip]
const ETRN_PIECES: &[&str] = &[
    "s1", "mx.example", "a", ".", ":", ",", "[", "]", "::1", "192.0.2.1",
    "@", "#", "@dom", "#q",
    " ", "\t", "\n", "\r", "\0", "\u{7f}", "é", "\u{a0}", "\u{2028}",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn etrn_hosts_parse_never_panics_and_only_returns_valid_groups(
        value in prop_oneof![any_text(), text_from(ETRN_PIECES, 40)],
    ) {
        check_parse(&value);
    }

    #[test]
    fn etrn_hosts_round_trip_generated_groups(
        groups in prop::collection::vec(etrn_group(), 0..6),
        separators in prop::collection::vec(prop::sample::select(vec![" ", "\t", "\n", "  \r\n\t"]), 6),
    ) {
        let mut value = String::new();
        for (group, separator) in groups.iter().zip(&separators) {
            value.push_str(separator);
            value.push_str(&render_group(group));
        }
        let (parsed, malformed) = etrn_hosts::parse(&value);
        prop_assert!(malformed.is_empty(), "{:?}", malformed);
        prop_assert_eq!(parsed, groups);
    }

    #[test]
    fn etrn_validators_follow_their_rules(
        text in prop_oneof![any_text(), text_from(ETRN_PIECES, 8), etrn_client()],
    ) {
        check_name_rules(&text);
    }
}
