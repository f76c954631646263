//! smtpdcheck's `[prio:]server` arguments (`servers.rs`): `parse_server`,
//! `same_name`; server names follow the core rules (`checks/names.rs`).

use std::net::Ipv4Addr;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use smtpbox::names::{ip_literal, same_name};
use smtpbox::smtpdcheck::servers::parse_server;

use crate::checks::names::check_name_rules;
use crate::checks::server_args::check_parse_server;
use crate::{any_text, config, host_name, ip_addr, text_from};

/// Server names `parse_server` must accept: host names, bare and bracketed
/// IP literals.
pub fn server_name() -> impl Strategy<Value = String> {
    prop_oneof![
        host_name(),
        any::<Ipv4Addr>().prop_map(|ip| ip.to_string()),
        ip_addr().prop_map(|ip| ip.to_string()),
        ip_addr().prop_map(|ip| format!("[{ip}]")),
    ]
}

/// Numbers, separators, brackets, names and literals, with stray bytes.
#[rustfmt::skip]
pub const SERVER_PIECES: &[&str] = &[
    "10", "0", "65535", "65536", "-1", "+5", "1",
    ":", "::", "[", "]", ".",
    "a", "mx.example", "2001:db8", "127.0.0.1", "::1", "[::1]",
    " ", "\t", "\r\n", "\0", "é",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parse_server_never_panics_and_keeps_its_promises(
        argument in prop_oneof![any_text(), text_from(SERVER_PIECES, 12)],
    ) {
        check_parse_server(&argument);
    }

    #[test]
    fn parse_server_round_trips_prio_and_name(
        prio in proptest::option::of(any::<u16>()),
        name in server_name(),
    ) {
        let argument = match prio {
            Some(prio) => format!("{prio}:{name}"),
            None => name.clone(),
        };
        let server = parse_server(&argument).map_err(|e| TestCaseError::fail(e.to_string()))?;
        if prio.is_some() && ip_literal(&argument).is_some() {
            // `5:2001:db8::1` is a whole IPv6 address: never split (documented).
            prop_assert_eq!(server.prio, None);
            prop_assert_eq!(&*server.name, argument.as_str());
        } else {
            prop_assert_eq!(server.prio, prio);
            prop_assert_eq!(&*server.name, name.as_str());
        }
        prop_assert_eq!(server.name.ip(), ip_literal(&server.name));
    }

    #[test]
    fn server_names_follow_the_core_rules(name in prop_oneof![any_text(), text_from(SERVER_PIECES, 200)]) {
        check_name_rules(&name);
    }

    #[test]
    fn same_name_ignores_case_and_trailing_dots(a in host_name(), b in any_text()) {
        prop_assert!(same_name(&a, &a));
        prop_assert!(same_name(&a, &a.to_ascii_uppercase()));
        let dotted = format!("{a}.");
        prop_assert!(same_name(&a, &dotted));
        prop_assert_eq!(same_name(&a, &b), same_name(&b, &a));
        prop_assert!(same_name(&b, &b));
    }
}
