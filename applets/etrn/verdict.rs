//! What ETRN replies mean (RFC 1985 §5) and what a whole run exits with
//! (pure).

use std::fmt;

use crate::smtp::reply::{
    ETRN_N_PENDING_STARTED, ETRN_NO_MESSAGES, ETRN_NODE_NOT_ALLOWED, ETRN_PENDING_STARTED,
    ETRN_QUEUING_STARTED, ETRN_UNABLE_TO_QUEUE,
};
use crate::smtp::{Error, Reply};

/// Exit status: every ETRN was accepted (2xx).
pub const EXIT_OK: u8 = 0;
/// Exit status: the server answered, but ETRN is not supported or some
/// ETRN was refused.
pub const EXIT_REFUSED: u8 = 1;
/// Exit status: usage or configuration error; nothing was sent.
pub const EXIT_USAGE: u8 = crate::args::EXIT_USAGE;
/// Exit status: the server could not be reached, greeted, or finish the
/// dialogue in time, or TLS was required and failed.
pub const EXIT_UNREACHABLE: u8 = 3;

/// The meaning of one ETRN reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EtrnAnswer {
    /// 250, 251, 252, 253; for 253 the number of messages if given.
    Accepted { pending: Option<u64> },
    /// 458 (unable to queue) or 459 (node not allowed).
    Refused,
    /// Anything else: a syntax error, not implemented, unavailable...
    Failed,
}

/// Reads an ETRN reply by its code (RFC 1985 §5).
pub fn interpret(reply: &Reply) -> EtrnAnswer {
    match reply.code {
        ETRN_QUEUING_STARTED | ETRN_NO_MESSAGES | ETRN_PENDING_STARTED => {
            EtrnAnswer::Accepted { pending: None }
        }
        ETRN_N_PENDING_STARTED => EtrnAnswer::Accepted {
            pending: first_number(&reply.text),
        },
        ETRN_UNABLE_TO_QUEUE | ETRN_NODE_NOT_ALLOWED => EtrnAnswer::Refused,
        _ => EtrnAnswer::Failed,
    }
}

/// RFC 1985 §5: `253 OK, <n> pending messages for node <x> started`.
fn first_number(text: &str) -> Option<u64> {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|word| !word.is_empty())
        .and_then(|digits| digits.parse().ok())
}

/// How the session with one server ended.
#[derive(Debug)]
pub enum Outcome {
    /// Every client was asked; their replies in order.
    Asked(Vec<(String, Reply)>),
    /// The server does not offer ETRN (not in EHLO, or only HELO works).
    NotSupported(String),
    /// Unreachable, not greeted `220`, timed out, broken dialogue, or
    /// required TLS that failed.
    Unreachable(Error),
    /// The server answered the hello with a refusal.
    HelloRefused(Error),
}

impl Outcome {
    /// This server's exit status.
    pub fn exit_status(&self) -> u8 {
        match self {
            Outcome::Asked(replies) if replies.iter().all(|(_, r)| r.is_positive()) => EXIT_OK,
            Outcome::Asked(_) | Outcome::NotSupported(_) | Outcome::HelloRefused(_) => EXIT_REFUSED,
            Outcome::Unreachable(_) => EXIT_UNREACHABLE,
        }
    }

    /// Whether trying again later may help (at boot the network or the
    /// server may not be up yet): unreachable, or a 4xx answer.
    pub fn worth_retrying(&self) -> bool {
        match self {
            Outcome::Unreachable(_) => true,
            Outcome::HelloRefused(error) => error.is_transient(),
            Outcome::Asked(replies) => replies.iter().any(|(_, r)| r.is_transient()),
            Outcome::NotSupported(_) => false,
        }
    }
}

/// The worst of several exit statuses (the highest number: 3 unreachable
/// above 2 configuration above 1 refused above 0).
pub fn worst(statuses: impl IntoIterator<Item = u8>) -> u8 {
    statuses.into_iter().max().unwrap_or(EXIT_OK)
}

/// One line for a group in `--etrn-hosts` mode, e.g.
/// `s1: 2 of 2 ETRN accepted (250 Queuing started)`.
pub struct Summary<'a> {
    pub server: &'a str,
    pub outcome: &'a Outcome,
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let server = self.server;
        match self.outcome {
            Outcome::Asked(replies) => {
                let accepted = replies.iter().filter(|(_, r)| r.is_positive()).count();
                write!(f, "{server}: {accepted} of {} ETRN accepted", replies.len())?;
                let telling = replies
                    .iter()
                    .find(|(_, r)| !r.is_positive())
                    .or(replies.first());
                match telling {
                    Some((client, reply)) if !reply.is_positive() => {
                        write!(f, " ({client}: {reply})")
                    }
                    Some((_, reply)) => write!(f, " ({reply})"),
                    None => Ok(()),
                }
            }
            Outcome::NotSupported(why) => write!(f, "{server}: ETRN not supported ({why})"),
            Outcome::Unreachable(error) | Outcome::HelloRefused(error) => write!(f, "{error}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(code: u16, text: &str) -> Reply {
        Reply {
            code,
            text: text.to_owned(),
        }
    }

    #[test]
    fn rfc_1985_codes() {
        for code in [250, 251, 252] {
            assert_eq!(
                interpret(&reply(code, "ok")),
                EtrnAnswer::Accepted { pending: None }
            );
        }
        assert_eq!(
            interpret(&reply(
                253,
                "OK, 14 pending messages for node a.test started"
            )),
            EtrnAnswer::Accepted { pending: Some(14) }
        );
        assert_eq!(
            interpret(&reply(253, "started")),
            EtrnAnswer::Accepted { pending: None }
        );
        assert_eq!(interpret(&reply(458, "no")), EtrnAnswer::Refused);
        assert_eq!(interpret(&reply(459, "no")), EtrnAnswer::Refused);
        for code in [500, 501, 502, 421, 220, 354] {
            assert_eq!(interpret(&reply(code, "x")), EtrnAnswer::Failed, "{code}");
        }
    }

    #[test]
    fn exit_status_and_retry() {
        let ok = Outcome::Asked(vec![
            ("a".into(), reply(250, "ok")),
            ("b".into(), reply(251, "")),
        ]);
        assert_eq!(ok.exit_status(), EXIT_OK);
        assert!(!ok.worth_retrying());
        let refused = Outcome::Asked(vec![
            ("a".into(), reply(250, "ok")),
            ("b".into(), reply(459, "no")),
        ]);
        assert_eq!(refused.exit_status(), EXIT_REFUSED);
        assert!(refused.worth_retrying());
        let syntax = Outcome::Asked(vec![("a".into(), reply(501, "bad"))]);
        assert_eq!(syntax.exit_status(), EXIT_REFUSED);
        assert!(!syntax.worth_retrying());
        let unsupported = Outcome::NotSupported("not in EHLO reply".into());
        assert_eq!(unsupported.exit_status(), EXIT_REFUSED);
        assert!(!unsupported.worth_retrying());
        assert_eq!(worst([0, 3, 1]), 3);
        assert_eq!(worst([]), 0);
    }

    #[test]
    fn summary_lines() {
        let ok = Outcome::Asked(vec![
            ("a".into(), reply(250, "Queuing started")),
            ("b".into(), reply(250, "Queuing started")),
        ]);
        let line = Summary {
            server: "s1",
            outcome: &ok,
        }
        .to_string();
        assert_eq!(line, "s1: 2 of 2 ETRN accepted (250 Queuing started)");
        let mixed = Outcome::Asked(vec![
            ("a".into(), reply(250, "Queuing started")),
            ("b".into(), reply(459, "<b>: service unavailable")),
        ]);
        let line = Summary {
            server: "s1",
            outcome: &mixed,
        }
        .to_string();
        assert_eq!(
            line,
            "s1: 1 of 2 ETRN accepted (b: 459 <b>: service unavailable)"
        );
    }
}
