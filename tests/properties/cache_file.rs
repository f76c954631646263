//! smtpdcheck's result cache file (`cache.rs`): `parse` and `render`.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};

use proptest::prelude::*;

use smtpbox::smtpdcheck::cache::{self, Entry};

use crate::checks::cache_file::{HEADER, MAX_ENTRIES, check_parse};
use crate::{any_text, config, config_with_cases, one_of, text_from};

/// Addresses as the resolver gives them: v4, v6 with or without a scope
/// (flowinfo is not part of the file format).
fn socket_addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<Ipv4Addr>(), any::<u16>()).prop_map(SocketAddr::from),
        (
            any::<Ipv6Addr>(),
            any::<u16>(),
            prop_oneof![Just(0u32), any::<u32>()]
        )
            .prop_map(|(ip, port, scope)| SocketAddr::V6(SocketAddrV6::new(ip, port, 0, scope))),
    ]
}

fn entries(max: usize) -> impl Strategy<Value = HashMap<SocketAddr, Entry>> {
    prop::collection::hash_map(
        socket_addr(),
        (any::<bool>(), any::<u64>()).prop_map(|(up, at_ms)| Entry { up, at_ms }),
        0..max,
    )
}

/// Addresses, states, times, then separators and stray bytes.
#[rustfmt::skip]
const CACHE_PIECES: &[&str] = &[
    "127.0.0.1:25", "[::1]:25", "[fe80::1%2]:25", "1.2.3.4:99999",
    "up", "down",
    "5", "18446744073709551615", "18446744073709551616", "-1",
    " ", "\n", "\r\n", "#", "x",
];

/// Picks a well-formed field six times in seven, a damaged one otherwise.
fn mostly<T: std::fmt::Debug + Clone + 'static>(
    good: impl Strategy<Value = T> + 'static,
    bad: impl Strategy<Value = T> + 'static,
) -> impl Strategy<Value = T> {
    prop_oneof![6 => good, 1 => bad]
}

/// Cache lines, mostly well formed, some damaged.
fn cache_body() -> impl Strategy<Value = String> {
    let address = mostly(
        socket_addr().prop_map(|a| a.to_string()),
        one_of(&["1.2.3.4", "[::1]", "1.2.3.4:99999", "", "[fe80::1%x]:25"]),
    );
    let state = mostly(one_of(&["up", "down"]), one_of(&["Up", "sideways", ""]));
    let ms = mostly(
        any::<u64>().prop_map(|ms| ms.to_string()),
        one_of(&["", "-1", "+7", "18446744073709551616", "1e3"]),
    );
    let tail = mostly(one_of(&["", "\r"]), one_of(&[" ", " extra", "  "]));
    let line = prop_oneof![
        6 => (address, state, ms, tail)
            .prop_map(|(address, state, ms, tail)| format!("{address} {state} {ms}{tail}")),
        1 => text_from(CACHE_PIECES, 8),
        1 => Just(HEADER.to_owned()),
    ];
    prop::collection::vec(line, 0..24).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn cache_render_then_parse_round_trips(entries in entries(40)) {
        let text = cache::render(&entries);
        prop_assert!(text.starts_with(HEADER));
        prop_assert_eq!(cache::parse(&text), entries);
    }

    #[test]
    fn cache_parse_never_panics_and_is_stable(
        body in prop_oneof![any_text(), text_from(CACHE_PIECES, 60), cache_body()],
        with_header in any::<bool>(),
    ) {
        let text = if with_header { format!("{HEADER}\n{body}") } else { body.clone() };
        check_parse(&text);
    }
}

proptest! {
    // Over a thousand entries a case: fewer cases.
    #![proptest_config(config_with_cases(16))]

    #[test]
    fn cache_render_keeps_the_newest_entries(entries in entries(MAX_ENTRIES + 80)) {
        let kept = cache::parse(&cache::render(&entries));
        prop_assert_eq!(kept.len(), entries.len().min(MAX_ENTRIES));
        let oldest_kept = kept.values().map(|e| e.at_ms).min().unwrap_or(u64::MAX);
        for (address, entry) in &entries {
            match kept.get(address) {
                Some(found) => prop_assert_eq!(found, entry),
                None => prop_assert!(entry.at_ms <= oldest_kept),
            }
        }
    }
}
