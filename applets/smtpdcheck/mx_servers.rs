//! `--mx DOMAIN`: the domain's MX hosts as `PRIO:EXCHANGE` servers, from
//! the MX file cache ([`super::mx_cache`]) while an answer holds, else
//! from DNS; and, after the run, the answer and the MX hosts' addresses
//! written back for the next process.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::time::Instant;

use super::cache;
use super::mx_cache::{self, Remembered};
use super::probe::Report;
use super::servers::Server;
use crate::applet::AppletError;
use crate::exit;
use crate::names::HostName;
use crate::report::Reporter;
use crate::runtime::block_on;
use crate::smtp::mx::{self, MailServers};

/// A domain's MX hosts, ready to probe.
pub struct MxHosts {
    pub domain: HostName,
    pub servers: Vec<Server>,
    /// Addresses the file gave for MX hosts (lower-case names).
    known: HashMap<String, Vec<SocketAddr>>,
    /// Where to write the answer after the run, and until when it holds:
    /// `Some` when it came from DNS.
    remember: Option<(PathBuf, u64)>,
}

/// The MX hosts of `domain`; `None` for a null MX. `mx_file`: the MX
/// file cache (`None` with `--no-cache`). The lookup is bounded by
/// `timeout`.
pub fn find(
    domain: &HostName,
    timeout: Option<Duration>,
    mx_file: Option<PathBuf>,
    reporter: &Reporter,
) -> Result<Option<MxHosts>, AppletError> {
    let now_ms = cache::now_ms();
    let remembered = mx_file
        .as_deref()
        .and_then(|path| mx_cache::fresh(path, domain, now_ms));
    if let Some(remembered) = remembered {
        let Some(exchanges) = remembered.exchanges else {
            reporter.detail(format_args!(
                "{domain}: null MX (RFC 7505), cached: no mail server"
            ));
            return Ok(None);
        };
        let mut known = HashMap::new();
        let servers = exchanges
            .into_iter()
            .filter_map(|exchange| {
                let name = HostName::parse(&exchange.name).ok()?;
                if let Some(addresses) = exchange.addresses {
                    known.insert(name.to_ascii_lowercase(), addresses);
                }
                Some(Server {
                    prio: Some(exchange.preference),
                    name,
                })
            })
            .collect();
        let domain = domain.clone();
        return Ok(Some(MxHosts {
            domain,
            servers,
            known,
            remember: None,
        }));
    }
    let deadline = timeout.map(|limit| Instant::now() + limit);
    let found = block_on(mx::lookup(domain, deadline))
        .map_err(|err| {
            AppletError::new(
                exit::USAGE,
                format_args!("cannot start the async runtime: {err}"),
            )
        })?
        .map_err(|error| AppletError::new(exit::USAGE, error))?;
    // Kept for the DNS TTL, at most MAX_AGE (an implicit MX has no TTL of
    // its own: MAX_AGE).
    let ttl = match found.servers {
        MailServers::Implicit(_) => mx_cache::MAX_AGE,
        _ => found.ttl.min(mx_cache::MAX_AGE),
    };
    let until_ms = now_ms.saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
    let exchanges = match found.servers {
        MailServers::Listed(exchanges) => exchanges,
        MailServers::Implicit(itself) => {
            reporter.detail(format_args!(
                "{domain}: no MX record: the domain itself, prio 0"
            ));
            vec![itself]
        }
        MailServers::Null => {
            reporter.detail(format_args!("{domain}: null MX (RFC 7505): no mail server"));
            if let Some(path) = mx_file.filter(|_| !ttl.is_zero()) {
                let null = Remembered {
                    until_ms,
                    exchanges: None,
                };
                let _ = mx_cache::save(&path, domain, null, now_ms);
            }
            return Ok(None);
        }
    };
    let mut servers = Vec::with_capacity(exchanges.len());
    for exchange in exchanges {
        match HostName::parse(&exchange.name) {
            Ok(name) => servers.push(Server {
                prio: Some(exchange.preference),
                name,
            }),
            // What DNS may hold but no SMTP client can use: it cannot be up.
            Err(reason) => reporter.detail(format_args!(
                "{domain}: MX '{}' skipped: {reason}",
                exchange.name.escape_debug()
            )),
        }
    }
    let remember = mx_file
        .filter(|_| !ttl.is_zero())
        .map(|path| (path, until_ms));
    let domain = domain.clone();
    Ok(Some(MxHosts {
        domain,
        servers,
        known: HashMap::new(),
        remember,
    }))
}

impl MxHosts {
    /// The addresses the file gave for an MX host (a lower-case name).
    pub fn known(&self, name: &str) -> Option<Vec<SocketAddr>> {
        self.known.get(name).cloned()
    }

    /// Writes an answer that came from DNS to the MX file cache, with the
    /// addresses `report`'s run looked up; a problem only costs the next
    /// process a DNS query.
    pub fn remember(&self, report: &Report, reporter: &Reporter) {
        let Some((path, until_ms)) = &self.remember else {
            return;
        };
        let looked_up: HashMap<&str, &Vec<SocketAddr>> = report
            .looked_up
            .iter()
            .map(|(name, list)| (name.as_str(), list))
            .collect();
        let exchanges = self.servers.iter().map(|server| mx_cache::Exchange {
            preference: server.prio.unwrap_or(0),
            name: server.name.to_string(),
            addresses: looked_up
                .get(&*server.name.to_ascii_lowercase())
                .map(|l| l.to_vec()),
        });
        let remembered = Remembered {
            until_ms: *until_ms,
            exchanges: Some(exchanges.collect()),
        };
        if let Err(err) = mx_cache::save(path, &self.domain, remembered, cache::now_ms()) {
            reporter.detail(format_args!(
                "MX cache not updated: {}: {err}",
                path.display()
            ));
        }
    }
}
