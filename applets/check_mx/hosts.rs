//! Which hosts to check: the `-H` hosts as given, or the domain's MX
//! hosts from DNS (RFC 5321 §5.1, through [`crate::smtp::mx`]): the MX
//! records in order of preference, the domain itself when it has none
//! (the implicit MX), nothing when it has a null MX (RFC 7505).

use tokio::time::Instant;

use crate::names::HostName;
use crate::smtp::mx::{self, MailServers, MxAnswer, MxError};

/// One host to check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The name to look up and to verify the certificate against (an IP
    /// literal is used as is).
    pub name: String,
    /// Its MX preference; `None` for `-H` hosts.
    pub preference: Option<u16>,
    /// Why it cannot be checked at all (an MX exchange that is not a host
    /// name): reported as its lookup failure, never looked up.
    pub unusable: Option<String>,
    /// Whether the MX answer that named it was DNSSEC-validated (DANE
    /// applies only then); `None` for `-H` hosts.
    pub mx_validated: Option<bool>,
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
            unusable: None,
            mx_validated: None,
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
    Ok(from_answer(answer))
}

/// What an MX answer gives to check: its hosts and, in their place by
/// preference, the exchanges that are not host names.
pub fn from_answer(answer: MxAnswer) -> (Source, Vec<Target>) {
    let MxAnswer {
        servers,
        skipped,
        authentic,
        ..
    } = answer;
    let source = match servers {
        MailServers::Listed(_) => Source::Listed,
        MailServers::Implicit(_) => Source::Implicit,
        MailServers::Null => Source::Null,
    };
    let usable = servers.hosts().iter().map(|host| Target {
        name: host.name.to_string(),
        preference: Some(host.preference),
        unusable: None,
        mx_validated: Some(authentic),
    });
    let unusable = skipped.into_iter().map(|skipped| Target {
        name: skipped.exchange.clone(),
        preference: Some(skipped.preference),
        unusable: Some(format!("not a host name: {}", skipped.reason)),
        mx_validated: Some(authentic),
    });
    let mut targets: Vec<Target> = usable.chain(unusable).collect();
    // Stable: equal preferences keep DNS order, unusable ones after.
    targets.sort_by_key(|target| target.preference);
    (source, targets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::mx::mail_servers;

    #[test]
    fn mx_answers_become_targets() {
        let domain = HostName::parse("d.test").expect("a name");
        let records = |list: &[(u16, &str)]| {
            let records = list.iter().map(|&(p, n)| (p, n.to_owned())).collect();
            let (servers, skipped) = mail_servers(&domain, records);
            from_answer(MxAnswer {
                servers,
                ttl: std::time::Duration::ZERO,
                skipped,
                authentic: true,
            })
        };
        let target = |name: &str, preference| Target {
            name: name.into(),
            preference: Some(preference),
            unusable: None,
            mx_validated: Some(true),
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
        // an exchange that is no host name keeps its place, never looked up
        let (_, targets) = records(&[(20, "b.d.test."), (10, "a b.")]);
        assert_eq!(targets[0].name, "a b");
        assert!(targets[0].unusable.is_some());
        assert_eq!(targets[1], target("b.d.test", 20));
    }
}
