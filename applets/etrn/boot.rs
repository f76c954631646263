//! Boot time: `-b` (wait until the local MTA greets, so the server does not
//! deliver before we can accept) and `etrn --etrn-hosts` (kick every
//! configured server at once, retrying while the network comes up, one
//! log line per group).

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::Cli;
use super::config;
use super::discovery;
use super::etrn_hosts::{self, Group};
use super::json;
use super::session::{SessionSettings, flush};
use super::verdict::{SessionOutcome, Summary, worst};
use crate::applet::AppletResult;
use crate::exit::{self, etrn::ACCEPTED, etrn::REFUSED, etrn::UNREACHABLE};
use crate::json::one_line;
use crate::names::HostName;
use crate::report::{Priority, Reporter};
use crate::smtp::{Error, ErrorKind, Limits, Phase, Session};

/// `-b` waits between attempts on the local MTA: about 30 s in all, like
/// the legacy 2+4+8+16 s, but starting sooner.
pub const LOCAL_MTA_RETRY_DELAYS: [Duration; 5] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
    Duration::from_secs(15),
];
/// `--etrn-hosts`: first wait before retrying a group, doubled each time...
const FIRST_RETRY_DELAY: Duration = Duration::from_secs(2);
/// ...up to this.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(60);

/// `-b`: whether the local MTA greets `220`; says why not when it does not.
pub async fn local_mta_ready(port: u16, timeout: Option<Duration>, reporter: &Reporter) -> bool {
    match wait_for_local_mta(port, timeout).await {
        Ok(()) => true,
        Err(error) => {
            reporter.error(format_args!(
                "the local MTA does not accept SMTP (-b): {error}"
            ));
            false
        }
    }
}

/// Waits until `localhost:port` greets `220`, retrying with back-off;
/// returns the last failure when it never does.
pub async fn wait_for_local_mta(port: u16, timeout: Option<Duration>) -> Result<(), Error> {
    let limits = Limits {
        overall: None,
        per_phase: timeout,
    };
    let mut last_error = None;
    let delays = std::iter::once(Duration::ZERO).chain(LOCAL_MTA_RETRY_DELAYS);
    for delay in delays {
        tokio::time::sleep(delay).await;
        match Session::open("localhost", port, limits, None).await {
            Ok(session) => {
                session.quit().await;
                return Ok(());
            }
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        let never = ErrorKind::TimedOut(None);
        Error::new("localhost", None, Phase::Connect, never)
    }))
}

/// `etrn --etrn-hosts`: every group of ETRN_HOSTS at once; the worst
/// group's exit status.
pub(super) async fn kick_etrn_hosts(cli: &Cli, reporter: &Reporter) -> AppletResult {
    // Read ETRN_HOSTS before anything that may wait (the canonical name
    // lookup): at boot an empty configuration must cost nothing.
    let value = match config::etrn_hosts_value(cli.defaults.as_deref())? {
        Some(value) if !value.trim().is_empty() => value,
        _ => {
            reporter.info("ETRN_HOSTS is empty or unset: nothing to do");
            return Ok(finish(cli, ACCEPTED, &[], reporter));
        }
    };
    let settings = config::session_settings(cli, reporter).await?;
    let (groups, malformed) = etrn_hosts::parse(&value);
    for bad in &malformed {
        reporter.error(bad);
    }
    let mut statuses = vec![if malformed.is_empty() {
        ACCEPTED
    } else {
        exit::USAGE
    }];
    let needs_discovery = groups.iter().any(|g| g.clients.is_empty());
    let discovered = if needs_discovery {
        match discovery::accepted_names(&cli.sendmail_cf, &settings.helo, reporter) {
            Ok(names) => names,
            Err(error) => {
                reporter.error(error);
                statuses.push(exit::USAGE);
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    let groups: Vec<Group> = groups
        .into_iter()
        .filter(|g| !g.clients.is_empty() || !discovered.is_empty())
        .map(|g| Group {
            clients: if g.clients.is_empty() {
                discovered.clone()
            } else {
                g.clients
            },
            server: g.server,
        })
        .collect();
    if groups.is_empty() {
        return Ok(finish(cli, worst(statuses), &[], reporter));
    }
    if !local_mta_ready(cli.local_port, settings.timeout, reporter).await {
        return Ok(finish(cli, UNREACHABLE, &[], reporter));
    }
    let retry_for = cli.retry_for.duration();
    let sessions = kick(groups, Arc::new(settings), retry_for).await;
    statuses.extend(sessions.iter().map(|(_, outcome)| outcome.exit_status()));
    Ok(finish(cli, worst(statuses), &sessions, reporter))
}

/// The run's exit status, after `--json`'s document (every session that
/// ran, none when the run ended before any).
fn finish(
    cli: &Cli,
    status: u8,
    sessions: &[(HostName, SessionOutcome)],
    reporter: &Reporter,
) -> u8 {
    if cli.json {
        let _ = reporter.answer(&one_line(&json::document(status, sessions)));
    }
    status
}

/// Runs every group concurrently, retrying each that may do better later
/// until `retry_for` has passed; logs one line per group; returns each
/// group's session outcome, in the groups' order.
async fn kick(
    groups: Vec<Group>,
    settings: Arc<SessionSettings>,
    retry_for: Duration,
) -> Vec<(HostName, SessionOutcome)> {
    let give_up_at = Instant::now() + retry_for;
    let tasks: Vec<_> = groups
        .into_iter()
        .map(|group| {
            let settings = Arc::clone(&settings);
            let server = group.server.clone();
            let task = tokio::spawn(async move {
                let outcome = flush_with_retries(&group, &settings, give_up_at).await;
                log_group(&group, &outcome, &settings.reporter);
                outcome
            });
            (server, task)
        })
        .collect();
    let mut sessions = Vec::with_capacity(tasks.len());
    for (server, task) in tasks {
        // A task can only fail by panicking (a bug); count it as unreachable.
        let outcome = task.await.unwrap_or_else(|_| {
            let failed = std::io::Error::other("the session's task failed (a bug)");
            SessionOutcome::Unreachable(Error::new(
                &server,
                None,
                Phase::Connect,
                ErrorKind::Io(failed),
            ))
        });
        sessions.push((server, outcome));
    }
    sessions
}

async fn flush_with_retries(
    group: &Group,
    settings: &SessionSettings,
    give_up_at: Instant,
) -> SessionOutcome {
    let mut delay = FIRST_RETRY_DELAY;
    loop {
        let outcome = flush(&group.server, &group.clients, settings).await;
        if !outcome.worth_retrying() || Instant::now() + delay >= give_up_at {
            return outcome;
        }
        let summary = Summary {
            server: &group.server,
            outcome: &outcome,
        };
        settings
            .reporter
            .info(format_args!("{summary}; retrying in {}s", delay.as_secs()));
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(MAX_RETRY_DELAY);
    }
}

fn log_group(group: &Group, outcome: &SessionOutcome, reporter: &Reporter) {
    let priority = match outcome.exit_status() {
        ACCEPTED => Priority::Info,
        REFUSED => Priority::Warning,
        _ => Priority::Error,
    };
    let summary = Summary {
        server: &group.server,
        outcome,
    };
    reporter.line(priority, summary);
}
