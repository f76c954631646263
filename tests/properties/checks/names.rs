//! What the core's name rules (`smtpbox::names`) promise, checked once for
//! the `etrn_hosts` and `server_args` fuzz targets (which include this file
//! by path) and the property tests `servers` and `etrn_hosts`: a server
//! name and an ETRN argument are accepted exactly when their rules say.
//! Proptest-free: plain `assert!`s.

use std::net::IpAddr;

use smtpbox::names::{EtrnArgument, HostName, MAX_NAME_OCTETS};

/// `HostName` and `EtrnArgument` accept exactly what their rules say,
/// written here independently of `names.rs`.
pub fn check_name_rules(text: &str) {
    let basic = !text.is_empty()
        && text.len() <= MAX_NAME_OCTETS
        && text.is_ascii()
        && !text.chars().any(|c| c.is_whitespace() || c.is_control());
    let argument_ok = basic
        && match text.strip_prefix(['@', '#']) {
            Some(rest) => !rest.is_empty() && !rest.starts_with(['@', '#']),
            None => true,
        };
    assert_eq!(EtrnArgument::parse(text).is_ok(), argument_ok, "{text:?}");
    let server_ok = basic
        && match text.strip_prefix('[') {
            Some(rest) => rest
                .strip_suffix(']')
                .is_some_and(|inner| inner.parse::<IpAddr>().is_ok()),
            None => !text.contains(['[', ']']),
        };
    assert_eq!(HostName::parse(text).is_ok(), server_ok, "{text:?}");
    if let (Ok(name), true) = (HostName::parse(text), server_ok) {
        // the check keeps the text as given
        assert_eq!(&*name, text);
    }
}
