//! What the netrc(5) parser promises (`smtpbox::netrc`), checked once for
//! the `netrc` fuzz target (which includes this file by path) and the
//! property tests of `netrc.rs`. Proptest-free: plain `assert!`s.

use smtpbox::netrc::{Entry, Machine, Netrc, Secret, parse};

/// `token` as a double-quoted netrc token (curl's escapes).
pub fn quote(token: &str) -> String {
    let mut quoted = String::from("\"");
    for c in token.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// The entries written back as netrc text, every value quoted, one entry
/// a line.
pub fn render(netrc: &Netrc) -> String {
    let mut text = String::new();
    for entry in &netrc.entries {
        match &entry.machine {
            Machine::Name(name) => text.push_str(&format!("machine {}", quote(name))),
            Machine::Default => text.push_str("default"),
        }
        if let Some(login) = &entry.login {
            text.push_str(&format!(" login {}", quote(login)));
        }
        if let Some(password) = &entry.password {
            text.push_str(&format!(" password {}", quote(password.expose())));
        }
        if let Some(account) = &entry.account {
            text.push_str(&format!(" account {}", quote(account.expose())));
        }
        text.push('\n');
    }
    text
}

/// An entry without its line number, secrets exposed, for comparisons.
pub type Fields = (Machine, Option<String>, Option<String>, Option<String>);

pub fn fields(entry: &Entry) -> Fields {
    let exposed = |secret: &Option<Secret>| secret.as_ref().map(|s| s.expose().to_owned());
    (
        entry.machine.clone(),
        entry.login.clone(),
        exposed(&entry.password),
        exposed(&entry.account),
    )
}

/// Parses `text` and checks the result: an error names a line of the
/// text; entries start on increasing lines of it, at most one is
/// `default` and it is the last, and the entries written back read back
/// the same. Gives what parsed.
pub fn check_parse(text: &str) -> Option<Netrc> {
    let lines = text.matches('\n').count() + 1;
    let netrc = match parse(text) {
        Ok(netrc) => netrc,
        Err(error) => {
            assert!(error.line >= 1 && error.line <= lines, "{error:?}");
            assert!(!error.reason.is_empty());
            let shown = error.to_string();
            assert!(!shown.contains('\n'), "{shown:?}");
            return None;
        }
    };
    let mut previous = 0;
    for entry in &netrc.entries {
        assert!(entry.line >= previous && entry.line <= lines, "{entry:?}");
        previous = entry.line;
    }
    let defaults = netrc
        .entries
        .iter()
        .filter(|e| e.machine == Machine::Default);
    assert!(defaults.count() <= 1);
    if let Some(position) = netrc
        .entries
        .iter()
        .position(|e| e.machine == Machine::Default)
    {
        assert_eq!(position, netrc.entries.len() - 1);
    }
    let rendered = render(&netrc);
    let again = parse(&rendered).unwrap_or_else(|e| panic!("rendered {rendered:?}: {e}"));
    let all = |n: &Netrc| n.entries.iter().map(fields).collect::<Vec<_>>();
    assert_eq!(all(&again), all(&netrc), "{rendered:?}");
    Some(netrc)
}

/// How `lookup` tells hosts apart, written out independently of
/// `smtpbox::names::same_host`: an IP literal, bare or in brackets, is its
/// address (an IPv4-mapped IPv6 address is the IPv4 one); any other name
/// is itself without trailing dots, in ASCII lower case (RFC 4343).
#[derive(PartialEq)]
enum HostKey {
    Address(std::net::IpAddr),
    Name(Vec<u8>),
}

fn host_key(host: &str) -> HostKey {
    let inner = host
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(host);
    match inner.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => HostKey::Address(v4.into()),
            None => HostKey::Address(v6.into()),
        },
        Ok(address) => HostKey::Address(address),
        Err(_) => HostKey::Name(
            host.trim_end_matches('.')
                .bytes()
                .map(|b| b.to_ascii_lowercase())
                .collect(),
        ),
    }
}

/// `lookup(host)` is the first `machine` naming the same host (see
/// [`host_key`]), else the `default` entry, else nothing.
pub fn check_lookup(netrc: &Netrc, host: &str) {
    let named = netrc.entries.iter().find(|e| match &e.machine {
        Machine::Name(name) => host_key(name) == host_key(host),
        Machine::Default => false,
    });
    let expected = named.or_else(|| netrc.entries.iter().find(|e| e.machine == Machine::Default));
    let found = netrc.lookup(host);
    assert!(
        match (found, expected) {
            (Some(a), Some(b)) => std::ptr::eq(a, b),
            (None, None) => true,
            _ => false,
        },
        "lookup({host:?}) = {found:?}, expected {expected:?}"
    );
}
