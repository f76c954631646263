//! What ETRN replies mean (RFC 1985 §5) and what a whole run exits with
//! (pure).

use std::fmt;

use crate::exit::etrn::{ACCEPTED, REFUSED, UNREACHABLE};
use crate::names::{EtrnArgument, HostName};
use crate::smtp::{Error, Reply, auth};

/// RFC 1985 §5: queuing started.
pub const ETRN_QUEUING_STARTED: u16 = 250;
/// RFC 1985 §5: OK, no messages waiting for the node.
pub const ETRN_NO_MESSAGES: u16 = 251;
/// RFC 1985 §5: OK, pending messages for the node started.
pub const ETRN_PENDING_STARTED: u16 = 252;
/// RFC 1985 §5: OK, `<n>` pending messages for the node started.
pub const ETRN_N_PENDING_STARTED: u16 = 253;
/// RFC 1985 §5: unable to queue messages for the node.
pub const ETRN_UNABLE_TO_QUEUE: u16 = 458;
/// RFC 1985 §5: node not allowed.
pub const ETRN_NODE_NOT_ALLOWED: u16 = 459;

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

/// What the admin of a server that answered 458 or 459 usually has to
/// change (`-v`; the manual's DIAGNOSTICS say the same).
pub const REFUSAL_HINT: &str = "the server will not flush this name for this client: \
on Postfix, fast_flush_domains must list the domain and smtpd_etrn_restrictions must \
permit this client; on Exim, acl_smtp_etrn must accept and smtp_etrn_command must be set";

/// `-v`'s result line for one client, after `CLIENT: `.
pub fn describe(answer: &EtrnAnswer, reply: &Reply) -> String {
    match answer {
        EtrnAnswer::Accepted { pending: Some(n) } => {
            format!("accepted, {n} messages pending ({reply})")
        }
        EtrnAnswer::Accepted { pending: None } => format!("accepted ({reply})"),
        EtrnAnswer::Refused => format!("refused ({reply})"),
        EtrnAnswer::Failed => format!("failed ({reply})"),
    }
}

/// How the session with one server ended.
#[derive(Debug)]
pub enum SessionOutcome {
    /// Every client was asked; their replies in order.
    Asked(Vec<(EtrnArgument, Reply)>),
    /// The server does not offer ETRN (not in EHLO, or only HELO works).
    NotSupported(String),
    /// Unreachable, not greeted `220`, timed out, broken dialogue, or
    /// required TLS that failed.
    Unreachable(Error),
    /// The server answered the hello with a refusal.
    HelloRefused(Error),
    /// AUTH did not succeed: the server offers no mechanism we speak, or
    /// refused (RFC 4954: 535, 534, 538, 454...). No ETRN was sent.
    AuthFailed(Error),
}

impl SessionOutcome {
    /// This server's exit status.
    pub fn exit_status(&self) -> u8 {
        match self {
            Self::Asked(replies) if replies.iter().all(|(_, r)| r.is_positive()) => ACCEPTED,
            Self::Asked(_)
            | Self::NotSupported(_)
            | Self::HelloRefused(_)
            | Self::AuthFailed(_) => REFUSED,
            Self::Unreachable(_) => UNREACHABLE,
        }
    }

    /// Whether trying again later may help (at boot the network or the
    /// server may not be up yet): unreachable, or a 4xx answer.
    pub fn worth_retrying(&self) -> bool {
        match self {
            Self::Unreachable(_) => true,
            Self::HelloRefused(error) | Self::AuthFailed(error) => error.is_transient(),
            Self::Asked(replies) => replies.iter().any(|(_, r)| r.is_transient()),
            Self::NotSupported(_) => false,
        }
    }
}

/// The worst of several exit statuses (the highest number: 3 unreachable
/// above 2 configuration above 1 refused above 0).
pub fn worst(statuses: impl IntoIterator<Item = u8>) -> u8 {
    statuses.into_iter().max().unwrap_or(ACCEPTED)
}

/// An AUTH failure as one line: the error (server, address, `AUTH
/// MECHANISM`, the reply), and what an RFC 4954 reply code usually means.
pub struct AuthFailure<'a>(pub &'a Error);

impl fmt::Display for AuthFailure<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let error = self.0;
        write!(f, "{error}")?;
        match error
            .reply()
            .and_then(|reply| auth::failure_hint(reply.code))
        {
            Some(hint) => write!(f, " ({hint}); ETRN not sent"),
            None => f.write_str("; ETRN not sent"),
        }
    }
}

/// One line for a group in `--etrn-hosts` mode, e.g.
/// `s1: 2 of 2 ETRN accepted (250 Queuing started)`.
pub struct Summary<'a> {
    pub server: &'a HostName,
    pub outcome: &'a SessionOutcome,
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let server = self.server;
        match self.outcome {
            SessionOutcome::Asked(replies) => {
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
            SessionOutcome::NotSupported(why) => write!(f, "{server}: ETRN not supported ({why})"),
            SessionOutcome::Unreachable(error) | SessionOutcome::HelloRefused(error) => {
                write!(f, "{error}")
            }
            SessionOutcome::AuthFailed(error) => write!(f, "{}", AuthFailure(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_1985_codes() {
        for code in [250, 251, 252] {
            assert_eq!(
                interpret(&Reply::new(code, "ok")),
                EtrnAnswer::Accepted { pending: None }
            );
        }
        assert_eq!(
            interpret(&Reply::new(
                253,
                "OK, 14 pending messages for node a.test started"
            )),
            EtrnAnswer::Accepted { pending: Some(14) }
        );
        assert_eq!(
            interpret(&Reply::new(253, "started")),
            EtrnAnswer::Accepted { pending: None }
        );
        assert_eq!(interpret(&Reply::new(458, "no")), EtrnAnswer::Refused);
        assert_eq!(interpret(&Reply::new(459, "no")), EtrnAnswer::Refused);
        for code in [500, 501, 502, 421, 220, 354] {
            assert_eq!(
                interpret(&Reply::new(code, "x")),
                EtrnAnswer::Failed,
                "{code}"
            );
        }
    }

    fn asked(replies: &[(&str, u16, &str)]) -> SessionOutcome {
        let replies = replies.iter().map(|(client, code, text)| {
            let client = EtrnArgument::parse(client).expect("a valid argument");
            (client, Reply::new(*code, text))
        });
        SessionOutcome::Asked(replies.collect())
    }

    #[test]
    fn exit_status_and_retry() {
        let cases = [
            (asked(&[("a", 250, "ok"), ("b", 251, "")]), ACCEPTED, false),
            (asked(&[("a", 250, "ok"), ("b", 459, "no")]), REFUSED, true),
            (asked(&[("a", 501, "bad")]), REFUSED, false),
            (
                SessionOutcome::NotSupported("not in EHLO reply".into()),
                REFUSED,
                false,
            ),
        ];
        for (outcome, status, retry) in cases {
            assert_eq!(outcome.exit_status(), status, "{outcome:?}");
            assert_eq!(outcome.worth_retrying(), retry, "{outcome:?}");
        }
        assert_eq!(worst([0, 3, 1]), 3);
        assert_eq!(worst([]), 0);
    }

    #[test]
    fn auth_failures_are_refusals_retried_only_when_temporary() {
        use crate::smtp::auth::Mechanism;
        use crate::smtp::{ErrorKind, Phase};
        let failed = |code, text: &str| {
            let address = Some("127.0.0.1:25".parse().expect("literal"));
            let phase = Phase::Auth(Some(Mechanism::Plain));
            let kind = ErrorKind::Rejected(Reply::new(code, text));
            SessionOutcome::AuthFailed(Error::new("mx", address, phase, kind))
        };
        let refused = failed(535, "5.7.8 Authentication credentials invalid");
        assert_eq!(refused.exit_status(), REFUSED);
        assert!(!refused.worth_retrying());
        let server = HostName::parse("mx").expect("a valid name");
        let summary = Summary {
            server: &server,
            outcome: &refused,
        };
        assert_eq!(
            summary.to_string(),
            "mx (127.0.0.1:25): AUTH PLAIN: 535 5.7.8 Authentication credentials invalid \
             (the login or password was not accepted); ETRN not sent"
        );
        let temporary = failed(454, "4.7.0 try later");
        assert_eq!(temporary.exit_status(), REFUSED);
        assert!(temporary.worth_retrying());
    }

    #[test]
    fn summary_lines() {
        let server = HostName::parse("s1").expect("a valid name");
        for (outcome, line) in [
            (
                asked(&[("a", 250, "Queuing started"), ("b", 250, "Queuing started")]),
                "s1: 2 of 2 ETRN accepted (250 Queuing started)",
            ),
            (
                asked(&[
                    ("a", 250, "Queuing started"),
                    ("b", 459, "<b>: service unavailable"),
                ]),
                "s1: 1 of 2 ETRN accepted (b: 459 <b>: service unavailable)",
            ),
        ] {
            let summary = Summary {
                server: &server,
                outcome: &outcome,
            };
            assert_eq!(summary.to_string(), line);
        }
    }
}
