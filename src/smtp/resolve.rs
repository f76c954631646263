//! Host names to addresses, through the system resolver (so /etc/hosts and
//! nsswitch apply), and the RFC 8305 order in which to try them.

use std::net::{IpAddr, SocketAddr};

/// A server as given: an IP literal (used without a lookup) or a name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    Ip(IpAddr),
    Name(String),
}

impl Host {
    /// Reads `192.0.2.1`, `::1`, `[::1]`, `[192.0.2.1]` as literals and
    /// anything else as a name.
    pub fn parse(text: &str) -> Host {
        match ip_literal(text) {
            Some(ip) => Host::Ip(ip),
            None => Host::Name(text.to_owned()),
        }
    }
}

/// The address in an IP literal, bare or in brackets.
pub fn ip_literal(text: &str) -> Option<IpAddr> {
    let inner = text
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(text);
    inner.parse().ok()
}

/// Every address of `host` on `port`, in the resolver's order, without
/// duplicates. A literal needs no lookup. Never blocks the runtime: tokio
/// runs `getaddrinfo` on a blocking thread (callers bound it with a
/// deadline; the runtime never waits for that thread at exit).
pub async fn resolve(host: &Host, port: u16) -> Result<Vec<SocketAddr>, String> {
    let name = match host {
        Host::Ip(ip) => return Ok(vec![SocketAddr::new(*ip, port)]),
        Host::Name(name) => name,
    };
    let found = tokio::net::lookup_host((name.as_str(), port))
        .await
        .map_err(|err| err.to_string())?;
    let mut addresses: Vec<SocketAddr> = Vec::new();
    for address in found {
        if !addresses.contains(&address) {
            addresses.push(address);
        }
    }
    if addresses.is_empty() {
        return Err("no address".to_owned());
    }
    Ok(addresses)
}

/// RFC 8305 §4: alternate address families, starting with the family of
/// the resolver's first choice, keeping the order within each family.
pub fn interleave_families(addresses: &[SocketAddr]) -> Vec<SocketAddr> {
    let Some(first) = addresses.first() else {
        return Vec::new();
    };
    let (mut preferred, mut other): (Vec<SocketAddr>, Vec<SocketAddr>) = addresses
        .iter()
        .partition(|a| a.is_ipv6() == first.is_ipv6());
    preferred.reverse();
    other.reverse();
    let mut ordered = Vec::with_capacity(addresses.len());
    loop {
        match (preferred.pop(), other.pop()) {
            (None, None) => return ordered,
            (a, b) => ordered.extend(a.into_iter().chain(b)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().expect("test literal")
    }

    #[test]
    fn literals_need_no_lookup() {
        assert_eq!(Host::parse("[::1]"), Host::Ip("::1".parse().expect("ip")));
        assert_eq!(Host::parse("::1"), Host::Ip("::1".parse().expect("ip")));
        assert_eq!(
            Host::parse("127.0.0.2"),
            Host::Ip("127.0.0.2".parse().expect("ip"))
        );
        assert_eq!(
            Host::parse("[127.0.0.2]"),
            Host::Ip("127.0.0.2".parse().expect("ip"))
        );
        assert_eq!(
            Host::parse("mx.example"),
            Host::Name("mx.example".to_owned())
        );
        assert_eq!(Host::parse("[mx]"), Host::Name("[mx]".to_owned()));
    }

    #[test]
    fn families_alternate_from_the_first_choice() {
        let input = [
            addr("[2001:db8::1]:25"),
            addr("[2001:db8::2]:25"),
            addr("[2001:db8::3]:25"),
            addr("192.0.2.1:25"),
        ];
        assert_eq!(
            interleave_families(&input),
            [
                addr("[2001:db8::1]:25"),
                addr("192.0.2.1:25"),
                addr("[2001:db8::2]:25"),
                addr("[2001:db8::3]:25"),
            ]
        );
        let v4_first = [addr("192.0.2.1:25"), addr("[::1]:25"), addr("192.0.2.2:25")];
        assert_eq!(
            interleave_families(&v4_first),
            [addr("192.0.2.1:25"), addr("[::1]:25"), addr("192.0.2.2:25")]
        );
        assert!(interleave_families(&[]).is_empty());
    }
}
