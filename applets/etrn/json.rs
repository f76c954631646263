//! etrn's `--json` document (pure): per server how the session ended and
//! each client's ETRN reply, with the exit statuses. The schema is in
//! etrn(8).

use serde::Serialize;

use super::verdict::{EtrnAnswer, SessionOutcome, interpret};
use crate::json::{FailureJson, ReplyJson};
use crate::names::HostName;

/// The whole document.
#[derive(Serialize)]
pub struct Document<'a> {
    pub exit_status: u8,
    /// One per server asked, in the order the sessions ended.
    pub servers: Vec<ServerJson<'a>>,
}

/// One server's session.
#[derive(Serialize)]
pub struct ServerJson<'a> {
    pub server: &'a str,
    /// `asked` (every client was asked), `not_supported`, `unreachable`,
    /// `hello_refused` or `auth_failed` (no ETRN sent).
    pub outcome: &'static str,
    /// This server's part of the exit status.
    pub exit_status: u8,
    /// Why ETRN is not supported (`not_supported`).
    pub reason: Option<&'a str>,
    /// What failed (`unreachable`, `hello_refused`, `auth_failed`).
    pub failure: Option<FailureJson<'a>>,
    /// Each client's ETRN and its reply (`asked`), in order.
    pub clients: Vec<ClientJson<'a>>,
}

/// One ETRN.
#[derive(Serialize)]
pub struct ClientJson<'a> {
    /// The ETRN argument: a name, `@domain` or `#queue`.
    pub argument: &'a str,
    /// `accepted` (250-253), `refused` (458, 459) or `failed` (any other).
    pub result: &'static str,
    /// The count a `253` reply gives, else null.
    pub pending: Option<u64>,
    pub reply: ReplyJson<'a>,
}

/// The document for the sessions that ended, and the run's exit status.
pub fn document<'a>(exit_status: u8, sessions: &'a [(HostName, SessionOutcome)]) -> Document<'a> {
    let servers = sessions
        .iter()
        .map(|(server, outcome)| server_json(server, outcome))
        .collect();
    Document {
        exit_status,
        servers,
    }
}

fn server_json<'a>(server: &'a HostName, outcome: &'a SessionOutcome) -> ServerJson<'a> {
    let mut json = ServerJson {
        server,
        outcome: "asked",
        exit_status: outcome.exit_status(),
        reason: None,
        failure: None,
        clients: Vec::new(),
    };
    match outcome {
        SessionOutcome::Asked(replies) => {
            json.clients = replies
                .iter()
                .map(|(argument, reply)| {
                    let (result, pending) = match interpret(reply) {
                        EtrnAnswer::Accepted { pending } => ("accepted", pending),
                        EtrnAnswer::Refused => ("refused", None),
                        EtrnAnswer::Failed => ("failed", None),
                    };
                    ClientJson {
                        argument,
                        result,
                        pending,
                        reply: ReplyJson::from(reply),
                    }
                })
                .collect();
        }
        SessionOutcome::NotSupported(why) => {
            json.outcome = "not_supported";
            json.reason = Some(why);
        }
        SessionOutcome::Unreachable(error) => {
            json.outcome = "unreachable";
            json.failure = Some(FailureJson::from(error));
        }
        SessionOutcome::HelloRefused(error) => {
            json.outcome = "hello_refused";
            json.failure = Some(FailureJson::from(error));
        }
        SessionOutcome::AuthFailed(error) => {
            json.outcome = "auth_failed";
            json.failure = Some(FailureJson::from(error));
        }
    }
    json
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::EtrnArgument;
    use crate::smtp::{Error, ErrorKind, Phase, Reply};

    fn host(name: &str) -> HostName {
        HostName::parse(name).expect("name")
    }

    #[test]
    fn replies_and_failures_have_their_shapes() {
        let asked = SessionOutcome::Asked(vec![
            (
                EtrnArgument::parse("a.test").expect("arg"),
                Reply::new(253, "OK, 7 pending messages"),
            ),
            (
                EtrnArgument::parse("#q").expect("arg"),
                Reply::new(459, "not allowed"),
            ),
        ]);
        let refused = Reply::new(535, "5.7.8 no");
        let auth = Error::new("mx2", None, Phase::Auth(None), ErrorKind::Rejected(refused));
        let sessions = vec![
            (host("mx1"), asked),
            (host("mx2"), SessionOutcome::AuthFailed(auth)),
            (
                host("mx3"),
                SessionOutcome::NotSupported("ETRN is not in the EHLO reply".into()),
            ),
        ];
        let json = crate::json::one_line(&document(1, &sessions));
        let value: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        assert_eq!(value["exit_status"], 1);
        let s = &value["servers"];
        assert_eq!(s[0]["server"], "mx1");
        assert_eq!(s[0]["outcome"], "asked");
        assert_eq!(s[0]["clients"][0]["result"], "accepted");
        assert_eq!(s[0]["clients"][0]["pending"], 7);
        assert_eq!(s[0]["clients"][0]["reply"]["code"], 253);
        assert_eq!(s[0]["clients"][1]["argument"], "#q");
        assert_eq!(s[0]["clients"][1]["result"], "refused");
        assert_eq!(s[1]["outcome"], "auth_failed");
        assert_eq!(s[1]["failure"]["reply"]["code"], 535);
        assert_eq!(s[1]["clients"].as_array().map(Vec::len), Some(0));
        assert_eq!(s[2]["outcome"], "not_supported");
        assert_eq!(s[2]["reason"], "ETRN is not in the EHLO reply");
    }
}
