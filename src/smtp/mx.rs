//! The one MX path of the house: a domain → its mail servers in order
//! (RFC 5321 §5.1, RFC 7505), their names checked, and how long that
//! answer may be kept. Every applet that needs a domain's MX hosts comes
//! here (their addresses are then looked up like any host's,
//! [`super::session::lookup`]).
//!
//! The query goes through the system resolver ([`crate::dns`]); what the
//! answer means is decided purely in [`mail_servers`], and every failure
//! names the domain.

use std::time::Duration;

use tokio::time::Instant;

use std::fmt;

use crate::dns::{self, DnsError, RData, RecordType};
use crate::names::{HostName, NameError, Quoted};

/// A failed MX lookup, naming the domain.
pub type MxError = DnsError;

/// The longest an MX answer is kept, whatever its TTL: a domain that
/// moves its mail is noticed within the hour even behind a long TTL.
pub const MAX_LIFETIME: Duration = Duration::from_secs(3600);
/// How long an answer without MX records (the implicit MX) is kept: there
/// is no MX TTL to go by.
pub const IMPLICIT_LIFETIME: Duration = Duration::from_secs(60);
/// How long an MX host's addresses are kept: getaddrinfo gives no TTL, so
/// a renumbered MX is noticed within this.
pub const ADDRESS_LIFETIME: Duration = Duration::from_secs(60);

/// One mail server of a domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MxHost {
    /// RFC 5321 §5.1: lower is more preferred.
    pub preference: u16,
    /// The host name (without the root's trailing dot), checked by the
    /// house's one set of name rules.
    pub name: HostName,
}

/// What DNS says about a domain's mail servers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailServers {
    /// Its MX records, most preferred first (equal preferences in the
    /// order DNS gave them).
    Listed(Vec<MxHost>),
    /// No MX record: the domain itself at preference 0 (RFC 5321 §5.1,
    /// "implicit MX").
    Implicit(MxHost),
    /// A null MX (`0 .`, RFC 7505): the domain accepts no mail.
    Null,
}

impl MailServers {
    /// The hosts to try, most preferred first (none for a null MX).
    pub fn hosts(&self) -> &[MxHost] {
        match self {
            MailServers::Listed(hosts) => hosts,
            MailServers::Implicit(itself) => std::slice::from_ref(itself),
            MailServers::Null => &[],
        }
    }
}

/// An exchange no SMTP client can use: not a host name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub preference: u16,
    /// The exchange as DNS gave it.
    pub exchange: String,
    pub reason: NameError,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exchange = Quoted(&self.exchange);
        write!(f, "MX {exchange} skipped: {}", self.reason)
    }
}

/// An answer, how long it may be kept, and what was left out of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MxAnswer {
    pub servers: MailServers,
    /// The smallest TTL of the MX records (0 when there were none).
    pub ttl: Duration,
    /// Exchanges no SMTP client can use.
    pub skipped: Vec<Skipped>,
    /// Whether the MX answer was DNSSEC-validated (its AD bit): DANE
    /// applies to the hosts only then (RFC 7672 §2.2.1).
    pub authentic: bool,
}

impl MxAnswer {
    /// The house's one lifetime policy for an MX answer: its TTL, at most
    /// [`MAX_LIFETIME`]; [`IMPLICIT_LIFETIME`] when it had no MX record.
    pub fn lifetime(&self) -> Duration {
        match self.servers {
            MailServers::Implicit(_) => IMPLICIT_LIFETIME,
            MailServers::Listed(_) | MailServers::Null => self.ttl.min(MAX_LIFETIME),
        }
    }
}

/// Orders the MX records `(preference, exchange)` of `domain`; none at all
/// is the implicit MX. Exchanges that are the root (`.`) are the null MX
/// of RFC 7505: alone they say "no mail"; next to real ones (which RFC
/// 7505 §3 forbids) they are skipped. An exchange that is not a host
/// name is skipped and named in `skipped`. The house's one conversion of
/// exchanges into hosts to contact.
pub fn mail_servers(domain: &HostName, records: Vec<(u16, String)>) -> (MailServers, Vec<Skipped>) {
    if records.is_empty() {
        let itself = MxHost {
            preference: 0,
            name: domain.without_root_dot(),
        };
        return (MailServers::Implicit(itself), Vec::new());
    }
    let mut skipped = Vec::new();
    let mut null_only = true;
    let mut listed = Vec::with_capacity(records.len());
    for (preference, exchange) in records {
        let exchange = exchange.trim_end_matches('.');
        if exchange.is_empty() {
            continue;
        }
        null_only = false;
        match HostName::parse(exchange) {
            Ok(name) => listed.push(MxHost { preference, name }),
            Err(reason) => skipped.push(Skipped {
                preference,
                exchange: exchange.to_owned(),
                reason,
            }),
        }
    }
    if null_only {
        return (MailServers::Null, skipped);
    }
    listed.sort_by_key(|host| host.preference);
    (MailServers::Listed(listed), skipped)
}

/// Looks up `domain`'s mail servers, all of it done by `deadline`.
pub async fn lookup(domain: &HostName, deadline: Option<Instant>) -> Result<MxAnswer, MxError> {
    let answer = dns::query(domain, RecordType::MX, deadline).await?;
    let ttl = Duration::from_secs(u64::from(answer.min_ttl().unwrap_or(0)));
    let records = answer
        .records
        .iter()
        .filter_map(|record| match &record.data {
            RData::MX(mx) => Some((mx.preference, mx.exchange.to_ascii())),
            _ => None,
        })
        .collect();
    let (servers, skipped) = mail_servers(domain, records);
    Ok(MxAnswer {
        servers,
        ttl,
        skipped,
        authentic: answer.authentic,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(preference: u16, name: &str) -> MxHost {
        let name = HostName::parse(name).expect("a test name");
        MxHost { preference, name }
    }

    fn records(list: &[(u16, &str)]) -> Vec<(u16, String)> {
        list.iter().map(|&(p, n)| (p, n.to_owned())).collect()
    }

    #[test]
    fn rfc_5321_and_7505_cases() {
        let domain = HostName::parse("d.test.").expect("a name");
        let cases = [
            // ordered by preference, equal ones in DNS order, root dot dropped
            (
                &[(20, "b.test."), (10, "a.test."), (20, "c.test.")][..],
                MailServers::Listed(vec![
                    host(10, "a.test"),
                    host(20, "b.test"),
                    host(20, "c.test"),
                ]),
            ),
            // no MX record: the domain itself at preference 0
            (&[], MailServers::Implicit(host(0, "d.test"))),
            // the null MX, alone
            (&[(0, ".")], MailServers::Null),
            // a null MX next to real ones is skipped
            (
                &[(0, "."), (10, "a.test.")],
                MailServers::Listed(vec![host(10, "a.test")]),
            ),
        ];
        for (answer, expected) in cases {
            let (servers, skipped) = mail_servers(&domain, records(answer));
            assert_eq!(servers, expected, "{answer:?}");
            assert!(skipped.is_empty());
        }
    }

    #[test]
    fn an_exchange_that_is_no_host_name_is_skipped_and_named() {
        let domain = HostName::parse("d.test").expect("a name");
        let (servers, skipped) = mail_servers(&domain, records(&[(10, "a b."), (20, "b.test.")]));
        assert_eq!(servers, MailServers::Listed(vec![host(20, "b.test")]));
        assert_eq!(skipped.len(), 1);
        assert!(
            skipped[0].to_string().starts_with("MX 'a b' skipped: "),
            "{skipped:?}"
        );
    }

    #[test]
    fn one_lifetime_policy() {
        let answer = |servers, ttl| MxAnswer {
            servers,
            ttl: Duration::from_secs(ttl),
            skipped: Vec::new(),
            authentic: false,
        };
        let listed = || MailServers::Listed(vec![host(10, "a.test")]);
        assert_eq!(answer(listed(), 300).lifetime(), Duration::from_secs(300));
        assert_eq!(answer(listed(), 86_400).lifetime(), MAX_LIFETIME);
        assert_eq!(
            answer(MailServers::Null, 120).lifetime(),
            Duration::from_secs(120)
        );
        let implicit = MailServers::Implicit(host(0, "d.test"));
        assert_eq!(answer(implicit, 0).lifetime(), IMPLICIT_LIFETIME);
    }
}
