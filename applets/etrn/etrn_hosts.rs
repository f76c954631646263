//! Parses the value of `ETRN_HOSTS`: white-space separated `server[:client,...]`
//! groups, as Solaris etrn(1M) reads them (pure). Names and arguments are
//! checked by the core's rules ([`crate::names`]).

use std::fmt;

use crate::names::{EtrnArgument, HostName, Quoted};

/// One server and the names to ask it to flush.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub server: HostName,
    /// Empty means "use every name this host accepts mail for".
    pub clients: Vec<EtrnArgument>,
}

/// A group that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    pub text: String,
    pub reason: String,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (text, reason) = (Quoted(&self.text), &self.reason);
        write!(f, "malformed ETRN_HOSTS group {text}: {reason}")
    }
}

impl std::error::Error for Malformed {}

/// Splits `ETRN_HOSTS` into groups; malformed groups are reported and skipped
/// so that one typo does not stop the flush for every other server.
pub fn parse(value: &str) -> (Vec<Group>, Vec<Malformed>) {
    let mut groups = Vec::new();
    let mut malformed = Vec::new();
    for text in value.split_whitespace() {
        match parse_group(text) {
            Ok(group) => groups.push(group),
            Err(reason) => malformed.push(Malformed {
                text: text.to_owned(),
                reason,
            }),
        }
    }
    (groups, malformed)
}

fn parse_group(text: &str) -> Result<Group, String> {
    let (server, client_list) = split_server_and_clients(text)?;
    let server = HostName::parse(server).map_err(|error| error.to_string())?;
    let clients = match client_list {
        None => Vec::new(),
        Some(list) => parse_client_list(list)?,
    };
    Ok(Group { server, clients })
}

/// Splits at the `:` that ends the server; inside `[...]` colons belong to
/// an IPv6 address, so the split comes after the closing bracket.
fn split_server_and_clients(text: &str) -> Result<(&str, Option<&str>), String> {
    if text.starts_with('[') {
        let Some(close) = text.find(']') else {
            return Err("'[' is not closed by a ']'".to_owned());
        };
        let (server, after) = text.split_at(close + 1);
        return match after.strip_prefix(':') {
            Some(list) => Ok((server, Some(list))),
            None if after.is_empty() => Ok((server, None)),
            None => Err("only ':' may follow ']'".to_owned()),
        };
    }
    match text.split_once(':') {
        None => Ok((text, None)),
        Some((_, list)) if list.contains(':') => Err(AMBIGUOUS_COLONS.to_owned()),
        Some((server, list)) => Ok((server, Some(list))),
    }
}

const AMBIGUOUS_COLONS: &str =
    "more than one ':'; write an IPv6 address in brackets, like [2001:db8::1]";

fn parse_client_list(list: &str) -> Result<Vec<EtrnArgument>, String> {
    if list.is_empty() {
        return Err("':' is not followed by any client".to_owned());
    }
    list.split(',').map(parse_client).collect()
}

fn parse_client(client: &str) -> Result<EtrnArgument, String> {
    if client.is_empty() {
        return Err("empty client in the list (doubled or trailing ',')".to_owned());
    }
    EtrnArgument::parse(client).map_err(|reason| format!("client {}: {reason}", Quoted(client)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Good groups as `server=client+client`, then malformed ones as `!text`.
    fn shown(value: &str) -> String {
        let (groups, malformed) = parse(value);
        let groups = groups.iter().map(|g| {
            let clients: Vec<&str> = g.clients.iter().map(|a| &**a).collect();
            format!("{}={}", g.server, clients.join("+"))
        });
        let malformed = malformed.iter().map(|m| format!("!{}", m.text));
        groups.chain(malformed).collect::<Vec<_>>().join(" ")
    }

    fn reason_for(group: &str) -> String {
        let (_, malformed) = parse(group);
        malformed
            .first()
            .map(|m| m.reason.clone())
            .unwrap_or_default()
    }

    #[test]
    fn solaris_manual_examples() {
        let groups = parse("s1.domain.com:clnt.domain.com s2.domain.com:clnt.domain.com").0;
        let clnt = vec![EtrnArgument::parse("clnt.domain.com").expect("valid")];
        for (group, server) in groups.iter().zip(["s1.domain.com", "s2.domain.com"]) {
            let server = HostName::parse(server).expect("valid");
            assert_eq!(
                group,
                &Group {
                    server,
                    clients: clnt.clone()
                }
            );
        }
        assert_eq!(
            shown("server.domain.com:client1.domain.com,client2.domain.com"),
            "server.domain.com=client1.domain.com+client2.domain.com"
        );
        let both = "server1.domain.com= server2.domain.com=";
        assert_eq!(shown("server1.domain.com server2.domain.com"), both);
        let triple = "s1=c1.1+c1.2 s2=c2.1 s3=c3.1+c3.2+c3.3";
        assert_eq!(shown("s1:c1.1,c1.2 s2:c2.1 s3:c3.1,c3.2,c3.3"), triple);
    }

    #[test]
    fn groups_separators_and_malformed_mixes() {
        let cases = [
            ("\n\ts1:a\t\ts2\n  s3:b,c\r\n", "s1=a s2= s3=b+c"),
            (" \t\n ", ""),
            (
                "s1:@example.org,#queue1,plain.test",
                "s1=@example.org+#queue1+plain.test",
            ),
            (
                "good1 :a s1: s2:a,,b s3:a, good2:c s4:@",
                "good1= good2=c !:a !s1: !s2:a,,b !s3:a, !s4:@",
            ),
            (
                "[::1]:c1,c2 [2001:db8::25] [192.0.2.1]:c3",
                "[::1]=c1+c2 [2001:db8::25]= [192.0.2.1]=c3",
            ),
            ("2001:db8::1 s6:a:b ok", "ok= !2001:db8::1 !s6:a:b"),
            (
                "[::1 [::1]x [host.test] [::1]: a[b] ok",
                "ok= ![::1 ![::1]x ![host.test] ![::1]: !a[b]",
            ),
            (
                "s\u{1}1 s2:c\u{7f} s3:caf\u{e9} s4:#",
                "!s\u{1}1 !s2:c\u{7f} !s3:caf\u{e9} !s4:#",
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(shown(value), expected, "{value:?}");
        }
        let long = "a".repeat(crate::names::MAX_NAME_OCTETS + 1);
        let fits = "a".repeat(crate::names::MAX_NAME_OCTETS);
        let value = format!("{long} s:{long} {fits}:{fits}");
        assert_eq!(shown(&value), format!("{fits}={fits} !{long} !s:{long}"));
    }

    #[test]
    fn reasons_and_display() {
        assert_eq!(reason_for(":a.test"), "empty server name");
        assert_eq!(reason_for("s1:"), "':' is not followed by any client");
        assert_eq!(
            reason_for("s1:a,"),
            "empty client in the list (doubled or trailing ',')"
        );
        assert_eq!(reason_for("2001:db8::1"), AMBIGUOUS_COLONS);
        assert_eq!(reason_for("s:@"), "client '@': nothing follows '@'");
        let bad = Malformed {
            text: "s\u{1b}[2J".into(),
            reason: "why".into(),
        };
        assert_eq!(
            bad.to_string(),
            "malformed ETRN_HOSTS group 's\\u{1b}[2J': why"
        );
    }
}
