//! The `[prio:]server` arguments (pure).
//!
//! The prio prefix is the MX preference the avenger `dns mx` command prints
//! (RFC 1035 §3.3.9: a 16-bit number). An argument that is a whole IP
//! address is never split at its colons, so `::1` is a server and
//! `10:[::1]` is prio 10 with server `[::1]`. The server itself is checked
//! by the core's name rules ([`HostName`]).

use std::fmt;

use crate::names::{HostName, NameError, Quoted, ip_literal};
use crate::smtp::mx::MxHost;

/// One server to check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    /// MX preference, when given.
    pub prio: Option<u16>,
    /// The server exactly as given, without the prio: what is printed.
    pub name: HostName,
}

/// An MX host is checked as `PRIO:EXCHANGE`, as Mail Avenger's
/// `dns mx` would have listed it.
impl From<MxHost> for Server {
    fn from(host: MxHost) -> Server {
        Server {
            prio: Some(host.preference),
            name: host.name,
        }
    }
}

/// A server argument that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadServer {
    pub argument: String,
    pub reason: BadServerReason,
}

/// Why a server argument cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BadServerReason {
    /// The prio is not a number from 0 to 65535.
    Prio,
    /// The server name breaks the core's name rules.
    Name(NameError),
}

impl fmt::Display for BadServerReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadServerReason::Prio => f.write_str("priority must be 0 to 65535"),
            BadServerReason::Name(error) => write!(f, "{error}"),
        }
    }
}

impl fmt::Display for BadServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let argument = Quoted(&self.argument);
        write!(f, "invalid server {argument}: {}", self.reason)
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
                .ok_or_else(|| bad(BadServerReason::Prio))?;
            (Some(prio), name)
        }
        None => (None, argument),
    };
    let name = HostName::parse(name).map_err(|error| bad(BadServerReason::Name(error)))?;
    Ok(Server { prio, name })
}

/// Splits `10:name` into its prio text and server; `None` when there is
/// no prio (no colon, or the whole argument is an IP address).
fn split_prio(argument: &str) -> Option<(&str, &str)> {
    if ip_literal(argument).is_some() {
        return None;
    }
    argument.split_once(':')
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
        assert_eq!(&*s.name, "mx1.example.com");
        assert_eq!(s.name.ip(), None);
        assert_eq!(server("mx1.example.com").prio, None);
        assert_eq!(server("0:a").prio, Some(0));
        assert_eq!(server("65535:a").prio, Some(65535));
    }

    #[test]
    fn whole_ip_addresses_are_never_split() {
        for literal in ["::1", "10::1", "2001:db8::25", "127.0.0.2", "[::1]"] {
            let s = server(literal);
            assert_eq!(s.prio, None, "{literal}");
            assert_eq!(&*s.name, literal);
            assert!(s.name.ip().is_some(), "{literal}");
        }
    }

    #[test]
    fn prio_before_a_literal() {
        let s = server("10:[::1]");
        assert_eq!(s.prio, Some(10));
        assert_eq!(&*s.name, "[::1]");
        assert_eq!(s.name.ip(), Some("::1".parse().expect("ip")));
        let s = server("20:127.0.0.3");
        assert_eq!((s.prio, &*s.name), (Some(20), "127.0.0.3"));
        let s = server("5:[2001:db8::1]");
        assert_eq!((s.prio, &*s.name), (Some(5), "[2001:db8::1]"));
        // A whole IPv6 address wins over a prio reading.
        let s = server("5:2001:db8::1");
        assert_eq!((s.prio, &*s.name), (None, "5:2001:db8::1"));
    }

    #[test]
    fn bad_arguments_are_refused_with_a_reason() {
        let prio = "priority must be 0 to 65535";
        for (argument, reason) in [
            ("", "empty server name"),
            ("10:", "empty server name"),
            ("abc:mx", prio),
            ("-1:mx", prio),
            ("+5:mx", prio),
            ("65536:mx", prio),
            (":mx", prio),
            (
                "10:mx one",
                "server name contains white space or control character ' '",
            ),
            (
                "mx\r\nQUIT",
                "server name contains white space or control character '\\r'",
            ),
            ("10:[::1", "'[' is not closed by a final ']'"),
        ] {
            assert_eq!(
                parse_server(argument).map_err(|e| e.reason.to_string()),
                Err(reason.to_owned()),
                "{argument:?}"
            );
        }
        let long = format!("10:{}", "a".repeat(256));
        assert!(parse_server(&long).is_err());
    }
}
