//! `ETRN_HOSTS` values and the ETRN argument / server name validators.
//!
//! Every accepted group passes the validators, no client carries white
//! space or a control character, and the accepted groups written back
//! (`server[:client,...]`, space separated) parse to the same groups.
#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use smtpbox::etrn::etrn_hosts::{
    Group, MAX_NAME_OCTETS, parse, validate_etrn_argument, validate_server_name,
};

fuzz_target!(|data: &[u8]| {
    let value = String::from_utf8_lossy(data);
    let (groups, malformed) = parse(&value);
    assert_eq!(
        groups.len() + malformed.len(),
        value.split_whitespace().count()
    );
    for group in &groups {
        assert_eq!(validate_server_name(&group.server), Ok(()));
        for client in &group.clients {
            assert_eq!(validate_etrn_argument(client), Ok(()));
            assert!(!client.chars().any(|c| c.is_whitespace() || c.is_control()));
        }
    }
    for bad in &malformed {
        assert!(!bad.text.is_empty() && !bad.text.contains(char::is_whitespace));
        let shown = bad.to_string();
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
    }
    let rewritten: Vec<String> = groups.iter().map(render).collect();
    let (again, rejected) = parse(&rewritten.join(" "));
    assert_eq!(again, groups);
    assert!(rejected.is_empty(), "{rejected:?}");

    check_validators(&value);
    for token in value.split_whitespace().flat_map(|t| t.split([':', ','])) {
        check_validators(token);
    }
});

fn render(group: &Group) -> String {
    if group.clients.is_empty() {
        group.server.clone()
    } else {
        format!("{}:{}", group.server, group.clients.join(","))
    }
}

/// The validators accept exactly what their rules say.
fn check_validators(text: &str) {
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
