//! Host names, IP literals and ETRN arguments: what may reach the resolver
//! or an SMTP command line, checked by one set of rules for every applet.
//!
//! The rules keep CR/LF and every other control or blank character out of
//! the dialogue (command injection), bound the length to a domain name's,
//! and keep to ASCII (DNS and SMTP want A-labels: a U-label is a typo or
//! needs its `xn--` form). A `[...]` literal must hold exactly an IP
//! address. Callers that rely on the check take the newtypes.

use std::borrow::Borrow;
use std::fmt;
use std::net::IpAddr;
use std::ops::Deref;

/// RFC 1035 §2.3.4: the longest domain name, in octets; also the longest
/// ETRN argument we send.
pub const MAX_NAME_OCTETS: usize = 255;

/// Why a name or argument is refused; reads as the end of a sentence
/// (`invalid server-host 'x y': server name contains white space ...`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameError {
    Empty(&'static str),
    TooLong(&'static str),
    BlankOrControl(&'static str, char),
    NotAscii(&'static str),
    UnclosedBracket,
    NotAnAddress(String),
    BracketInName,
    NothingAfter(String),
    MoreThanOnePrefix,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Empty(what) => write!(f, "empty {what}"),
            NameError::TooLong(what) => write!(f, "{what} is over {MAX_NAME_OCTETS} octets"),
            NameError::BlankOrControl(what, bad) => {
                write!(
                    f,
                    "{what} contains white space or control character {bad:?}"
                )
            }
            NameError::NotAscii(what) => write!(f, "{what} is not ASCII (write xn-- names)"),
            NameError::UnclosedBracket => f.write_str("'[' is not closed by a final ']'"),
            NameError::NotAnAddress(inner) => {
                write!(f, "'[{inner}]' does not hold an IP address")
            }
            NameError::BracketInName => f.write_str("'[' or ']' inside a name"),
            NameError::NothingAfter(prefix) => write!(f, "nothing follows '{prefix}'"),
            NameError::MoreThanOnePrefix => f.write_str("more than one '@' or '#'"),
        }
    }
}

impl std::error::Error for NameError {}

/// A refused text as an error message shows it (`invalid server 'x y':
/// ...`): in single quotes and escaped as Rust escapes a string, so that
/// no control character of it reaches a terminal or a log.
pub struct Quoted<'a>(pub &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}'", self.0.escape_debug())
    }
}

/// A server to look up or connect to: a host name, a bare IP address or a
/// whole `[address]` literal.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HostName(String);

impl HostName {
    /// Checks `text` as a server name.
    pub fn parse(text: &str) -> Result<HostName, NameError> {
        check_characters(text, "server name")?;
        match text.strip_prefix('[') {
            Some(after_open) => {
                let inner = after_open
                    .strip_suffix(']')
                    .ok_or(NameError::UnclosedBracket)?;
                inner
                    .parse::<IpAddr>()
                    .map_err(|_| NameError::NotAnAddress(inner.to_owned()))?;
            }
            None if text.contains(['[', ']']) => return Err(NameError::BracketInName),
            None => {}
        }
        Ok(HostName(text.to_owned()))
    }

    /// The address when the name is an IP literal, bare or bracketed.
    pub fn ip(&self) -> Option<IpAddr> {
        ip_literal(&self.0)
    }

    /// The name without the root's trailing dot (`d.test.` is `d.test`;
    /// the root itself stays `.`).
    pub fn without_root_dot(&self) -> HostName {
        match self.0.trim_end_matches('.') {
            "" => self.clone(),
            name => HostName(name.to_owned()),
        }
    }
}

/// One ETRN argument (RFC 1985 §3): `name`, `@domain` or `#queue`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EtrnArgument(String);

impl EtrnArgument {
    /// Checks `text` as an ETRN argument.
    pub fn parse(text: &str) -> Result<EtrnArgument, NameError> {
        check_characters(text, "ETRN argument")?;
        match text.strip_prefix(['@', '#']) {
            Some("") => Err(NameError::NothingAfter(text.to_owned())),
            Some(rest) if rest.starts_with(['@', '#']) => Err(NameError::MoreThanOnePrefix),
            _ => Ok(EtrnArgument(text.to_owned())),
        }
    }
}

/// Both newtypes read as the text they checked.
macro_rules! checked_text {
    ($type:ty) => {
        impl Deref for $type {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }
        impl Borrow<str> for $type {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl PartialEq<str> for $type {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
        impl PartialEq<&str> for $type {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

checked_text!(HostName);
checked_text!(EtrnArgument);

/// The address in an IP literal, bare (`::1`) or in brackets (`[::1]`).
pub fn ip_literal(text: &str) -> Option<IpAddr> {
    let inner = text
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(text);
    inner.parse().ok()
}

/// Whether two host names are the same name (DNS names are
/// case-insensitive, RFC 4343; trailing dots change nothing).
pub fn same_name(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

/// Whether two server names name the same host: IP literals by their
/// address (`::1`, `[::1]` and `[0:0::1]` alike), names as [`same_name`].
pub fn same_host(a: &str, b: &str) -> bool {
    match (ip_literal(a), ip_literal(b)) {
        (Some(a), Some(b)) => a.to_canonical() == b.to_canonical(),
        (None, None) => same_name(a, b),
        _ => false,
    }
}

/// The rules every name and argument share.
fn check_characters(text: &str, what: &'static str) -> Result<(), NameError> {
    let is_bad = |c: &char| c.is_whitespace() || c.is_control();
    if text.is_empty() {
        Err(NameError::Empty(what))
    } else if text.len() > MAX_NAME_OCTETS {
        Err(NameError::TooLong(what))
    } else if let Some(bad) = text.chars().find(is_bad) {
        Err(NameError::BlankOrControl(what, bad))
    } else if !text.is_ascii() {
        Err(NameError::NotAscii(what))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_text_is_quoted_and_escaped() {
        assert_eq!(Quoted("x y").to_string(), "'x y'");
        assert_eq!(
            Quoted("a\r\nb\u{1b}[0m").to_string(),
            "'a\\r\\nb\\u{1b}[0m'"
        );
    }

    #[test]
    fn host_names() {
        for good in ["mx.example.org", "[::1]", "[192.0.2.1]", "::1", "localhost"] {
            assert_eq!(
                HostName::parse(good).map(|n| n.to_string()),
                Ok(good.to_owned())
            );
        }
        for (bad, why) in [
            ("", "empty server name"),
            (
                "a b",
                "server name contains white space or control character ' '",
            ),
            (
                "mx\r\nQUIT",
                "server name contains white space or control character '\\r'",
            ),
            ("café", "server name is not ASCII (write xn-- names)"),
            ("[::1", "'[' is not closed by a final ']'"),
            ("[a.b]", "'[a.b]' does not hold an IP address"),
            ("x[::1]", "'[' or ']' inside a name"),
            ("::1]", "'[' or ']' inside a name"),
        ] {
            assert_eq!(
                HostName::parse(bad).map_err(|e| e.to_string()),
                Err(why.to_owned()),
                "{bad:?}"
            );
        }
        assert!(HostName::parse(&"a".repeat(MAX_NAME_OCTETS)).is_ok());
        assert_eq!(
            HostName::parse(&"a".repeat(MAX_NAME_OCTETS + 1)),
            Err(NameError::TooLong("server name"))
        );
    }

    #[test]
    fn literals() {
        let one: IpAddr = "::1".parse().expect("ip");
        assert_eq!(ip_literal("[::1]"), Some(one));
        assert_eq!(ip_literal("::1"), Some(one));
        assert_eq!(ip_literal("[::1"), None);
        assert_eq!(
            HostName::parse("[127.0.0.1]").map(|n| n.ip()),
            Ok(Some([127, 0, 0, 1].into()))
        );
        assert_eq!(HostName::parse("mx.test").map(|n| n.ip()), Ok(None));
    }

    #[test]
    fn etrn_arguments() {
        for good in ["example.org", "@example.org", "#queue", "[192.0.2.1]", "a"] {
            assert!(EtrnArgument::parse(good).is_ok(), "{good}");
        }
        let injection = "x\r\nMAIL FROM:<a@b>";
        for bad in [
            "", "@", "#", "@@x", "#@x", "a b", "a\tb", injection, "x\0", "é",
        ] {
            assert!(EtrnArgument::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            EtrnArgument::parse("@").map_err(|e| e.to_string()),
            Err("nothing follows '@'".to_owned())
        );
    }

    #[test]
    fn names_compare_without_case_or_trailing_dot() {
        assert!(same_name("S2.Domain.com.", "s2.domain.com"));
        assert!(!same_name("s2.domain.com", "s2.domain.co"));
    }

    #[test]
    fn hosts_compare_addresses_bare_or_bracketed() {
        let same = [
            ("::1", "[::1]"),
            ("[0:0::1]", "::1"),
            ("[192.0.2.1]", "192.0.2.1"),
            ("::ffff:192.0.2.1", "192.0.2.1"),
            ("MX.example.", "mx.example"),
        ];
        for (a, b) in same {
            assert!(same_host(a, b), "{a} {b}");
        }
        let different = [
            ("::1", "::2"),
            ("[::1]", "localhost"),
            ("192.0.2.1", "192.0.2.10"),
        ];
        for (a, b) in different {
            assert!(!same_host(a, b), "{a} {b}");
        }
    }
}
