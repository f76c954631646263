//! smtpdcheck's `--json` document (pure): the answer, as the exit status
//! and the available server's name, and what was found about each server
//! (the facts `-v` prints as lines). The schema is in smtpdcheck(1).

use serde::Serialize;

use super::probe::{Report, ServerOutcome};
use super::servers::Server;
use crate::json::FailureJson;

/// The whole document.
#[derive(Serialize)]
pub struct Document<'a> {
    pub exit_status: u8,
    /// The available server as given (what the text mode prints), or null.
    pub available: Option<&'a str>,
    /// With `--mx`: the domain looked up; null otherwise.
    pub mx: Option<MxJson<'a>>,
    /// One per server, in list order (for `--mx`, the MX hosts by
    /// preference).
    pub servers: Vec<ServerJson<'a>>,
}

/// What `--mx` looked up.
#[derive(Serialize)]
pub struct MxJson<'a> {
    pub domain: &'a str,
    /// RFC 7505: the domain accepts no mail (no servers, exit 0).
    pub null_mx: bool,
}

/// One server.
#[derive(Serialize)]
pub struct ServerJson<'a> {
    pub name: &'a str,
    pub prio: Option<u16>,
    /// `up`, `down`, `lookup_failed`, `skipped` (the `--stop` server, after
    /// it, or its same-prio peer) or `not_needed` (the answer was known
    /// without it).
    pub outcome: &'static str,
    /// The address that greeted (`up`), else null.
    pub address: Option<String>,
    /// Whether the outcome came from the result cache.
    pub cached: bool,
    /// Milliseconds from the start until the outcome was known.
    pub ms: Option<u128>,
    /// What failed (`down` without the cache, `lookup_failed`).
    pub failure: Option<FailureJson<'a>>,
}

/// The document for a finished check of `servers`.
pub fn document<'a>(
    status: u8,
    report: &'a Report,
    servers: &'a [Server],
    mx: Option<&'a str>,
) -> Document<'a> {
    let available = match report.verdict {
        super::decide::Verdict::Available(index) => servers.get(index).map(|s| &*s.name),
        super::decide::Verdict::NoneAvailable => None,
    };
    let servers = servers
        .iter()
        .zip(&report.outcomes)
        .map(|(server, (outcome, ms))| server_json(server, outcome, *ms))
        .collect();
    Document {
        exit_status: status,
        available,
        mx: mx.map(|domain| MxJson {
            domain,
            null_mx: false,
        }),
        servers,
    }
}

/// The document for a domain with a null MX: nothing to check.
pub fn null_mx(status: u8, domain: &str) -> Document<'_> {
    Document {
        exit_status: status,
        available: None,
        mx: Some(MxJson {
            domain,
            null_mx: true,
        }),
        servers: Vec::new(),
    }
}

fn server_json<'a>(
    server: &'a Server,
    outcome: &'a ServerOutcome,
    ms: Option<u128>,
) -> ServerJson<'a> {
    let mut json = ServerJson {
        name: &server.name,
        prio: server.prio,
        outcome: "not_needed",
        address: None,
        cached: false,
        ms,
        failure: None,
    };
    match outcome {
        ServerOutcome::NotNeeded => {}
        ServerOutcome::Skipped => json.outcome = "skipped",
        ServerOutcome::Up { address, cached } => {
            json.outcome = "up";
            json.address = Some(address.to_string());
            json.cached = *cached;
        }
        ServerOutcome::Down { error } => {
            json.outcome = "down";
            json.cached = error.is_none();
            json.failure = error.as_ref().map(FailureJson::from);
        }
        ServerOutcome::LookupFailed(error) => {
            json.outcome = "lookup_failed";
            json.failure = Some(FailureJson::from(error));
        }
    }
    json
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::HostName;
    use crate::smtp::{Error, ErrorKind, Phase};
    use crate::smtpdcheck::decide::Verdict;

    fn server(prio: u16, name: &str) -> Server {
        Server {
            prio: Some(prio),
            name: HostName::parse(name).expect("name"),
        }
    }

    #[test]
    fn every_outcome_has_its_shape() {
        let servers = [
            server(10, "a"),
            server(20, "b"),
            server(30, "c"),
            server(40, "d"),
        ];
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let down = Error::new(
            "a",
            "192.0.2.1:25".parse().ok(),
            Phase::Connect,
            ErrorKind::Io(refused),
        );
        let report = Report {
            verdict: Verdict::Available(1),
            outcomes: vec![
                (ServerOutcome::Down { error: Some(down) }, Some(3)),
                (
                    ServerOutcome::Up {
                        address: "192.0.2.2:25".parse().expect("address"),
                        cached: true,
                    },
                    Some(0),
                ),
                (ServerOutcome::NotNeeded, None),
                (ServerOutcome::Skipped, None),
            ],
            looked_up: Vec::new(),
        };
        let json = crate::json::one_line(&document(1, &report, &servers, Some("d.test")));
        let value: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        assert_eq!(value["exit_status"], 1);
        assert_eq!(value["available"], "b");
        assert_eq!(value["mx"]["domain"], "d.test");
        assert_eq!(value["mx"]["null_mx"], false);
        let s = &value["servers"];
        assert_eq!(s[0]["outcome"], "down");
        assert_eq!(s[0]["failure"]["phase"], "connect");
        assert_eq!(s[0]["failure"]["address"], "192.0.2.1:25");
        assert_eq!(s[0]["cached"], false);
        assert_eq!(s[1]["outcome"], "up");
        assert_eq!(s[1]["address"], "192.0.2.2:25");
        assert_eq!(s[1]["cached"], true);
        assert_eq!(s[1]["prio"], 20);
        assert_eq!(s[2]["outcome"], "not_needed");
        assert!(s[2]["ms"].is_null());
        assert_eq!(s[3]["outcome"], "skipped");
    }

    #[test]
    fn a_null_mx_lists_no_servers() {
        let value = serde_json::to_value(null_mx(0, "d.test")).expect("value");
        assert_eq!(value["mx"]["null_mx"], true);
        assert!(value["available"].is_null());
        assert_eq!(value["servers"].as_array().map(Vec::len), Some(0));
    }
}
