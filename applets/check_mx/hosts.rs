//! Which hosts to check: the `-H` hosts as given, or the domain's MX
//! hosts from DNS (RFC 5321 §5.1, through [`crate::smtp::mx`]): the MX
//! records in order of preference, the domain itself when it has none
//! (the implicit MX), nothing when it has a null MX (RFC 7505).

use tokio::time::Instant;

use crate::names::HostName;
use crate::smtp::mx::{self, MailServers, MxError};

/// One host to check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The name to look up and to verify the certificate against (an IP
    /// literal is used as is).
    pub name: String,
    /// Its MX preference; `None` for `-H` hosts.
    pub preference: Option<u16>,
}

/// Where the hosts came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// `-H`.
    CommandLine,
    /// The domain's MX records.
    Listed,
    /// No MX record: the domain itself at preference 0.
    Implicit,
    /// A null MX: the domain accepts no mail; nothing to check.
    Null,
}

impl Source {
    /// How JSON names it.
    pub fn name(self) -> &'static str {
        match self {
            Source::CommandLine => "command_line",
            Source::Listed => "mx",
            Source::Implicit => "implicit_mx",
            Source::Null => "null_mx",
        }
    }
}

/// The `-H` hosts, in the order given.
pub fn given(hosts: &[HostName]) -> Vec<Target> {
    hosts
        .iter()
        .map(|host| Target {
            name: host.to_string(),
            preference: None,
        })
        .collect()
}

/// The MX hosts of `domain`, most preferred first, looked up by
/// `deadline`.
pub async fn of_domain(
    domain: &HostName,
    deadline: Option<Instant>,
) -> Result<(Source, Vec<Target>), MxError> {
    let answer = mx::lookup(domain, deadline).await?;
    Ok(from_answer(answer.servers))
}

/// What an MX answer gives to check.
pub fn from_answer(servers: MailServers) -> (Source, Vec<Target>) {
    let target = |exchange: mx::Exchange| Target {
        name: exchange.name,
        preference: Some(exchange.preference),
    };
    match servers {
        MailServers::Listed(exchanges) => {
            (Source::Listed, exchanges.into_iter().map(target).collect())
        }
        MailServers::Implicit(itself) => (Source::Implicit, vec![target(itself)]),
        MailServers::Null => (Source::Null, Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::mx::mail_servers;

    #[test]
    fn mx_answers_become_targets() {
        let records = |list: &[(u16, &str)]| {
            let records = list.iter().map(|&(p, n)| (p, n.to_owned())).collect();
            from_answer(mail_servers("d.test", records))
        };
        let target = |name: &str, preference| Target {
            name: name.into(),
            preference: Some(preference),
        };
        assert_eq!(
            records(&[(20, "b.d.test."), (10, "a.d.test.")]),
            (
                Source::Listed,
                vec![target("a.d.test", 10), target("b.d.test", 20)]
            )
        );
        assert_eq!(records(&[]), (Source::Implicit, vec![target("d.test", 0)]));
        assert_eq!(records(&[(0, ".")]), (Source::Null, vec![]));
    }
}
