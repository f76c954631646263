//! The shared resolver's pure parts (`smtp/resolve.rs`): IP literals and
//! the Happy Eyeballs address order.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use proptest::prelude::*;

use smtpbox::names::ip_literal;
use smtpbox::smtp::resolve::{Host, interleave_families};

use crate::checks::server_args::check_host;
use crate::servers::{SERVER_PIECES, server_name};
use crate::{any_text, config, ip_addr, text_from};

proptest! {
    #![proptest_config(config())]

    #[test]
    fn host_parse_reads_literals_and_keeps_names(text in prop_oneof![any_text(), server_name(), text_from(SERVER_PIECES, 6)]) {
        check_host(&text);
    }

    #[test]
    fn ip_literals_round_trip(ip in ip_addr()) {
        // (how the address is written, what ip_literal makes of it)
        for (written, expected) in [
            (ip.to_string(), Some(ip)),
            (format!("[{ip}]"), Some(ip)),
            (format!("[{ip}"), None),
            (format!("[[{ip}]]"), None),
        ] {
            prop_assert_eq!(ip_literal(&written), expected, "{:?}", written);
        }
        prop_assert_eq!(Host::parse(&format!("[{ip}]")), Host::Ip(ip));
    }

    #[test]
    fn interleave_families_alternates_a_permutation(
        input in prop::collection::vec(
            prop_oneof![
                (any::<Ipv4Addr>(), 0u16..3).prop_map(SocketAddr::from),
                (any::<Ipv6Addr>(), 0u16..3).prop_map(SocketAddr::from),
                Just(SocketAddr::from(([127, 0, 0, 1], 25))),
            ],
            0..12,
        ),
    ) {
        let output = interleave_families(&input);
        let mut sorted_in = input.clone();
        let mut sorted_out = output.clone();
        sorted_in.sort();
        sorted_out.sort();
        prop_assert_eq!(sorted_out, sorted_in, "not a permutation");
        let of = |list: &[SocketAddr], v6: bool| -> Vec<SocketAddr> {
            list.iter().filter(|a| a.is_ipv6() == v6).copied().collect()
        };
        prop_assert_eq!(of(&output, true), of(&input, true), "v6 order changed");
        prop_assert_eq!(of(&output, false), of(&input, false), "v4 order changed");
        if let Some(first) = input.first() {
            let both = of(&input, true).len().min(of(&input, false).len());
            for (i, address) in output.iter().take(2 * both).enumerate() {
                let expected_v6 = (i % 2 == 0) == first.is_ipv6();
                prop_assert_eq!(address.is_ipv6(), expected_v6, "position {}", i);
            }
        }
    }
}
