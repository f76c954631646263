//! The `[prio:]server` arguments and the `--stop` target (pure).
//!
//! The prio prefix is the MX preference the avenger `dns mx` command prints
//! (RFC 1035 §3.3.9: a 16-bit number). An argument that is a whole IP
//! address is never split at its colons, so `::1` is a server and
//! `10:[::1]` is prio 10 with server `[::1]`.

use std::fmt;

use crate::smtp::resolve::{Host, ip_literal};

/// RFC 1035 §2.3.4: the longest domain name, in octets.
pub const MAX_NAME_LEN: usize = 255;

/// One server to check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    /// MX preference, when given.
    pub prio: Option<u16>,
    /// The server exactly as given, without the prio: what is printed.
    pub name: String,
    /// What to connect to.
    pub host: Host,
}

/// A server argument that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadServer {
    pub argument: String,
    pub reason: &'static str,
}

impl fmt::Display for BadServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid server '{}': {}",
            self.argument.escape_debug(),
            self.reason
        )
    }
}

impl std::error::Error for BadServer {}

/// Reads one `[prio:]server` argument.
pub fn parse_server(argument: &str) -> Result<Server, BadServer> {
    let bad = |reason| BadServer {
        argument: argument.to_owned(),
        reason,
    };
    let (prio, name) = match split_prio(argument) {
        Some((prio, name)) => {
            // Digits only: Rust would also take "+5", the MX format never has it.
            let digits = !prio.is_empty() && prio.bytes().all(|b| b.is_ascii_digit());
            let prio = prio
                .parse::<u16>()
                .ok()
                .filter(|_| digits)
                .ok_or_else(|| bad("priority must be 0 to 65535"))?;
            (Some(prio), name)
        }
        None => (None, argument),
    };
    check_name(name).map_err(bad)?;
    Ok(Server {
        prio,
        name: name.to_owned(),
        host: Host::parse(name),
    })
}

/// Splits `10:name` into its prio text and server; `None` when there is
/// no prio (no colon, or the whole argument is an IP address).
fn split_prio(argument: &str) -> Option<(&str, &str)> {
    if ip_literal(argument).is_some() {
        return None;
    }
    argument.split_once(':')
}

/// What a server name or `--stop` target must look like before we hand it
/// to the resolver: something, not too long, no blanks or control bytes.
pub fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("empty server name");
    }
    if name.len() > MAX_NAME_LEN {
        return Err("name longer than 255 octets");
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("blank or control character in the name");
    }
    Ok(())
}

/// Whether two host names are the same name (DNS names are
/// case-insensitive; a trailing dot changes nothing).
pub fn same_name(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(argument: &str) -> Server {
        parse_server(argument).expect("valid server argument")
    }

    #[test]
    fn prio_and_name() {
        let s = server("10:mx1.example.com");
        assert_eq!(s.prio, Some(10));
        assert_eq!(s.name, "mx1.example.com");
        assert_eq!(s.host, Host::Name("mx1.example.com".into()));
        assert_eq!(server("mx1.example.com").prio, None);
        assert_eq!(server("0:a").prio, Some(0));
        assert_eq!(server("65535:a").prio, Some(65535));
    }

    #[test]
    fn whole_ip_addresses_are_never_split() {
        for literal in ["::1", "10::1", "2001:db8::25", "127.0.0.2", "[::1]"] {
            let s = server(literal);
            assert_eq!(s.prio, None, "{literal}");
            assert_eq!(s.name, literal);
            assert!(matches!(s.host, Host::Ip(_)), "{literal}");
        }
    }

    #[test]
    fn prio_before_a_literal() {
        let s = server("10:[::1]");
        assert_eq!(s.prio, Some(10));
        assert_eq!(s.name, "[::1]");
        assert_eq!(s.host, Host::Ip("::1".parse().expect("ip")));
        let s = server("20:127.0.0.3");
        assert_eq!((s.prio, s.name.as_str()), (Some(20), "127.0.0.3"));
        let s = server("5:[2001:db8::1]");
        assert_eq!((s.prio, s.name.as_str()), (Some(5), "[2001:db8::1]"));
        // A whole IPv6 address wins over a prio reading.
        let s = server("5:2001:db8::1");
        assert_eq!((s.prio, s.name.as_str()), (None, "5:2001:db8::1"));
    }

    #[test]
    fn bad_arguments_are_refused_with_a_reason() {
        for (argument, reason) in [
            ("", "empty server name"),
            ("10:", "empty server name"),
            ("abc:mx", "priority must be 0 to 65535"),
            ("-1:mx", "priority must be 0 to 65535"),
            ("+5:mx", "priority must be 0 to 65535"),
            ("65536:mx", "priority must be 0 to 65535"),
            (":mx", "priority must be 0 to 65535"),
            ("10:mx one", "blank or control character in the name"),
            ("mx\r\nQUIT", "blank or control character in the name"),
        ] {
            assert_eq!(
                parse_server(argument).map_err(|e| e.reason),
                Err(reason),
                "{argument:?}"
            );
        }
        let long = format!("10:{}", "a".repeat(256));
        assert!(parse_server(&long).is_err());
    }

    #[test]
    fn names_compare_without_case_or_trailing_dot() {
        assert!(same_name("S2.Domain.com.", "s2.domain.com"));
        assert!(!same_name("s2.domain.com", "s2.domain.co"));
    }
}
