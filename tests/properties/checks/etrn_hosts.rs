//! What `ETRN_HOSTS` parsing promises (its names follow the core's rules,
//! checked by `names.rs` beside this file), checked once for the `etrn_hosts` fuzz target (which includes
//! this file by path) and the property tests of `etrn_hosts.rs`.
//! Proptest-free: plain `assert!`s.

use smtpbox::etrn::etrn_hosts::{Group, parse};

/// A group as written in `ETRN_HOSTS`: `server[:client,...]`.
pub fn render_group(group: &Group) -> String {
    if group.clients.is_empty() {
        group.server.to_string()
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
        // the newtypes guarantee the rules; nothing to send is blank
        assert!(!group.server.contains(char::is_whitespace));
        for client in &group.clients {
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
