//! What `ETRN_HOSTS` parsing and the ETRN argument / server name validators
//! promise, checked once for the `etrn_hosts` fuzz target (which includes
//! this file by path) and the property tests of `etrn_hosts.rs`.
//! Proptest-free: plain `assert!`s.

use std::net::IpAddr;

use smtpbox::etrn::etrn_hosts::{
    Group, MAX_NAME_OCTETS, parse, validate_etrn_argument, validate_server_name,
};

/// A group as written in `ETRN_HOSTS`: `server[:client,...]`.
pub fn render_group(group: &Group) -> String {
    if group.clients.is_empty() {
        group.server.clone()
    } else {
        format!("{}:{}", group.server, group.clients.join(","))
    }
}

/// Parses an `ETRN_HOSTS` value: one group or one complaint a word, every
/// group valid, every complaint one harmless line, and the accepted groups
/// written back read back the same.
pub fn check_parse(value: &str) {
    let (groups, malformed) = parse(value);
    assert_eq!(
        groups.len() + malformed.len(),
        value.split_whitespace().count()
    );
    for group in &groups {
        assert_eq!(validate_server_name(&group.server), Ok(()));
        for client in &group.clients {
            assert_eq!(validate_etrn_argument(client), Ok(()));
            assert!(
                !client.chars().any(|c| c.is_whitespace() || c.is_control()),
                "{client:?}"
            );
        }
    }
    for bad in &malformed {
        assert!(!bad.text.is_empty() && !bad.text.contains(char::is_whitespace));
        assert!(!bad.reason.is_empty());
        let shown = bad.to_string();
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
    }
    let rewritten: Vec<String> = groups.iter().map(render_group).collect();
    let (again, rejected) = parse(&rewritten.join(" "));
    assert_eq!(again, groups);
    assert!(rejected.is_empty(), "{rejected:?}");
}

/// The validators accept exactly what their rules say.
pub fn check_validators(text: &str) {
    let basic = !text.is_empty()
        && text.len() <= MAX_NAME_OCTETS
        && text.is_ascii()
        && !text.chars().any(|c| c.is_whitespace() || c.is_control());
    let argument_ok = basic
        && match text.strip_prefix(['@', '#']) {
            Some(rest) => !rest.is_empty() && !rest.starts_with(['@', '#']),
            None => true,
        };
    assert_eq!(
        validate_etrn_argument(text).is_ok(),
        argument_ok,
        "{text:?}"
    );
    let server_ok = basic
        && match text.strip_prefix('[') {
            Some(rest) => rest
                .strip_suffix(']')
                .is_some_and(|inner| inner.parse::<IpAddr>().is_ok()),
            None => !text.contains(['[', ']']),
        };
    assert_eq!(validate_server_name(text).is_ok(), server_ok, "{text:?}");
}
