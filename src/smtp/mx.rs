//! A domain's mail servers (RFC 5321 §5.1, RFC 7505), looked up through the
//! system's resolver configuration.
//!
//! `/etc/resolv.conf` is read with the bounded reader and parsed by
//! hickory-resolver (name servers, `timeout`, `attempts`, `edns0`, `ndots`)
//! and resolv-conf (`rotate`, which hickory does not map: servers are tried
//! in the listed order, as glibc does, or in turn with `rotate`).
//! hickory sends the queries, retries a truncated UDP answer over TCP and
//! follows CNAMEs; what the answer means is decided here, purely
//! ([`mail_servers`]), and every failure names the domain.

use std::fmt;
use std::path::Path;

use hickory_resolver::config::{ResolveHosts, ServerOrderingStrategy};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData};
use hickory_resolver::system_conf::parse_resolv_conf;
use hickory_resolver::{Resolver, TokioResolver};
use tokio::time::Instant;

use super::session::within;
use crate::files;
use crate::names::HostName;

/// The resolver configuration every lookup follows.
pub const RESOLV_CONF: &str = "/etc/resolv.conf";
/// A resolv.conf larger than this is not one.
const MAX_RESOLV_CONF: usize = 64 * 1024;

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
#[derive(Debug)]
pub enum MxErrorKind {
    /// The resolver configuration cannot be read or used.
    Config(String),
    /// NXDOMAIN: the domain does not exist.
    NoSuchDomain,
    /// The name server answered with this error code (SERVFAIL, REFUSED...).
    Refused(ResponseCode),
    /// No answer within the limit.
    TimedOut,
    /// No name server could be reached, or its answer was not DNS.
    Failed(String),
}

/// A failed MX lookup, naming the domain.
#[derive(Debug)]
pub struct MxError {
    pub domain: String,
    pub kind: MxErrorKind,
}

impl fmt::Display for MxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: MX lookup: ", self.domain)?;
        match &self.kind {
            MxErrorKind::Config(reason) => write!(f, "{reason}"),
            MxErrorKind::NoSuchDomain => f.write_str("no such domain (NXDOMAIN)"),
            MxErrorKind::Refused(code) => write!(f, "the name server answered {code}"),
            MxErrorKind::TimedOut => f.write_str("timed out"),
            MxErrorKind::Failed(reason) => write!(f, "{reason}"),
        }
    }
}

impl std::error::Error for MxError {}

/// Looks up `domain`'s mail servers, all of it done by `deadline`.
pub async fn lookup(domain: &HostName, deadline: Option<Instant>) -> Result<MailServers, MxError> {
    let error = |kind| MxError {
        domain: domain.to_string(),
        kind,
    };
    let resolver = system_resolver().map_err(|reason| error(MxErrorKind::Config(reason)))?;
    let mut name = Name::from_ascii(&**domain)
        .map_err(|err| error(MxErrorKind::Config(format!("not a domain name: {err}"))))?;
    // Fully qualified: the search list of resolv.conf does not apply.
    name.set_fqdn(true);
    let answer = match within(deadline, resolver.mx_lookup(name)).await {
        None => return Err(error(MxErrorKind::TimedOut)),
        Some(answer) => answer,
    };
    match answer {
        Ok(lookup) => {
            let records = lookup
                .answers()
                .iter()
                .filter_map(|record| match &record.data {
                    RData::MX(mx) => Some((mx.preference, mx.exchange.to_ascii())),
                    _ => None,
                });
            Ok(mail_servers(domain, records.collect()))
        }
        Err(NetError::Dns(DnsError::NoRecordsFound(none))) => match none.response_code {
            ResponseCode::NXDomain => Err(error(MxErrorKind::NoSuchDomain)),
            _ => Ok(mail_servers(domain, Vec::new())),
        },
        Err(NetError::Dns(DnsError::ResponseCode(code))) => Err(error(MxErrorKind::Refused(code))),
        Err(NetError::Timeout) => Err(error(MxErrorKind::TimedOut)),
        Err(other) => Err(error(MxErrorKind::Failed(other.to_string()))),
    }
}

/// A resolver configured as [`RESOLV_CONF`] says.
fn system_resolver() -> Result<TokioResolver, String> {
    let path = Path::new(RESOLV_CONF);
    let text = files::read(path, MAX_RESOLV_CONF).map_err(|err| err.to_string())?;
    let named = |err: &dyn fmt::Display| format!("{RESOLV_CONF}: {err}");
    let (config, mut options) = parse_resolv_conf(&text).map_err(|err| named(&err))?;
    let rotate = resolv_conf::Config::parse(&text).is_ok_and(|conf| conf.rotate);
    options.server_ordering_strategy = if rotate {
        ServerOrderingStrategy::RoundRobin
    } else {
        ServerOrderingStrategy::UserProvidedOrder
    };
    // MX records are never in /etc/hosts; do not read it.
    options.use_hosts_file = ResolveHosts::Never;
    Resolver::builder_with_config(config, TokioRuntimeProvider::default())
        .with_options(options)
        .build()
        .map_err(|err| named(&err))
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
        let error = MxError {
            domain: "d.test".into(),
            kind: MxErrorKind::NoSuchDomain,
        };
        assert_eq!(
            error.to_string(),
            "d.test: MX lookup: no such domain (NXDOMAIN)"
        );
        let error = MxError {
            domain: "d.test".into(),
            kind: MxErrorKind::Refused(ResponseCode::ServFail),
        };
        assert!(
            error
                .to_string()
                .starts_with("d.test: MX lookup: the name server answered")
        );
    }
}
