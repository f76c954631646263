//! A domain's mail servers (RFC 5321 §5.1, RFC 7505), looked up through
//! the system's own resolver.
//!
//! The query is glibc's `res_query`, so `/etc/resolv.conf` applies as for
//! every other program (name servers, `timeout`, `attempts`, `rotate`,
//! `edns0`), a truncated UDP answer is retried over TCP and the recursive
//! server follows CNAMEs. The answer is read with glibc's own parser
//! (`ns_initparse`, `ns_parserr`, `dn_expand`). Those live in libresolv,
//! which is loaded with dlopen(3) on the first lookup: runs that look up no
//! MX load nothing more than before. `res_query` blocks, so it runs on a
//! blocking thread under the caller's deadline (a stuck one never delays
//! the exit). What the answer means is decided here, purely
//! ([`mail_servers`]), and every failure names the domain.

use std::fmt;
use std::time::Duration;

use tokio::time::Instant;

use super::session::within;
use crate::names::HostName;

mod glibc;

/// One mail server of a domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    /// RFC 5321 §5.1: lower is more preferred.
    pub preference: u16,
    /// The host name, without the root's trailing dot.
    pub name: String,
}

/// What DNS says about a domain's mail servers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailServers {
    /// Its MX records, most preferred first (equal preferences in the
    /// order DNS gave them).
    Listed(Vec<Exchange>),
    /// No MX record: the domain itself at preference 0 (RFC 5321 §5.1,
    /// "implicit MX").
    Implicit(Exchange),
    /// A null MX (`0 .`, RFC 7505): the domain accepts no mail.
    Null,
}

/// Orders the MX records `(preference, exchange)` of `domain`; none at all
/// is the implicit MX. Exchanges that are the root (`.`) are the null MX
/// of RFC 7505: alone they say "no mail"; next to real ones (which RFC
/// 7505 §3 forbids) they are skipped.
pub fn mail_servers(domain: &str, records: Vec<(u16, String)>) -> MailServers {
    let domain = domain.trim_end_matches('.');
    if records.is_empty() {
        let itself = Exchange {
            preference: 0,
            name: domain.to_owned(),
        };
        return MailServers::Implicit(itself);
    }
    let mut listed: Vec<Exchange> = records
        .into_iter()
        .map(|(preference, name)| Exchange {
            preference,
            name: name.trim_end_matches('.').to_owned(),
        })
        .filter(|exchange| !exchange.name.is_empty())
        .collect();
    if listed.is_empty() {
        return MailServers::Null;
    }
    listed.sort_by_key(|exchange| exchange.preference);
    MailServers::Listed(listed)
}

/// Why a domain's mail servers are not known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MxErrorKind {
    /// NXDOMAIN: the domain does not exist.
    NoSuchDomain,
    /// SERVFAIL, or no name server answered in time (glibc tells these
    /// apart from nothing else: `TRY_AGAIN`).
    TryAgain,
    /// The name server refused the query or did not understand it
    /// (`NO_RECOVERY`: REFUSED, FORMERR, NOTIMP).
    Refused,
    /// The lookup did not finish within the limit.
    TimedOut,
    /// The answer could not be parsed.
    Malformed,
    /// The system resolver cannot be used (libresolv missing...).
    Unavailable(String),
}

/// A failed MX lookup, naming the domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MxError {
    pub domain: String,
    pub kind: MxErrorKind,
}

impl fmt::Display for MxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: MX lookup: ", self.domain)?;
        match &self.kind {
            MxErrorKind::NoSuchDomain => f.write_str("no such domain (NXDOMAIN)"),
            MxErrorKind::TryAgain => {
                f.write_str("no answer (SERVFAIL, or the name servers did not answer)")
            }
            MxErrorKind::Refused => f.write_str("the name server refused the query"),
            MxErrorKind::TimedOut => f.write_str("timed out"),
            MxErrorKind::Malformed => f.write_str("malformed answer"),
            MxErrorKind::Unavailable(reason) => write!(f, "{reason}"),
        }
    }
}

impl std::error::Error for MxError {}

/// An answer and how long it may be kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MxAnswer {
    pub servers: MailServers,
    /// The smallest TTL of the MX records (0 when there were none: an
    /// implicit MX is asked for again).
    pub ttl: Duration,
}

/// Looks up `domain`'s mail servers, all of it done by `deadline`.
pub async fn lookup(domain: &HostName, deadline: Option<Instant>) -> Result<MxAnswer, MxError> {
    let error = |kind| MxError {
        domain: domain.to_string(),
        kind,
    };
    let name = domain.to_string();
    let query = tokio::task::spawn_blocking(move || glibc::query_mx(&name));
    match within(deadline, query).await {
        None => Err(error(MxErrorKind::TimedOut)),
        Some(Err(join)) => Err(error(MxErrorKind::Unavailable(join.to_string()))),
        Some(Ok(Err(kind))) => Err(error(kind)),
        Some(Ok(Ok((records, ttl)))) => Ok(MxAnswer {
            servers: mail_servers(domain, records),
            ttl: Duration::from_secs(u64::from(ttl)),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(servers: &[(u16, &str)]) -> MailServers {
        let exchanges = servers.iter().map(|&(preference, name)| Exchange {
            preference,
            name: name.to_owned(),
        });
        MailServers::Listed(exchanges.collect())
    }

    fn records(list: &[(u16, &str)]) -> Vec<(u16, String)> {
        list.iter().map(|&(p, n)| (p, n.to_owned())).collect()
    }

    #[test]
    fn rfc_5321_and_7505_cases() {
        let cases = [
            // ordered by preference, equal ones in DNS order, root dot dropped
            (
                &[(20, "b.test."), (10, "a.test."), (20, "c.test.")][..],
                listed(&[(10, "a.test"), (20, "b.test"), (20, "c.test")]),
            ),
            // no MX record: the domain itself at preference 0
            (
                &[],
                MailServers::Implicit(Exchange {
                    preference: 0,
                    name: "d.test".into(),
                }),
            ),
            // the null MX, alone
            (&[(0, ".")], MailServers::Null),
            // a null MX next to real ones is skipped
            (&[(0, "."), (10, "a.test.")], listed(&[(10, "a.test")])),
        ];
        for (answer, expected) in cases {
            assert_eq!(
                mail_servers("d.test.", records(answer)),
                expected,
                "{answer:?}"
            );
        }
    }

    #[test]
    fn errors_name_the_domain() {
        for (kind, text) in [
            (MxErrorKind::NoSuchDomain, "no such domain (NXDOMAIN)"),
            (MxErrorKind::Refused, "the name server refused the query"),
            (MxErrorKind::TimedOut, "timed out"),
        ] {
            let error = MxError {
                domain: "d.test".into(),
                kind,
            };
            assert_eq!(error.to_string(), format!("d.test: MX lookup: {text}"));
        }
    }
}
