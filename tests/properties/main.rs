//! Property tests for every parser of the project: each one never panics on
//! arbitrary input and either round-trips what it accepts or rejects cleanly.
//!
//! One module a parser (below). The cargo-fuzz targets in `fuzz/` check the
//! same properties on far more inputs (see `fuzz/README.md`); the oracles and
//! invariant checks a target shares with these tests live once, in
//! `checks/<target>.rs`, which the target includes by path. Here they run in
//! `cargo test`, at 256 cases a property, in a few seconds.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

#[path = "../support/mod.rs"]
#[macro_use]
mod support;

/// Shared with the fuzz targets of the same names: proptest-free code whose
/// `assert!`s proptest reports and shrinks like its own `prop_assert!`s.
mod checks {
    pub mod cache_file;
    pub mod dane;
    pub mod defaults_file;
    pub mod etrn_hosts;
    pub mod mta_sts;
    pub mod names;
    pub mod netrc;
    pub mod opensmtpd;
    pub mod policy;
    pub mod reply_stream;
    pub mod sendmail_cf;
    pub mod server_args;
    pub mod socketmap;
}

mod board;
mod cache_file;
mod dane;
mod defaults_file;
mod etrn_hosts;
mod mta_sts;
mod netrc;
mod opensmtpd;
mod policy;
mod reply;
mod reply_stream;
mod resolve;
mod sendmail_cf;
mod servers;
mod socketmap;

/// 256 cases a property; no regression files are written into the tree (a
/// failing case is printed, minimised, in the test output instead).
fn config() -> ProptestConfig {
    config_with_cases(256)
}

fn config_with_cases(cases: u32) -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(cases)
    }
}

/// Text made of the given pieces: reaches deep into a parser far more often
/// than uniformly random characters do.
fn text_from(pieces: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(pieces), 0..max).prop_map(|v| v.concat())
}

/// Two inputs a case for a stream reader: arbitrary text or text made of
/// `pieces` (at most `max` of them), and arbitrary bytes.
fn reader_inputs(
    pieces: &'static [&'static str],
    max: usize,
) -> impl Strategy<Value = [Vec<u8>; 2]> {
    let text = prop_oneof![any_text(), text_from(pieces, max)];
    let bytes = prop::collection::vec(any::<u8>(), 0..300);
    (text, bytes).prop_map(|(text, bytes)| [text.into_bytes(), bytes])
}

/// One of `choices`, owned.
fn one_of(choices: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::sample::select(choices).prop_map(str::to_owned)
}

/// Arbitrary text, line breaks included.
fn any_text() -> impl Strategy<Value = String> {
    "(?s).{0,200}"
}

/// A DNS-looking host name, mixed case, optionally with a trailing dot.
fn host_name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9]([A-Za-z0-9-]{0,10}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,10}[A-Za-z0-9])?){0,3}\\.?"
}

fn ip_addr() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<Ipv4Addr>().prop_map(IpAddr::V4),
        any::<Ipv6Addr>().prop_map(IpAddr::V6),
        // the interesting corners: loopback, mapped, unspecified
        prop::sample::select(vec![
            "::1",
            "::",
            "::ffff:192.0.2.1",
            "127.0.0.1",
            "0.0.0.0",
            "2001:db8::25",
        ])
        .prop_map(|s| s.parse().expect("literal")),
    ]
}
